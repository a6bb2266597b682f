package simnet

import (
	"cmp"
	"slices"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/assert"
)

// The explicit faults, for the simulator's fault injector. Every one acts
// on whole streams or connections: a live connection never loses a frame.

// linkKey is a directed pair of nodes: every stream from one to the other.
type linkKey struct{ from, to string }

// link is the state of a directed pair. A clog holds bytes for as long as
// it lasts; a partition also loses what is on the wire (it is sent again
// on Heal) and arms the retransmission timeout.
type link struct{ clogged, partitioned bool }

// Partition cuts a and b apart both ways until Heal.
func (n *Net) Partition(a, b string) {
	n.setPartition(a, b, true)
	n.setPartition(b, a, true)
}

// PartitionOneWay cuts the streams from one node to another (only those)
// until Heal.
func (n *Net) PartitionOneWay(from, to string) { n.setPartition(from, to, true) }

// Heal ends the partitions between a and b, both ways: the held bytes
// leave in order.
func (n *Net) Heal(a, b string) {
	n.setPartition(a, b, false)
	n.setPartition(b, a, false)
}

// Clog holds every stream from one node to another (bytes already on the
// wire still arrive) until Unclog. A clog never resets a connection.
func (n *Net) Clog(from, to string) { n.setClog(from, to, true) }

// Unclog releases a Clog: the held bytes leave in order.
func (n *Net) Unclog(from, to string) { n.setClog(from, to, false) }

// HealAll ends every partition and clog, as a liveness phase begins.
func (n *Net) HealAll() {
	keys := make([]linkKey, 0, len(n.links))
	for k := range n.links {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b linkKey) int {
		return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(a.to, b.to))
	})
	for _, k := range keys {
		n.setPartition(k.from, k.to, false)
		n.setClog(k.from, k.to, false)
	}
}

// Stall holds what the end conn sends (one direction of its connection)
// for d ns; chunks already on the wire still arrive. Unknown ids are
// ignored.
func (n *Net) Stall(conn env.ConnID, d int64) {
	if e := n.ends[conn]; e != nil && d > 0 {
		n.stall(e.out(), d)
	}
}

// Reset breaks conn's connection (either end's id) at a seeded byte of
// what is on the wire each way. Unknown ids are ignored.
func (n *Net) Reset(conn env.ConnID) {
	if e := n.ends[conn]; e != nil {
		n.reset(e.c, ErrReset)
	}
}

func (n *Net) link(from, to string) *link {
	k := linkKey{from, to}
	l := n.links[k]
	if l == nil {
		l = &link{}
		n.links[k] = l
	}
	return l
}

func (n *Net) linkOf(p *pipe) *link {
	return n.links[linkKey{p.c.nodes[p.dir].name, p.c.nodes[1-p.dir].name}]
}

func (n *Net) partitioned(p *pipe) bool {
	l := n.linkOf(p)
	return l != nil && l.partitioned
}

// blocked reports whether p may not send now.
func (n *Net) blocked(p *pipe) bool {
	l := n.linkOf(p)
	return p.stalledUntil > n.sched.Now() || (l != nil && (l.clogged || l.partitioned))
}

func (n *Net) setPartition(from, to string, on bool) {
	l := n.link(from, to)
	if l.partitioned == on {
		return
	}
	l.partitioned = on
	n.emit(pick(on, "partition", "heal"), n.node(from).index, n.node(to).index)
	n.eachPipe(from, to, func(p *pipe) {
		if on {
			n.pullBack(p)
		}
		n.pump(p)
	})
}

func (n *Net) setClog(from, to string, on bool) {
	l := n.link(from, to)
	if l.clogged == on {
		return
	}
	l.clogged = on
	n.emit(pick(on, "clog", "unclog"), n.node(from).index, n.node(to).index)
	if !on {
		n.eachPipe(from, to, n.pump)
	}
}

// eachPipe calls fn for every stream from one node to another on a live
// connection, in connection order.
func (n *Net) eachPipe(from, to string, fn func(*pipe)) {
	for _, c := range n.sortedConns() {
		for _, p := range c.pipes {
			if !c.broken && c.nodes[p.dir].name == from && c.nodes[1-p.dir].name == to {
				fn(p)
			}
		}
	}
}

func (n *Net) stall(p *pipe, d int64) {
	assert.That(d > 0, "simnet: a stall must last")
	until := n.sched.Now() + d
	if until <= p.stalledUntil {
		return
	}
	p.stalledUntil = until
	n.emit("stall", p.key(), d)
	n.sched.At(until, func() { n.pump(p) })
}

// pullBack returns p's chunks on the wire to the front of its queue: a
// partition lost them, and TCP sends them again once it heals.
func (n *Net) pullBack(p *pipe) {
	var data []byte
	for _, ch := range p.inflight {
		assert.That(!ch.rset, "simnet: a reset marker on a live connection")
		switch {
		case ch.syn:
			p.synPending = true
		case ch.fin:
			p.finPending = true
		default:
			data = append(data, ch.data...)
		}
	}
	if len(data) > 0 {
		p.queue = append(data, p.queue...)
	}
	p.inflight = nil
	p.lastArrival = n.sched.Now()
}

// awaitTimeout arms the retransmission timeout of a stream whose bytes
// wait behind a partition: if they still wait PartitionTimeout later, the
// connection resets.
func (n *Net) awaitTimeout(p *pipe) {
	if !n.partitioned(p) || p.waitingSince >= 0 || n.cfg.PartitionTimeout < 0 {
		return
	}
	since := n.sched.Now()
	p.waitingSince = since
	n.sched.At(since+n.cfg.PartitionTimeout, func() {
		if !p.c.broken && p.waitingSince == since && p.hasPending() && n.partitioned(p) {
			n.reset(p.c, ErrTimeout)
		}
	})
}

// reset breaks c: each way, a seeded prefix of what is on the wire still
// arrives, then a reset marker carrying err, which finishes the receiving
// end; nothing more is sent.
func (n *Net) reset(c *conn, err error) {
	if c.broken {
		return
	}
	c.broken = true
	for _, p := range c.pipes {
		kept := n.cut(p)
		p.queue, p.synPending, p.finPending, p.waitingSince = nil, false, false, -1
		n.emit("reset", p.key(), int64(kept))
		if to := p.receiver(); to != nil && !to.finished {
			n.enqueue(p, chunk{rset: true, err: err})
		}
	}
	n.maybeTeardown(c)
}

// cut keeps a seeded prefix of p's bytes on the wire, which may end inside
// a frame, and returns its size. A SYN on the wire stays (it comes first);
// a FIN goes (a reset connection closes by its reset).
func (n *Net) cut(p *pipe) int {
	total := 0
	for _, ch := range p.inflight {
		total += len(ch.data)
	}
	keep := 0
	if total > 0 {
		keep = p.c.rng.IntN(total + 1)
	}
	kept, left := p.inflight[:0:0], keep
	for _, ch := range p.inflight {
		switch {
		case ch.syn:
			kept = append(kept, ch)
		case len(ch.data) > 0 && left > 0:
			ch.data = ch.data[:min(left, len(ch.data))]
			left -= len(ch.data)
			kept = append(kept, ch)
		}
	}
	p.inflight = kept
	return keep
}

func pick(on bool, ifOn, ifOff string) string {
	if on {
		return ifOn
	}
	return ifOff
}

// SetFaults changes the fault probabilities from now on (the simulator's
// liveness phase turns them off).
func (n *Net) SetFaults(f Faults) { n.cfg.Faults = f }
