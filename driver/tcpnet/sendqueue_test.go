package tcpnet

// Goal: a peer that pipelines requests and never reads its answers must
// not make the server hold more than a bounded amount of unwritten answers
// (Kafka mutes the connection until its response is sent).

import (
	"bytes"
	"testing"
	"time"

	"github.com/takhin-io/takhin/env"
)

// TestUnreadAnswersStopReading: every frame is echoed and then answered
// with 4 MiB (one shared buffer), and the peer reads nothing. The server
// stops taking frames once the unwritten answers pass SendQueueBytesMax;
// when the peer reads, every frame is delivered and answered, in order.
func TestUnreadAnswersStopReading(t *testing.T) {
	const frames, answerBytes, queueMax = 100, 4 << 20, 1 << 20
	answer := env.AppendFrame(nil, bytes.Repeat([]byte{'a'}, answerBytes))
	srv := startServer(t, Config{SendQueueBytesMax: queueMax}, func(n *Net, ev Event) {
		if f, ok := ev.(FrameIn); ok {
			_ = n.Send(f.Conn, f.Frame)
			_ = n.SendFrame(f.Conn, answer) // only read by the writer: sharing is safe
		}
	})
	c := dial(t, srv.net.Addr())
	var stream []byte
	for i := range frames {
		stream = append(stream, encode([]byte{'r', 'e', 'q', byte(i)})...)
	}
	c.mustWrite(t, stream)
	id := srv.rec.awaitOpened(t, 1)
	// Loopback socket buffers (autotuned up to tcp_rmem's 32 MiB) absorb
	// some answers; beyond them and the queue bound, no frame is taken.
	bound := (queueMax+socketSlackBytes)/answerBytes + 2
	for watch := time.Now().Add(500 * time.Millisecond); time.Now().Before(watch); time.Sleep(time.Millisecond) {
		if got := len(framesOf(srv.rec.snapshot(), id)); got > bound {
			t.Fatalf("%d frames taken from a peer that reads nothing, want at most %d", got, bound)
		}
	}
	for i := range frames {
		c.mustRead(t, []byte{'r', 'e', 'q', byte(i)})
		c.mustRead(t, answer[env.FrameHeaderBytes:])
	}
	checkContract(t, srv.rec.snapshot())
}

// socketSlackBytes is what loopback socket buffers may hold of a peer that
// reads nothing: the server's send buffer and the peer's receive buffer.
const socketSlackBytes = 40 << 20
