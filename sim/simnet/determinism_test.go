// Goal: same seed and same operations give the identical event trace (every
// OnEvent, stamped with virtual time, hashed), and different seeds give
// different traces, over a workload that uses every fault: random spikes,
// stalls, resets and refusals, and explicit partitions, clogs, stalls,
// resets, crashes and restarts, with servers echoing every frame from
// their Handler.
package simnet

import (
	"testing"

	"github.com/takhin-io/takhin/env"
)

// workload runs steps seeded operations on four nodes and returns the
// trace hash and the number of events.
func workload(t *testing.T, seed uint64, steps int) (uint64, int) {
	events := 0
	h := newHarness(t, seed, Config{
		ChunkBytesMax: 32, LatencyJitter: ms, PartitionTimeout: 200 * ms,
		Faults: Faults{Refuse: 0.05, Reset: 0.002, Spike: 0.05, SpikeMax: 20 * ms, Stall: 0.02, StallMax: 20 * ms},
	})
	h.onEvent = func(string, int64, int64) { events++ }
	rng := env.NewRand(seed, "workload")
	servers, clients := []string{"s1", "s2"}, []string{"c1", "c2"}
	startServer := func(name string) {
		r := h.recorder(name)
		r.onFrame = func(f FrameIn) { _ = h.net.Endpoint(name).Send(f.Conn, f.Frame) } // echo
		h.net.Listen(name, r.handle)
	}
	for _, s := range servers {
		startServer(s)
	}
	for _, c := range clients {
		h.attach(c)
	}
	var dialed []env.ConnID
	for step := range steps {
		c, s := clients[rng.IntN(2)], servers[rng.IntN(2)]
		switch op := rng.IntN(20); {
		case op < 3:
			if id, err := h.net.Dial(c, s); err == nil {
				dialed = append(dialed, id)
			}
		case op < 12 && len(dialed) > 0:
			id := dialed[rng.IntN(len(dialed))]
			_ = h.net.Endpoint(c).Send(id, frameOf(step, rng.IntN(100)))
		case op == 12:
			h.net.Partition(c, s)
		case op == 13:
			h.net.Heal(c, s)
		case op == 14:
			h.net.Clog(s, c)
			h.net.Unclog(c, s)
		case op == 15 && len(dialed) > 0:
			h.net.Stall(dialed[rng.IntN(len(dialed))], 10*ms)
		case op == 16 && len(dialed) > 0:
			h.net.Reset(dialed[rng.IntN(len(dialed))])
		case op == 17:
			if h.net.Up(s) {
				h.net.Crash(s)
			} else {
				startServer(s)
			}
		default:
			h.sched.advance(rng.Int64N(3 * ms))
		}
	}
	h.net.HealAll()
	h.sched.run()
	return h.trace.Sum64(), events
}

func TestSameSeedSameTrace(t *testing.T) {
	for seed := range uint64(5) {
		a, events := workload(t, seed, 1000)
		b, _ := workload(t, seed, 1000)
		if a != b {
			t.Fatalf("seed %d: traces %x and %x differ", seed, a, b)
		}
		if events < 1000 {
			t.Fatalf("seed %d: only %d events: the workload does too little", seed, events)
		}
	}
}

func TestDifferentSeedsDiffer(t *testing.T) {
	seen := map[uint64]uint64{}
	for seed := range uint64(20) {
		trace, _ := workload(t, seed, 200)
		if other, dup := seen[trace]; dup {
			t.Fatalf("seeds %d and %d gave the same trace", other, seed)
		}
		seen[trace] = seed
	}
}
