package sim

import (
	"fmt"
	"slices"

	"github.com/takhin-io/takhin/linearizability"
	"github.com/takhin-io/takhin/storage"
)

// The retention checks. Kafka's deletableSegments rule is the oracle;
// storage.DeletableSegments implements it, and these check its properties
// on what each chunk did, never by running the rule again:
//
//   - (prefix) a Retention or SetStart chunk deletes a prefix of the
//     segments: after it the segment list is a suffix of the one before
//     (plus segments rolled after it), the log start never goes back, and
//     every deleted segment lies below the new log start;
//   - (why) a segment retention deletes lies below the high watermark the
//     chunk ran with (itself at most the synced end), and is past
//     retention.ms by the wall clock the policy names (its largest
//     timestamp, as storage reports it and as the acknowledged records in
//     it carry, is older than now − retention.ms), or is not needed to keep
//     retention.bytes, or lies below the log start; the policy's now is a
//     wall time the node's clock showed (clock jumps move that clock, and
//     only a time the broker saw may expire a segment);
//   - (durable) every log start a client was told (a DeleteRecords low
//     watermark, a fetch's LogStartOffset) is at or below the log start of
//     every later recovery and of the end of the run;
//   - (served) a fetch below the log start is OFFSET_OUT_OF_RANGE, and a
//     successful one returns no batch entirely below it (kclient);
//   - (kept) each OK poll returns every acknowledged record between the
//     offset it polled from (or the log start it reported, if higher) and
//     the last offset it returned, unless a bit flip may have truncated it
//     or compaction superseded it (checked at the end, over the history).
//
// Compaction (Options.Compacted: cleanup.policy=compact, keyed records
// from a small key space, a clean check every few milliseconds) is
// checked through the same histories: every record a fetch returns
// carries the key its value was sent with (kclient), at the offset it was
// acknowledged at (inconsistent-offsets, unknown-value, duplicate), and a
// value may vanish or be skipped only when a write of its key was
// observed at a higher offset (linearizability's Options.Compacted); so
// the latest value of each key must be read by the drain, at its
// original offset. Tombstones are not produced yet.

// deleted checks one Retention or SetStart chunk.
func (wl *workload) deleted(d deletion) {
	if d.failed {
		return
	}
	kept := checkPrefix(wl.chk, d)
	if d.task.Retention == nil || kept < 0 {
		return
	}
	wl.rc.counts.RetentionChunks++
	wl.rc.counts.SegmentsDeleted += kept
	for i := 0; i < kept; i++ {
		if why := wl.rc.deletable(d, i); why != "" {
			wl.chk.violation("%s: retention deleted segment %d-%d (%s)", d.dir, d.before[i].Base, d.before[i+1].Base-1, why)
			return
		}
	}
}

// checkPrefix checks that the chunk deleted a prefix of the segments, and
// returns how many (-1 after a violation).
func checkPrefix(chk *checker, d deletion) int {
	if d.startAfter < d.startBefore {
		chk.violation("%s: log start went back from %d to %d", d.dir, d.startBefore, d.startAfter)
		return -1
	}
	last := d.before[len(d.before)-1].Base
	k := slices.IndexFunc(d.before, func(s storage.SegmentInfo) bool { return s.Base == d.after[0].Base })
	if k < 0 && d.after[0].Base > last {
		k = len(d.before) // every segment went, and a new one rolled
	}
	if k < 0 {
		chk.violation("%s: after deleting, the first segment is %d, which was not a segment before", d.dir, d.after[0].Base)
		return -1
	}
	if k == len(d.before) && d.task.Retention != nil {
		chk.violation("%s: retention deleted the active segment %d", d.dir, last)
		return -1
	}
	for i, s := range d.before[k:] {
		if i >= len(d.after) || d.after[i].Base != s.Base {
			chk.violation("%s: deleting segments %v left %v: not a prefix", d.dir, bases(d.before), bases(d.after))
			return -1
		}
	}
	if k > 0 && k < len(d.before) && d.before[k].Base > d.startAfter {
		chk.violation("%s: segments below %d deleted, above the log start %d", d.dir, d.before[k].Base, d.startAfter)
		return -1
	}
	if d.task.SetStart > 0 && d.startAfter < d.task.SetStart {
		chk.violation("%s: SetStart %d left the log start at %d", d.dir, d.task.SetStart, d.startAfter)
		return -1
	}
	return min(k, len(d.before)-1)
}

