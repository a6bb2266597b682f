package broker

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/assert"
	"github.com/takhin-io/takhin/internal/bufpool"
)

// conn is one client connection. Up to pipelineMax of its requests are
// served at once (clients pipeline up to five: max.in.flight), their
// responses leaving strictly in request order; later frames wait in queue.
// Kafka mutes a connection until each response is sent; serving the
// pipeline lets several produce requests of one connection share a group
// commit, while keeping Kafka's guarantee that responses come in order and
// that a connection's requests reach each partition in order.
type conn struct {
	id       env.ConnID
	remote   string
	clientID string
	inflight []*request // in arrival order; answered ones wait for those before them
	queue    [][]byte   // frames that arrived while the pipeline was full
	closing  bool
	draining bool // flush is already taking queued frames (no recursion)
}

// pipelineMax is how many requests of one connection are served at once.
const pipelineMax = 5

// request is one decoded request in flight.
type request struct {
	c        *conn
	hdr      RequestHeader
	kreq     kmsg.Request
	size     int    // frame bytes, for the queued-bytes budget
	answered bool   // its response (or, for acks=0, its silence) is decided
	frame    []byte // the response, nil for none
	stats    requestStats
}

func (b *Broker) frameIn(e FrameIn) {
	c := b.conns[e.Conn]
	if c == nil || c.closing {
		return // closed meanwhile
	}
	if len(c.inflight) >= pipelineMax || len(c.queue) > 0 {
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
	r := &request{c: c, hdr: hdr, kreq: kreq, size: len(frame), stats: requestStats{start: b.now.Mono}}
	c.inflight = append(c.inflight, r)
	entry.handle(b, r)
}

// respond answers r; its frame leaves once every earlier request of the
// connection has left.
func (b *Broker) respond(r *request, resp kmsg.Response) {
	resp.SetVersion(r.hdr.APIVersion)
	b.observeResponse(r, resp)
	// The frame's buffer is recycled by the network once written
	// (NodeConfig wires tcpnet's Sent to bufpool.Put).
	buf := bufpool.Get(responseSizeHint(resp))[:0]
	b.answer(r, AppendResponse(buf, r.hdr.APIKey, r.hdr.APIVersion, r.hdr.CorrelationID, resp))
}

// responseSizeHint sizes a response's buffer up front: a fetch response
// is mostly its record batches, which would otherwise be copied again
// each time the buffer grew.
func responseSizeHint(resp kmsg.Response) int {
	f, ok := resp.(*kmsg.FetchResponse)
	if !ok {
		return 256
	}
	n := 256
	for _, t := range f.Topics {
		n += 64 + len(t.Topic)
		for _, p := range t.Partitions {
			n += 64 + len(p.RecordBatches)
		}
	}
	return n
}

// done settles r without a response (acks=0, which Kafka never answers).
func (b *Broker) done(r *request) { b.answer(r, nil) }

func (b *Broker) answer(r *request, frame []byte) {
	assert.That(!r.answered, "a request is answered once")
	r.answered, r.frame = true, frame
	b.flush(r.c)
}

// flush sends the answered responses at the head of the pipeline, in
// order, and starts queued frames while the pipeline has room.
func (b *Broker) flush(c *conn) {
	if c.draining || c.closing {
		return // the loop below, further up the stack, continues
	}
	c.draining = true
	for progress := true; progress && !c.closing; {
		progress = false
		for len(c.inflight) > 0 && c.inflight[0].answered {
			r := c.inflight[0]
			c.inflight[0] = nil
			c.inflight = c.inflight[1:]
			if r.frame != nil {
				b.ready.Sends = append(b.ready.Sends, Send{Conn: c.id, Frame: r.frame})
			}
			b.requestDone(r)
			progress = true
		}
		for len(c.inflight) < pipelineMax && len(c.queue) > 0 && !c.closing {
			next := c.queue[0]
			c.queue[0] = nil
			c.queue = c.queue[1:]
			b.queued -= len(next)
			b.handleFrame(c, next)
			progress = true
		}
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

// closeConn closes c after what was already sent; its requests in flight
// are abandoned (late sub-replies are dropped).
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

// forget drops c's queued frames and requests in flight.
func (b *Broker) forget(c *conn) {
	for _, f := range c.queue {
		b.queued -= len(f)
	}
	c.queue = nil
	for _, r := range c.inflight {
		b.abandon(r)
	}
	c.inflight = nil
	b.applyBackPressure()
}
