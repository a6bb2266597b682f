// These tests run tcpnet in a testing/synctest bubble over net.Pipe
// connections (synctest cannot fake real sockets, but a pipe's blocking is
// durable and its timers are fake), to check exactly what the loopback
// tests can only see eventually: a paused connection reads nothing more
// (the peer's write stays blocked); PauseAfterFrame delivers one frame per
// Resume; the idle limit counts from the last byte moved, to the
// nanosecond; Close while paused ends cleanly; and Shutdown whose context
// expires aborts a writer stuck on a peer that never reads.
package tcpnet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/takhin-io/takhin/env"
)

// pipeListener hands out the server ends of net.Pipe connections.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case nc := <-l.conns:
		return nc, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// dial returns the client end of a new connection, once it is accepted.
func (l *pipeListener) dial() net.Conn {
	server, client := net.Pipe()
	l.conns <- server
	return client
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// startPipe serves cfg over a pipeListener inside the current bubble.
func startPipe(t *testing.T, cfg Config, hook func(*Net, Event)) (*Net, *pipeListener, *recorder) {
	t.Helper()
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	var self atomic.Pointer[Net]
	rec := newRecorder(func(ev Event) {
		if hook != nil {
			hook(self.Load(), ev)
		}
	})
	ln := newPipeListener()
	n := serve(ln, cfg, rec.handle)
	self.Store(n)
	return n, ln, rec
}

// connect dials and returns the client end and the new connection's id.
func connect(t *testing.T, ln *pipeListener, rec *recorder) (net.Conn, env.ConnID) {
	t.Helper()
	before := len(opened(rec.snapshot()))
	client := ln.dial()
	synctest.Wait()
	ids := opened(rec.snapshot())
	if len(ids) != before+1 {
		t.Fatalf("ConnOpened ids %v after one dial", ids)
	}
	return client, ids[before]
}

func shutdown(t *testing.T, n *Net) {
	t.Helper()
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func readPipeFrame(t *testing.T, nc net.Conn) []byte {
	t.Helper()
	var size [env.FrameHeaderBytes]byte
	if _, err := io.ReadFull(nc, size[:]); err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, int(uint32(size[0])<<24|uint32(size[1])<<16|uint32(size[2])<<8|uint32(size[3])))
	if _, err := io.ReadFull(nc, frame); err != nil {
		t.Fatal(err)
	}
	return frame
}

func TestSynctestPauseStopsReading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, ln, rec := startPipe(t, Config{}, nil)
		client, id := connect(t, ln, rec)
		n.Pause(id)
		// 40 KiB: more than one read, so a reader that kept reading would
		// let the write complete.
		want := [][]byte{bytes.Repeat([]byte("a"), 10<<10), {}, bytes.Repeat([]byte("b"), 10<<10),
			bytes.Repeat([]byte("c"), 10<<10), bytes.Repeat([]byte("d"), 10<<10)}
		written := make(chan error, 1)
		go func() {
			_, err := client.Write(encode(want...))
			written <- err
		}()
		synctest.Wait()
		select {
		case err := <-written:
			t.Fatalf("the peer's write completed (%v): the paused connection kept reading", err)
		default:
		}
		if got := framesOf(rec.snapshot(), id); len(got) != 0 {
			t.Fatalf("%d FrameIn while paused", len(got))
		}

		n.Resume(id)
		synctest.Wait()
		if err := <-written; err != nil {
			t.Fatal(err)
		}
		got := framesOf(rec.snapshot(), id)
		if len(got) != len(want) {
			t.Fatalf("%d frames after Resume, want %d", len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("frame %d differs", i)
			}
		}
		// The frames were never answered: after the peer's EOF the
		// connection waits CloseLinger (2 s) for their answers.
		_ = client.Close()
		synctest.Wait()
		if _, closed := closedErr(rec.snapshot(), id); closed {
			t.Fatal("closed at the peer's EOF with delivered frames unanswered")
		}
		time.Sleep(closeLingerDefault)
		synctest.Wait()
		if err, _ := closedErr(rec.snapshot(), id); !errors.Is(err, io.EOF) {
			t.Fatalf("ConnClosed.Err = %v, want io.EOF", err)
		}
		shutdown(t, n)
	})
}

func TestSynctestPauseAfterFrame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, ln, rec := startPipe(t, Config{PauseAfterFrame: true}, nil)
		client, id := connect(t, ln, rec)
		want := [][]byte{[]byte("one"), []byte("two"), []byte("three")}
		go func() { _, _ = client.Write(encode(want...)) }()
		for i := 1; i <= len(want); i++ {
			synctest.Wait()
			got := framesOf(rec.snapshot(), id)
			if len(got) != i || !bytes.Equal(got[i-1], want[i-1]) {
				t.Fatalf("after %d Resumes: frames %q", i-1, got)
			}
			n.Resume(id)
		}
		shutdown(t, n)
		checkContract(t, rec.snapshot())
	})
}

// The idle limit counts from the last byte moved either way, on the
// (here fake) monotonic clock.
func TestSynctestIdleTimerCountsActivity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const idle = 10 * time.Minute
		n, ln, rec := startPipe(t, Config{IdleTimeout: idle}, echo)
		client, id := connect(t, ln, rec)
		isClosed := func() bool {
			synctest.Wait()
			_, closed := closedErr(rec.snapshot(), id)
			return closed
		}

		time.Sleep(idle - time.Minute)
		if _, err := client.Write(encode([]byte("ping"))); err != nil {
			t.Fatal(err)
		}
		if got := readPipeFrame(t, client); string(got) != "ping" {
			t.Fatalf("echo %q", got)
		}
		time.Sleep(idle - time.Nanosecond)
		if isClosed() {
			t.Fatal("closed before a full idle period since the last activity")
		}
		time.Sleep(time.Nanosecond)
		if !isClosed() {
			t.Fatal("still open a full idle period after the last activity")
		}
		if err, _ := closedErr(rec.snapshot(), id); !errors.Is(err, ErrIdle) {
			t.Fatalf("ConnClosed.Err = %v, want ErrIdle", err)
		}
		shutdown(t, n)
	})
}

func TestSynctestCloseWhilePaused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, ln, rec := startPipe(t, Config{}, nil)
		client, id := connect(t, ln, rec)
		n.Pause(id)
		go func() { _, _ = client.Write(encode([]byte("a"), []byte("b"))) }()
		synctest.Wait()
		if err := n.Close(id); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		events := rec.snapshot()
		if err, closed := closedErr(events, id); !closed || err != nil {
			t.Fatalf("ConnClosed = %v, %v; want a clean close", closed, err)
		}
		if got := framesOf(events, id); len(got) != 0 {
			t.Fatalf("%d FrameIn for a connection closed while paused", len(got))
		}
		shutdown(t, n)
	})
}

// A peer that never reads keeps the writer blocked; Shutdown's context
// bounds the flush, then aborts.
func TestSynctestShutdownDeadlineAborts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, ln, rec := startPipe(t, Config{}, func(n *Net, ev Event) {
			if o, ok := ev.(ConnOpened); ok {
				_ = n.Send(o.Conn, bytes.Repeat([]byte("x"), 64<<10))
			}
		})
		client, id := connect(t, ln, rec)
		defer client.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		start := time.Now()
		if err := n.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
		}
		if waited := time.Since(start); waited != time.Minute {
			t.Fatalf("Shutdown returned after %v, want the context's minute", waited)
		}
		if err, _ := closedErr(rec.snapshot(), id); !errors.Is(err, ErrShutdown) {
			t.Fatalf("ConnClosed.Err = %v, want ErrShutdown", err)
		}
	})
}
