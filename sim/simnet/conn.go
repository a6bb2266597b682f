package simnet

import (
	"cmp"
	"errors"
	"io"
	"math"
	"slices"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/assert"
)

// The two sides of a connection, and the direction of the stream each one
// sends: pipes[client] flows from the dialer to the listener.
const (
	client = 0
	server = 1
)

// errCrashed finishes the ends of a crashed node: no event is delivered.
var errCrashed = errors.New("simnet: node crashed")

// conn is one connection: two ends and a stream each way.
type conn struct {
	id    env.ConnID // the client end's id; names the connection in events
	rng   *env.Rand  // this connection's own stream of draws
	nodes [2]*node
	ends  [2]*end // ends[server] is nil until the SYN is accepted
	pipes [2]*pipe
	// broken: reset, refused or torn down. Nothing more is sent; markers
	// already in flight still arrive.
	broken bool
}

// end is one side of a connection, as its node sees it.
type end struct {
	id     env.ConnID
	c      *conn
	side   int
	node   *node
	framer *env.Framer // decodes the incoming stream
	// opened: ConnOpened was delivered. paused: Pause (or PauseAfterFrame)
	// holds delivery. closing: Close was called; input is discarded.
	// finished: ConnClosed was delivered (or the node crashed).
	opened, paused, closing, finished bool
}

// in is the stream this end receives; out the one it sends.
func (e *end) in() *pipe  { return e.c.pipes[1-e.side] }
func (e *end) out() *pipe { return e.c.pipes[e.side] }

// pipe is one direction of a connection: the sender's queue, the chunks on
// the wire, and the bytes that arrived but were not yet framed.
type pipe struct {
	c   *conn
	dir int // client or server: the side that sends on it
	// The sender's side. queue holds encoded frames not yet sent; a SYN
	// goes before them and a FIN after them.
	queue                  []byte
	synPending, finPending bool
	// The wire: chunks in order of arrival time, which never decreases.
	inflight    []chunk
	lastArrival int64
	// stalledUntil: nothing is sent before this time (a stall).
	stalledUntil int64
	// waitingSince is when bytes began waiting behind a partition, or -1:
	// at waitingSince + PartitionTimeout the connection resets.
	waitingSince int64
	// The receiver's side: arrived bytes not yet fed to the framer (held
	// while the receiver is paused), and the markers that arrived after
	// all of them.
	rcv        []byte
	finArrived bool
	resetErr   error
}

// chunk is what one arrival carries: bytes, or one marker.
type chunk struct {
	at             int64
	data           []byte
	syn, fin, rset bool
	err            error // of a reset marker
}

// key names the stream in events.
func (p *pipe) key() int64 { return 2*int64(p.c.id) + int64(p.dir) }

// receiver is the end the stream flows to; nil before the accept.
func (p *pipe) receiver() *end { return p.c.ends[1-p.dir] }

func (p *pipe) hasPending() bool { return p.synPending || len(p.queue) > 0 || p.finPending }

func (n *Net) newEnd(c *conn, side int, id env.ConnID) *end {
	e := &end{id: id, c: c, side: side, node: c.nodes[side], framer: env.NewFramer(n.cfg.MaxFrameBytes)}
	assert.That(n.ends[id] == nil, "simnet: ConnID reused")
	n.ends[id] = e
	return e
}

// lookup returns node's live end id, or nil.
func (n *Net) lookup(node string, id env.ConnID) *end {
	e := n.ends[id]
	if e == nil || e.node.name != node {
		return nil
	}
	assert.That(!e.finished && e.node.up, "simnet: a finished end or a down node's end is registered")
	return e
}

func (n *Net) send(node string, id env.ConnID, frame []byte) error {
	if len(frame) > math.MaxInt32 {
		return ErrSendTooLarge
	}
	e := n.lookup(node, id)
	switch {
	case e == nil:
		return ErrUnknownConn
	case e.closing || e.c.broken:
		return ErrConnClosed
	}
	p := e.out()
	p.queue = env.AppendFrame(p.queue, frame)
	n.emit("send", int64(e.id), int64(len(frame)))
	n.pump(p)
	return nil
}

