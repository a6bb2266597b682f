package broker

// DeleteTopics (key 20), versions 1-6, as Kafka 4.0.1.
//
// By name, or (v6+) by topic ID. A deleted topic is gone from Metadata as
// soon as its record is durable; its files are removed by the node after
// that. A recreated name gets a new topic ID. Internal topics cannot be
// deleted (INVALID_REQUEST). With delete.topic.enable=false every topic
// is refused, as Kafka's controller does: TOPIC_DELETION_DISABLED from v3,
// INVALID_REQUEST below (the code did not exist). Not implemented:
// throttling.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/controller"
)

func handleDeleteTopics(b *Broker, r *request) {
	req := r.kreq.(*kmsg.DeleteTopicsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	targets := req.Topics
	if r.hdr.APIVersion < 6 {
		targets = nil
		for _, name := range req.TopicNames {
			t := kmsg.NewDeleteTopicsRequestTopic()
			t.Topic = strp(name)
			targets = append(targets, t)
		}
	}
	resp.Topics = make([]kmsg.DeleteTopicsResponseTopic, len(targets))
	g := &gather{finish: func() { b.respond(r, resp) }}
	g.add()
	for i, t := range targets {
		out := &resp.Topics[i]
		*out = kmsg.NewDeleteTopicsResponseTopic()
		out.Topic, out.TopicID = t.Topic, t.TopicID
		if b.cfg.TopicDeletionDisabled {
			out.ErrorCode, out.ErrorMessage = deletionDisabled(r.hdr.APIVersion)
			continue
		}
		change := controller.DeleteTopic{ID: controller.TopicID(t.TopicID)}
		if t.Topic != nil {
			change.Name = *t.Topic
		}
		name := change.Name
		if byID, ok := b.topicByID(change.ID); name == "" && ok {
			name = byID.Name // deleting by topic id alone must not bypass the check
		}
		if internalTopic(name) {
			out.ErrorCode, out.ErrorMessage = kerr.InvalidRequest.Code, strp("internal topics cannot be deleted")
			continue
		}
		g.add()
		b.propose(r, change, func(rep controller.Reply) {
			out.ErrorCode = controllerCode(rep.Err)
			if rep.Err != nil {
				out.ErrorMessage = strp(rep.Err.Error())
			} else if out.Topic == nil {
				if topic, ok := b.image.TopicByID(rep.TopicID); ok {
					out.Topic = strp(topic.Name)
				}
			}
			out.TopicID = rep.TopicID
			g.doneOne()
		})
	}
	g.doneOne()
}

// deletionDisabled is the answer to every topic of a DeleteTopics when
// delete.topic.enable is false.
func deletionDisabled(version int16) (int16, *string) {
	if version < 3 {
		return kerr.InvalidRequest.Code, strp("Topic deletion is disabled.")
	}
	return kerr.TopicDeletionDisabled.Code, strp("Topic deletion is disabled.")
}
