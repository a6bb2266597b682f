package broker

// DeleteRecords (key 21), versions 0-2, as Kafka 4.0.1: moves each
// partition's log start offset to the offset given (-1: the high
// watermark) and answers the new low watermark once the move is durable
// (the partition checkpoint is fsynced); segments below it go at the next
// retention check, and reads below it are OFFSET_OUT_OF_RANGE at once. An
// offset above the high watermark is OFFSET_OUT_OF_RANGE; internal topics
// are INVALID_TOPIC_EXCEPTION; a topic whose cleanup.policy lacks delete
// is POLICY_VIOLATION, as Kafka refuses DeleteRecords on compacted-only
// topics. The request's timeout is not used: the answer waits for the
// checkpoint's fsync, after the background chunk in flight (between two
// retention chunks; a compaction pass in progress runs to its end first).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

func handleDeleteRecords(b *Broker, r *request) {
	req := r.kreq.(*kmsg.DeleteRecordsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	g := &gather{finish: func() { b.respond(r, resp) }}
	g.add()
	resp.Topics = make([]kmsg.DeleteRecordsResponseTopic, len(req.Topics))
	for i, t := range req.Topics {
		rt := &resp.Topics[i]
		*rt = kmsg.NewDeleteRecordsResponseTopic()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.DeleteRecordsResponseTopicPartition, len(t.Partitions))
		for j, p := range t.Partitions {
			rp := &rt.Partitions[j]
			*rp = kmsg.NewDeleteRecordsResponseTopicPartition()
			rp.Partition, rp.LowWatermark = p.Partition, -1
			topic, ok := b.topic(t.Topic)
			switch {
			case !ok || p.Partition < 0 || p.Partition >= topic.Partitions:
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case internalTopic(t.Topic):
				rp.ErrorCode = kerr.InvalidTopicException.Code
			case b.topicConfig(topic).DeleteOff:
				rp.ErrorCode = kerr.PolicyViolation.Code
			case p.Offset < -1:
				rp.ErrorCode = kerr.OffsetOutOfRange.Code
			default:
				g.add()
				offset := storage.Offset(p.Offset)
				b.toPartition(r, topic.ID, p.Partition, func(id replication.RequestID) replication.Event {
					return replication.DeleteRecords{Now: b.now, ID: id, Offset: offset}
				}, func(rep replication.Reply) {
					rp.ErrorCode = partitionCode(rep.Err)
					if rep.Err == nil {
						rp.LowWatermark = int64(rep.LogStart)
					}
					g.doneOne()
				})
			}
		}
	}
	g.doneOne()
}
