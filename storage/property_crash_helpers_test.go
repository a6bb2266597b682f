package storage

// Helpers of the model-based log test (property_test.go): the injector that
// fails one chosen fsync or directory sync inside an action, the model's
// flip bookkeeping, and the producer-state comparison, which must allow for
// what segment deletion and truncation legitimately do to it.

import (
	"math"
	"slices"

	"pgregory.net/rapid"

	"github.com/takhin-io/takhin/sim/simfs"
)

// armedFault is the test's simfs.Injector. Armed, it fails with EIO the
// nth fsync or the nth directory sync (op says which) the log issues; it
// is disarmed after every action, so Open and the next action never meet a
// left-over fault.
type armedFault struct {
	op    simfs.Op
	left  int // matching ops until the one that fails; 0 means disarmed
	fired bool
}

func (f *armedFault) Inject(op simfs.Op, _ string) simfs.Fault {
	if f.left == 0 || op != f.op {
		return simfs.NoFault
	}
	f.left--
	if f.left > 0 {
		return simfs.NoFault
	}
	f.fired = true
	return simfs.FaultIO
}

// arm draws whether the coming action meets a fault, and which.
func (m *logMachine) arm(t *rapid.T) {
	if rapid.IntRange(0, 3).Draw(t, "fault") != 0 {
		return
	}
	m.fault.op = rapid.SampledFrom([]simfs.Op{simfs.OpSyncDir, simfs.OpSync}).Draw(t, "fault-op")
	m.fault.left = rapid.IntRange(1, 4).Draw(t, "fault-nth")
}

// disarm ends the action's fault window and reports whether it fired.
func (m *logMachine) disarm() bool {
	fired := m.fault.fired
	m.fault.left, m.fault.fired = 0, false
	return fired
}

// crashAfterFault checks that the failed action fail-stopped the log (a
// failed fsync or directory sync stops the process) and crashes.
func (m *logMachine) crashAfterFault(t *rapid.T, action string, err error) {
	if err == nil {
		t.Fatalf("%s: an injected fault was not reported", action)
	}
	if m.log.Failed() == nil {
		t.Fatalf("%s: %v did not fail-stop the log", action, err)
	}
	propStats.faults++
	m.crash(t)
}

// flipBelow reports a flipped batch below the highest recovery point the
// disk may hold: it must be reported as ErrCorrupt, never served, and the
// test cannot tell what else recovery keeps.
func (m *logMachine) flipBelow() bool {
	for _, b := range m.batches {
		if b.flipped && b.next <= m.rpHigh {
			return true
		}
	}
	return false
}

// flipAbove is the lowest flipped batch not below the lowest recovery
// point the disk may hold (recovery may truncate there), MaxInt64 if none.
func (m *logMachine) flipAbove() Offset {
	for _, b := range m.batches {
		if b.flipped && b.next > m.rp {
			return b.base
		}
	}
	return math.MaxInt64
}

func (m *logMachine) anyFlip() bool {
	return slices.ContainsFunc(m.batches, func(b modelBatch) bool { return b.flipped })
}

// dropBelow moves the model batches of deleted segments (below first, the
// log's first segment now) to m.deleted: their producers' state stays. A
// batch reaching the start may go only with m.frontMayGo: it was truncated,
// not deleted, and leaves the model.
func (m *logMachine) dropBelow(t *rapid.T, first Offset) {
	n := 0
	for n < len(m.batches) && m.batches[n].base < first {
		if m.batches[n].next > m.log.StartOffset() {
			if !m.frontMayGo {
				t.Fatalf("batch %d..%d at or above the log start %d lost at the front of the log",
					m.batches[n].base, m.batches[n].next-1, m.log.StartOffset())
			}
			break
		}
		n++
	}
	m.deleted = append(m.deleted, m.batches[:n]...)
	m.batches = slices.Clone(m.batches[n:])
	for len(m.batches) > 0 && m.batches[0].base < first { // truncated (m.frontMayGo)
		m.batches = m.batches[1:]
	}
}

// mayForgetDeleted is called when the log's producer state is rebuilt from
// an older snapshot (TruncateTo below SyncedEnd, or a crash that may find
// the recovery point TruncateTo lowered): as in Kafka, the producers of
// batches deleted since that snapshot, or deleted by the next recovery
// (below the start offset), are then forgotten. From then on this run
// compares the producer state loosely.
func (m *logMachine) mayForgetDeleted() {
	if len(m.deleted) > 0 || (len(m.batches) > 0 && m.batches[0].base < m.start) {
		m.prodExact = false
		propStats.prodLoose++
	}
}

