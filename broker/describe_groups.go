package broker

// DescribeGroups (key 15), versions 0-5, as Kafka 4.0.1: state, protocol
// type, members; the chosen protocol and each member's metadata and
// assignment only while the group is Stable. An unknown group is Dead
// with no error (v0-5). Authorized operations are not computed (no ACLs):
// the "not requested" value.

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

func handleDescribeGroups(b *Broker, r *request) {
	req := r.kreq.(*kmsg.DescribeGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, id := range req.Groups {
		d := b.groups.Describe(id)
		rg := kmsg.NewDescribeGroupsResponseGroup()
		rg.Group, rg.ErrorCode, rg.State, rg.ProtocolType, rg.Protocol = id, d.Code, d.State, d.ProtocolType, d.Protocol
		rg.AuthorizedOperations = authorizedOpsOmitted
		for _, m := range d.Members {
			rm := kmsg.NewDescribeGroupsResponseGroupMember()
			rm.MemberID, rm.InstanceID, rm.ClientID, rm.ClientHost = m.MemberID, m.InstanceID, m.ClientID, m.ClientHost
			rm.ProtocolMetadata, rm.MemberAssignment = orEmpty(m.Metadata), orEmpty(m.Assignment)
			rg.Members = append(rg.Members, rm)
		}
		resp.Groups = append(resp.Groups, rg)
	}
	b.respond(r, resp)
}

func orEmpty(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
