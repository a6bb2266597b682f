package tcpnet

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/takhin-io/takhin/env"
)

// conn is one accepted connection. Its reader goroutine is the only one
// that calls the Handler for it and the only user of framer and held, which
// is what orders its events; its writer goroutine is the only one that
// writes to the socket. Any goroutine may end it with abort, which closes
// the socket and so unblocks both.
type conn struct {
	id     env.ConnID
	owner  *Net
	nc     net.Conn
	framer *env.Framer
	// held is a frame taken from framer but not yet delivered, because
	// the connection was paused in between. Reader only.
	held []byte
	// eof: the peer's EOF was read (see drainAfterEOF). Reader only.
	eof bool
	// lastActive is when bytes last moved either way (owner.sinceEpoch).
	lastActive atomic.Int64
	wake       chan struct{} // capacity 1: the writer has something to look at
	writerDone chan struct{}

	mu      sync.Mutex
	changed sync.Cond   // broadcast when paused, closing or dead change
	idle    *time.Timer // nil when IdleTimeout is disabled
	paused  bool
	// closing: Close or Shutdown asked for a graceful close. Send is
	// refused, no FrameIn is delivered, input is discarded, and the
	// writer flushes the queue, then shuts the write side.
	closing bool
	// flushed: closing, and everything queued has been written.
	flushed bool
	// dead: the socket is closed (or being closed); both loops stop.
	dead bool
	// closeErr is ConnClosed.Err of a clean close: nil or ErrShutdown.
	closeErr error
	// cause is the first failure; it wins over closeErr.
	cause error
	queue [][]byte
	// unsent is the bytes of the frames queued or being written; over
	// Config.SendQueueBytesMax the reader waits (see waitReadable).
	unsent int
	// delivered and answered count the FrameIn delivered and the frames
	// written; after the peer's EOF (peerEOF) the connection stays open
	// until they meet or lingerOver (see drainAfterEOF).
	delivered, answered uint64
	peerEOF, lingerOver bool
	linger              *time.Timer
}

// connState is what the reader should do next.
type connState int

const (
	stateOpen    connState = iota // deliver buffered frames, then read and frame
	stateClosing                  // read and discard until the socket closes
	stateDead                     // stop
)

func newConn(owner *Net, id env.ConnID, nc net.Conn) *conn {
	c := &conn{
		id:         id,
		owner:      owner,
		nc:         nc,
		framer:     env.NewFramer(owner.cfg.MaxFrameBytes),
		wake:       make(chan struct{}, 1),
		writerDone: make(chan struct{}),
	}
	c.changed.L = &c.mu
	c.touch()
	return c
}

// touch records that bytes moved.
func (c *conn) touch() { c.lastActive.Store(c.owner.sinceEpoch()) }

func (c *conn) signalWriter() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *conn) send(frame []byte) error {
	c.mu.Lock()
	if c.closing || c.dead {
		c.mu.Unlock()
		return ErrConnClosed
	}
	c.queue = append(c.queue, frame)
	c.unsent += len(frame)
	c.mu.Unlock()
	c.signalWriter()
	return nil
}

// close starts a graceful close whose ConnClosed will carry closeErr
// unless something fails first. Later calls are no-ops.
func (c *conn) close(closeErr error) {
	c.mu.Lock()
	if c.closing || c.dead {
		c.mu.Unlock()
		return
	}
	c.closing, c.closeErr = true, closeErr
	c.changed.Broadcast()
	c.mu.Unlock()
	c.signalWriter()
}

func (c *conn) setPaused(paused bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.paused = paused
	c.changed.Broadcast()
}

// abort closes the socket now. A non-nil cause is recorded if it is the
// first; nil means the close is the expected end of a graceful one (or a
// consequence of an earlier abort).
func (c *conn) abort(cause error) {
	c.mu.Lock()
	if c.cause == nil {
		c.cause = cause
	}
	already := c.dead
	c.dead = true
	if c.idle != nil {
		c.idle.Stop()
	}
	c.changed.Broadcast()
	c.mu.Unlock()
	if !already {
		c.signalWriter()
		_ = c.nc.Close()
	}
}

// startIdleTimer arms connections.max.idle.ms. The timer re-arms itself
// for the remaining time instead of being reset on every read and write.
func (c *conn) startIdleTimer() {
	if c.owner.cfg.IdleTimeout < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.idle = time.AfterFunc(c.owner.cfg.IdleTimeout, c.checkIdle)
}

