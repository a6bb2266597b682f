// Goal: each fault does what the package comment says and nothing more.
// A reset mid-frame delivers only the whole frames ahead of the cut, then
// ConnClosed(ErrReset) to both sides, never a partial frame; a partition
// holds bytes (those on the wire included) and loses none when it heals; a
// partition longer than PartitionTimeout resets with ErrTimeout, but only
// a connection with bytes waiting; one-way stalls, one-way partitions and
// clogs hold one direction only; dials to a node that is down, not
// listening or unlucky are refused; a crash resets its peers.
package simnet

import (
	"errors"
	"testing"

	"github.com/takhin-io/takhin/env"
)

// Over many seeds, a reset at a random moment of a burst of frames: the
// listener gets a prefix of whole frames, then ErrReset, as does the
// dialer; and in some seeds the cut fell inside a frame, so the framer
// held a partial frame that was discarded.
func TestResetMidFrame(t *testing.T) {
	midFrame := 0
	for seed := range uint64(40) {
		h := newHarness(t, seed, Config{ChunkBytesMax: 7, LatencyBase: ms, LatencyJitter: ms})
		s, c := h.listen("s"), h.attach("c")
		cid, sid := h.connect("c", "s")
		discarded := int64(0)
		h.onEvent = func(kind string, a, b int64) {
			if kind == "discard" && env.ConnID(a) == sid {
				discarded += b
			}
		}
		var sent [][]byte
		for i := range 8 {
			sent = append(sent, frameOf(i, 60))
			h.send("c", cid, sent[i])
		}
		h.sched.advance(ms + int64(seed%19)*ms/20) // some chunks arrived, some on the wire
		h.net.Reset(cid)
		if err := h.net.Endpoint("c").Send(cid, nil); !errors.Is(err, ErrConnClosed) {
			t.Fatalf("seed %d: Send after Reset: %v", seed, err)
		}
		h.sched.run()
		got := s.log(sid).frames
		checkPrefix(t, "reset", got, sent)
		if len(got) == len(sent) {
			t.Fatalf("seed %d: every frame arrived despite the reset", seed)
		}
		checkErr(t, "listener", s.log(sid), ErrReset)
		checkErr(t, "dialer", c.log(cid), ErrReset)
		if discarded > 0 {
			midFrame++
		}
	}
	t.Logf("%d of 40 seeds cut inside a frame", midFrame)
	if midFrame == 0 {
		t.Fatal("no seed cut inside a frame")
	}
}

// A burst under a random-reset rate: every connection delivers a prefix,
// and those that reset report it to both sides.
func TestRandomResets(t *testing.T) {
	h := newHarness(t, 11, Config{ChunkBytesMax: 16, LatencyJitter: ms, Faults: Faults{Reset: 0.02}})
	s, c := h.listen("s"), h.attach("c")
	resets := 0
	for range 10 {
		cid := h.dial("c", "s")
		var sent [][]byte
		for i := range 20 {
			sent = append(sent, frameOf(i, 30))
			if h.net.Endpoint("c").Send(cid, sent[i]) != nil {
				sent = sent[:i]
				break
			}
		}
		h.sched.run()
		sid := h.peer[cid]
		var got [][]byte
		if sid != 0 {
			got = s.log(sid).frames
		}
		checkPrefix(t, "random resets", got, sent)
		if l := c.log(cid); l.closed {
			checkErr(t, "dialer", l, ErrReset)
			if sid != 0 {
				checkErr(t, "listener", s.log(sid), ErrReset)
			}
			resets++
		} else {
			checkFrames(t, "no reset", got, sent)
		}
	}
	if resets == 0 {
		t.Fatal("no connection reset at a 2% rate per chunk")
	}
}

