package broker

// DeleteGroups (key 42), versions 0-2, as Kafka 4.0.1: each group must be
// Empty (NON_EMPTY_GROUP otherwise) and exist (GROUP_ID_NOT_FOUND); its
// offsets and metadata are tombstoned in __consumer_offsets and the
// answer waits until that is durable. The group leaves memory only then:
// a failed write (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, ...) leaves
// it as it was, and while the write is in flight requests that would
// change the group are answered COORDINATOR_NOT_AVAILABLE.

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

func handleDeleteGroups(b *Broker, r *request) {
	req := r.kreq.(*kmsg.DeleteGroupsRequest)
	b.groups.Delete(b.now, req.Groups, func(codes []int16) {
		resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
		for i, id := range req.Groups {
			rg := kmsg.NewDeleteGroupsResponseGroup()
			rg.Group, rg.ErrorCode = id, codes[i]
			resp.Groups = append(resp.Groups, rg)
		}
		b.respond(r, resp)
	})
}
