// Goal: a rapid property test of the stream contract (TCP's, and DESIGN
// §1's): frames arrive in order and intact, or the connection breaks;
// none ever vanishes from a live connection. Random runs mix chunk sizes,
// latency, jitter, spikes, stalls, Pause/Resume, one-way and two-way
// partitions, clogs and graceful closes from either side; the faulty half
// adds random resets, explicit resets, refusals and partition timeouts.
//
// The model is, per connection and direction, the frames Send accepted,
// in order. After the run (everything healed and resumed, no action left):
//   - always: the frames the receiving end got are a prefix of that list,
//     each byte for byte (so never a partial or foreign frame);
//   - when the direction stayed up (the receiver did not call Close and did
//     not close with an error): exactly that list, even if the sender
//     closed (its FIN comes after its frames, so io.EOF means all arrived);
//   - without faults, no end closes with an error and every dial opens.
package simnet

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/takhin-io/takhin/env"
	"pgregory.net/rapid"
)

// propConn is the model of one connection.
type propConn struct {
	cid    env.ConnID
	sent   [2][][]byte // by sending side: client, server
	closer [2]bool     // the side called Close
}

// propRun is one random run: the harness, the model and the draws.
type propRun struct {
	rt     *rapid.T
	h      *harness
	conns  []*propConn
	faulty bool
	frames int
}

func TestStreamsArriveInOrderAndIntact(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		faulty := rapid.Bool().Draw(rt, "faulty")
		r := &propRun{rt: rt, faulty: faulty}
		r.h = newHarness(rt, rapid.Uint64().Draw(rt, "seed"), r.drawConfig())
		r.h.listen("s")
		r.h.attach("c")
		for range rapid.IntRange(1, 3).Draw(rt, "conns") {
			r.conns = append(r.conns, &propConn{cid: r.h.dial("c", "s")})
		}
		for range rapid.IntRange(1, 80).Draw(rt, "steps") {
			r.step()
		}
		r.h.net.HealAll()
		for _, pc := range r.conns {
			r.h.net.Endpoint("c").Resume(pc.cid)
			r.h.net.Endpoint("s").Resume(r.h.peer[pc.cid])
		}
		r.h.sched.run()
		for i, pc := range r.conns {
			r.check(i, pc)
		}
	})
}

func (r *propRun) drawConfig() Config {
	rt := r.rt
	cfg := Config{
		ChunkBytesMax:    rapid.IntRange(1, 64).Draw(rt, "chunkBytesMax"),
		LatencyBase:      rapid.Int64Range(1, 2*ms).Draw(rt, "latencyBase"),
		LatencyJitter:    rapid.Int64Range(0, 3*ms).Draw(rt, "latencyJitter"),
		PartitionTimeout: -1,
		Faults: Faults{
			Spike: rapid.Float64Range(0, 0.2).Draw(rt, "spike"), SpikeMax: 20 * ms,
			Stall: rapid.Float64Range(0, 0.1).Draw(rt, "stall"), StallMax: 30 * ms,
		},
	}
	if r.faulty {
		cfg.PartitionTimeout = rapid.Int64Range(10*ms, 500*ms).Draw(rt, "partitionTimeout")
		cfg.Faults.Reset = rapid.Float64Range(0, 0.05).Draw(rt, "reset")
		cfg.Faults.Refuse = rapid.Float64Range(0, 0.3).Draw(rt, "refuse")
	}
	return cfg
}

// step draws and performs one operation.
func (r *propRun) step() {
	rt, net := r.rt, r.h.net
	pc := r.conns[rapid.IntRange(0, len(r.conns)-1).Draw(rt, "conn")]
	side := rapid.IntRange(client, server).Draw(rt, "side")
	node, id := "c", pc.cid
	if side == server {
		node, id = "s", r.h.peer[pc.cid]
	}
	ep := net.Endpoint(node)
	switch op := rapid.IntRange(0, 12).Draw(rt, "op"); {
	case op <= 4:
		r.send(pc, side, ep, id)
	case op == 5:
		ep.Pause(id)
	case op == 6:
		ep.Resume(id)
	case op == 7:
		if rapid.IntRange(0, 5).Draw(rt, "close?") == 0 && ep.Close(id) == nil {
			pc.closer[side] = true
		}
	case op == 8:
		r.linkFault(rapid.IntRange(0, 5).Draw(rt, "linkFault"))
	case op == 9 && r.faulty:
		net.Reset(id)
	default:
		r.h.sched.advance(rapid.Int64Range(0, 5*ms).Draw(rt, "advance"))
	}
}

