package storage

import "github.com/takhin-io/takhin/internal/simbug"

// RetentionPolicy is the input of Kafka's deletableSegments rule.
type RetentionPolicy struct {
	RetentionMs    int64  // retention.ms; < 0 keeps forever
	RetentionBytes int64  // retention.bytes; < 0 keeps any size
	HighWatermark  Offset // nothing at or above it is deleted
	NowMs          int64  // the event's wall time
}

// DeletableSegments returns how many leading segments may be deleted,
// following Kafka's UnifiedLog.deleteOldSegments: three passes run one
// after the other, each deleting segments from the first one the passes
// before it left, while the offset after the segment is at or below the
// high watermark and the pass's rule holds: the segment lies entirely
// below the log start offset; then the log minus it is still at least
// retention.bytes; then it is past retention.ms (its largest timestamp, or
// its last append when it has none, is older than now − retention.ms). So a segment an earlier pass deletes
// never stops a later pass. Unlike Kafka, the active segment is never
// deleted (Kafka rolls a new one to delete it): it goes once it rolls.
func DeletableSegments(segs []SegmentInfo, logStart Offset, p RetentionPolicy) int {
	n := deletablePrefix(segs, 0, p, func(i int) bool { return segs[i+1].Base <= logStart })
	if p.RetentionBytes >= 0 {
		var size int64
		for _, s := range segs[n:] {
			size += s.SizeBytes
		}
		diff := size - p.RetentionBytes
		n = deletablePrefix(segs, n, p, func(i int) bool {
			if diff-segs[i].SizeBytes < 0 {
				return false
			}
			diff -= segs[i].SizeBytes
			return true
		})
	}
	if p.RetentionMs >= 0 {
		n = deletablePrefix(segs, n, p, func(i int) bool {
			return p.NowMs-segs[i].AgeTimestamp() > p.RetentionMs || simbug.Active(simbug.RetentionIgnoresTime)
		})
	}
	return n
}

// deletablePrefix extends the deletable prefix of n segments while the
// next one is not the active one, ends at or below the high watermark,
// and may go by rule (called once per segment, in order).
func deletablePrefix(segs []SegmentInfo, n int, p RetentionPolicy, rule func(i int) bool) int {
	for n+1 < len(segs) && !segs[n].Active && segs[n+1].Base <= p.HighWatermark && rule(n) {
		n++
	}
	return n
}
