package broker

import (
	"github.com/takhin-io/takhin/controller"
	"github.com/takhin-io/takhin/replication"
)

// sub is one sub-request a request sent to a partition machine or the
// controller; its callback runs when the reply comes back, unless the
// request was abandoned (its connection closed).
type sub struct {
	r            *request
	onPartition  func(replication.Reply)
	onController func(controller.Reply)
}

// toPartition sends ev (whose ID the broker sets) to a partition and
// calls on with the reply.
func (b *Broker) toPartition(r *request, id controller.TopicID, partition int32, ev func(replication.RequestID) replication.Event, on func(replication.Reply)) {
	b.nextSub++
	b.subs[b.nextSub] = &sub{r: r, onPartition: on}
	b.ready.ToPartitions = append(b.ready.ToPartitions, PartitionRequest{
		TopicID: id, Partition: partition, Event: ev(replication.RequestID(b.nextSub)),
	})
}

// propose sends a change to the controller and calls on with the reply.
func (b *Broker) propose(r *request, ch controller.Change, on func(controller.Reply)) {
	b.nextSub++
	b.subs[b.nextSub] = &sub{r: r, onController: on}
	b.ready.Proposals = append(b.ready.Proposals, controller.Propose{Now: b.now, ID: controller.RequestID(b.nextSub), Change: ch})
}

func (b *Broker) partitionReply(rep replication.Reply) {
	s := b.subs[uint64(rep.ID)]
	if s == nil {
		return
	}
	delete(b.subs, uint64(rep.ID))
	if s.r != nil && s.r.c.closing {
		return
	}
	s.onPartition(rep)
}

func (b *Broker) controllerReply(rep controller.Reply) {
	s := b.subs[uint64(rep.ID)]
	if s == nil {
		return
	}
	delete(b.subs, uint64(rep.ID))
	if s.r != nil && s.r.c.closing {
		return
	}
	s.onController(rep)
}

// abandon forgets r: replies to its subs are dropped when they come.
func (b *Broker) abandon(r *request) {
	kept := b.fetches[:0]
	for _, f := range b.fetches {
		if f.r != r {
			kept = append(kept, f)
		}
	}
	clear(b.fetches[len(kept):])
	b.fetches = kept
}

// gather counts outstanding sub-replies of one request and runs finish
// when the last one arrives.
type gather struct {
	waiting int
	finish  func()
}

func (g *gather) add() { g.waiting++ }

func (g *gather) doneOne() {
	g.waiting--
	if g.waiting == 0 {
		g.finish()
	}
}
