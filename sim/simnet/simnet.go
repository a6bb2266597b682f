// Package simnet is the simulated network: in-memory, TCP-like connections
// between named nodes, for the single-threaded simulator. It owns no clock
// and no queue: time and actions come from the simulator's Scheduler, and
// every random draw from a seeded env.Rand, so the same seed and the same
// calls give the same run, byte for byte (see Config.OnEvent). It is a
// leaf: the standard library, env and internal/assert only (STYLE rule 3).
//
// # Model
//
// A node is up once Listen (it accepts dials) or Attach (a client) gives it
// a Handler; Crash takes it down. Dial opens a connection between two
// nodes; each side of it, the end, has its own ConnID, unique in the Net
// and never reused. A connection carries two byte streams, one per
// direction. Send encodes a frame with env.AppendFrame onto its stream;
// the stream leaves in chunks of seeded sizes (1..Config.ChunkBytesMax),
// each arriving after a seeded latency (LatencyBase + jitter + spikes) but
// never before the chunk ahead of it; the receiving end decodes the bytes
// with env.Framer, so frames are split across arrivals exactly where the
// framer must cope with it. Each stream opens with a SYN (the dial, the
// accept) and a graceful Close ends it with a FIN after the queued bytes.
//
// As TCP does, a stream delivers its bytes in order or the connection
// breaks: no frame ever vanishes from a live connection. The faults act on
// whole streams or connections:
//
//   - latency spikes (Faults.Spike): one chunk is late, and the chunks
//     behind it wait for it;
//   - stalls (Faults.Stall, Stall) of one direction of one connection, and
//     clogs (Clog) of every stream from one node to another: bytes are held
//     and leave, in order, when the stall ends or Unclog is called;
//   - partitions (Partition, PartitionOneWay, Heal): bytes in flight are
//     lost on the wire and retransmitted, so nothing crosses until Heal;
//     a stream that has had bytes waiting for Config.PartitionTimeout
//     resets its connection with ErrTimeout (the retransmission timeout);
//   - resets (Faults.Reset, Reset): the connection breaks at an arbitrary
//     byte of what is in flight; each side first receives the whole frames
//     ahead of the cut, then ConnClosed with ErrReset (the partial frame
//     the framer holds is discarded, and reported as a "discard" event);
//   - refusals: a dial to a node that is down, not listening, or unlucky
//     (Faults.Refuse) ends with ConnClosed ErrRefused and no ConnOpened;
//   - Crash(node): its ends vanish without events and each peer sees
//     ErrReset.
//
// A reset's ConnClosed reaches each side after one link latency, even
// across a partition: it stands for each side's own detection (RST or
// timeout), which needs no bytes to cross.
//
// # Events
//
// Events mirror driver/tcpnet's. For one end the Handler sees ConnOpened
// once, then a FrameIn per frame in the order the peer sent them, then
// ConnClosed last, exactly once; after it the ConnID is unknown. A dialed
// end may see ConnClosed without ConnOpened: the dial was refused, or the
// connection reset or was closed before the handshake completed. The
// Handler is called only from actions the Net scheduled, never from inside
// a Net method, so it may call any of them (its own Crash included).
package simnet

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/assert"
)

// Scheduler is what the simulator lends the network: its virtual clock and
// its action queue.
type Scheduler interface {
	// Now is the current virtual time in nanoseconds.
	Now() int64
	// At runs fn at virtual time t (t ≥ Now), in a later action: never
	// synchronously from inside At. Actions due at the same instant may
	// run in any order; simnet does not depend on it.
	At(t int64, fn func())
}

// Event is one of ConnOpened, FrameIn or ConnClosed.
// Event is one of ConnOpened, FrameIn or ConnClosed: the env types,
// shared with the other Network implementation.
//
// For ConnClosed: Conn is gone. Err says why:
//
//   - nil: Close was called and every frame queued before it was sent;
//   - io.EOF: the peer closed, after every frame it sent was delivered;
//   - ErrReset (errors.Is; ErrTimeout is one): the connection broke;
//   - ErrRefused: the dial failed;
//   - wrapping env.ErrFrameTooLarge or env.ErrFrameNegative: the peer
//     sent a bad size prefix (the peer sees ErrReset).
type (
	Event      = env.NetEvent
	ConnOpened = env.ConnOpened
	FrameIn    = env.FrameIn
	ConnClosed = env.ConnClosed
)

