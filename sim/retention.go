package sim

import (
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/executor"
	"github.com/takhin-io/takhin/linearizability"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

// Retention and DeleteRecords of the Kafka clients' topic, and what the
// retention checker holds to check them (retention_check.go checks):
//
//   - the topic is created with the run's retention.ms and
//     retention.bytes, its partitions check retention every
//     RetentionCheckMs, and segments are small, so that they roll and go;
//   - some clients send DeleteRecords (kmsg, the real protocol) to an
//     offset at or below one they saw acknowledged, or -1 (the high
//     watermark);
//   - a consumer whose fetch is OFFSET_OUT_OF_RANGE below the log start
//     resets to the log start the response reports (kgo's
//     auto.offset.reset=earliest), and polls from there as a seek.
type retentionChecker struct {
	chk *checker
	// acked is, per partition of the Kafka clients' topic, every
	// acknowledged record: offset → its value, key and timestamp.
	acked [kPartitions]map[int64]ackedRecord
	// durableStart is, per partition, the highest log start the broker
	// told a client (a DeleteRecords low watermark, a fetch's
	// LogStartOffset): every later recovery must start at or above it.
	durableStart [kPartitions]int64
	// sentKey is, per partition, the key each value was sent with.
	sentKey [kPartitions]map[string]string
	// pollStart is the log start each OK poll's response reported.
	pollStart map[linearizability.OpID]int64
	// finalStart is each partition's log start at the end of the run (-1:
	// unknown, the partition fail-stopped).
	finalStart [kPartitions]int64
	counts     RetentionCounts
}

// ackedRecord is one acknowledged record of the Kafka clients' topic.
type ackedRecord struct {
	value, key  string
	timestampMs int64
}

// RetentionCounts is what retention, DeleteRecords and compaction did.
type RetentionCounts struct {
	RetentionChunks, SegmentsDeleted  int
	DeleteRecordsAcked, ResetsToStart int
	CleanChunks                       int
}

func newRetentionChecker(chk *checker) *retentionChecker {
	rc := &retentionChecker{chk: chk, pollStart: map[linearizability.OpID]int64{}}
	for p := range rc.acked {
		rc.acked[p], rc.sentKey[p] = map[int64]ackedRecord{}, map[string]string{}
	}
	return rc
}

// ackedSend records an acknowledged produce of the Kafka clients.
func (rc *retentionChecker) ackedSend(p int32, offset int64, r ackedRecord) {
	rc.acked[p][offset] = r
}

// toldStart records a log start the broker told a client.
func (rc *retentionChecker) toldStart(p int32, start int64) {
	rc.durableStart[p] = max(rc.durableStart[p], start)
}

// topicConfigs is what the Kafka clients create their topic with.
func topicConfigs(o *Options) []kmsg.CreateTopicsRequestTopicConfig {
	var out []kmsg.CreateTopicsRequestTopicConfig
	add := func(name, value string) {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = name, &value
		out = append(out, c)
	}
	if o.RetentionCheckMs > 0 {
		add("retention.ms", fmt.Sprint(o.RetentionMs))
		add("retention.bytes", fmt.Sprint(o.RetentionBytes))
	}
	if o.Compacted {
		add("cleanup.policy", "compact")
		add("min.cleanable.dirty.ratio", "0.01")
	}
	return out
}

// deleteRecords sends a DeleteRecords for partition p: to -1 (the high
// watermark), or to an offset at or below the highest this client saw
// acknowledged there.
func (c *kclient) deleteRecords(p int32) {
	to := int64(-1)
	if hi, ok := c.ackedMax[p]; ok && c.rng.IntN(4) != 0 {
		to = c.rng.Int64N(hi + 1)
	}
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.SetVersion(2)
	req.TimeoutMillis = kRequestTimeMs
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = kTopic
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Partition, rp.Offset = p, to
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	c.send(req, func(resp kmsg.Response) {
		r := resp.(*kmsg.DeleteRecordsResponse)
		if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 {
			c.n.sink.violation("%s: DeleteRecords answered %d topics", c.name, len(r.Topics))
			return
		}
		out := r.Topics[0].Partitions[0]
		if out.ErrorCode != 0 {
			return
		}
		c.w.record("deleted-records", int64(p), out.LowWatermark)
		if out.LowWatermark < to {
			c.n.sink.violation("%s: DeleteRecords to %d of partition %d answered low watermark %d", c.name, to, p, out.LowWatermark)
		}
		c.rc.counts.DeleteRecordsAcked++
		c.rc.toldStart(p, out.LowWatermark)
	})
}

// checkServedStart checks a successful fetch of partition p from from
// against the log start its response reports and the one acknowledged
// before it was sent (known): nothing below the log start is served.
func (c *kclient) checkServedStart(p int32, from int64, known int64, out *kmsg.FetchResponseTopicPartition) {
	start := max(out.LogStartOffset, known)
	if from < start {
		c.n.sink.violation("%s: fetch of partition %d from %d served, below the log start %d (reported %d)",
			c.name, p, from, start, out.LogStartOffset)
		return
	}
	for b := out.RecordBatches; len(b) >= storage.BatchHeaderSize; {
		h := storage.DecodeBatchHeader(b)
		if h.Size() < storage.BatchHeaderSize || h.Size() > int64(len(b)) {
			return
		}
		if int64(h.LastOffset()) < start {
			c.n.sink.violation("%s: fetch of partition %d returned batch %d-%d, entirely below the log start %d",
				c.name, p, h.BaseOffset, h.LastOffset(), start)
		}
		b = b[h.Size():]
	}
}

// outOfRange handles a fetch answered OFFSET_OUT_OF_RANGE: below the log
// start the consumer resets to it (auto.offset.reset=earliest). It checks
// the answer is one: from below the reported log start, or past the end.
// Past the end, the log lost records this consumer had read (logCut).
func (c *kclient) outOfRange(p int32, from int64, out *kmsg.FetchResponseTopicPartition) {
	if out.ErrorCode != kerr.OffsetOutOfRange.Code {
		return
	}
	if from >= out.LogStartOffset && from <= out.HighWatermark {
		c.n.sink.violation("%s: fetch of partition %d from %d out of range, within [%d, %d]",
			c.name, p, from, out.LogStartOffset, out.HighWatermark)
	}
	switch {
	case from < out.LogStartOffset:
		c.positions[p] = out.LogStartOffset
		c.rc.counts.ResetsToStart++
		c.w.record("reset-to-start", int64(p), out.LogStartOffset)
	case from > out.HighWatermark:
		c.logCut(p, from, out.HighWatermark)
	}
}

// logCut handles partition p found ending at hw, below seen: an offset
// this client read up to, or an end it listed. Only a flipped bit may cut
// a log (recovery, or a read that finds the flipped batch above the
// recovery point, cuts it there); the client then moves back to the end
// and lists it again, as Kafka's consumer does when it detects a
// truncation. Without a flip it is a violation.
func (c *kclient) logCut(p int32, seen, hw int64) {
	if !c.n.sink.corruptedPartition(p) {
		c.n.sink.violation("%s: partition %d ends at %d, below %d this client saw, and no bit was flipped in it",
			c.name, p, hw, seen)
		return
	}
	c.positions[p] = min(c.positions[p], hw)
	delete(c.latest, p)
	c.w.record("log-cut", int64(p), hw)
}

// deletion is one Retention or SetStart chunk as the executor ran it:
// the log's segments and start before and after, and what it ran with.
type deletion struct {
	dir                     string
	index                   int32 // the Kafka clients' partition; -1 for other topics
	task                    replication.Task
	before, after           []storage.SegmentInfo
	startBefore, startAfter storage.Offset
	syncedEnd               storage.Offset
	maxWallMs               int64 // the latest wall time the node's clock showed
	failed                  bool  // the chunk failed, or did nothing (a transient error)
}

// background runs one background chunk with the shared executor, and
// hands Retention and SetStart chunks to the checker.
func (n *node) background(p *part, store *executor.Store, t replication.Task) replication.BackgroundDone {
	now := n.now()
	if p == nil || (t.Retention == nil && t.SetStart <= 0) {
		if p != nil && t.Clean != nil {
			n.sink.cleaned(p.topic)
		}
		return store.Background(t, now)
	}
	d := deletion{dir: p.dir, index: -1, task: t, before: store.Log.Segments(), startBefore: store.Log.StartOffset(),
		syncedEnd: store.Log.SyncedEnd(), maxWallMs: n.maxWallMs}
	if p.topic == kTopic {
		d.index = p.index
	}
	done := store.Background(t, now)
	d.after, d.startAfter, d.failed = store.Log.Segments(), store.Log.StartOffset(), done.Err != nil || done.Transient != nil
	n.sink.deleted(d)
	return done
}

// finalStarts records each partition's log start at the end of the run,
// and checks it is at or above every log start clients were told.
func (rc *retentionChecker) finalStarts(n *node) {
	for p := int32(0); p < kPartitions; p++ {
		rc.finalStart[p] = -1
		dir := fmt.Sprintf("%s-%d", kTopic, p)
		q := n.partition(dir)
		if !n.up || q == nil || n.failedPartition(dir) {
			continue
		}
		rc.finalStart[p] = int64(q.m.LogStart())
		if rc.finalStart[p] < rc.durableStart[p] {
			rc.chk.violation("%s: log start %d at the end, below the %d a client was told", dir, rc.finalStart[p], rc.durableStart[p])
		}
	}
}

// deletedBelow is the content checkers' watermarks: records below a
// partition's final log start were deleted legitimately.
func (rc *retentionChecker) deletedBelow() []linearizability.Watermark {
	var out []linearizability.Watermark
	for p := int32(0); p < kPartitions; p++ {
		if rc.finalStart[p] > 0 {
			out = append(out, linearizability.Watermark{Partition: linearizability.PartitionKey(kTopic, p),
				Below: linearizability.Offset(rc.finalStart[p])})
		}
	}
	return out
}

// sortedInt64s is m's keys in order.
func sortedInt64s[V any](m map[int64]V) []int64 {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
