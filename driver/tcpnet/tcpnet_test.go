// These tests run tcpnet against real loopback sockets (127.0.0.1:0), as
// production does: frames stay whole and in order both ways, over many
// connections at once; Pause and Resume lose and reorder nothing; a bad
// size prefix, the connection limit and the idle limit close only the
// connection concerned; Close and Shutdown flush what was queued first; and
// ids are unique, increasing and never reused. Every wait polls a condition
// with a deadline: none sleeps to let something happen. Timer-exact and
// blocking-exact checks run under testing/synctest in synctest_test.go.
package tcpnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/takhin-io/takhin/env"
)

// payloads returns count frames of mixed sizes (empty, small, and larger
// than the read buffer), each starting with its index.
func payloads(seed uint64, count int) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	frames := make([][]byte, count)
	for i := range frames {
		var size int
		switch rng.IntN(4) {
		case 0:
			size = 0
		case 1, 2:
			size = rng.IntN(200)
		default:
			size = rng.IntN(3 * readChunkBytes)
		}
		frame := fmt.Appendf(nil, "%d:", i)
		for len(frame) < size {
			frame = append(frame, byte(rng.Uint32()))
		}
		if size == 0 {
			frame = []byte{}
		}
		frames[i] = frame
	}
	return frames
}

// writeChunked writes stream in random-sized pieces, so frames straddle
// reads on the server.
func writeChunked(c *client, stream []byte, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 2))
	for len(stream) > 0 {
		n := min(1+rng.IntN(2*readChunkBytes), len(stream))
		if err := c.write(stream[:n]); err != nil {
			return err
		}
		stream = stream[n:]
	}
	return nil
}

func TestFramesInOrderBothWays(t *testing.T) {
	s := startServer(t, Config{}, echo)
	c := dial(t, s.net.Addr())
	want := payloads(1, 400)
	written := make(chan error, 1)
	go func() { written <- writeChunked(c, encode(want...), 1) }()
	for _, frame := range want {
		c.mustRead(t, frame)
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	id := s.rec.awaitOpened(t, 1)
	got := s.rec.awaitFrames(t, id, len(want))
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("FrameIn %d: %d bytes, want %d", i, len(got[i]), len(want[i]))
		}
		if got[i] == nil {
			t.Fatalf("FrameIn %d is nil: empty frames must be non-nil", i)
		}
	}
	checkContract(t, s.rec.snapshot())
}

