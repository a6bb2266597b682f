package broker

// Metadata (key 3), versions 0-12, as Kafka 4.0.1.
//
// Answered from the controller's published Image: one broker (this node),
// which is the controller and every partition's leader, replica and ISR;
// leader epoch 0. Topic IDs from v10; a null topic list (v1+) means all
// topics, an empty one none, but in v0 (no null list) an empty one means
// all, as Kafka's MetadataRequest.isAllTopics says. Auto-creation (v4+
// AllowAutoTopicCreation, always on below v4) when
// auto.create.topics.enable is on: a missing topic with a valid name is
// proposed with num.partitions and answered LEADER_NOT_AVAILABLE
// (retriable), as Kafka does while it is created. Internal topics are
// listed with IsInternal. Not implemented: authorized operations
// (returned as Kafka's "not requested" value -2147483648).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/controller"
)

const authorizedOpsOmitted = -2147483648

func handleMetadata(b *Broker, r *request) {
	req := r.kreq.(*kmsg.MetadataRequest)
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	if b.image == nil {
		resp.ControllerID = -1
		b.respond(r, resp)
		return
	}
	resp.Brokers = []kmsg.MetadataResponseBroker{b.self()}
	resp.ClusterID = strp(b.image.ClusterID())
	resp.ControllerID = b.cfg.NodeID
	resp.AuthorizedOperations = authorizedOpsOmitted
	if req.Topics == nil || r.hdr.APIVersion == 0 && len(req.Topics) == 0 {
		for _, t := range b.image.Topics() {
			resp.Topics = append(resp.Topics, b.topicMetadata(t))
		}
		b.respond(r, resp)
		return
	}
	autoCreate := b.cfg.AutoCreateTopics && (r.hdr.APIVersion < 4 || req.AllowAutoTopicCreation)
	for _, rt := range req.Topics {
		resp.Topics = append(resp.Topics, b.requestedTopic(r, rt, autoCreate))
	}
	b.respond(r, resp)
}

// requestedTopic answers one named (or, v10+, identified) topic.
func (b *Broker) requestedTopic(r *request, rt kmsg.MetadataRequestTopic, autoCreate bool) kmsg.MetadataResponseTopic {
	if rt.Topic == nil {
		t, ok := b.image.TopicByID(controller.TopicID(rt.TopicID))
		if !ok {
			mt := kmsg.NewMetadataResponseTopic()
			mt.TopicID, mt.ErrorCode = rt.TopicID, kerr.UnknownTopicID.Code
			return mt
		}
		return b.topicMetadata(t)
	}
	name := *rt.Topic
	if t, ok := b.image.Topic(name); ok {
		return b.topicMetadata(t)
	}
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic = strp(name)
	mt.AuthorizedOperations = authorizedOpsOmitted
	if _, valid := validTopicName(name); !valid {
		mt.ErrorCode = kerr.InvalidTopicException.Code
		return mt
	}
	mt.ErrorCode = kerr.UnknownTopicOrPartition.Code
	if autoCreate && !internalTopic(name) {
		b.autoCreate(name)
		mt.ErrorCode = kerr.LeaderNotAvailable.Code
	}
	return mt
}

// autoCreate proposes a topic with the broker's defaults; nobody waits for
// the answer (the client retries its metadata request).
func (b *Broker) autoCreate(name string) {
	b.propose(nil, controller.CreateTopic{Name: name, Partitions: b.cfg.NumPartitions}, func(controller.Reply) {})
}

func (b *Broker) self() kmsg.MetadataResponseBroker {
	br := kmsg.NewMetadataResponseBroker()
	br.NodeID, br.Host, br.Port = b.cfg.NodeID, b.cfg.AdvertisedHost, b.cfg.AdvertisedPort
	return br
}

func (b *Broker) topicMetadata(t controller.Topic) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic = strp(t.Name)
	mt.TopicID = t.ID
	mt.IsInternal = internalTopic(t.Name)
	mt.AuthorizedOperations = authorizedOpsOmitted
	for i := int32(0); i < t.Partitions; i++ {
		p := kmsg.NewMetadataResponseTopicPartition()
		p.Partition, p.Leader, p.LeaderEpoch = i, b.cfg.NodeID, 0
		p.Replicas, p.ISR = []int32{b.cfg.NodeID}, []int32{b.cfg.NodeID}
		mt.Partitions = append(mt.Partitions, p)
	}
	return mt
}
