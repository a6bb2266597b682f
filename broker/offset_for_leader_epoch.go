package broker

// OffsetForLeaderEpoch (key 23), versions 2-4, as Kafka 4.0.1 (KIP-279).
//
// One node has one leader epoch, 0: it ends at the log end offset; an
// epoch above it (above every known one) and UNDEFINED (-1) are
// answered UNDEFINED (-1, -1), as Kafka's LeaderEpochFileCache does. A
// CurrentLeaderEpoch above 0 is UNKNOWN_LEADER_EPOCH. Consumers use it to
// detect truncation after a leader change; with one node there is none.
// Not implemented: follower requests (ReplicaID ≥ 0) are answered the same.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

func handleOffsetForLeaderEpoch(b *Broker, r *request) {
	req := r.kreq.(*kmsg.OffsetForLeaderEpochRequest)
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	resp.Topics = make([]kmsg.OffsetForLeaderEpochResponseTopic, len(req.Topics))
	g := &gather{finish: func() { b.respond(r, resp) }}
	g.add()
	for i, t := range req.Topics {
		rt := &resp.Topics[i]
		*rt = kmsg.NewOffsetForLeaderEpochResponseTopic()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.OffsetForLeaderEpochResponseTopicPartition, len(t.Partitions))
		topic, ok := b.topic(t.Topic)
		for j, p := range t.Partitions {
			out := &rt.Partitions[j]
			*out = kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			out.Partition, out.LeaderEpoch, out.EndOffset = p.Partition, -1, -1
			switch {
			case !ok || p.Partition < 0 || p.Partition >= topic.Partitions:
				out.ErrorCode = kerr.UnknownTopicOrPartition.Code
				continue
			case p.CurrentLeaderEpoch > 0:
				out.ErrorCode = kerr.UnknownLeaderEpoch.Code
				continue
			}
			g.add()
			b.toPartition(r, topic.ID, p.Partition, func(id replication.RequestID) replication.Event {
				return replication.EpochEnd{Now: b.now, ID: id, Epoch: storage.Epoch(p.LeaderEpoch)}
			}, func(rep replication.Reply) {
				out.ErrorCode = partitionCode(rep.Err)
				if rep.Err == nil {
					out.LeaderEpoch, out.EndOffset = int32(rep.Epoch), int64(rep.Base)
				}
				g.doneOne()
			})
		}
	}
	g.doneOne()
}