func TestManyConnections(t *testing.T) {
	const clients, framesEach = 40, 30
	s := startServer(t, Config{}, echo)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		c := dial(t, s.net.Addr())
		wg.Go(func() { errs <- converse(c, i, framesEach) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	events := s.rec.await(t, "every ConnClosed", func(events []Event) bool {
		closed := 0
		for _, ev := range events {
			if _, ok := ev.(ConnClosed); ok {
				closed++
			}
		}
		return closed == clients
	})
	checkContract(t, events)
	ids := opened(events)
	seen := map[env.ConnID]bool{}
	for _, id := range ids {
		if id < 1 || id > clients || seen[id] {
			t.Fatalf("ids %v: want each of 1..%d once", ids, clients)
		}
		seen[id] = true
		checkOneClient(t, id, framesOf(events, id), framesEach)
		if err, _ := closedErr(events, id); err == nil || !errors.Is(err, io.EOF) {
			t.Fatalf("connection %d closed with %v, want io.EOF (the client closed it)", id, err)
		}
	}
}

// converse sends framesEach frames tagged with the client's index, reads
// them back in order, and closes.
func converse(c *client, index, framesEach int) error {
	var stream []byte
	var want [][]byte
	for j := range framesEach {
		frame := bytes.Repeat(fmt.Appendf(nil, "client %d frame %d;", index, j), j*50)
		want = append(want, frame)
		stream = env.AppendFrame(stream, frame)
	}
	if err := writeChunked(c, stream, uint64(index)); err != nil {
		return err
	}
	for j, frame := range want {
		got, err := c.readFrame()
		if err != nil {
			return fmt.Errorf("client %d frame %d: %w", index, j, err)
		}
		if !bytes.Equal(got, frame) {
			return fmt.Errorf("client %d frame %d: got %.40q", index, j, got)
		}
	}
	return c.nc.Close()
}

// checkOneClient checks that one connection's frames all came from one
// client, in its order.
func checkOneClient(t *testing.T, id env.ConnID, frames [][]byte, framesEach int) {
	t.Helper()
	if len(frames) != framesEach {
		t.Fatalf("connection %d: %d frames, want %d", id, len(frames), framesEach)
	}
	var client int
	for j, frame := range frames {
		if j == 0 {
			continue // frame 0 is empty: no tag
		}
		var c, k int
		if _, err := fmt.Sscanf(string(frame), "client %d frame %d;", &c, &k); err != nil || k != j || (j > 1 && c != client) {
			t.Fatalf("connection %d frame %d: %.40q (client %d, err %v)", id, j, frame, client, err)
		}
		client = c
	}
}

func TestConnIDsIncreaseAndAreNeverReused(t *testing.T) {
	s := startServer(t, Config{}, nil)
	for i := 1; i <= 5; i++ {
		c := dial(t, s.net.Addr())
		id := s.rec.awaitOpened(t, i)
		if id != env.ConnID(i) {
			t.Fatalf("connection #%d got id %d", i, id)
		}
		_ = c.nc.Close()
		s.rec.awaitClosed(t, id)
		if err := s.net.Send(id, []byte("late")); !errors.Is(err, ErrUnknownConn) {
			t.Fatalf("Send after ConnClosed: %v, want ErrUnknownConn", err)
		}
		if err := s.net.Close(id); !errors.Is(err, ErrUnknownConn) {
			t.Fatalf("Close after ConnClosed: %v, want ErrUnknownConn", err)
		}
		s.net.Pause(id) // ignored
		s.net.Resume(id)
	}
}

// Pause and Resume toggled while the client streams: every frame arrives
// once, in order.
func TestPauseResumeLosesNothing(t *testing.T) {
	s := startServer(t, Config{}, nil)
	c := dial(t, s.net.Addr())
	id := s.rec.awaitOpened(t, 1)
	s.net.Pause(id)
	want := payloads(2, 600)
	written := make(chan error, 1)
	go func() { written <- writeChunked(c, encode(want...), 2) }()
	for delivered := 0; delivered < len(want); {
		s.net.Resume(id)
		delivered = len(s.rec.awaitFrames(t, id, delivered+1))
		s.net.Pause(id)
	}
	s.net.Resume(id)
	got := s.rec.awaitFrames(t, id, len(want))
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("frame %d: %d bytes, want %d", i, len(got[i]), len(want[i]))
		}
	}
}

// Under PauseAfterFrame exactly one FrameIn arrives per Resume, even when
// the client pipelines: Kafka's one request at a time per connection.
func TestPauseAfterFrameDeliversOneAtATime(t *testing.T) {
	s := startServer(t, Config{PauseAfterFrame: true}, nil)
	c := dial(t, s.net.Addr())
	id := s.rec.awaitOpened(t, 1)
	want := payloads(3, 50)
	c.mustWrite(t, encode(want...))
	for i := 1; i <= len(want); i++ {
		got := s.rec.awaitFrames(t, id, i)
		// The next FrameIn cannot start before Resume: the count is exact.
		if len(got) != i || !bytes.Equal(got[i-1], want[i-1]) {
			t.Fatalf("after %d Resumes: %d frames, last %d bytes", i-1, len(got), len(got[len(got)-1]))
		}
		s.net.Resume(id)
	}
}