func (c *conn) checkIdle() {
	limit := int64(c.owner.cfg.IdleTimeout)
	quiet := c.owner.sinceEpoch() - c.lastActive.Load()
	if quiet >= limit {
		c.abort(ErrIdle)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dead {
		c.idle.Reset(time.Duration(limit - quiet))
	}
}

// readLoop is the reader goroutine: every event of the connection is
// delivered from here, in order, ConnClosed last.
func (c *conn) readLoop() {
	defer c.owner.wg.Done()
	c.owner.handler(ConnOpened{Conn: c.id, Remote: c.nc.RemoteAddr().String()})
	buf := make([]byte, readChunkBytes)
	for c.readStep(buf) {
	}
	c.finish()
}

// readStep delivers one buffered frame or does one read; false means the
// connection is over. Frames already read are delivered before the next
// read, so a paused connection reads nothing more.
func (c *conn) readStep(buf []byte) bool {
	switch c.waitReadable() {
	case stateDead:
		return false
	case stateClosing:
		if c.eof {
			c.drainAfterEOF()
			return false
		}
		return c.read(buf, false)
	}
	if c.held == nil {
		frame, err := c.framer.Next()
		if err != nil {
			c.abort(err) // a bad size prefix: this connection only
			return false
		}
		if frame == nil && c.eof {
			c.drainAfterEOF()
			return false
		}
		if frame == nil {
			return c.read(buf, true)
		}
		c.held = frame
	}
	if c.claimDelivery() {
		frame := c.held
		c.held = nil
		c.owner.handler(FrameIn{Conn: c.id, Frame: frame})
	}
	return true
}

// waitReadable blocks while the connection is paused or its unwritten
// frames are over Config.SendQueueBytesMax (a peer that does not read its
// answers is not read either), then says what to do.
func (c *conn) waitReadable() connState {
	c.mu.Lock()
	defer c.mu.Unlock()
	for (c.paused || c.unsent > c.owner.cfg.SendQueueBytesMax) && !c.closing && !c.dead {
		c.changed.Wait()
	}
	switch {
	case c.dead:
		return stateDead
	case c.closing:
		return stateClosing
	}
	return stateOpen
}

// claimDelivery reports whether a FrameIn may be delivered now, pausing the
// connection first under Config.PauseAfterFrame.
func (c *conn) claimDelivery() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.paused || c.closing || c.dead {
		return false
	}
	c.paused = c.owner.cfg.PauseAfterFrame
	c.delivered++
	return true
}

// read does one Read, framing what it got unless discarding. While a
// frame body at least a read chunk short is incomplete, it reads straight
// into the body (no copy through buf).
func (c *conn) read(buf []byte, frame bool) bool {
	dst, direct := buf, false
	if frame {
		if space := c.framer.BodySpace(); len(space) >= len(buf) {
			dst, direct = space, true
		}
	}
	n, err := c.nc.Read(dst)
	if n > 0 {
		c.touch()
		switch {
		case direct:
			c.framer.BodyFilled(n)
		case frame:
			c.framer.Feed(buf[:n])
		}
	}
	if errors.Is(err, io.EOF) && c.owner.cfg.CloseLinger > 0 {
		c.eof = true // frames already read are still delivered
		return true
	}
	if err != nil {
		c.endRead(err)
		return false
	}
	return true
}

// drainAfterEOF ends the connection after the peer's EOF (a close, or a
// shut write side: they look the same). Kafka reads that EOF only once its
// muted connection's response is sent, so a request the peer sent before
// it is answered; likewise the connection stays open for writing until
// every frame delivered has been answered (one Send each, but for those
// the owner answers with silence, an acks=0 produce) and written, or
// nothing was written for CloseLinger, or the owner closes it.
func (c *conn) drainAfterEOF() {
	c.mu.Lock()
	c.peerEOF = true
	c.linger = time.AfterFunc(c.owner.cfg.CloseLinger, c.checkLinger)
	for !c.dead && !(c.closing && c.flushed) && !c.lingerOver &&
		(c.unsent > 0 || c.answered < c.delivered) {
		c.changed.Wait()
	}
	c.linger.Stop()
	clean := c.closing && c.flushed
	c.mu.Unlock()
	if clean {
		c.abort(nil) // the owner's close, flushed
		return
	}
	c.abort(io.EOF)
}

// checkLinger ends drainAfterEOF's wait once nothing was written for
// CloseLinger.
func (c *conn) checkLinger() {
	limit := int64(c.owner.cfg.CloseLinger)
	quiet := c.owner.sinceEpoch() - c.lastActive.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	if quiet < limit {
		c.linger.Reset(time.Duration(limit - quiet))
		return
	}
	c.lingerOver = true
	c.changed.Broadcast()
}

