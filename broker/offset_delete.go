package broker

// OffsetDelete (key 47), version 0, as Kafka 4.0.1: deletes committed
// offsets of a group that is Empty, or of topics a consumer group does not
// subscribe to (GROUP_SUBSCRIBED_TO_TOPIC otherwise); an unknown group is
// GROUP_ID_NOT_FOUND, an unknown topic UNKNOWN_TOPIC_OR_PARTITION.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/broker/group"
)

func handleOffsetDelete(b *Broker, r *request) {
	req := r.kreq.(*kmsg.OffsetDeleteRequest)
	var tps []group.TopicPartition
	var unknown []bool
	for _, t := range req.Topics {
		topic, known := b.topic(t.Topic)
		for _, p := range t.Partitions {
			tps = append(tps, group.TopicPartition{Topic: t.Topic, Partition: p.Partition})
			unknown = append(unknown, !known || p.Partition < 0 || p.Partition >= topic.Partitions)
		}
	}
	b.groups.DeleteOffsets(b.now, req.Group, tps, func(top int16, codes []int16) {
		resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
		resp.ErrorCode = top
		if top == 0 {
			i := 0
			for _, t := range req.Topics {
				rt := kmsg.NewOffsetDeleteResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewOffsetDeleteResponseTopicPartition()
					rp.Partition, rp.ErrorCode = p.Partition, codes[i]
					if unknown[i] {
						rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
					}
					rt.Partitions = append(rt.Partitions, rp)
					i++
				}
				resp.Topics = append(resp.Topics, rt)
			}
		}
		b.respond(r, resp)
	})
}
