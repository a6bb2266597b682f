package broker

// ListGroups (key 16), versions 0-5, as Kafka 4.0.1: every group this node
// coordinates, filtered by state (v4+, case-insensitive) and type (v5+:
// every group is "classic"). COORDINATOR_LOAD_IN_PROGRESS while a shard
// of __consumer_offsets is still loading, with the groups loaded so far.

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

func handleListGroups(b *Broker, r *request) {
	req := r.kreq.(*kmsg.ListGroupsRequest)
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	groups, code := b.groups.List(req.StatesFilter, req.TypesFilter)
	resp.ErrorCode = code
	for _, g := range groups {
		rg := kmsg.NewListGroupsResponseGroup()
		rg.Group, rg.ProtocolType, rg.GroupState, rg.GroupType = g.Group, g.ProtocolType, g.State, "classic"
		resp.Groups = append(resp.Groups, rg)
	}
	b.respond(r, resp)
}
