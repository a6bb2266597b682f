// Helpers shared by the loopback tests (tcpnet_test.go) and the synctest
// tests over net.Pipe (synctest_test.go): a recording Handler that tests
// wait on with a deadline (never a sleep), Kafka-framing clients, and event
// filters that also check the per-connection event contract.
package tcpnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/takhin-io/takhin/env"
)

// waitTimeout bounds every wait in the loopback tests. It is a failure
// deadline, not a pause: waits return as soon as their condition holds.
const waitTimeout = 20 * time.Second

// recorder is a Handler that keeps every event. hook, if set, runs first
// on the reader goroutine (an echo server, say).
type recorder struct {
	hook func(Event)

	mu      sync.Mutex
	events  []Event
	changed chan struct{} // closed and replaced on every event
}

func newRecorder(hook func(Event)) *recorder {
	return &recorder{hook: hook, changed: make(chan struct{})}
}

func (r *recorder) handle(ev Event) {
	if r.hook != nil {
		r.hook(ev)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recorder) snapshot() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// await returns the events once cond holds for them, and fails the test if
// it does not within waitTimeout.
func (r *recorder) await(t *testing.T, what string, cond func([]Event) bool) []Event {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		events, changed := slices.Clone(r.events), r.changed
		r.mu.Unlock()
		if cond(events) {
			return events
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("no %s within %v; events: %s", what, waitTimeout, describe(events))
		}
	}
}

// awaitOpened waits for the count-th ConnOpened and returns its id.
func (r *recorder) awaitOpened(t *testing.T, count int) env.ConnID {
	t.Helper()
	events := r.await(t, fmt.Sprintf("ConnOpened #%d", count), func(events []Event) bool {
		return len(opened(events)) >= count
	})
	return opened(events)[count-1]
}

// awaitClosed waits for id's ConnClosed and returns its error.
func (r *recorder) awaitClosed(t *testing.T, id env.ConnID) error {
	t.Helper()
	events := r.await(t, fmt.Sprintf("ConnClosed of %d", id), func(events []Event) bool {
		_, ok := closedErr(events, id)
		return ok
	})
	err, _ := closedErr(events, id)
	return err
}

// awaitFrames waits for count FrameIn on id and returns them.
func (r *recorder) awaitFrames(t *testing.T, id env.ConnID, count int) [][]byte {
	t.Helper()
	events := r.await(t, fmt.Sprintf("%d frames on %d", count, id), func(events []Event) bool {
		return len(framesOf(events, id)) >= count
	})
	return framesOf(events, id)
}

func opened(events []Event) []env.ConnID {
	var ids []env.ConnID
	for _, ev := range events {
		if o, ok := ev.(ConnOpened); ok {
			ids = append(ids, o.Conn)
		}
	}
	return ids
}

func closedErr(events []Event, id env.ConnID) (error, bool) {
	for _, ev := range events {
		if c, ok := ev.(ConnClosed); ok && c.Conn == id {
			return c.Err, true
		}
	}
	return nil, false
}

func framesOf(events []Event, id env.ConnID) [][]byte {
	var frames [][]byte
	for _, ev := range events {
		if f, ok := ev.(FrameIn); ok && f.Conn == id {
			frames = append(frames, f.Frame)
		}
	}
	return frames
}

// checkContract checks the event contract for every connection: ConnOpened
// first and once (so ids are never reused), FrameIn only while open, and
// ConnClosed at most once and last.
func checkContract(t *testing.T, events []Event) {
	t.Helper()
	state := map[env.ConnID]string{} // "" unseen, "open", "closed"
	for i, ev := range events {
		var id env.ConnID
		var next string
		switch ev := ev.(type) {
		case ConnOpened:
			id, next = ev.Conn, "open"
			if state[id] != "" {
				t.Fatalf("event %d: ConnOpened of %d twice or after its close", i, id)
			}
		case FrameIn:
			id, next = ev.Conn, "open"
			if state[id] != "open" {
				t.Fatalf("event %d: FrameIn on %d while %q", i, id, state[id])
			}
		case ConnClosed:
			id, next = ev.Conn, "closed"
			if state[id] != "open" {
				t.Fatalf("event %d: ConnClosed of %d while %q", i, id, state[id])
			}
		}
		state[id] = next
	}
}

