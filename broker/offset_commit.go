package broker

// OffsetCommit (key 8), versions 2-9, as Kafka 4.0.1 (v0-1 were removed
// in 4.0). Members commit with their generation; simple consumers with
// generation -1 and no member id. A partition of an unknown topic is
// UNKNOWN_TOPIC_OR_PARTITION, metadata beyond offset.metadata.max.bytes
// OFFSET_METADATA_TOO_LARGE. The answer waits until the commit's batch
// is durable in __consumer_offsets. A retention time (v2-4) other than -1
// expires the offsets that long after the commit instead of by
// offsets.retention.minutes, as in Kafka (KIP-211). A member's commit to a
// group that does not exist is ILLEGAL_GENERATION, and from v9
// GROUP_ID_NOT_FOUND, as Kafka 4.0 answers.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/broker/group"
)

func handleOffsetCommit(b *Broker, r *request) {
	req := r.kreq.(*kmsg.OffsetCommitRequest)
	a := group.CommitArgs{Version: r.hdr.APIVersion, Group: req.Group, Generation: req.Generation, MemberID: req.MemberID,
		InstanceID: req.InstanceID}
	if r.hdr.APIVersion >= 2 && r.hdr.APIVersion <= 4 && req.RetentionTimeMillis != -1 {
		a.RetentionMs = &req.RetentionTimeMillis
	}
	for _, t := range req.Topics {
		topic, known := b.topic(t.Topic)
		for _, p := range t.Partitions {
			o := group.CommitOffset{TopicPartition: group.TopicPartition{Topic: t.Topic, Partition: p.Partition},
				Offset: p.Offset, LeaderEpoch: p.LeaderEpoch, Metadata: p.Metadata}
			if r.hdr.APIVersion < 6 {
				o.LeaderEpoch = -1
			}
			if !known || p.Partition < 0 || p.Partition >= topic.Partitions {
				o.Code = kerr.UnknownTopicOrPartition.Code
			}
			a.Offsets = append(a.Offsets, o)
		}
	}
	b.groups.Commit(b.now, a, func(codes []int16) {
		resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
		i := 0
		for _, t := range req.Topics {
			rt := kmsg.NewOffsetCommitResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetCommitResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, codes[i]
				rt.Partitions = append(rt.Partitions, rp)
				i++
			}
			resp.Topics = append(resp.Topics, rt)
		}
		b.respond(r, resp)
	})
}
