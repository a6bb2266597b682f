package broker

// LeaveGroup (key 13), versions 0-5, as Kafka 4.0.1: v0-2 name one
// member, v3+ batch members by id or instance id (KIP-345), each with its
// own code.

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/broker/group"
)

func handleLeaveGroup(b *Broker, r *request) {
	req := r.kreq.(*kmsg.LeaveGroupRequest)
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	var members []group.LeaveMember
	if r.hdr.APIVersion < 3 {
		members = []group.LeaveMember{{MemberID: req.MemberID}}
	} else {
		for _, m := range req.Members {
			members = append(members, group.LeaveMember{MemberID: m.MemberID, InstanceID: m.InstanceID})
		}
	}
	top, codes := b.groups.Leave(b.now, req.Group, members)
	resp.ErrorCode = top
	if r.hdr.APIVersion < 3 {
		if top == 0 {
			resp.ErrorCode = codes[0]
		}
	} else {
		for i, m := range req.Members {
			rm := kmsg.NewLeaveGroupResponseMember()
			rm.MemberID, rm.InstanceID, rm.ErrorCode = m.MemberID, m.InstanceID, codes[i]
			resp.Members = append(resp.Members, rm)
		}
	}
	b.respond(r, resp)
}