// Handler receives every event of one node's ends.
type Handler func(Event)

// Errors returned by Net's methods or carried by ConnClosed.
var (
	// ErrUnknownConn: this node has no end with that id (it never had, or
	// its ConnClosed has been delivered).
	ErrUnknownConn = errors.New("simnet: unknown connection")
	// ErrConnClosed: the end is closing or its connection broke; its
	// ConnClosed is on its way.
	ErrConnClosed = errors.New("simnet: connection closed")
	// ErrSendTooLarge: a frame over math.MaxInt32 bytes cannot be framed.
	ErrSendTooLarge = errors.New("simnet: frame larger than math.MaxInt32 bytes")
	// ErrNodeDown: Dial from a node that is not up.
	ErrNodeDown = errors.New("simnet: node down")
	// ErrRefused: the dialed node was down, not listening, or refused.
	ErrRefused = errors.New("simnet: connection refused")
	// ErrReset: the connection broke (a reset, or the peer's node crashed).
	ErrReset = errors.New("simnet: connection reset")
	// ErrTimeout: a partition outlasted Config.PartitionTimeout while bytes
	// waited. It wraps ErrReset.
	ErrTimeout = fmt.Errorf("%w: retransmission timeout", ErrReset)
	// ErrConfig: a Config field is out of range.
	ErrConfig = errors.New("simnet: invalid config")
)

// Defaults for zero Config fields.
const (
	latencyBaseDefault      int64 = 100_000        // 100 µs, a LAN hop
	chunkBytesMaxDefault          = 1460           // one Ethernet MSS
	partitionTimeoutDefault int64 = 30_000_000_000 // 30 s
)

// Config is the network's shape and fault rates. Zero fields take the
// defaults; Faults' zero value injects nothing.
type Config struct {
	// MaxFrameBytes is every receiver's framer limit (Kafka's
	// socket.request.max.bytes). Zero means env.DefaultMaxFrameBytes.
	MaxFrameBytes int32
	// LatencyBase is every chunk's one-way latency in ns, to which a
	// uniform draw in [0, LatencyJitter] is added. Zero means 100 µs.
	LatencyBase   int64
	LatencyJitter int64
	// ChunkBytesMax bounds one delivery; each chunk's size is drawn in
	// [1, ChunkBytesMax]. Zero means 1460.
	ChunkBytesMax int
	// PartitionTimeout is how long a stream may have bytes waiting behind
	// a partition before its connection resets with ErrTimeout. Zero
	// means 30 s; negative never resets.
	PartitionTimeout int64
	// PauseAfterFrame pauses an end just before each FrameIn, as Kafka
	// mutes a connection after each request; the owner calls Resume.
	PauseAfterFrame bool
	Faults          Faults
	// OnEvent, if set, is called for each connection event, delivery and
	// fault, so the simulator can hash network activity into its trace.
	// The kinds and their values are listed at emit.
	OnEvent func(kind string, a, b int64)
}

// Faults are the probabilities of the seeded faults, each in [0, 1].
type Faults struct {
	// Refuse: per dial that reaches a listening node.
	Refuse float64
	// Reset: per chunk sent, the connection resets just after it.
	Reset float64
	// Spike: per chunk sent, it is late by a uniform draw in (0, SpikeMax].
	Spike    float64
	SpikeMax int64
	// Stall: per chunk sent, its stream then stalls for a uniform draw in
	// (0, StallMax] ns. A stall never resets the connection.
	Stall    float64
	StallMax int64
}

