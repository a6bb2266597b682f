// Package tcpnet is the production env.Network: a broker listener's
// connections over real TCP. Goroutines here only move bytes: one reader
// per connection frames what it reads with the shared env.Framer and hands
// events to a Handler; one writer per connection sends queued frames in
// order. Everything else (what a frame means, when to pause, when to close)
// belongs to the machine the driver posts these events to. It is a leaf:
// the standard library, env and internal/assert only (STYLE rule 3).
//
// # Events
//
// The Handler is called on the connection's reader goroutine, with:
//
//   - ConnOpened first, once;
//   - then FrameIn for each frame, in the order the peer sent them;
//   - then ConnClosed last, exactly once. No FrameIn follows it, and from
//     then on the ConnID is unknown (Send returns ErrUnknownConn).
//
// Calls for one connection never overlap; calls for different connections
// may run concurrently. While the Handler blocks, its connection is not
// read: a Handler that posts to a full machine inbox is back-pressure, as
// Pause is. The Handler may call Send, Close, Pause and Resume (for any
// connection, its own included) but not Shutdown, which waits for it.
//
// Times are not stamped here: the driver stamps now on what it posts.
package tcpnet

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/assert"
)

// Event is one of ConnOpened, FrameIn or ConnClosed: the env types,
// shared with the other Network implementation.
//
// For ConnClosed: Conn is gone; nothing more will be read from or written to
// it. Frames queued by Send were all written if Err is nil (and, for
// ErrShutdown, if Shutdown returned nil); otherwise the rest were dropped.
// Err says why:
//
//   - nil: Close was called and every frame queued before it was written;
//   - ErrShutdown: Shutdown closed it (the queue was flushed unless
//     Shutdown's context expired first);
//   - io.EOF: the peer closed it (or shut its write side), and the frames
//     delivered before were answered, or nothing was written for
//     Config.CloseLinger;
//   - ErrIdle: no bytes moved either way for Config.IdleTimeout;
//   - wrapping env.ErrFrameTooLarge or env.ErrFrameNegative: the peer sent
//     a bad size prefix (only this connection is closed, as Kafka does);
//   - otherwise the read or write error.
type (
	Event      = env.NetEvent
	ConnOpened = env.ConnOpened
	FrameIn    = env.FrameIn
	ConnClosed = env.ConnClosed
)

// Handler receives every event; see the package comment for the contract.
type Handler func(Event)

// Errors returned by Net's methods or carried by ConnClosed.
var (
	// ErrUnknownConn: no connection with that id is open (it never was, or
	// its ConnClosed has been delivered).
	ErrUnknownConn = errors.New("tcpnet: unknown connection")
	// ErrConnClosed: the connection is closing or broken; its ConnClosed
	// is on its way.
	ErrConnClosed = errors.New("tcpnet: connection closed")
	// ErrSendTooLarge: a frame over math.MaxInt32 bytes cannot be framed.
	ErrSendTooLarge = errors.New("tcpnet: frame larger than math.MaxInt32 bytes")
	// ErrBadPrefix: SendFrame's size prefix is not the frame's length.
	ErrBadPrefix = errors.New("tcpnet: frame's size prefix does not match its length")
	// ErrIdle: connections.max.idle.ms elapsed with no bytes moved.
	ErrIdle = errors.New("tcpnet: connection idle")
	// ErrShutdown: the Net was shut down.
	ErrShutdown = errors.New("tcpnet: shut down")
	// ErrConfig: a Config field is out of range.
	ErrConfig = errors.New("tcpnet: invalid config")
)

// Kafka's defaults, used for zero Config fields.
const (
	idleTimeoutDefault = 10 * time.Minute // connections.max.idle.ms
	closeLingerDefault = 2 * time.Second
	// readChunkBytes is each connection's read buffer; the Framer copies
	// out of it, so at most this much beyond one frame is buffered.
	readChunkBytes = 16 << 10
	// sendQueueBytesDefault: Kafka holds one response per muted
	// connection; this lets a pipeline's small answers flow while a large
	// one is being written.
	sendQueueBytesDefault = 1 << 20
)

