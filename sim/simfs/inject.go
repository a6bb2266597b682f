package simfs

import (
	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/assert"
)

// Op names an operation that faults can be injected into.
type Op uint8

const (
	OpSync    Op = iota + 1 // File.Sync: FaultIO or FaultNoSpace
	OpSyncDir               // FS.SyncDir: FaultIO or FaultNoSpace
	OpRead                  // File.ReadAt: FaultIO or FaultBitFlip
)

// Fault is what an Injector decides for one operation.
type Fault uint8

const (
	NoFault      Fault = iota
	FaultIO            // the op fails with an error wrapping env.ErrIO
	FaultNoSpace       // the op fails with an error wrapping env.ErrNoSpace
	FaultBitFlip       // ReadAt succeeds, one bit of the returned buffer flipped
)

// Injector decides the fault of each Sync, SyncDir and ReadAt, as pebble's
// errorfs does. It must be deterministic given its own seeded state.
type Injector interface {
	Inject(op Op, name string) Fault
}

// Probabilities configure the default Injector. Each is per operation; the
// two of one op add up to at most 1.
type Probabilities struct {
	SyncIO      float64 // Sync and SyncDir fail with EIO
	SyncNoSpace float64 // Sync and SyncDir fail with ENOSPC
	ReadIO      float64 // ReadAt fails with EIO
	ReadBitFlip float64 // ReadAt returns one flipped bit
}

// randomInjector draws one number per consulted op, and none when the op's
// probabilities are zero (so a fault-free FS leaves its Rand untouched).
type randomInjector struct {
	rng *env.Rand
	p   Probabilities
}

func (r *randomInjector) Inject(op Op, _ string) Fault {
	if op == OpRead {
		return r.pick(r.p.ReadIO, FaultIO, r.p.ReadBitFlip, FaultBitFlip)
	}
	return r.pick(r.p.SyncIO, FaultIO, r.p.SyncNoSpace, FaultNoSpace)
}

func (r *randomInjector) pick(p1 float64, f1 Fault, p2 float64, f2 Fault) Fault {
	if p1+p2 <= 0 {
		return NoFault
	}
	u := r.rng.Float64()
	switch {
	case u < p1:
		return f1
	case u < p1+p2:
		return f2
	}
	return NoFault
}

// SetFaults changes the default Injector's probabilities at run time, as
// the simulator's fault-free drain phase turns fsync failures off (zero
// probabilities draw nothing more from the FS's Rand). An FS built with
// its own Injector has no probabilities to change.
func (fs *FS) SetFaults(p Probabilities) {
	r, ok := fs.injector.(*randomInjector)
	assert.That(ok, "simfs: SetFaults on an FS with a custom Injector")
	r.p = p
}

// InjectNext makes the next op of kind op get fault f, ahead of the
// Injector; calls queue up in order. It is the deterministic hook for tests
// and the simulator ("the next fsync of this node fails").
func (fs *FS) InjectNext(op Op, f Fault) {
	assert.That(f.validFor(op), "simfs: fault not valid for op")
	fs.next[op] = append(fs.next[op], f)
}

// fault returns the fault of one op: queued by InjectNext, else the Injector's.
func (fs *FS) fault(op Op, name string) Fault {
	var f Fault
	if queue := fs.next[op]; len(queue) > 0 {
		f, fs.next[op] = queue[0], queue[1:]
	} else {
		f = fs.injector.Inject(op, name)
	}
	if !f.validFor(op) {
		assert.Failf("simfs: injector returned fault %d for op %d", f, op)
	}
	if f != NoFault {
		fs.stats.Faults++
	}
	return f
}

func (f Fault) validFor(op Op) bool {
	switch f {
	case NoFault, FaultIO:
		return true
	case FaultNoSpace:
		return op == OpSync || op == OpSyncDir
	case FaultBitFlip:
		return op == OpRead
	}
	return false
}

// err is the error an op fails with, nil for no fault or a bit flip.
func (f Fault) err() error {
	switch f {
	case FaultIO:
		return env.ErrIO
	case FaultNoSpace:
		return env.ErrNoSpace
	}
	return nil
}