func TestBadSizePrefixClosesOnlyThatConnection(t *testing.T) {
	const maxFrame = 1024
	tests := []struct {
		name    string
		prefix  []byte
		wantErr error
	}{
		{"max+1", header(maxFrame + 1), env.ErrFrameTooLarge},
		{"HTTP", []byte("GET / HTTP/1.1\r\n\r\n"), env.ErrFrameTooLarge},
		{"negative", header(-5), env.ErrFrameNegative},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, Config{MaxFrameBytes: maxFrame}, echo)
			bad := dial(t, s.net.Addr())
			badID := s.rec.awaitOpened(t, 1)
			good := dial(t, s.net.Addr())
			goodID := s.rec.awaitOpened(t, 2)

			// The frame before the bad prefix is still delivered; the
			// connection is then closed at once, so its echo may be lost.
			bad.mustWrite(t, append(encode([]byte("before")), tc.prefix...))
			if err := s.rec.awaitClosed(t, badID); !errors.Is(err, tc.wantErr) {
				t.Fatalf("ConnClosed.Err = %v, want %v", err, tc.wantErr)
			}
			if frames := framesOf(s.rec.snapshot(), badID); len(frames) != 1 || string(frames[0]) != "before" {
				t.Fatalf("FrameIn before the bad prefix: %q", frames)
			}
			bad.mustSeeClose(t)

			exactlyMax := bytes.Repeat([]byte("m"), maxFrame)
			good.mustWrite(t, encode(exactlyMax))
			good.mustRead(t, exactlyMax)
			if _, closed := closedErr(s.rec.snapshot(), goodID); closed {
				t.Fatal("the well-behaved connection was closed too")
			}
		})
	}
}

func TestConnectionLimit(t *testing.T) {
	s := startServer(t, Config{MaxConnections: 2}, echo)
	first := dial(t, s.net.Addr())
	firstID := s.rec.awaitOpened(t, 1)
	second := dial(t, s.net.Addr())
	s.rec.awaitOpened(t, 2)

	refused := dial(t, s.net.Addr())
	refused.mustSeeClose(t)
	if got := s.net.Refused(); got != 1 {
		t.Fatalf("Refused() = %d, want 1", got)
	}
	if ids := opened(s.rec.snapshot()); len(ids) != 2 {
		t.Fatalf("a refused connection got an id: %v", ids)
	}
	second.mustWrite(t, encode([]byte("still served")))
	second.mustRead(t, []byte("still served"))

	// A slot frees only at ConnClosed; then a new connection is admitted
	// with the next id (the refused one took none).
	_ = first.nc.Close()
	s.rec.awaitClosed(t, firstID)
	third := dial(t, s.net.Addr())
	if id := s.rec.awaitOpened(t, 3); id != 3 {
		t.Fatalf("third admitted connection got id %d, want 3", id)
	}
	third.mustWrite(t, encode([]byte("admitted")))
	third.mustRead(t, []byte("admitted"))
}

// A short real idle limit (this is the driver: real time is its business);
// the wait is a deadline, not a sleep.
func TestIdleConnectionIsClosed(t *testing.T) {
	const idle = 150 * time.Millisecond
	s := startServer(t, Config{IdleTimeout: idle}, echo)
	start := time.Now()
	c := dial(t, s.net.Addr())
	id := s.rec.awaitOpened(t, 1)
	if err := s.rec.awaitClosed(t, id); !errors.Is(err, ErrIdle) {
		t.Fatalf("ConnClosed.Err = %v, want ErrIdle", err)
	}
	if elapsed := time.Since(start); elapsed < idle {
		t.Fatalf("closed after %v, before the idle limit %v", elapsed, idle)
	}
	c.mustSeeClose(t)
}