// sendRaw queues raw bytes, not a frame: a peer not speaking Kafka.
func (n *Net) sendRaw(node string, id env.ConnID, raw []byte) error {
	e := n.lookup(node, id)
	switch {
	case e == nil:
		return ErrUnknownConn
	case e.closing || e.c.broken:
		return ErrConnClosed
	}
	p := e.out()
	p.queue = append(p.queue, raw...)
	n.emit("sendraw", int64(e.id), int64(len(raw)))
	n.pump(p)
	return nil
}

func (n *Net) close(node string, id env.ConnID) error {
	e := n.lookup(node, id)
	if e == nil {
		return ErrUnknownConn
	}
	if e.closing || e.c.broken {
		return nil
	}
	e.closing = true
	n.discardInput(e)
	p := e.out()
	p.finPending = true
	n.pump(p)
	return nil
}

func (n *Net) setPaused(node string, id env.ConnID, paused bool) {
	e := n.lookup(node, id)
	if e == nil || e.paused == paused {
		return
	}
	e.paused = paused
	n.emit("pause", int64(e.id), boolValue(paused))
	if !paused {
		n.sched.At(n.sched.Now(), func() { n.drain(e) })
	}
}

// finSent runs when p's FIN leaves: its sender has flushed its close.
func (n *Net) finSent(p *pipe) {
	e := p.c.ends[p.dir]
	n.sched.At(n.sched.Now(), func() {
		if !e.finished {
			n.finish(e, nil)
		}
	})
}

// finish delivers e's ConnClosed (none for a crashed node) and forgets e.
func (n *Net) finish(e *end, err error) {
	assert.That(!e.finished, "simnet: an end finished twice")
	n.discardInput(e)
	e.finished, e.framer = true, nil
	delete(n.ends, e.id)
	n.emit("closed", int64(e.id), reasonCode(err))
	if err != errCrashed {
		assert.That(e.node.up, "simnet: an event for a node that is down")
		e.node.handler(ConnClosed{Conn: e.id, Err: err})
	}
	n.maybeTeardown(e.c)
}

// discardInput drops what e received and did not deliver: arrived bytes
// and the framer's partial or undelivered frames.
func (n *Net) discardInput(e *end) {
	p := e.in()
	dropped := len(p.rcv)
	if e.framer != nil {
		dropped += e.framer.Buffered()
		e.framer = env.NewFramer(n.cfg.MaxFrameBytes)
	}
	p.rcv = nil
	if dropped > 0 {
		n.emit("discard", int64(e.id), int64(dropped))
	}
}

// maybeTeardown forgets c once nothing more can happen on it: both ends
// finished, or the dialer finished and the connection broke before an
// accept.
func (n *Net) maybeTeardown(c *conn) {
	if !c.ends[client].finished {
		return
	}
	if s := c.ends[server]; (s == nil && !c.broken) || (s != nil && !s.finished) {
		return
	}
	c.broken = true
	for _, p := range c.pipes {
		p.queue, p.synPending, p.finPending, p.rcv = nil, false, false, nil
	}
	delete(n.conns, c.id)
}

// sortedConns returns the live connections in id order (map order must
// not reach events).
func (n *Net) sortedConns() []*conn {
	conns := make([]*conn, 0, len(n.conns))
	for _, c := range n.conns {
		conns = append(conns, c)
	}
	slices.SortFunc(conns, func(a, b *conn) int { return cmp.Compare(a.id, b.id) })
	return conns
}

// reasonCode is ConnClosed.Err in the "closed" event: 0 nil, 1 io.EOF,
// 2 ErrReset, 3 ErrTimeout, 4 ErrRefused, 5 a framing error, 6 the node
// crashed (no event was delivered).
func reasonCode(err error) int64 {
	switch {
	case err == nil:
		return 0
	case err == io.EOF:
		return 1
	case errors.Is(err, ErrTimeout):
		return 3
	case errors.Is(err, ErrReset):
		return 2
	case errors.Is(err, ErrRefused):
		return 4
	case err == errCrashed:
		return 6
	}
	return 5 // a framing error
}
