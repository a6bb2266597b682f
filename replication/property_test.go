package replication_test

// Goal: random interleavings against a stated model, and determinism.
//
// The model. A fake executor carries out the partition's work in order: the
// one Persist in flight is written (whole, or cut short by ENOSPC at a
// random batch boundary: the batches from there on are gone) and then
// synced; Reads complete first-in first-out from what was written;
// retention tasks complete with a log start at a random batch boundary at
// or below the high watermark, sometimes asking for another chunk. Between
// any two completions, clients produce (random acks, sizes) and fetch
// (random offsets around the log, sizes, MinBytes and deadlines), and the
// clock ticks forward. Then everything is drained. The partition must
// satisfy:
//
//   - every acks=-1 success is answered only by a Synced, with its whole
//     batch below the high watermark at the time of the reply (so base <
//     HW);
//   - the offsets of successful appends are unique and contiguous: sorted,
//     they tile [recovered end, final high watermark) with no gap or
//     overlap, although failed writes freed and reused offsets;
//   - no fetch returns a batch at or above the high watermark at its reply,
//     and what it returns is byte for byte what was written there;
//   - the high watermark never goes backwards;
//   - every request is answered exactly once (at most once at every step,
//     at least once after the drain).
//
// The harness checks the per-step properties after every Ready (see
// helpers_test.go); the drain checks the rest.
//
// TestPropertyWithFailStops adds, rarely, a failed fsync (process-fatal)
// and a corrupt read (partition-fatal). After one, the model is only: every
// request is answered exactly once, successful appends never overlap (they
// may leave a gap: an acks=-1 batch failed by the sync while the acks=1
// batch after it had been answered at Written), and the partition asks for
// nothing more.

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"testing"

	"pgregory.net/rapid"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

// drawFunc returns a number in [0, n).
type drawFunc func(label string, n int) int

// workload runs steps random actions against h, then drains it.
func workload(h *harness, draw drawFunc, steps int, failStops bool) {
	h.t.Helper()
	start := storage.Offset(draw("start", 4))
	h.recovered(start, start+storage.Offset(draw("recovered", 6)))
	w := &workloadState{h: h, draw: draw, recoveredEnd: h.p.HighWatermark(), failStops: failStops}
	for i := 0; i < steps; i++ {
		w.act()
	}
	w.drain()
}

type workloadState struct {
	h            *harness
	draw         drawFunc
	nextID       replication.RequestID
	nowMs        int64
	maxDeadline  int64
	recoveredEnd storage.Offset
	failStops    bool
}

func (w *workloadState) id() replication.RequestID { w.nextID++; return w.nextID }

func (w *workloadState) act() {
	h := w.h
	actions := 8
	if w.failStops {
		actions = 9
	}
	switch w.draw("action", actions) {
	case 0, 1:
		acks := []int16{-1, 0, 1}[w.draw("acks", 3)]
		h.produce(w.id(), acks, 1+w.draw("records", 4), w.draw("bytes", 60))
	case 2:
		if h.inflight != nil && !h.inflightWritten {
			h.written(w.writeEnd())
		}
	case 3:
		if h.inflight != nil && h.inflightWritten {
			h.synced(nil)
		}
	case 4:
		w.fetch()
	case 5:
		if id, ok := w.oldestRead(); ok {
			h.readDone(id, nil)
		}
	case 6:
		w.nowMs += int64(w.draw("advance", 200))
		h.tick(w.nowMs)
	case 7:
		w.finishTask(w.draw("more", 3) == 0)
	case 8:
		w.failStop()
	}
}

// failStop, one time in ten, fails the in-flight sync or the oldest read.
func (w *workloadState) failStop() {
	h := w.h
	if w.draw("fail-stop", 10) != 0 {
		return
	}
	if h.inflight != nil && h.inflightWritten && w.draw("which", 2) == 0 {
		h.synced(fmt.Errorf("fsync: %w", env.ErrIO))
		return
	}
	if id, ok := w.oldestRead(); ok {
		h.readDone(id, fmt.Errorf("%w: crc", storage.ErrCorrupt))
	}
}

// writeEnd picks how far the in-flight Persist gets: whole, or, one time
// in three, cut short by ENOSPC at a random batch boundary.
func (w *workloadState) writeEnd() (storage.Offset, error) {
	if w.draw("nospace", 3) != 0 {
		return w.h.persistEnd(), nil
	}
	batches := w.h.inflight.Batches
	k := w.draw("failed-from", len(batches))
	return storage.DecodeBatchHeader(batches[k]).BaseOffset, errNoSpace
}

func (w *workloadState) fetch() {
	h := w.h
	lo := h.p.LogStart() - 1
	hi := h.diskEnd + 2
	from := lo + storage.Offset(w.draw("from", int(hi-lo)))
	var deadline int64
	if w.draw("wait", 2) == 0 {
		deadline = w.nowMs + 1 + int64(w.draw("deadline", 500))
		w.maxDeadline = max(w.maxDeadline, deadline)
	}
	h.fetch(w.id(), from, 1+w.draw("max-bytes", 400), w.draw("min-bytes", 300), deadline)
}

func (w *workloadState) oldestRead() (replication.RequestID, bool) {
	var best replication.RequestID
	for id := range w.h.reads {
		if best == 0 || id < best {
			best = id
		}
	}
	return best, best != 0
}