func (c Config) withDefaults() (Config, error) {
	f := c.Faults
	switch {
	case c.MaxFrameBytes < 0, c.LatencyBase < 0, c.LatencyJitter < 0, c.ChunkBytesMax < 0:
		return c, fmt.Errorf("%w: MaxFrameBytes, LatencyBase, LatencyJitter and ChunkBytesMax must not be negative", ErrConfig)
	case !isProbability(f.Refuse), !isProbability(f.Reset), !isProbability(f.Spike), !isProbability(f.Stall):
		return c, fmt.Errorf("%w: fault probabilities must be in [0, 1]", ErrConfig)
	case f.Spike > 0 && f.SpikeMax <= 0, f.Stall > 0 && f.StallMax <= 0:
		return c, fmt.Errorf("%w: SpikeMax and StallMax must be positive when their fault is on", ErrConfig)
	}
	if c.MaxFrameBytes == 0 {
		c.MaxFrameBytes = env.DefaultMaxFrameBytes
	}
	if c.LatencyBase == 0 {
		c.LatencyBase = latencyBaseDefault
	}
	if c.ChunkBytesMax == 0 {
		c.ChunkBytesMax = chunkBytesMaxDefault
	}
	if c.PartitionTimeout == 0 {
		c.PartitionTimeout = partitionTimeoutDefault
	}
	return c, nil
}

func isProbability(p float64) bool { return p >= 0 && p <= 1 }

// Net is the whole simulated network. It is single-threaded: the simulator
// calls it, and it calls the Handlers, from one thread.
type Net struct {
	sched Scheduler
	rng   *env.Rand // only forked: each connection draws from its own stream
	cfg   Config
	nodes map[string]*node
	links map[linkKey]*link
	ends  map[env.ConnID]*end
	// conns are the connections not yet torn down, by their client end's
	// id; iterate them with sortedConns.
	conns  map[env.ConnID]*conn
	lastID env.ConnID
}

// node is one named host. Invariant: an end that is not finished belongs
// to a node that is up (Crash finishes every end of the node).
type node struct {
	name      string
	index     int64 // order of first mention, names the node in events
	up        bool
	listening bool
	handler   Handler
}

// New returns an empty network over sched, drawing its faults from rng.
func New(sched Scheduler, rng *env.Rand, cfg Config) (*Net, error) {
	assert.That(sched != nil && rng != nil, "simnet: New needs a Scheduler and a Rand")
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Net{
		sched: sched,
		rng:   rng,
		cfg:   cfg,
		nodes: map[string]*node{},
		links: map[linkKey]*link{},
		ends:  map[env.ConnID]*end{},
		conns: map[env.ConnID]*conn{},
	}, nil
}

// Listen brings node up, accepting dials; h receives the events of all its
// ends, accepted and dialed. The node must be down (never started, or
// crashed): a restart is Crash, then Listen.
func (n *Net) Listen(node string, h Handler) { n.start(node, h, true) }

// Attach brings node up as a client: it can Dial but refuses dials.
func (n *Net) Attach(node string, h Handler) { n.start(node, h, false) }

func (n *Net) start(name string, h Handler, listen bool) {
	assert.That(h != nil, "simnet: nil Handler")
	nd := n.node(name)
	assert.That(!nd.up, "simnet: starting a node that is up")
	nd.up, nd.listening, nd.handler = true, listen, h
	n.emit("up", nd.index, boolValue(listen))
}

// Up reports whether node is up.
func (n *Net) Up(node string) bool {
	nd := n.nodes[node]
	return nd != nil && nd.up
}

// node returns the node named name, registering it on first mention.
func (n *Net) node(name string) *node {
	nd := n.nodes[name]
	if nd == nil {
		nd = &node{name: name, index: int64(len(n.nodes))}
		n.nodes[name] = nd
	}
	return nd
}

// Crash takes node down at once: its ends vanish without events, and the
// connections they were on reset (their peers see ErrReset). Dials to it
// are refused until it starts again. Crashing a node that is down is a
// no-op.
func (n *Net) Crash(name string) {
	nd := n.nodes[name]
	if nd == nil || !nd.up {
		return
	}
	n.emit("crash", nd.index, 0)
	for _, c := range n.sortedConns() {
		hit := false
		for _, e := range c.ends {
			if e != nil && e.node == nd && !e.finished {
				n.finish(e, errCrashed)
				hit = true
			}
		}
		if hit {
			n.reset(c, ErrReset)
		}
	}
	nd.up, nd.listening, nd.handler = false, false, nil
}

