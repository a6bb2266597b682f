package broker

// FindCoordinator (key 10), versions 0-6, as Kafka 4.0.1.
//
// Group keys: this node coordinates every group (one node owns every
// __consumer_offsets partition). The first request for a group creates
// __consumer_offsets, as Kafka does, and is answered
// COORDINATOR_NOT_AVAILABLE (retriable) until the topic exists. v4+
// batches keys. Transaction keys fail fast with
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED until transactions exist (a
// retriable code would make a transactional producer spin for its whole
// timeout); other key types are INVALID_REQUEST.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func handleFindCoordinator(b *Broker, r *request) {
	req := r.kreq.(*kmsg.FindCoordinatorRequest)
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	keys := req.CoordinatorKeys
	if r.hdr.APIVersion < 4 {
		keys = []string{req.CoordinatorKey}
	}
	for _, key := range keys {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key, c.NodeID, c.Port = key, -1, -1
		code, msg := b.coordinatorFor(req.CoordinatorType)
		if code == 0 {
			c.NodeID, c.Host, c.Port = b.cfg.NodeID, b.cfg.AdvertisedHost, b.cfg.AdvertisedPort
		} else {
			c.ErrorCode, c.ErrorMessage = code, strp(msg)
		}
		resp.Coordinators = append(resp.Coordinators, c)
	}
	if r.hdr.APIVersion < 4 {
		c := resp.Coordinators[0]
		resp.ErrorCode, resp.ErrorMessage, resp.NodeID, resp.Host, resp.Port = c.ErrorCode, c.ErrorMessage, c.NodeID, c.Host, c.Port
		resp.Coordinators = nil
	}
	b.respond(r, resp)
}

// coordinatorFor answers one key of the given type.
func (b *Broker) coordinatorFor(keyType int8) (int16, string) {
	switch keyType {
	case 0:
		if _, ok := b.topic(offsetsTopic); !ok {
			b.ensureOffsetsTopic()
			return kerr.CoordinatorNotAvailable.Code, offsetsTopic + " is being created"
		}
		return 0, ""
	case 1:
		return kerr.TransactionalIDAuthorizationFailed.Code, "transactions are not supported yet"
	}
	return kerr.InvalidRequest.Code, "unknown coordinator key type"
}