// Config is the listener's limits. Zero fields take Kafka's defaults.
type Config struct {
	// MaxFrameBytes is socket.request.max.bytes: a larger size prefix
	// closes that connection (ConnClosed wraps env.ErrFrameTooLarge).
	// Zero means env.DefaultMaxFrameBytes (100 MiB).
	MaxFrameBytes int32
	// MaxConnections is max.connections: a connection accepted while this
	// many are open (until their ConnClosed) is closed at once, gets no
	// ConnID and no event, and counts in Refused. (Kafka's acceptor
	// instead waits for a slot; closing keeps accept from stalling.) Zero
	// means no limit.
	MaxConnections int
	// IdleTimeout is connections.max.idle.ms, on the real monotonic clock:
	// a connection on which no byte was read or written for this long is
	// closed with ErrIdle, paused or not. A write blocked on a peer that
	// does not read counts as idle, so this also bounds stuck writers.
	// Zero means 10 minutes; negative disables it.
	IdleTimeout time.Duration
	// PauseAfterFrame pauses a connection just before each FrameIn, as
	// Kafka mutes a channel after each request: the owner calls Resume
	// once the response is queued. This makes "one request at a time per
	// connection" exact, where a Pause issued after receiving a FrameIn
	// can race with the next one.
	PauseAfterFrame bool
	// CloseLinger bounds a graceful close: after the queue is flushed the
	// write side is shut (FIN) and input is discarded until the peer
	// closes or this elapses, so unread input does not turn the close
	// into a reset that destroys the response the peer has not read yet.
	// Zero means 2 seconds; negative closes at once after the flush.
	//
	// It also bounds a peer's half-close: after the peer's EOF the
	// connection stays open for writing until every frame delivered has
	// been answered by a Send and written (as Kafka, which reads that EOF
	// only once its muted connection's response is sent), or until nothing
	// was written for CloseLinger (a frame the owner answers with silence,
	// as an acks=0 produce); negative closes at the EOF.
	CloseLinger time.Duration
	// SendQueueBytesMax bounds what a peer that does not read can make
	// the server hold: while more than this many bytes sent on a
	// connection are not yet written, it is neither read nor are its
	// frames delivered, as Kafka mutes a connection until its response is
	// sent. Zero means 1 MiB.
	SendQueueBytesMax int
	// Sent, when set, is called on the writer goroutine with each frame
	// once its write returned (written, or abandoned by a failed write):
	// the network holds it no longer, so its buffer may be recycled.
	// Frames still queued when a connection dies are not passed.
	Sent func(frame []byte)
}

func (c Config) withDefaults() (Config, error) {
	if c.MaxFrameBytes < 0 || c.MaxConnections < 0 || c.SendQueueBytesMax < 0 {
		return c, fmt.Errorf("%w: MaxFrameBytes %d, MaxConnections %d and SendQueueBytesMax %d must not be negative",
			ErrConfig, c.MaxFrameBytes, c.MaxConnections, c.SendQueueBytesMax)
	}
	if c.SendQueueBytesMax == 0 {
		c.SendQueueBytesMax = sendQueueBytesDefault
	}
	if c.MaxFrameBytes == 0 {
		c.MaxFrameBytes = env.DefaultMaxFrameBytes
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = idleTimeoutDefault
	}
	if c.CloseLinger == 0 {
		c.CloseLinger = closeLingerDefault
	}
	return c, nil
}

// Net is one listener and its connections. Its methods are safe for
// concurrent use.
type Net struct {
	cfg     Config
	handler Handler
	ln      net.Listener
	epoch   time.Time // origin of the connections' activity stamps
	done    chan struct{}
	wg      sync.WaitGroup // the accept loop and every reader and writer
	refused atomic.Uint64

	mu       sync.Mutex
	conns    map[env.ConnID]*conn // open until their ConnClosed
	lastID   env.ConnID
	shutdown bool
}

var _ env.Network = (*Net)(nil)

// Listen listens on addr ("host:port"; port 0 picks a free one, see Addr)
// and serves connections until Shutdown.
func Listen(addr string, cfg Config, handler Handler) (*Net, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tcpnet: %w", err)
	}
	return serve(ln, cfg, handler), nil
}

// serve runs a Net over ln; cfg already has its defaults.
func serve(ln net.Listener, cfg Config, handler Handler) *Net {
	assert.That(handler != nil, "tcpnet: nil Handler")
	n := &Net{
		cfg:     cfg,
		handler: handler,
		ln:      ln,
		epoch:   time.Now(),
		done:    make(chan struct{}),
		conns:   map[env.ConnID]*conn{},
	}
	n.wg.Add(1)
	go n.acceptLoop()
	return n
}

// Addr is the address the listener is bound to.
func (n *Net) Addr() net.Addr { return n.ln.Addr() }

// Refused counts connections closed at accept: over MaxConnections, or
// arriving during Shutdown.
func (n *Net) Refused() uint64 { return n.refused.Load() }

// Send queues frame (without its size prefix) on conn and returns at once;
// the writer sends queued frames in order. Send takes ownership of frame:
// the caller must not modify it afterwards. It copies frame behind its
// size prefix; SendFrame does not.
func (n *Net) Send(id env.ConnID, frame []byte) error {
	if len(frame) > math.MaxInt32-env.FrameHeaderBytes {
		return ErrSendTooLarge
	}
	return n.SendFrame(id, env.AppendFrame(make([]byte, 0, env.FrameHeaderBytes+len(frame)), frame))
}