// send sends the next numbered frame of a random size and records it in
// the model if Send accepted it.
func (r *propRun) send(pc *propConn, side int, ep *Endpoint, id env.ConnID) {
	frame := frameOf(r.frames, rapid.IntRange(0, 150).Draw(r.rt, "size"))
	r.frames++
	err := ep.Send(id, frame)
	switch {
	case err == nil:
		pc.sent[side] = append(pc.sent[side], frame)
	case !errors.Is(err, ErrConnClosed) && !errors.Is(err, ErrUnknownConn):
		r.rt.Fatalf("Send: %v", err)
	}
}

func (r *propRun) linkFault(kind int) {
	net := r.h.net
	switch kind {
	case 0:
		net.Partition("c", "s")
	case 1:
		net.PartitionOneWay("c", "s")
	case 2:
		net.PartitionOneWay("s", "c")
	case 3:
		net.Heal("c", "s")
	case 4:
		net.Clog("s", "c")
	case 5:
		net.Unclog("s", "c")
	}
}

// check compares one connection with the model, both directions.
func (r *propRun) check(i int, pc *propConn) {
	rt, h := r.rt, r.h
	sid := h.peer[pc.cid]
	logs := [2]*endLog{h.nodes["c"].log(pc.cid), nil}
	if sid != 0 {
		logs[server] = h.nodes["s"].log(sid)
	} else {
		if !r.faulty {
			rt.Fatalf("conn %d: a dial failed without faults", i)
		}
		if !pc.closer[client] { // a closer may finish before the refusal
			checkErrIn(rt, fmt.Sprintf("conn %d never accepted", i), logs[client], ErrRefused, ErrReset)
		}
		logs[server] = &endLog{}
	}
	for from := range 2 {
		to := 1 - from
		what := fmt.Sprintf("conn %d, side %d to %d", i, from, to)
		got := logs[to].frames
		checkPrefix(rt, what, got, pc.sent[from])
		broke := logs[to].closed && logs[to].err != nil && logs[to].err != io.EOF
		if broke && !r.faulty {
			rt.Fatalf("%s: closed with %v without faults", what, logs[to].err)
		}
		if sid != 0 && !broke && !pc.closer[to] {
			checkFrames(rt, what+" (stayed up)", got, pc.sent[from])
		}
	}
}

func checkErrIn(t tb, what string, l *endLog, want ...error) {
	t.Helper()
	for _, w := range want {
		if l.closed && errors.Is(l.err, w) {
			return
		}
	}
	t.Fatalf("%s: closed %v with %v, want one of %v", what, l.closed, l.err, want)
}

// The property run at a fixed seed as a plain test too, so a regression
// shows without rapid's shrinking.
func TestStreamsFixedSeeds(t *testing.T) {
	for seed := range uint64(30) {
		h := newHarness(t, seed, Config{ChunkBytesMax: 1 + int(seed), LatencyJitter: ms,
			Faults: Faults{Spike: 0.1, SpikeMax: 10 * ms, Stall: 0.05, StallMax: 10 * ms}})
		s, c := h.listen("s"), h.attach("c")
		cid := h.dial("c", "s")
		var sent [][]byte
		for i := range 50 {
			sent = append(sent, frameOf(i, (i*int(seed+7))%200))
			h.send("c", cid, sent[i])
			if i%10 == 0 {
				h.sched.advance(ms)
			}
		}
		h.sched.run()
		checkFrames(t, fmt.Sprint("seed ", seed), s.log(h.peer[cid]).frames, sent)
		if c.log(cid).closed {
			t.Fatalf("seed %d: closed", seed)
		}
	}
}
