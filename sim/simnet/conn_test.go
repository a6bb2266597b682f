// Goal: the fault-free contract of a connection, mirroring driver/tcpnet:
// dial and accept (ConnOpened on both sides, ids unique and never reused),
// frames both ways in order and intact (zero-size ones included), a
// graceful Close that flushes first (nil for the closer, io.EOF for the
// peer), the errors of Send and Close, Pause/Resume and PauseAfterFrame
// keeping order, a bad size prefix closing only its connection, and
// Config validation.
package simnet

import (
	"errors"
	"io"
	"testing"

	"github.com/takhin-io/takhin/env"
)

func TestDialSendReceive(t *testing.T) {
	h := newHarness(t, 1, Config{ChunkBytesMax: 5, LatencyJitter: ms})
	s, c := h.listen("s"), h.attach("c")
	cid, sid := h.connect("c", "s")
	if cid == sid {
		t.Fatalf("both ends have id %d", cid)
	}
	if c.log(cid).remote != "s" || s.log(sid).remote != "c" {
		t.Fatalf("remotes %q %q", c.log(cid).remote, s.log(sid).remote)
	}
	var up, down [][]byte
	for i := range 20 {
		up, down = append(up, frameOf(i, i*7%40)), append(down, frameOf(100+i, i*11%50))
		h.send("c", cid, up[i])
		h.send("s", sid, down[i])
	}
	h.sched.run()
	checkFrames(t, "c→s", s.log(sid).frames, up)
	checkFrames(t, "s→c", c.log(cid).frames, down)
	if s.log(sid).closed || c.log(cid).closed {
		t.Fatal("a fault-free connection closed")
	}
	if s.log(sid).frames[0] == nil {
		t.Fatal("a zero-size frame arrived as nil")
	}
}

// Frames sent before the handshake completes queue behind it.
func TestSendBeforeOpen(t *testing.T) {
	h := newHarness(t, 2, Config{ChunkBytesMax: 3})
	s := h.listen("s")
	h.attach("c")
	cid := h.dial("c", "s")
	want := [][]byte{frameOf(1, 10), frameOf(2, 0), frameOf(3, 30)}
	for _, f := range want {
		h.send("c", cid, f)
	}
	h.sched.run()
	checkFrames(t, "early frames", s.log(h.peer[cid]).frames, want)
}