func TestPartitionHoldsThenHealsWithoutLoss(t *testing.T) {
	h := newHarness(t, 12, Config{ChunkBytesMax: 5, LatencyBase: ms, LatencyJitter: ms})
	s, c := h.listen("s"), h.attach("c")
	cid, sid := h.connect("c", "s")
	var up, down [][]byte
	for i := range 10 {
		up, down = append(up, frameOf(i, 40)), append(down, frameOf(50+i, 40))
		h.send("c", cid, up[i])
		h.send("s", sid, down[i])
	}
	h.sched.advance(ms + ms/2) // part arrived, part on the wire
	gotUp, gotDown := len(s.log(sid).frames), len(c.log(cid).frames)
	if gotUp == len(up) || gotDown == len(down) {
		t.Fatal("the burst arrived before the partition: the test proves nothing")
	}
	h.net.Partition("c", "s")
	for i := range 5 {
		up = append(up, frameOf(20+i, 40))
		h.send("c", cid, up[len(up)-1])
	}
	h.sched.advance(10_000 * ms) // 10 s, under the 30 s timeout
	if len(s.log(sid).frames) != gotUp || len(c.log(cid).frames) != gotDown {
		t.Fatal("frames crossed a partition")
	}
	h.net.Heal("c", "s")
	h.sched.run()
	checkFrames(t, "c→s healed", s.log(sid).frames, up)
	checkFrames(t, "s→c healed", c.log(cid).frames, down)
	if s.log(sid).closed || c.log(cid).closed {
		t.Fatal("a healed connection closed")
	}
}

// A partition that outlasts PartitionTimeout resets the connections with
// bytes waiting (ErrTimeout, which is an ErrReset) and spares idle ones,
// as TCP's retransmission timeout does.
func TestLongPartitionResets(t *testing.T) {
	h := newHarness(t, 13, Config{PartitionTimeout: 5_000 * ms})
	s, c := h.listen("s"), h.attach("c")
	busy, busyPeer := h.connect("c", "s")
	idle, idlePeer := h.connect("c", "s")
	h.net.Partition("c", "s")
	h.sched.advance(2_000 * ms)
	h.send("c", busy, frameOf(1, 10))
	h.sched.advance(4_000 * ms) // 6 s into the partition, 4 s of waiting
	if c.log(busy).closed {
		t.Fatal("reset before its bytes waited PartitionTimeout")
	}
	h.sched.advance(2_000 * ms)
	checkErr(t, "busy dialer", c.log(busy), ErrTimeout)
	checkErr(t, "busy listener", s.log(busyPeer), ErrReset)
	if len(s.log(busyPeer).frames) != 0 {
		t.Fatal("a frame crossed the partition")
	}
	h.sched.advance(60_000 * ms)
	h.net.Heal("c", "s")
	h.send("s", idlePeer, frameOf(2, 10))
	h.sched.run()
	if c.log(idle).closed || len(c.log(idle).frames) != 1 {
		t.Fatal("an idle connection did not survive a long partition")
	}
}

// Stall holds one direction of one connection; the other flows.
func TestOneWayStall(t *testing.T) {
	h := newHarness(t, 14, Config{ChunkBytesMax: 8})
	s, c := h.listen("s"), h.attach("c")
	cid, sid := h.connect("c", "s")
	h.net.Stall(cid, 50*ms)
	h.send("c", cid, frameOf(1, 30))
	h.send("s", sid, frameOf(2, 30))
	h.sched.advance(10 * ms)
	if len(s.log(sid).frames) != 0 || len(c.log(cid).frames) != 1 {
		t.Fatalf("during the stall: %d up, %d down; want 0 and 1",
			len(s.log(sid).frames), len(c.log(cid).frames))
	}
	h.sched.advance(50 * ms)
	checkFrames(t, "after the stall", s.log(sid).frames, [][]byte{frameOf(1, 30)})
}

