package broker

// CreatePartitions (key 37), versions 0-3, as Kafka 4.0.1.
//
// Grows a topic's partition count; a count that does not grow is
// INVALID_PARTITIONS. An explicit assignment must name only this node.
// ValidateOnly checks without changing anything. Internal topics are
// refused (INVALID_REQUEST). Not implemented: throttling.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/controller"
)

func handleCreatePartitions(b *Broker, r *request) {
	req := r.kreq.(*kmsg.CreatePartitionsRequest)
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	resp.Topics = make([]kmsg.CreatePartitionsResponseTopic, len(req.Topics))
	g := &gather{finish: func() { b.respond(r, resp) }}
	g.add()
	for i, t := range req.Topics {
		out := &resp.Topics[i]
		*out = kmsg.NewCreatePartitionsResponseTopic()
		out.Topic = t.Topic
		if internalTopic(t.Topic) {
			out.ErrorCode, out.ErrorMessage = kerr.InvalidRequest.Code, strp("internal topics cannot be changed")
			continue
		}
		if !onlyThisNode(t.Assignment, b.cfg.NodeID) {
			out.ErrorCode, out.ErrorMessage = kerr.InvalidReplicaAssignment.Code, strp("every new partition must be assigned to this single node")
			continue
		}
		g.add()
		b.propose(r, controller.CreatePartitions{Name: t.Topic, Count: t.Count, ValidateOnly: req.ValidateOnly}, func(rep controller.Reply) {
			out.ErrorCode = controllerCode(rep.Err)
			if rep.Err != nil {
				out.ErrorMessage = strp(rep.Err.Error())
			}
			g.doneOne()
		})
	}
	g.doneOne()
}

func onlyThisNode(as []kmsg.CreatePartitionsRequestTopicAssignment, node int32) bool {
	for _, a := range as {
		if len(a.Replicas) != 1 || a.Replicas[0] != node {
			return false
		}
	}
	return true
}