// Dial opens a connection from one node to another and returns the dialing
// end's id at once; ConnOpened (or ConnClosed) follows when the handshake
// completes. Frames sent before it queue behind the handshake. The only
// error is ErrNodeDown, when from is not up.
func (n *Net) Dial(from, to string) (env.ConnID, error) {
	src := n.nodes[from]
	if src == nil || !src.up {
		return 0, ErrNodeDown
	}
	dst := n.node(to)
	n.lastID++
	c := &conn{
		id:    n.lastID,
		rng:   n.rng.Fork("conn/" + strconv.FormatUint(uint64(n.lastID), 10)),
		nodes: [2]*node{src, dst},
	}
	for dir := range c.pipes {
		c.pipes[dir] = &pipe{c: c, dir: dir, waitingSince: -1}
	}
	c.ends[client] = n.newEnd(c, client, n.lastID)
	n.conns[c.id] = c
	n.emit("dial", int64(c.id), dst.index)
	c.pipes[client].synPending = true
	n.pump(c.pipes[client])
	return c.id, nil
}

// Endpoint is node's side of the network, as an env.Network for its
// driver. It acts only on that node's ends: another node's ids are unknown
// to it.
func (n *Net) Endpoint(node string) *Endpoint {
	return &Endpoint{net: n, node: node}
}

// Endpoint implements env.Network for one node.
type Endpoint struct {
	net  *Net
	node string
}

var _ env.Network = (*Endpoint)(nil)

// Dial dials to from this endpoint's node (see Net.Dial).
func (ep *Endpoint) Dial(to string) (env.ConnID, error) { return ep.net.Dial(ep.node, to) }

// Send queues frame (without its size prefix) on conn. The frame is copied.
func (ep *Endpoint) Send(conn env.ConnID, frame []byte) error {
	return ep.net.send(ep.node, conn, frame)
}

// SendRaw queues raw bytes on conn, with no size prefix: a hostile or
// broken peer (an HTTP request on the Kafka port, a truncated frame), for
// the receiving framer to reject. Not part of env.Network.
func (ep *Endpoint) SendRaw(conn env.ConnID, raw []byte) error {
	return ep.net.sendRaw(ep.node, conn, raw)
}

// Close closes conn after the frames queued before it are sent: no FrameIn
// is delivered after it returns, and ConnClosed follows with Err nil once
// the FIN leaves (or with the error that broke the connection first).
// Closing a closing end is a no-op.
func (ep *Endpoint) Close(conn env.ConnID) error { return ep.net.close(ep.node, conn) }

// Pause stops delivering conn's frames: arriving bytes wait, in order, for
// Resume. ConnClosed of a reset is still delivered. Unknown ids are ignored.
func (ep *Endpoint) Pause(conn env.ConnID) { ep.net.setPaused(ep.node, conn, true) }

// Resume restarts delivery on a paused conn (in a later action). Unknown ids
// are ignored.
func (ep *Endpoint) Resume(conn env.ConnID) { ep.net.setPaused(ep.node, conn, false) }

// emit reports one event to Config.OnEvent. Values name an end by its
// ConnID, a connection by its dialing end's ConnID, a stream by
// 2×connection + 0 (dialer to listener) or + 1 (the way back), and a node
// by its index (the order in which it was first mentioned):
//
//	up (node, listening 0|1)        crash (node, 0)
//	dial (conn, to node)            accept (conn, listening end)
//	refuse (conn, 0)                open (end, 0)
//	send, sendraw (end, bytes)      frame (end, frame bytes)
//	tx, rx (stream, chunk bytes)    spike, stall (stream, extra ns)
//	reset (stream, bytes kept)      discard (end, bytes dropped)
//	pause (end, 1 paused|0 resumed) closed (end, reasonCode)
//	partition, heal, clog, unclog (from node, to node)
func (n *Net) emit(kind string, a, b int64) {
	if n.cfg.OnEvent != nil {
		n.cfg.OnEvent(kind, a, b)
	}
}

func boolValue(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