// PartitionOneWay and Clog hold the streams from one node to another only,
// on every connection between them; Heal and Unclog release them in order.
func TestOneWayPartitionAndClog(t *testing.T) {
	for _, fault := range []string{"partition", "clog"} {
		t.Run(fault, func(t *testing.T) {
			h := newHarness(t, 15, Config{ChunkBytesMax: 8})
			s, c := h.listen("s"), h.attach("c")
			cid, sid := h.connect("c", "s")
			cid2, sid2 := h.connect("c", "s")
			hold, release := h.net.PartitionOneWay, h.net.Heal
			if fault == "clog" {
				hold, release = h.net.Clog, h.net.Unclog
			}
			hold("s", "c")
			var want [][]byte
			for i := range 4 {
				want = append(want, frameOf(i, 25))
				h.send("s", sid, want[i])
				h.send("s", sid2, want[i])
				h.send("c", cid, want[i])
			}
			h.sched.advance(1_000 * ms)
			if len(c.log(cid).frames)+len(c.log(cid2).frames) != 0 {
				t.Fatal("frames crossed the held direction")
			}
			checkFrames(t, "open direction", s.log(sid).frames, want)
			release("s", "c")
			h.sched.run()
			checkFrames(t, "released 1", c.log(cid).frames, want)
			checkFrames(t, "released 2", c.log(cid2).frames, want)
		})
	}
}

func TestRefusedDials(t *testing.T) {
	h := newHarness(t, 16, Config{})
	c := h.attach("c")
	h.attach("client-only")
	down := h.dial("c", "nowhere")
	notListening := h.dial("c", "client-only")
	h.sched.run()
	for name, id := range map[string]env.ConnID{"down": down, "not listening": notListening} {
		l := c.log(id)
		checkErr(t, name, l, ErrRefused)
		if l.opened {
			t.Fatalf("%s: ConnOpened before a refusal", name)
		}
	}
	h.listen("nowhere")
	ok := h.dial("c", "nowhere")
	h.sched.run()
	if l := c.log(ok); !l.opened || l.closed {
		t.Fatal("a dial to a node that came up failed")
	}

	h = newHarness(t, 17, Config{Faults: Faults{Refuse: 1}})
	h.listen("s")
	c = h.attach("c")
	unlucky := h.dial("c", "s")
	h.sched.run()
	checkErr(t, "refused by chance", c.log(unlucky), ErrRefused)
}

// A crash: the crashed node's ends vanish without events, its peers see a
// reset, its dials in flight die, and dials to it are refused until it
// listens again.
func TestCrashResetsPeers(t *testing.T) {
	h := newHarness(t, 18, Config{ChunkBytesMax: 4})
	s, c := h.listen("s"), h.attach("c")
	cid, sid := h.connect("c", "s")
	h.send("c", cid, frameOf(1, 100))
	h.send("s", sid, frameOf(2, 100))
	h.sched.advance(ms / 20)
	h.net.Crash("s")
	h.net.Crash("s") // a no-op
	if err := h.net.Endpoint("s").Send(sid, nil); !errors.Is(err, ErrUnknownConn) {
		t.Fatalf("Send from a crashed node: %v", err)
	}
	refused := h.dial("c", "s")
	h.sched.run()
	checkErr(t, "peer of the crash", c.log(cid), ErrReset)
	if l := s.log(sid); l.closed {
		t.Fatal("a crashed node received ConnClosed")
	}
	checkErr(t, "dial to a crashed node", c.log(refused), ErrRefused)
	if h.net.Up("s") {
		t.Fatal("a crashed node is up")
	}
	s2 := h.listen("s")
	cid2, sid2 := h.connect("c", "s")
	h.send("c", cid2, frameOf(3, 10))
	h.sched.run()
	checkFrames(t, "after restart", s2.log(sid2).frames, [][]byte{frameOf(3, 10)})

	// The dialer crashes with its SYN on the wire: the listener sees nothing.
	h.dial("c", "s")
	h.net.Crash("c")
	h.sched.run()
	if len(s2.ends) != 1 {
		t.Fatalf("listener saw %d ends, want 1", len(s2.ends))
	}
}