func TestCloseFlushesFirst(t *testing.T) {
	h := newHarness(t, 3, Config{ChunkBytesMax: 4, LatencyJitter: ms})
	s, c := h.listen("s"), h.attach("c")
	cid, sid := h.connect("c", "s")
	var want [][]byte
	for i := range 10 {
		want = append(want, frameOf(i, 25))
		h.send("c", cid, want[i])
	}
	ep := h.net.Endpoint("c")
	if err := ep.Close(cid); err != nil {
		t.Fatal(err)
	}
	if err := ep.Send(cid, []byte("late")); !errors.Is(err, ErrConnClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	if err := ep.Close(cid); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	h.send("s", sid, []byte("to a closing end")) // discarded, not delivered
	h.sched.run()
	checkFrames(t, "flushed", s.log(sid).frames, want)
	checkErr(t, "listener", s.log(sid), io.EOF)
	checkErr(t, "closer", c.log(cid), nil)
	if len(c.log(cid).frames) != 0 {
		t.Fatal("a closing end received a frame")
	}
	for _, id := range []env.ConnID{cid, sid} {
		node := map[env.ConnID]string{cid: "c", sid: "s"}[id]
		if err := h.net.Endpoint(node).Send(id, nil); !errors.Is(err, ErrUnknownConn) {
			t.Fatalf("Send on finished %d: %v", id, err)
		}
	}
	if len(h.net.conns) != 0 || len(h.net.ends) != 0 {
		t.Fatalf("%d connections and %d ends left", len(h.net.conns), len(h.net.ends))
	}
}

// An endpoint acts only on its own node's ends.
func TestEndpointOwnsItsEnds(t *testing.T) {
	h := newHarness(t, 4, Config{})
	h.listen("s")
	h.attach("c")
	cid, _ := h.connect("c", "s")
	if err := h.net.Endpoint("s").Send(cid, nil); !errors.Is(err, ErrUnknownConn) {
		t.Fatalf("another node's id: %v", err)
	}
	if err := h.net.Endpoint("s").Close(cid); !errors.Is(err, ErrUnknownConn) {
		t.Fatalf("Close of another node's id: %v", err)
	}
	if _, err := h.net.Dial("nobody", "s"); !errors.Is(err, ErrNodeDown) {
		t.Fatalf("Dial from a node never started: %v", err)
	}
}

// Ids are unique across the Net and never reused, across crashes too.
func TestConnIDsNeverReused(t *testing.T) {
	h := newHarness(t, 5, Config{})
	seen := map[env.ConnID]bool{}
	h.listen("s")
	h.attach("c")
	for round := range 3 {
		for range 3 {
			cid, sid := h.connect("c", "s")
			for _, id := range []env.ConnID{cid, sid} {
				if seen[id] {
					t.Fatalf("round %d: id %d reused", round, id)
				}
				seen[id] = true
			}
		}
		h.net.Crash("s")
		h.sched.run()
		h.listen("s")
	}
}

// Pause holds delivery and Resume restarts it, in order and complete.
func TestPauseResumeKeepsOrder(t *testing.T) {
	h := newHarness(t, 6, Config{ChunkBytesMax: 6, LatencyJitter: 2 * ms})
	s := h.listen("s")
	h.attach("c")
	cid, sid := h.connect("c", "s")
	ep := h.net.Endpoint("s")
	var want [][]byte
	for round := range 5 {
		ep.Pause(sid)
		before := len(s.log(sid).frames)
		for i := range 8 {
			want = append(want, frameOf(round*8+i, 17+i))
			h.send("c", cid, want[len(want)-1])
		}
		h.sched.advance(50 * ms)
		if got := len(s.log(sid).frames); got != before {
			t.Fatalf("round %d: %d frames delivered while paused", round, got-before)
		}
		ep.Resume(sid)
		h.sched.advance(ms / 2) // some arrive mid-flight of the next round
	}
	h.sched.run()
	checkFrames(t, "paused and resumed", s.log(sid).frames, want)
}

// PauseAfterFrame delivers one frame per Resume, as Kafka's muting does.
func TestPauseAfterFrame(t *testing.T) {
	h := newHarness(t, 7, Config{PauseAfterFrame: true, ChunkBytesMax: 9})
	s := h.listen("s")
	h.attach("c")
	cid, sid := h.connect("c", "s")
	var want [][]byte
	for i := range 6 {
		want = append(want, frameOf(i, 20))
		h.send("c", cid, want[i])
	}
	for i := range 6 {
		h.sched.run()
		if got := len(s.log(sid).frames); got != i+1 {
			t.Fatalf("after %d resumes: %d frames", i, got)
		}
		h.net.Endpoint("s").Resume(sid)
	}
	h.sched.run()
	checkFrames(t, "muted", s.log(sid).frames, want)
}

// A bad size prefix (an HTTP request on the Kafka port, a frame over the
// limit) closes that connection only, with the framer's error; the peer
// sees a reset.
func TestBadSizePrefix(t *testing.T) {
	h := newHarness(t, 8, Config{MaxFrameBytes: 64, ChunkBytesMax: 3})
	s, c := h.listen("s"), h.attach("c")
	cid, sid := h.connect("c", "s")
	okID, okPeer := h.connect("c", "s")
	h.send("c", cid, frameOf(1, 10))
	if err := h.net.Endpoint("c").SendRaw(cid, []byte("GET / HTTP/1.1\r\n")); err != nil {
		t.Fatal(err)
	}
	h.send("c", okID, frameOf(2, 64))
	h.send("c", okID, frameOf(3, 65)) // over the limit
	h.sched.run()
	checkFrames(t, "before the bad prefix", s.log(sid).frames, [][]byte{frameOf(1, 10)})
	checkErr(t, "listener", s.log(sid), env.ErrFrameTooLarge)
	checkErr(t, "dialer", c.log(cid), ErrReset)
	checkFrames(t, "under the limit", s.log(okPeer).frames, [][]byte{frameOf(2, 64)})
	checkErr(t, "over the limit", s.log(okPeer), env.ErrFrameTooLarge)
}

// A peer that closes inside a frame (raw bytes only) ends with io.EOF and
// the partial frame discarded.
func TestCloseInsideFrame(t *testing.T) {
	h := newHarness(t, 9, Config{})
	s := h.listen("s")
	h.attach("c")
	cid, sid := h.connect("c", "s")
	ep := h.net.Endpoint("c")
	if err := ep.SendRaw(cid, env.AppendFrame(nil, frameOf(1, 10))[:9]); err != nil {
		t.Fatal(err)
	}
	if err := ep.Close(cid); err != nil {
		t.Fatal(err)
	}
	h.sched.run()
	checkErr(t, "listener", s.log(sid), io.EOF)
	if len(s.log(sid).frames) != 0 {
		t.Fatal("a partial frame was delivered")
	}
}

func TestConfigValidation(t *testing.T) {
	for name, cfg := range map[string]Config{
		"negative latency":   {LatencyBase: -1},
		"negative jitter":    {LatencyJitter: -1},
		"negative chunk":     {ChunkBytesMax: -1},
		"negative max frame": {MaxFrameBytes: -1},
		"probability > 1":    {Faults: Faults{Reset: 1.5}},
		"negative refuse":    {Faults: Faults{Refuse: -0.1}},
		"spike without max":  {Faults: Faults{Spike: 0.1}},
		"stall without max":  {Faults: Faults{Stall: 0.1}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New(newScheduler(1), env.NewRand(1, "x"), cfg); !errors.Is(err, ErrConfig) {
				t.Fatalf("got %v, want ErrConfig", err)
			}
		})
	}
	if _, err := New(newScheduler(1), env.NewRand(1, "x"), Config{}); err != nil {
		t.Fatalf("zero Config: %v", err)
	}
}