// finishTask completes the retention task in flight, if any, with a new
// log start at a batch boundary in [log start, high watermark].
func (w *workloadState) finishTask(more bool) {
	h := w.h
	var id uint64
	for t := range h.tasks {
		id = t
	}
	if id == 0 {
		return
	}
	starts := []storage.Offset{h.p.LogStart()}
	for _, b := range h.disk {
		if b.base > h.p.LogStart() && b.base <= h.p.HighWatermark() {
			starts = append(starts, b.base)
		}
	}
	h.backgroundDone(id, starts[w.draw("new-start", len(starts))], more, nil)
}

// drain completes everything outstanding and checks the end state.
func (w *workloadState) drain() {
	h := w.h
	h.t.Helper()
	for round := 0; ; round++ {
		if round > 1000+10*len(h.requests) {
			h.t.Fatalf("drain does not converge")
		}
		switch {
		case h.failure != nil:
			w.checkFailed()
			return
		case h.inflight != nil && !h.inflightWritten:
			h.written(h.persistEnd(), nil)
		case h.inflight != nil:
			h.synced(nil)
		case len(h.reads) > 0:
			id, _ := w.oldestRead()
			h.readDone(id, nil)
		case len(h.tasks) > 0:
			w.finishTask(false)
		case len(h.answered) < len(h.requests):
			w.nowMs = max(w.nowMs, w.maxDeadline) + 1
			h.tick(w.nowMs)
		default:
			w.checkEnd()
			return
		}
	}
}

// checkFailed checks a fail-stopped partition: everything answered once,
// no two successes overlap, nothing more asked for.
func (w *workloadState) checkFailed() {
	h := w.h
	h.t.Helper()
	w.checkAnswered()
	next := w.recoveredEnd
	for _, o := range sortedOffsets(h.appended) {
		if o[0] < next {
			h.t.Fatalf("successful appends overlap: [%d, %d) below %d", o[0], o[1], next)
		}
		next = o[1]
	}
	if rd := h.p.Ready(); rd.Persist != nil || len(rd.Reads) != 0 || len(rd.Background) != 0 || rd.Deadline != 0 {
		h.t.Fatalf("a failed partition still asks for work: %s", formatReady(rd))
	}
}

func (w *workloadState) checkAnswered() {
	h := w.h
	h.t.Helper()
	for id := range h.requests {
		if _, ok := h.answered[id]; !ok {
			h.t.Fatalf("request %d never answered", id)
		}
	}
}

func (w *workloadState) checkEnd() {
	h := w.h
	h.t.Helper()
	w.checkAnswered()
	next := w.recoveredEnd
	for _, o := range sortedOffsets(h.appended) {
		if o[0] != next {
			h.t.Fatalf("successful appends are not contiguous: [%d, %d) where %d was expected", o[0], o[1], next)
		}
		next = o[1]
	}
	if hw := h.p.HighWatermark(); next != hw {
		h.t.Fatalf("successful appends end at %d, the high watermark at %d", next, hw)
	}
}

func TestPropertyRandomInterleavings(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		cfg := testConfig()
		cfg.TailBytesMax = rapid.SampledFrom([]int{0, 100, 300, 4 << 20}).Draw(rt, "tail-bytes")
		cfg.PersistBytesMax = rapid.SampledFrom([]int{1, 150, 400, 8 << 20}).Draw(rt, "persist-bytes")
		cfg.RetentionCheckIntervalMs = rapid.SampledFrom([]int64{50, 300, 300_000}).Draw(rt, "retention-check-ms")
		h := newHarness(rt, cfg)
		draw := func(label string, n int) int { return rapid.IntRange(0, n-1).Draw(rt, label) }
		workload(h, draw, rapid.IntRange(0, 200).Draw(rt, "steps"), false)
	})
}

func TestPropertyWithFailStops(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		cfg := testConfig()
		cfg.TailBytesMax = rapid.SampledFrom([]int{0, 300, 4 << 20}).Draw(rt, "tail-bytes")
		cfg.PersistBytesMax = rapid.SampledFrom([]int{150, 8 << 20}).Draw(rt, "persist-bytes")
		h := newHarness(rt, cfg)
		draw := func(label string, n int) int { return rapid.IntRange(0, n-1).Draw(rt, label) }
		workload(h, draw, rapid.IntRange(0, 200).Draw(rt, "steps"), true)
	})
}

// TestDeterminism runs the same seeded workload twice and compares the
// transcripts and a digest of every byte of every Ready.
func TestDeterminism(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		run := func() (string, uint64) {
			r := rand.New(rand.NewPCG(seed, 0x7a6b))
			cfg := testConfig()
			cfg.TailBytesMax = 300
			cfg.PersistBytesMax = 400
			cfg.RetentionCheckIntervalMs = 300
			cfg.LogAppendTime = seed%2 == 0
			h := newHarness(t, cfg)
			workload(h, func(_ string, n int) int { return r.IntN(n) }, 300, false)
			return h.out.String(), digestReadies(h.allReadies)
		}
		out1, d1 := run()
		out2, d2 := run()
		if out1 != out2 || d1 != d2 {
			t.Fatalf("seed %d: two runs differ (digests %x and %x)\n--- first\n%s\n--- second\n%s", seed, d1, d2, out1, out2)
		}
	}
}

// digestReadies hashes every field of every Ready, batch bytes included.
func digestReadies(rds []replication.Ready) uint64 {
	h := fnv.New64a()
	put := func(s string) { _, _ = h.Write([]byte(s)) }
	for _, rd := range rds {
		put(formatReady(rd))
		if rd.Persist != nil {
			for _, b := range rd.Persist.Batches {
				_, _ = h.Write(b)
			}
		}
		for _, r := range rd.Replies {
			_, _ = h.Write(r.Batches)
		}
	}
	return h.Sum64()
}