func TestCloseFlushesQueuedFrames(t *testing.T) {
	want := payloads(4, 30)
	sendAfterClose := make(chan error, 1)
	s := startServer(t, Config{}, func(n *Net, ev Event) {
		if f, ok := ev.(FrameIn); ok && string(f.Frame) == "bye" {
			for _, frame := range want {
				_ = n.Send(f.Conn, frame)
			}
			_ = n.Close(f.Conn)
			sendAfterClose <- n.Send(f.Conn, []byte("too late"))
		}
	})
	c := dial(t, s.net.Addr())
	id := s.rec.awaitOpened(t, 1)
	c.mustWrite(t, encode([]byte("bye"), []byte("not delivered: sent after the close")))
	for _, frame := range want {
		c.mustRead(t, frame)
	}
	c.mustSeeClose(t)
	_ = c.nc.Close()
	if err := <-sendAfterClose; !errors.Is(err, ErrConnClosed) && !errors.Is(err, ErrUnknownConn) {
		t.Fatalf("Send after Close: %v", err)
	}
	if err := s.rec.awaitClosed(t, id); err != nil {
		t.Fatalf("ConnClosed.Err = %v, want nil after a flushed Close", err)
	}
	if frames := framesOf(s.rec.snapshot(), id); len(frames) != 1 {
		t.Fatalf("%d FrameIn, want 1: none after Close", len(frames))
	}
}

// Shutdown waits for a queue larger than the socket buffers to be written
// to a client that only starts reading after Shutdown began.
func TestShutdownFlushes(t *testing.T) {
	frame := bytes.Repeat([]byte("s"), 256<<10)
	const frames = 48 // 12 MiB: more than loopback buffers hold
	s := startServer(t, Config{}, func(n *Net, ev Event) {
		if o, ok := ev.(ConnOpened); ok {
			for range frames {
				_ = n.Send(o.Conn, frame)
			}
		}
	})
	c := dial(t, s.net.Addr())
	id := s.rec.awaitOpened(t, 1)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		done <- s.net.Shutdown(ctx)
	}()
	for range frames {
		c.mustRead(t, frame)
	}
	c.mustSeeClose(t)
	_ = c.nc.Close()
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err, _ := closedErr(s.rec.snapshot(), id); !errors.Is(err, ErrShutdown) {
		t.Fatalf("ConnClosed.Err = %v, want ErrShutdown", err)
	}
	if err := s.net.Send(id, frame); !errors.Is(err, ErrUnknownConn) {
		t.Fatalf("Send after Shutdown: %v", err)
	}
	if nc, err := net.Dial("tcp", s.net.Addr().String()); err == nil {
		_ = nc.Close()
		t.Fatal("dial succeeded after Shutdown")
	}
}

func TestListenRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{{MaxFrameBytes: -1}, {MaxConnections: -1}} {
		if _, err := Listen("127.0.0.1:0", cfg, func(Event) {}); !errors.Is(err, ErrConfig) {
			t.Errorf("Listen(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
	if _, err := Listen("256.0.0.1:0", Config{}, func(Event) {}); err == nil {
		t.Error("Listen on a bad address succeeded")
	}
}

// SendFrame writes an already-prefixed frame as it is and hands that very
// buffer to Config.Sent once written, after the bytes reached the peer; a
// prefix that disagrees with the length is refused and nothing is sent.
func TestSendFrameAndSent(t *testing.T) {
	sent := make(chan []byte, 4)
	srv := startServer(t, Config{Sent: func(f []byte) { sent <- f }}, nil)
	c := dial(t, srv.net.Addr())
	id := srv.rec.awaitOpened(t, 1)
	framed := env.AppendFrame(make([]byte, 0, 64), []byte("hello"))
	if err := srv.net.SendFrame(id, append([]byte{0, 0, 0, 9}, "hello"...)); !errors.Is(err, ErrBadPrefix) {
		t.Fatalf("a bad prefix: %v, want ErrBadPrefix", err)
	}
	if err := srv.net.SendFrame(id, framed); err != nil {
		t.Fatal(err)
	}
	c.mustRead(t, []byte("hello"))
	select {
	case got := <-sent:
		if &got[0] != &framed[0] || len(got) != len(framed) {
			t.Fatalf("Sent got another buffer (%d bytes)", len(got))
		}
	case <-time.After(waitTimeout):
		t.Fatal("Sent was not called")
	}
	if err := srv.net.Send(id, []byte("plain")); err != nil {
		t.Fatal(err)
	}
	c.mustRead(t, []byte("plain"))
}
