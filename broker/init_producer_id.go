package broker

// InitProducerId (key 22), versions 0-5, as Kafka 4.0.1, for idempotent
// producers.
//
// With a null transactional id it always returns a fresh producer id at
// epoch 0, drawn from a block the controller allocated durably (so an id is
// never reused after a crash). A request that names its current id and
// epoch (v3+, KIP-360: the client bumps its epoch after an error) gets a
// fresh id too, which Kafka's idempotent path allows. With a transactional
// id it fails fast with TRANSACTIONAL_ID_AUTHORIZATION_FAILED (a retriable
// code would make a transactional producer spin for its whole timeout) and
// logs a warning once per client id. Not implemented: transactions.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/takhin-io/takhin/controller"
)

// producerIDs hands out ids from the current block and asks the
// controller for the next block when it runs out.
type producerIDs struct {
	next, end  int64
	asking     bool
	waiting    []*request
	warnedTxns map[string]bool
}

func handleInitProducerID(b *Broker, r *request) {
	req := r.kreq.(*kmsg.InitProducerIDRequest)
	if req.TransactionalID != nil {
		resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
		resp.ErrorCode, resp.ProducerID, resp.ProducerEpoch = kerr.TransactionalIDAuthorizationFailed.Code, -1, -1
		if b.pids.warnedTxns == nil {
			b.pids.warnedTxns = map[string]bool{}
		}
		if !b.pids.warnedTxns[r.c.clientID] {
			b.pids.warnedTxns[r.c.clientID] = true
			b.log.Warn("transactional producer refused: transactions are not supported yet",
				zap.String("client_id", r.c.clientID), zap.String("transactional_id", *req.TransactionalID))
		}
		b.respond(r, resp)
		return
	}
	b.pids.waiting = append(b.pids.waiting, r)
	b.pids.serve(b)
}

// serve answers waiting requests from the block, asking for a new block
// when it is used up.
func (p *producerIDs) serve(b *Broker) {
	for len(p.waiting) > 0 && p.next < p.end {
		r := p.waiting[0]
		p.waiting = p.waiting[1:]
		resp := r.kreq.ResponseKind().(*kmsg.InitProducerIDResponse)
		resp.ProducerID, resp.ProducerEpoch = p.next, 0
		p.next++
		if !r.c.closing {
			b.respond(r, resp)
		}
	}
	if len(p.waiting) == 0 || p.asking {
		return
	}
	p.asking = true
	b.propose(nil, controller.AllocateProducerIDs{Count: b.cfg.ProducerIDBlock}, func(rep controller.Reply) {
		p.asking = false
		if rep.Err != nil {
			p.failAll(b, controllerCode(rep.Err))
			return
		}
		p.next, p.end = rep.ProducerIDs.Start, rep.ProducerIDs.Start+rep.ProducerIDs.Size
		p.serve(b)
	})
}

func (p *producerIDs) failAll(b *Broker, code int16) {
	for _, r := range p.waiting {
		resp := r.kreq.ResponseKind().(*kmsg.InitProducerIDResponse)
		resp.ErrorCode, resp.ProducerID, resp.ProducerEpoch = code, -1, -1
		if !r.c.closing {
			b.respond(r, resp)
		}
	}
	p.waiting = nil
}

// imagePublished is a hook for the id block: nothing to do on one node.
func (p *producerIDs) imagePublished(*Broker) {}
