package broker

// OffsetFetch (key 9), versions 1-9, as Kafka 4.0.1 (v0 was removed in
// 4.0). v8+ ask for several groups at once; null topics (v2+) ask for
// every committed offset of the group. A partition without a commit is
// offset -1. RequireStable (v7+) has nothing to wait for: without
// transactions no commit is ever pending. v9's member id and epoch belong
// to the consumer protocol (KIP-848), which Takhin does not run: they are
// ignored for classic groups. v1 reports errors per partition only.

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/broker/group"
)

func handleOffsetFetch(b *Broker, r *request) {
	req := r.kreq.(*kmsg.OffsetFetchRequest)
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	if r.hdr.APIVersion >= 8 {
		for _, g := range req.Groups {
			var asked []group.TopicPartition
			if g.Topics != nil {
				asked = []group.TopicPartition{}
				for _, t := range g.Topics {
					for _, p := range t.Partitions {
						asked = append(asked, group.TopicPartition{Topic: t.Topic, Partition: p})
					}
				}
			}
			offsets, code := b.groups.Fetch(g.Group, asked)
			rg := kmsg.NewOffsetFetchResponseGroup()
			rg.Group, rg.ErrorCode = g.Group, code
			for _, o := range offsets {
				if n := len(rg.Topics); n == 0 || rg.Topics[n-1].Topic != o.Topic {
					rt := kmsg.NewOffsetFetchResponseGroupTopic()
					rt.Topic = o.Topic
					rg.Topics = append(rg.Topics, rt)
				}
				rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
				rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata = o.Partition, o.Offset.Offset, o.LeaderEpoch, strp(o.Metadata)
				rt := &rg.Topics[len(rg.Topics)-1]
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Groups = append(resp.Groups, rg)
		}
		b.respond(r, resp)
		return
	}
	var asked []group.TopicPartition
	if req.Topics != nil {
		asked = []group.TopicPartition{}
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				asked = append(asked, group.TopicPartition{Topic: t.Topic, Partition: p})
			}
		}
	}
	offsets, code := b.groups.Fetch(req.Group, asked)
	if code != 0 && r.hdr.APIVersion < 2 {
		// v1 has no group error: each asked partition carries it.
		offsets = make([]group.FetchedOffset, len(asked))
		for i, tp := range asked {
			offsets[i] = group.FetchedOffset{TopicPartition: tp, Offset: group.Offset{Offset: -1, LeaderEpoch: -1}}
		}
	}
	resp.ErrorCode = code
	for _, o := range offsets {
		if n := len(resp.Topics); n == 0 || resp.Topics[n-1].Topic != o.Topic {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = o.Topic
			resp.Topics = append(resp.Topics, rt)
		}
		rp := kmsg.NewOffsetFetchResponseTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata = o.Partition, o.Offset.Offset, o.LeaderEpoch, strp(o.Metadata)
		if code != 0 && r.hdr.APIVersion < 2 {
			rp.ErrorCode = code
		}
		rt := &resp.Topics[len(resp.Topics)-1]
		rt.Partitions = append(rt.Partitions, rp)
	}
	b.respond(r, resp)
}