// SendFrame is Send for a frame that already begins with its size prefix
// (the broker encodes responses that way), written as it is; a prefix
// that disagrees with the frame's length is refused with ErrBadPrefix.
// The frame is passed to Config.Sent once written.
func (n *Net) SendFrame(id env.ConnID, framed []byte) error {
	if len(framed) < env.FrameHeaderBytes || int64(binary.BigEndian.Uint32(framed)) != int64(len(framed)-env.FrameHeaderBytes) {
		return ErrBadPrefix
	}
	c := n.lookup(id)
	if c == nil {
		return ErrUnknownConn
	}
	return c.send(framed)
}

// Close closes conn once the frames queued before it are written; no
// FrameIn is delivered after it returns (one already being delivered may
// finish). ConnClosed follows with Err nil if the flush completed. Closing
// a closing connection is a no-op.
func (n *Net) Close(id env.ConnID) error {
	c := n.lookup(id)
	if c == nil {
		return ErrUnknownConn
	}
	c.close(nil)
	return nil
}

// Pause stops reading conn: its reader waits before its next read or
// FrameIn, and the peer's TCP window fills. Frames already read wait, in
// order, for Resume; none is lost. A FrameIn whose delivery began before
// Pause may still arrive (see Config.PauseAfterFrame). Unknown ids are
// ignored.
func (n *Net) Pause(id env.ConnID) {
	if c := n.lookup(id); c != nil {
		c.setPaused(true)
	}
}

// Resume restarts reading a paused conn. Unknown ids are ignored.
func (n *Net) Resume(id env.ConnID) {
	if c := n.lookup(id); c != nil {
		c.setPaused(false)
	}
}

// Shutdown stops accepting, closes every connection after flushing its
// queue (ConnClosed carries ErrShutdown), and waits for every goroutine and
// Handler call. If ctx ends first, connections are closed without
// flushing, Shutdown still waits for the goroutines, and returns ctx.Err().
// Later calls wait again and return nil.
func (n *Net) Shutdown(ctx context.Context) error {
	n.mu.Lock()
	first := !n.shutdown
	n.shutdown = true
	n.mu.Unlock()
	if first {
		close(n.done)
		_ = n.ln.Close()
	}
	for _, c := range n.openConns() {
		c.close(ErrShutdown)
	}
	finished := make(chan struct{})
	go func() {
		n.wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
	}
	for _, c := range n.openConns() {
		c.abort(ErrShutdown)
	}
	<-finished
	return ctx.Err()
}

func (n *Net) lookup(id env.ConnID) *conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.conns[id]
}

// openConns returns the open connections in id order.
func (n *Net) openConns() []*conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	conns := make([]*conn, 0, len(n.conns))
	for _, c := range n.conns {
		conns = append(conns, c)
	}
	slices.SortFunc(conns, func(a, b *conn) int { return cmp.Compare(a.id, b.id) })
	return conns
}

// acceptLoop accepts until the listener closes, backing off (up to a
// second) on errors such as running out of file descriptors.
func (n *Net) acceptLoop() {
	defer n.wg.Done()
	var backoff time.Duration
	for {
		nc, err := n.ln.Accept()
		if err == nil {
			backoff = 0
			n.admit(nc)
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
		backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
		timer := time.NewTimer(backoff)
		select {
		case <-n.done:
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// admit gives nc an id and its goroutines, or closes it at once when over
// the limit or shutting down.
func (n *Net) admit(nc net.Conn) {
	n.mu.Lock()
	if n.shutdown || (n.cfg.MaxConnections > 0 && len(n.conns) >= n.cfg.MaxConnections) {
		n.mu.Unlock()
		n.refused.Add(1)
		_ = nc.Close()
		return
	}
	n.lastID++
	c := newConn(n, n.lastID, nc)
	n.conns[c.id] = c
	n.wg.Add(2)
	n.mu.Unlock()
	c.startIdleTimer()
	go c.readLoop()
	go c.writeLoop()
}

// forget removes a finished connection before its ConnClosed is delivered.
func (n *Net) forget(id env.ConnID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.conns, id)
}

// sinceEpoch is the activity clock: monotonic nanoseconds since Listen.
func (n *Net) sinceEpoch() int64 { return int64(time.Since(n.epoch)) }

// StopAccepting closes the listener: no new connection is accepted, and
// those open are untouched (a graceful stop drains them, then calls
// Shutdown).
func (n *Net) StopAccepting() {
	_ = n.ln.Close()
}
