package broker

// ListOffsets (key 2), versions 1-9, as Kafka 4.0.1 without tiered
// storage.
//
// -1 (latest) is the high watermark (the last stable offset under
// read_committed: the same, without transactions); -2 (earliest) and -4
// (earliest local) the log start; -5 (latest tiered) is offset -1; -3 (max
// timestamp, v7+) the record with the largest timestamp; a timestamp ≥ 0
// the first record at or after the log start whose timestamp reaches it
// (a DeleteRecords may cut a batch: its records below the start are
// skipped, as Kafka does), or offset -1 when none. A
// CurrentLeaderEpoch above 0 is UNKNOWN_LEADER_EPOCH. Duplicate partitions
// in one request are INVALID_REQUEST. Not implemented: the v0 "old style
// offsets" (v0 is not handled, as in Kafka 4.0).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

func handleListOffsets(b *Broker, r *request) {
	req := r.kreq.(*kmsg.ListOffsetsRequest)
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	resp.Topics = make([]kmsg.ListOffsetsResponseTopic, len(req.Topics))
	g := &gather{finish: func() { b.respond(r, resp) }}
	g.add()
	seen := map[string]map[int32]int{}
	for _, t := range req.Topics {
		if seen[t.Topic] == nil {
			seen[t.Topic] = map[int32]int{}
		}
		for _, p := range t.Partitions {
			seen[t.Topic][p.Partition]++
		}
	}
	for i, t := range req.Topics {
		rt := &resp.Topics[i]
		*rt = kmsg.NewListOffsetsResponseTopic()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.ListOffsetsResponseTopicPartition, len(t.Partitions))
		for j, p := range t.Partitions {
			out := &rt.Partitions[j]
			*out = kmsg.NewListOffsetsResponseTopicPartition()
			out.Partition, out.Timestamp, out.Offset, out.LeaderEpoch = p.Partition, -1, -1, 0
			if seen[t.Topic][p.Partition] > 1 {
				out.ErrorCode = kerr.InvalidRequest.Code
				continue
			}
			b.listOffset(r, t.Topic, p, out, g)
		}
	}
	g.doneOne()
}

func (b *Broker) listOffset(r *request, topic string, p kmsg.ListOffsetsRequestTopicPartition, out *kmsg.ListOffsetsResponseTopicPartition, g *gather) {
	t, ok := b.topic(topic)
	switch {
	case !ok || p.Partition < 0 || p.Partition >= t.Partitions:
		out.ErrorCode = kerr.UnknownTopicOrPartition.Code
		return
	case p.CurrentLeaderEpoch > 0:
		out.ErrorCode = kerr.UnknownLeaderEpoch.Code
		return
	}
	g.add()
	b.toPartition(r, t.ID, p.Partition, func(id replication.RequestID) replication.Event {
		return replication.ListOffset{Now: b.now, ID: id, Timestamp: p.Timestamp}
	}, func(rep replication.Reply) {
		out.ErrorCode = partitionCode(rep.Err)
		if rep.Err == nil {
			out.Offset, out.Timestamp = int64(rep.Base), -1
			if len(rep.Batches) > 0 {
				out.Offset, out.Timestamp = b.recordAtTimestamp(rep.Batches, p.Timestamp, int64(rep.LogStart))
			}
		}
		g.doneOne()
	})
}

// recordAtTimestamp picks, inside the batch a by-time read found, the
// first record at or after the log start whose timestamp reaches ts, as
// Kafka's searchForTimestamp does (-3: the record with the largest
// timestamp, the first of them, wherever it lies, as Kafka's
// offsetOfMaxTimestamp), decompressing when it must. The batch may start
// below the log start (a DeleteRecords cut it). When every record of it
// reaching ts lies below the start (timestamps out of order), the answer
// is in a later batch: its end, the closest offset known not to pass it.
// A batch whose records cannot be read answers with its first offset at
// or after the start and its max timestamp.
func (b *Broker) recordAtTimestamp(batch []byte, ts, logStart int64) (int64, int64) {
	h := storage.DecodeBatchHeader(batch)
	bestOffset, bestTs := int64(-1), int64(-1)
	err := b.validator.Timestamps(batch, func(delta int32, rts int64) bool {
		off := int64(h.BaseOffset) + int64(delta)
		switch {
		case ts == replication.TimestampMax:
			if rts > bestTs {
				bestOffset, bestTs = off, rts
			}
			return true
		case rts >= ts && off >= logStart:
			bestOffset, bestTs = off, rts
			return false
		}
		return true
	})
	switch {
	case err != nil:
		return max(int64(h.BaseOffset), logStart), h.MaxTimestamp
	case bestOffset < 0 && ts != replication.TimestampMax:
		return int64(h.NextOffset()), -1
	case bestOffset < 0:
		return int64(h.BaseOffset), h.MaxTimestamp
	}
	return bestOffset, bestTs
}
