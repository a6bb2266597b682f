package tcpnet

// Goal: a peer that shuts its write side after its requests still gets
// the answers (Kafka reads the EOF only once the muted connection's
// response is sent), without a closed peer holding its connection longer
// than needed.

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/takhin-io/takhin/env"
)

// TestHalfClosedPeerIsAnswered: a peer sends requests and shuts its write
// side; the answers, sent after the server read the EOF, still arrive,
// and then the connection closes with io.EOF.
func TestHalfClosedPeerIsAnswered(t *testing.T) {
	release := make(chan struct{})
	frames := make(chan FrameIn, 2)
	srv := startServer(t, Config{}, func(n *Net, ev Event) {
		if f, ok := ev.(FrameIn); ok {
			frames <- f
		}
	})
	go func() {
		<-release // answer only after the EOF was read
		for range 2 {
			f := <-frames
			_ = srv.net.Send(f.Conn, f.Frame)
		}
	}()
	c := dial(t, srv.net.Addr())
	c.mustWrite(t, encode([]byte("one"), []byte("two")))
	if err := c.nc.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	id := srv.rec.awaitOpened(t, 1)
	srv.rec.awaitFrames(t, id, 2)
	waitEOFRead(t, srv.net, id)
	close(release)
	c.mustRead(t, []byte("one"))
	c.mustRead(t, []byte("two"))
	if err := srv.rec.awaitClosed(t, id); !errors.Is(err, io.EOF) {
		t.Fatalf("ConnClosed: %v, want io.EOF", err)
	}
	c.mustSeeClose(t)
}

// waitEOFRead waits until id's reader has read the peer's EOF.
func waitEOFRead(t *testing.T, n *Net, id env.ConnID) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		c := n.lookup(id)
		if c == nil {
			t.Fatal("the connection closed at the peer's EOF, dropping the answers to come")
		}
		c.mu.Lock()
		eof := c.peerEOF
		c.mu.Unlock()
		if eof {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the peer's EOF was never read")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestHalfClosedPeerUnansweredLingers: after the peer's EOF, a request the
// owner never answers (an acks=0 produce) holds the connection no longer
// than CloseLinger of quiet.
func TestHalfClosedPeerUnansweredLingers(t *testing.T) {
	srv := startServer(t, Config{CloseLinger: 100 * time.Millisecond}, nil)
	c := dial(t, srv.net.Addr())
	c.mustWrite(t, encode([]byte("fire and forget")))
	if err := c.nc.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	id := srv.rec.awaitOpened(t, 1)
	if err := srv.rec.awaitClosed(t, id); !errors.Is(err, io.EOF) {
		t.Fatalf("ConnClosed: %v, want io.EOF", err)
	}
	c.mustSeeClose(t)
}

// TestClosedPeerWithNothingPendingClosesAtOnce: a peer that closes with
// every request answered is forgotten at once, not after a linger.
func TestClosedPeerWithNothingPendingClosesAtOnce(t *testing.T) {
	srv := startServer(t, Config{CloseLinger: time.Hour}, echo)
	c := dial(t, srv.net.Addr())
	c.mustWrite(t, encode([]byte("ping")))
	c.mustRead(t, []byte("ping"))
	_ = c.nc.Close()
	id := srv.rec.awaitOpened(t, 1)
	if err := srv.rec.awaitClosed(t, id); !errors.Is(err, io.EOF) {
		t.Fatalf("ConnClosed: %v, want io.EOF", err)
	}
}