// endRead ends the connection on a read error. After our own close, or
// after a graceful close was flushed (the peer closing, or the linger
// deadline), the error is expected and not reported.
func (c *conn) endRead(err error) {
	c.mu.Lock()
	expected := c.dead || (c.closing && c.flushed)
	c.mu.Unlock()
	switch {
	case expected:
		c.abort(nil)
	case errors.Is(err, io.EOF):
		c.abort(io.EOF)
	default:
		c.abort(fmt.Errorf("tcpnet: read: %w", err))
	}
}

// finish runs last on the reader: it waits for the writer, forgets the
// connection and delivers ConnClosed.
func (c *conn) finish() {
	c.abort(nil)
	<-c.writerDone
	c.mu.Lock()
	err := c.closeErr
	if c.cause != nil {
		err = c.cause
	}
	c.queue = nil
	c.mu.Unlock()
	c.held = nil
	c.owner.forget(c.id)
	c.owner.handler(ConnClosed{Conn: c.id, Err: err})
}

// writeLoop is the writer goroutine: it sends queued frames in order, in
// batches (one writev each), then finishes a graceful close.
func (c *conn) writeLoop() {
	defer c.owner.wg.Done()
	defer close(c.writerDone)
	var w batchWriter
	for {
		batch, ok := c.nextBatch(w.spare)
		if !ok {
			return
		}
		if batch == nil {
			c.shutWrite()
			return
		}
		bytes, err := w.write(c.nc, batch, c.owner.cfg.Sent)
		if err != nil {
			c.failWrite(err)
			return
		}
		c.touch()
		c.written(bytes, len(batch))
	}
}

// nextBatch waits for queued frames and swaps in spare as the new queue. It
// returns nil, true when closing and everything is written (marking the
// connection flushed), and false when the connection is dead.
func (c *conn) nextBatch(spare [][]byte) ([][]byte, bool) {
	for {
		c.mu.Lock()
		switch {
		case c.dead:
			c.mu.Unlock()
			return nil, false
		case len(c.queue) > 0:
			batch := c.queue
			c.queue = spare
			c.mu.Unlock()
			return batch, true
		case c.closing:
			c.flushed = true
			c.changed.Broadcast() // drainAfterEOF waits for it
			c.mu.Unlock()
			return nil, true
		}
		c.mu.Unlock()
		<-c.wake
	}
}

// written records a batch written and wakes the reader (waitReadable,
// drainAfterEOF).
func (c *conn) written(bytes, frames int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unsent -= bytes
	c.answered += uint64(frames)
	c.changed.Broadcast()
}

// shutWrite ends a flushed graceful close: FIN, then the reader discards
// input until the peer closes or CloseLinger passes (see Config). Without a
// write side to shut (or linger), the socket is closed at once.
func (c *conn) shutWrite() {
	if halfCloser, ok := c.nc.(interface{ CloseWrite() error }); ok && c.owner.cfg.CloseLinger > 0 {
		if halfCloser.CloseWrite() == nil &&
			c.nc.SetReadDeadline(time.Now().Add(c.owner.cfg.CloseLinger)) == nil {
			return
		}
	}
	c.abort(nil)
}

// failWrite ends the connection on a write error, unless the error is the
// consequence of our own close.
func (c *conn) failWrite(err error) {
	c.mu.Lock()
	dead := c.dead
	c.mu.Unlock()
	if dead {
		return
	}
	c.abort(fmt.Errorf("tcpnet: write: %w", err))
}

// batchWriter writes a batch of frames, each already behind its size
// prefix, as one vectored write, without copying them. Its buffers are
// reused from batch to batch.
type batchWriter struct {
	vectors net.Buffers
	spare   [][]byte // the previous batch's slice, emptied: the next queue
}

// write sends batch, then passes each frame to sent (when set); it
// returns the batch's bytes.
func (w *batchWriter) write(nc net.Conn, batch [][]byte, sent func([]byte)) (int, error) {
	bytes := 0
	for _, frame := range batch {
		bytes += len(frame)
	}
	w.vectors = append(w.vectors[:0], batch...)
	vectors := w.vectors // WriteTo consumes its receiver
	_, err := vectors.WriteTo(nc)
	clear(w.vectors) // drop references to the written frames
	if sent != nil {
		for _, frame := range batch {
			sent(frame)
		}
	}
	clear(batch)
	w.spare = batch[:0]
	return bytes, err
}
