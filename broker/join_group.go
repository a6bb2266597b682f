package broker

// JoinGroup (key 11), versions 0-9, as Kafka 4.0.1: the classic protocol
// (see broker/group). v4+ members without an id get MEMBER_ID_REQUIRED
// with one (KIP-394); v0-3 members (kafka-go's Reader) join at once, as in
// Kafka. Static members (v5+, KIP-345): one that restarts into a Stable
// group rebalances it only if the group's protocol would change, as in
// Kafka; v9's SkipAssignment is set for a static leader rejoining a Stable
// group, and a static leader below v9 rebalances it (Kafka would answer it
// as a follower under its old id). The response is held until the
// rebalance completes.

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/broker/group"
)

func handleJoinGroup(b *Broker, r *request) {
	req := r.kreq.(*kmsg.JoinGroupRequest)
	a := group.JoinArgs{Version: r.hdr.APIVersion, Group: req.Group, MemberID: req.MemberID, InstanceID: req.InstanceID,
		ClientID: r.c.clientID, ClientHost: clientHost(r.c.remote), SessionTimeoutMs: req.SessionTimeoutMillis,
		RebalanceTimeoutMs: req.RebalanceTimeoutMillis, ProtocolType: req.ProtocolType}
	if r.hdr.APIVersion == 0 {
		a.RebalanceTimeoutMs = req.SessionTimeoutMillis
	}
	for _, p := range req.Protocols {
		a.Protocols = append(a.Protocols, group.Protocol{Name: p.Name, Metadata: p.Metadata})
	}
	b.groups.Join(b.now, a, func(res group.JoinResult) {
		resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode, resp.Generation, resp.LeaderID, resp.MemberID = res.Code, res.Generation, res.Leader, res.MemberID
		resp.SkipAssignment = res.SkipAssignment
		if res.Code == 0 {
			resp.ProtocolType, resp.Protocol = strp(res.ProtocolType), strp(res.Protocol)
		}
		for _, m := range res.Members {
			rm := kmsg.NewJoinGroupResponseMember()
			rm.MemberID, rm.InstanceID, rm.ProtocolMetadata = m.MemberID, m.InstanceID, m.Metadata
			resp.Members = append(resp.Members, rm)
		}
		b.respond(r, resp)
	})
}

// clientHost is Kafka's client host: the remote address, "/"-prefixed,
// without the port.
func clientHost(remote string) string {
	for i := len(remote) - 1; i >= 0; i-- {
		if remote[i] == ':' {
			remote = remote[:i]
			break
		}
	}
	return "/" + remote
}
