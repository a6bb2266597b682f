package broker

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/assert"
)

// conn is one client connection. As Kafka does, the broker handles one
// request of a connection at a time: while one is in flight, the
// connection is muted and later frames wait in queue, so responses leave
// in request order.
type conn struct {
	id       env.ConnID
	remote   string
	clientID string
	busy     *request // the request in flight, nil when idle
	queue    [][]byte // frames that arrived while busy
	closing  bool
	draining bool // done is already taking queued frames (no recursion)
}

// request is one decoded request in flight.
type request struct {
	c    *conn
	hdr  RequestHeader
	kreq kmsg.Request
	size int // frame bytes, for the queued-bytes budget
}

func (b *Broker) frameIn(e FrameIn) {
	c := b.conns[e.Conn]
	if c == nil || c.closing {
		return // closed meanwhile
	}
	if c.busy != nil {
		c.queue = append(c.queue, e.Frame)
		b.queued += len(e.Frame)
		b.applyBackPressure()
		return
	}
	b.handleFrame(c, e.Frame)
}

// handleFrame decodes one frame and dispatches it; a frame the broker
// cannot serve closes its connection only (Kafka's behaviour for unknown
// keys, unsupported versions and malformed requests).
func (b *Broker) handleFrame(c *conn, frame []byte) {
	hdr, body, err := ParseRequest(frame)
	if hdr.ClientID != nil {
		c.clientID = *hdr.ClientID
	}
	if hdr.APIKey == apiVersionsKey && (err == nil || errors.Is(err, ErrUnsupported)) {
		if _, ok := b.handledVersion(hdr.APIKey, hdr.APIVersion); !ok {
			b.unsupportedAPIVersions(c, hdr)
			return
		}
	}
	if err != nil {
		b.closeConn(c, "undecodable request header", zap.Int16("key", hdr.APIKey), zap.Int16("version", hdr.APIVersion), zap.Error(err))
		return
	}
	entry, ok := b.handledVersion(hdr.APIKey, hdr.APIVersion)
	if !ok {
		b.closeConn(c, "unsupported API or version", zap.Int16("key", hdr.APIKey), zap.Int16("version", hdr.APIVersion))
		return
	}
	if hdr.APIKey != produceKey && len(body) > b.cfg.NonDataRequestBytesMax {
		b.closeConn(c, "request too large for its API", zap.Int16("key", hdr.APIKey), zap.Int("bytes", len(body)))
		return
	}
	kreq := kmsg.RequestForKey(hdr.APIKey)
	kreq.SetVersion(hdr.APIVersion)
	if err := kreq.ReadFrom(body); err != nil {
		b.closeConn(c, "malformed request body", zap.Int16("key", hdr.APIKey), zap.Int16("version", hdr.APIVersion), zap.Error(err))
		return
	}
	r := &request{c: c, hdr: hdr, kreq: kreq, size: len(frame)}
	c.busy = r
	entry.handle(b, r)
}

// respond sends resp for r and lets the connection take its next request.
func (b *Broker) respond(r *request, resp kmsg.Response) {
	assert.That(r.c.busy == r, "a response answers the request in flight")
	resp.SetVersion(r.hdr.APIVersion)
	frame := AppendResponse(nil, r.hdr.APIKey, r.hdr.APIVersion, r.hdr.CorrelationID, resp)
	b.ready.Sends = append(b.ready.Sends, Send{Conn: r.c.id, Frame: frame})
	b.done(r)
}

// done frees the connection of r (answered, or acks=0 which Kafka never
// answers) and starts its next queued request.
func (b *Broker) done(r *request) {
	c := r.c
	c.busy = nil
	if c.draining {
		return // the loop below, further up the stack, takes the next one
	}
	c.draining = true
	for c.busy == nil && len(c.queue) > 0 && !c.closing {
		next := c.queue[0]
		c.queue[0] = nil
		c.queue = c.queue[1:]
		b.queued -= len(next)
		b.handleFrame(c, next)
	}
	c.draining = false
	b.applyBackPressure()
}

// applyBackPressure pauses reading while queued request bytes exceed the
// budget, and resumes it once they are under half of it.
func (b *Broker) applyBackPressure() {
	switch {
	case !b.paused && b.queued > b.cfg.QueuedRequestBytesMax:
		b.paused, b.ready.Pause, b.ready.Resume = true, true, false
	case b.paused && b.queued <= b.cfg.QueuedRequestBytesMax/2:
		b.paused, b.ready.Resume, b.ready.Pause = false, true, false
	}
}

// closeConn closes c after what was already sent; its in-flight request
// is abandoned (late sub-replies are dropped).
func (b *Broker) closeConn(c *conn, why string, fields ...zap.Field) {
	if c.closing {
		return
	}
	b.log.Info("closing connection: "+why, append(fields, zap.Uint64("conn", uint64(c.id)),
		zap.String("remote", c.remote), zap.String("client_id", c.clientID))...)
	c.closing = true
	b.ready.Closes = append(b.ready.Closes, c.id)
	b.forget(c)
}

func (b *Broker) connClosed(id env.ConnID) {
	c := b.conns[id]
	if c == nil {
		return
	}
	c.closing = true
	b.forget(c)
	delete(b.conns, id)
}

// forget drops c's queued frames and in-flight request.
func (b *Broker) forget(c *conn) {
	for _, f := range c.queue {
		b.queued -= len(f)
	}
	c.queue = nil
	if c.busy != nil {
		b.abandon(c.busy)
		c.busy = nil
	}
	b.applyBackPressure()
}
