package broker

// Heartbeat (key 12), versions 0-4, as Kafka 4.0.1: keeps a member's
// session; REBALANCE_IN_PROGRESS tells it to rejoin.

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/broker/group"
)

func handleHeartbeat(b *Broker, r *request) {
	req := r.kreq.(*kmsg.HeartbeatRequest)
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	resp.ErrorCode = b.groups.Heartbeat(b.now, group.HeartbeatArgs{Group: req.Group, Generation: req.Generation,
		MemberID: req.MemberID, InstanceID: req.InstanceID})
	b.respond(r, resp)
}
