package broker

// SyncGroup (key 14), versions 0-5, as Kafka 4.0.1: the leader's
// assignment is stored in __consumer_offsets before any member gets its
// share; followers wait for it. v5 checks the protocol type and name.

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/broker/group"
)

func handleSyncGroup(b *Broker, r *request) {
	req := r.kreq.(*kmsg.SyncGroupRequest)
	a := group.SyncArgs{Group: req.Group, Generation: req.Generation, MemberID: req.MemberID, InstanceID: req.InstanceID,
		ProtocolType: req.ProtocolType, Protocol: req.Protocol}
	for _, x := range req.GroupAssignment {
		a.Assignments = append(a.Assignments, group.Assignment{MemberID: x.MemberID, Assignment: x.MemberAssignment})
	}
	b.groups.Sync(b.now, a, func(res group.SyncResult) {
		resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode, resp.MemberAssignment = res.Code, res.Assignment
		if resp.MemberAssignment == nil {
			resp.MemberAssignment = []byte{}
		}
		if res.Code == 0 {
			resp.ProtocolType, resp.Protocol = strp(res.ProtocolType), strp(res.Protocol)
		}
		b.respond(r, resp)
	})
}