// checkProducerState compares the log's producer state with the one
// recomputed from every batch the log stored and did not truncate, deleted
// ones included (every append and Open is at time 0, so nothing expires).
func (m *logMachine) checkProducerState(t *rapid.T) {
	want := NewProducerState()
	for _, b := range slices.Concat(m.deleted, m.batches) {
		want.Apply(DecodeBatchHeader(b.bytes), 0)
	}
	got := m.log.ProducerState()
	if !m.prodExact {
		m.checkProducerStateLoosely(t, got, want)
		return
	}
	if !got.Equal(want) {
		t.Fatalf("producer state %+v, the model's %+v (producers with batches only in deleted segments: %v)",
			got.Producers(), want.Producers(), m.deletedOnlyProducers())
	}
}

// deletedOnlyProducers lists the producers all of whose batches were
// deleted: the log must keep their state (after a crash too).
func (m *logMachine) deletedOnlyProducers() []int64 {
	onDisk := m.producersOnDisk()
	var out []int64
	for _, b := range m.deleted {
		h := DecodeBatchHeader(b.bytes)
		if tracked(&h) && wellFormed(&h) && !onDisk[h.ProducerID] && !slices.Contains(out, h.ProducerID) {
			out = append(out, h.ProducerID)
		}
	}
	slices.Sort(out)
	return out
}

func (m *logMachine) producersOnDisk() map[int64]bool {
	onDisk := map[int64]bool{}
	for _, b := range m.batches {
		if h := DecodeBatchHeader(b.bytes); tracked(&h) && wellFormed(&h) {
			onDisk[h.ProducerID] = true
		}
	}
	return onDisk
}

// checkProducerStateLoosely allows the log to have forgotten any deleted
// batch (see mayForgetDeleted): a producer with a batch on disk has the
// model's epoch and the model's batches from the first one on disk, and
// anything older it remembers is a deleted batch of its own; a producer
// with none on disk is absent or remembers only deleted batches of its own.
func (m *logMachine) checkProducerStateLoosely(t *rapid.T, got, want *ProducerState) {
	floor := Offset(math.MaxInt64)
	if len(m.batches) > 0 {
		floor = m.batches[0].base
	}
	deleted := map[int64][]ProducerEntry{} // one single-batch entry per deleted batch
	for _, b := range m.deleted {
		h := DecodeBatchHeader(b.bytes)
		if tracked(&h) && wellFormed(&h) {
			pb := ProducerBatch{FirstSeq: h.BaseSequence, LastSeq: h.LastSequence(), FirstOffset: h.BaseOffset, LastOffset: h.LastOffset()}
			deleted[h.ProducerID] = append(deleted[h.ProducerID], ProducerEntry{Epoch: h.ProducerEpoch, Batches: []ProducerBatch{pb}})
		}
	}
	onDisk := m.producersOnDisk()
	for _, w := range want.Producers() {
		g, ok := got.Producer(w.ProducerID)
		if onDisk[w.ProducerID] && (!ok || g.Epoch != w.Epoch || !slices.Equal(batchesFrom(g.Batches, floor), batchesFrom(w.Batches, floor))) {
			t.Fatalf("producer %d: state %+v, the model's %+v (batches from %d must agree)", w.ProducerID, g, w, floor)
		}
	}
	for _, g := range got.Producers() {
		if _, ok := want.Producer(g.ProducerID); !ok {
			t.Fatalf("producer %d in the log's state was never stored", g.ProducerID)
		}
		for _, b := range g.Batches {
			if b.FirstOffset < floor && !slices.ContainsFunc(deleted[g.ProducerID], func(e ProducerEntry) bool {
				return e.Epoch == g.Epoch && e.Batches[0] == b
			}) {
				t.Fatalf("producer %d remembers batch %+v, not one of its deleted batches", g.ProducerID, b)
			}
		}
	}
}

// batchesFrom returns the batches at or after floor.
func batchesFrom(bs []ProducerBatch, floor Offset) []ProducerBatch {
	return slices.DeleteFunc(slices.Clone(bs), func(b ProducerBatch) bool { return b.FirstOffset < floor })
}