// deletable says why retention may not delete segment i of d.before, or
// "" when one of Kafka's reasons allows it.
func (rc *retentionChecker) deletable(d deletion, i int) string {
	pol, seg, next := d.task.Retention, d.before[i], d.before[i+1].Base
	if pol.NowMs > d.maxWallMs {
		return fmt.Sprintf("the policy's now %d is later than the node's clock ever showed (%d)", pol.NowMs, d.maxWallMs)
	}
	if pol.HighWatermark > d.syncedEnd || next > pol.HighWatermark {
		return fmt.Sprintf("it ends at or above the high watermark %d (synced end %d)", pol.HighWatermark, d.syncedEnd)
	}
	if next <= d.startBefore {
		return "" // below the log start
	}
	var rest int64 // the log's size without segments 0..i
	for _, s := range d.before[i+1:] {
		rest += s.SizeBytes
	}
	if pol.RetentionBytes >= 0 && rest >= pol.RetentionBytes {
		return ""
	}
	largest := seg.LargestTimestamp
	if largest < 0 {
		largest = seg.CreatedMs
	}
	if d.index >= 0 {
		for o := seg.Base; o < next; o++ {
			if r, ok := rc.acked[d.index][int64(o)]; ok {
				largest = max(largest, r.timestampMs)
			}
		}
	}
	if pol.RetentionMs >= 0 && pol.NowMs-largest > pol.RetentionMs {
		return ""
	}
	return fmt.Sprintf("largest timestamp %d not past retention.ms %d at %d, the %d bytes after it not above retention.bytes %d, not below the log start %d",
		largest, pol.RetentionMs, pol.NowMs, rest, pol.RetentionBytes, d.startBefore)
}

func bases(segs []storage.SegmentInfo) []storage.Offset {
	out := make([]storage.Offset, len(segs))
	for i, s := range segs {
		out[i] = s.Base
	}
	return out
}

// booted checks the recovered log starts of the Kafka clients' topic:
// every log start a client was told survives the crash.
func (rc *retentionChecker) booted(n *node) {
	for _, p := range n.parts {
		if p.topic != kTopic || p.index >= kPartitions {
			continue
		}
		if start := int64(p.m.LogStart()); start < rc.durableStart[p.index] {
			rc.chk.violation("%s: recovered with log start %d, below the %d a client was told", p.dir, start, rc.durableStart[p.index])
		}
	}
}

// checkKept checks that each OK poll returned every acknowledged record
// between where it polled from (or the log start it reported) and the
// last offset it returned, but those a bit flip may have truncated
// (windows) or a later write of their key superseded (compacted).
func (rc *retentionChecker) checkKept(h *linearizability.History, windows []linearizability.LossWindow, compacted bool) {
	var superseding map[string]int64
	if compacted {
		superseding = rc.latestByKey(h)
	}
	for _, op := range h.Operations() {
		poll, ok := op.Op.(linearizability.Poll)
		if !ok || op.Outcome != linearizability.OK || len(op.Reply.Records) == 0 {
			continue
		}
		p := partitionIndexOf(poll.Partition)
		if p < 0 {
			continue
		}
		recs := op.Reply.Records // in offset order, as a fetch returns them
		last := int64(recs[len(recs)-1].Offset)
		from := max(int64(poll.From), rc.pollStart[op.ID])
		next := 0 // the first record at or after o
		for o := from; o <= last; o++ {
			for next < len(recs) && int64(recs[next].Offset) < o {
				next++
			}
			got := next < len(recs) && int64(recs[next].Offset) == o
			r, acked := rc.acked[p][o]
			switch {
			case !acked || got || lossWindow(windows, poll.Partition, o):
			case compacted && superseding[poll.Partition+"|"+r.key] > o:
			default:
				rc.chk.violation("%s: poll op %d from %d (log start %d) returned up to %d, but not acknowledged offset %d (%s)",
					poll.Partition, op.ID, poll.From, rc.pollStart[op.ID], last, o, r.value)
				return
			}
		}
	}
}

// latestByKey is, per partition and key ("partition|key"), the highest offset at which a write of it was
// acknowledged or polled.
func (rc *retentionChecker) latestByKey(h *linearizability.History) map[string]int64 {
	keyOf := map[string]string{}
	out := map[string]int64{}
	for _, op := range h.Operations() {
		switch o := op.Op.(type) {
		case linearizability.Send:
			keyOf[o.Partition+"|"+o.Value] = o.Partition + "|" + o.RecordKey
			if k := keyOf[o.Partition+"|"+o.Value]; op.Outcome == linearizability.OK {
				out[k] = max(out[k], int64(op.Reply.Offset))
			}
		case linearizability.Poll:
			for _, r := range op.Reply.Records {
				if k, ok := keyOf[o.Partition+"|"+r.Value]; ok {
					out[k] = max(out[k], int64(r.Offset))
				}
			}
		}
	}
	return out
}

func lossWindow(windows []linearizability.LossWindow, partition string, o int64) bool {
	for _, w := range windows {
		if w.Partition == partition && int64(w.From) <= o {
			return true
		}
	}
	return false
}

// partitionIndexOf is the Kafka clients' partition of a history key, or -1.
func partitionIndexOf(key string) int32 {
	for p := int32(0); p < kPartitions; p++ {
		if linearizability.PartitionKey(kTopic, p) == key {
			return p
		}
	}
	return -1
}