func describe(events []Event) string {
	var b strings.Builder
	for _, ev := range events {
		switch ev := ev.(type) {
		case FrameIn:
			fmt.Fprintf(&b, "[FrameIn %d: %d bytes] ", ev.Conn, len(ev.Frame))
		default:
			fmt.Fprintf(&b, "%+v ", ev)
		}
	}
	return b.String()
}

// server is a Net on 127.0.0.1:0 whose events go to rec, shut down when
// the test ends.
type server struct {
	net *Net
	rec *recorder
}

// startServer listens with cfg. hook, if set, runs on every event with the
// Net (an echo, a Send on open...).
func startServer(t *testing.T, cfg Config, hook func(*Net, Event)) *server {
	t.Helper()
	var self atomic.Pointer[Net] // the hook runs on other goroutines
	rec := newRecorder(func(ev Event) {
		if hook != nil {
			hook(self.Load(), ev)
		}
	})
	n, err := Listen("127.0.0.1:0", cfg, rec.handle)
	if err != nil {
		t.Fatal(err)
	}
	self.Store(n)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown at cleanup: %v", err)
		}
	})
	return &server{net: n, rec: rec}
}

// echo sends every frame back.
func echo(n *Net, ev Event) {
	if f, ok := ev.(FrameIn); ok {
		_ = n.Send(f.Conn, f.Frame)
	}
}

func encode(payloads ...[]byte) []byte {
	var stream []byte
	for _, p := range payloads {
		stream = env.AppendFrame(stream, p)
	}
	return stream
}

func header(size int32) []byte {
	return []byte{byte(uint32(size) >> 24), byte(uint32(size) >> 16), byte(uint32(size) >> 8), byte(uint32(size))}
}

// client is the peer: a raw connection speaking Kafka framing. Its methods
// return errors so other goroutines can use them; the must* ones fail t.
type client struct {
	nc net.Conn
}

func dial(t *testing.T, addr net.Addr) *client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr.String(), waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return &client{nc: nc}
}

func (c *client) write(b []byte) error {
	if err := c.nc.SetWriteDeadline(time.Now().Add(waitTimeout)); err != nil {
		return err
	}
	_, err := c.nc.Write(b)
	return err
}

// readFrame reads one frame; a deadline error means the server went quiet.
func (c *client) readFrame() ([]byte, error) {
	if err := c.nc.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
		return nil, err
	}
	var size [env.FrameHeaderBytes]byte
	if _, err := io.ReadFull(c.nc, size[:]); err != nil {
		return nil, err
	}
	frame := make([]byte, int(uint32(size[0])<<24|uint32(size[1])<<16|uint32(size[2])<<8|uint32(size[3])))
	if _, err := io.ReadFull(c.nc, frame); err != nil {
		return nil, err
	}
	return frame, nil
}

func (c *client) mustWrite(t *testing.T, b []byte) {
	t.Helper()
	if err := c.write(b); err != nil {
		t.Fatal(err)
	}
}

func (c *client) mustRead(t *testing.T, want []byte) {
	t.Helper()
	got, err := c.readFrame()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes %.40q, want %d bytes %.40q", len(got), got, len(want), want)
	}
}

// mustSeeClose reads until the server's close shows: EOF or a reset, not
// the deadline.
func (c *client) mustSeeClose(t *testing.T) {
	t.Helper()
	for {
		_, err := c.readFrame()
		switch {
		case err == nil:
			continue
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
			return
		default:
			t.Fatalf("want the connection closed by the server, got %v", err)
		}
	}
}
