package simnet

import (
	"io"

	"github.com/takhin-io/takhin/internal/assert"
)

// The life of a chunk: pump cuts it from the sender's queue and puts it on
// the wire (enqueue) with an arrival time no earlier than the chunk ahead
// of it; arrive takes the chunks that are due, in order, and receive hands
// them to the receiving end; drain frames what that end received and
// delivers it, unless the end is paused or closing.

// pump sends what p's sender queued until the queue is empty, the stream
// is blocked (a stall, a clog, a partition) or the connection breaks.
func (n *Net) pump(p *pipe) {
	for !p.c.broken {
		if !n.partitioned(p) {
			p.waitingSince = -1
		}
		if !p.hasPending() {
			return
		}
		if n.blocked(p) {
			n.awaitTimeout(p)
			return
		}
		n.transmit(p)
	}
}

// transmit sends p's next chunk (the SYN, 1..ChunkBytesMax bytes, or the
// FIN), then draws the per-chunk faults.
func (n *Net) transmit(p *pipe) {
	var ch chunk
	switch {
	case p.synPending:
		ch.syn, p.synPending = true, false
	case len(p.queue) > 0:
		size := min(1+p.c.rng.IntN(n.cfg.ChunkBytesMax), len(p.queue))
		ch.data, p.queue = p.queue[:size:size], p.queue[size:]
	default:
		ch.fin, p.finPending = true, false
	}
	n.emit("tx", p.key(), int64(len(ch.data)))
	n.enqueue(p, ch)
	if ch.fin {
		n.finSent(p)
	}
	f, r := n.cfg.Faults, p.c.rng
	if r.Chance(f.Stall) {
		n.stall(p, 1+r.Int64N(f.StallMax))
	}
	if r.Chance(f.Reset) {
		n.reset(p.c, ErrReset)
	}
}

// enqueue puts ch on p's wire. Arrival times never decrease along a
// stream, so a late chunk holds up the ones behind it, as in TCP.
func (n *Net) enqueue(p *pipe, ch chunk) {
	ch.at = max(p.lastArrival, n.sched.Now()+n.latency(p))
	p.lastArrival = ch.at
	p.inflight = append(p.inflight, ch)
	n.sched.At(ch.at, func() { n.arrive(p) })
}

// latency draws one chunk's one-way latency, spike included.
func (n *Net) latency(p *pipe) int64 {
	r := p.c.rng
	d := n.cfg.LatencyBase
	if n.cfg.LatencyJitter > 0 {
		d += r.Int64N(n.cfg.LatencyJitter + 1)
	}
	if r.Chance(n.cfg.Faults.Spike) {
		spike := 1 + r.Int64N(n.cfg.Faults.SpikeMax)
		n.emit("spike", p.key(), spike)
		d += spike
	}
	return d
}

// arrive receives every chunk of p that is due, in order. Actions for
// chunks that a partition pulled back or a reset cut find nothing due:
// the wire, not the action, says what arrives.
func (n *Net) arrive(p *pipe) {
	now := n.sched.Now()
	for len(p.inflight) > 0 && p.inflight[0].at <= now {
		ch := p.inflight[0]
		p.inflight = p.inflight[1:]
		n.receive(p, ch)
	}
	if len(p.inflight) == 0 {
		p.inflight = nil
	}
}

// receive hands one arrived chunk to p's receiving end and delivers what
// it can. The markers (SYN, FIN, reset) sit at the ends of the stream.
func (n *Net) receive(p *pipe, ch chunk) {
	to := p.receiver()
	switch {
	case ch.syn && p.dir == client:
		n.accept(p.c)
		return
	case ch.syn:
		if !to.finished && !to.closing {
			n.open(to)
		}
	case ch.rset:
		p.resetErr = ch.err
	case ch.fin:
		p.finArrived = true
	default:
		n.emit("rx", p.key(), int64(len(ch.data)))
		if to == nil || to.finished || to.closing {
			return // nobody reads it: a broken dial, or a closing end
		}
		p.rcv = append(p.rcv, ch.data...)
	}
	if to != nil && !to.finished {
		n.drain(to)
	}
}

// accept answers a SYN: the listener gets a new end and ConnOpened, and the
// SYN-ACK leaves for the dialer; or the dial is refused.
func (n *Net) accept(c *conn) {
	assert.That(c.ends[server] == nil, "simnet: a second SYN arrived")
	if c.broken {
		return
	}
	dst := c.nodes[server]
	if !dst.up || !dst.listening || c.rng.Chance(n.cfg.Faults.Refuse) {
		n.emit("refuse", int64(c.id), 0)
		n.reset(c, ErrRefused)
		return
	}
	n.lastID++
	e := n.newEnd(c, server, n.lastID)
	c.ends[server] = e
	n.emit("accept", int64(c.id), int64(e.id))
	c.pipes[server].synPending = true
	n.pump(c.pipes[server])
	n.open(e)
}

func (n *Net) open(e *end) {
	e.opened = true
	n.emit("open", int64(e.id), 0)
	e.node.handler(ConnOpened{Conn: e.id, Remote: e.c.nodes[1-e.side].name})
}

// drain delivers what e received, in order: whole frames while e is open
// and not paused, then the peer's FIN as io.EOF. A reset that arrived wins
// over everything (even a pause): the bytes not yet delivered are lost.
func (n *Net) drain(e *end) {
	p := e.in()
	for !e.finished {
		if p.resetErr != nil {
			n.finish(e, p.resetErr)
			return
		}
		if e.closing || e.paused || !e.opened {
			return
		}
		if len(p.rcv) > 0 {
			e.framer.Feed(p.rcv) // Feed copies: rcv's buffer is reused
			p.rcv = p.rcv[:0]
		}
		frame, err := e.framer.Next()
		switch {
		case err != nil: // a bad size prefix: this connection only
			n.finish(e, err)
			n.reset(e.c, ErrReset)
			return
		case frame == nil:
			if p.finArrived { // a partial frame (only SendRaw makes one) is discarded
				n.finish(e, io.EOF)
			}
			return
		}
		if n.cfg.PauseAfterFrame {
			e.paused = true
		}
		n.emit("frame", int64(e.id), int64(len(frame)))
		e.node.handler(FrameIn{Conn: e.id, Frame: frame})
	}
}
