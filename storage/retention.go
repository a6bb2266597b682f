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
// following Kafka's UnifiedLog.deletableSegments: walking from the oldest,
// a segment goes while the offset after it is at or below the high
// watermark and it is past retention.ms (its largest timestamp is older
// than now − retention.ms) or the log minus it is still at least
// retention.bytes, or it lies entirely below the log start offset. The
// three passes Kafka runs in turn each delete a prefix, so together they
// delete the longest of the three. Unlike Kafka, the active segment is never
// deleted (Kafka rolls a new one to delete it): it goes once it rolls.
func DeletableSegments(segs []SegmentInfo, logStart Offset, p RetentionPolicy) int {
	var size int64
	for _, s := range segs {
		size += s.SizeBytes
	}
	byTime, bySize, byStart := 0, 0, 0
	diff := size - p.RetentionBytes
	timeOn, sizeOn, startOn := p.RetentionMs >= 0, p.RetentionBytes >= 0, true
	for i, s := range segs {
		if s.Active || i+1 >= len(segs) || segs[i+1].Base > p.HighWatermark {
			break
		}
		largest := s.LargestTimestamp
		if largest < 0 {
			largest = s.CreatedMs
		}
		timeOn = timeOn && (p.NowMs-largest > p.RetentionMs || simbug.Active(simbug.RetentionIgnoresTime))
		sizeOn = sizeOn && diff-s.SizeBytes >= 0
		startOn = startOn && segs[i+1].Base <= logStart
		if sizeOn {
			diff -= s.SizeBytes
			bySize = i + 1
		}
		if timeOn {
			byTime = i + 1
		}
		if startOn {
			byStart = i + 1
		}
		if !timeOn && !sizeOn && !startOn {
			break
		}
	}
	return max(byTime, bySize, byStart)
}
