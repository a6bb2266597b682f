package replication_test

// Goal: pin the Ready/Advance protocol itself, as a driver written in the
// etcd RawNode style uses it — Step any number of events, then, if
// HasReady, take Ready, carry it out, Advance — and not as the harness
// (which takes a Ready after every event) happens to.

import (
	"errors"
	"fmt"
	"testing"

	"go.uber.org/zap"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

// rawDriver steps a Partition and, like etcd's node.run, looks at Ready
// only when HasReady says there is something; it keeps the one timer the
// Ready's Deadline asks for.
type rawDriver struct {
	t     *testing.T
	p     *replication.Partition
	timer int64 // armed deadline, monotonic ns; 0 for none
	rds   []replication.Ready
}

func (d *rawDriver) step(ev replication.Event) {
	d.t.Helper()
	if err := d.p.Step(ev); err != nil {
		d.t.Fatalf("step %T: %v", ev, err)
	}
}

func (d *rawDriver) handle() {
	if !d.p.HasReady() {
		return
	}
	rd := d.p.Ready()
	d.timer = rd.Deadline
	d.rds = append(d.rds, rd)
	d.p.Advance(rd)
}

// A new, earlier deadline is something the driver must act on (re-arm its
// timer): HasReady must say so, or a long-poll waits for whatever timer was
// armed before — here the retention check, minutes later.
func TestHasReadyWhenTheDeadlineMoves(t *testing.T) {
	d := &rawDriver{t: t, p: replication.NewPartition(testConfig(), zap.NewNop())}
	now := env.Time{Mono: 0, WallMs: wallBaseMs}
	d.step(replication.Recovered{Now: now})
	d.handle()
	if d.timer != ns(300_000) {
		t.Errorf("timer %dms after Recovered, want the retention check 300000ms", d.timer/1_000_000)
	}
	d.step(replication.Fetch{Now: now, ID: 1, From: 0, MaxBytes: 100, Deadline: ns(500)})
	d.handle()
	if d.timer != ns(500) {
		t.Errorf("a fetch parked until 500ms, but the driver's timer is at %dms: HasReady was %v with Deadline %dms in Ready",
			d.timer/1_000_000, d.p.HasReady(), d.p.Ready().Deadline/1_000_000)
	}
}

// Ready returns the same work until Advance, and nothing after it.
func TestReadyIsStableUntilAdvance(t *testing.T) {
	p := replication.NewPartition(testConfig(), zap.NewNop())
	now := env.Time{Mono: 0, WallMs: wallBaseMs}
	if err := p.Step(replication.Recovered{Now: now}); err != nil {
		t.Fatal(err)
	}
	// Several events before one Ready: it holds all their work.
	for id := replication.RequestID(1); id <= 3; id++ {
		if err := p.Step(replication.Produce{Now: now, ID: id, Batch: testBatch(1, 5, 0, byte(id)), Acks: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Step(replication.Fetch{Now: now, ID: 9, From: 5}); err != nil {
		t.Fatal(err)
	}
	if !p.HasReady() {
		t.Fatalf("HasReady false with a Persist and a reply waiting")
	}
	rd1, rd2 := p.Ready(), p.Ready()
	if formatReady(rd1) != formatReady(rd2) {
		t.Fatalf("two Readys differ:\n%s\n%s", formatReady(rd1), formatReady(rd2))
	}
	if rd1.Persist == nil || len(rd1.Persist.Batches) != 1 || len(rd1.Replies) != 1 {
		t.Fatalf("want a one-batch Persist and the out-of-range reply, got %s", formatReady(rd1))
	}
	p.Advance(rd1)
	if p.HasReady() {
		t.Fatalf("HasReady after Advance: %s", formatReady(p.Ready()))
	}
	if rd := p.Ready(); rd.Persist != nil || len(rd.Replies) != 0 {
		t.Fatalf("Ready after Advance repeats work: %s", formatReady(rd))
	}
}

// When the partition fail-stops, work it asked for but the executor has
// not yet taken must be withdrawn: the Persist whose produces were just
// answered ErrFailed must not be written (a client told "failed" would
// find its batch in the log after the restart), nor the Read of a fetch
// already answered.
func TestFailureWithdrawsWorkNotYetTaken(t *testing.T) {
	cfg := testConfig()
	cfg.TailBytesMax = 0
	p := replication.NewPartition(cfg, zap.NewNop())
	now := env.Time{Mono: 0, WallMs: wallBaseMs}
	steps := []replication.Event{
		replication.Recovered{Now: now, Start: 0, End: 3},
		replication.Fetch{Now: now, ID: 1, From: 0, MaxBytes: 100},
	}
	for _, ev := range steps {
		if err := p.Step(ev); err != nil {
			t.Fatal(err)
		}
	}
	p.Advance(p.Ready()) // the executor starts Read 1
	// Then, before the next Ready: a produce, a fetch needing a Read, and
	// the corrupt read.
	steps = []replication.Event{
		replication.Produce{Now: now, ID: 2, Batch: testBatch(1, 5, 0, 1), Acks: -1},
		replication.Fetch{Now: now, ID: 3, From: 1, MaxBytes: 100},
		replication.ReadDone{Now: now, ID: 1, Err: fmt.Errorf("%w: crc", storage.ErrCorrupt)},
	}
	for _, ev := range steps {
		if err := p.Step(ev); err != nil {
			t.Fatal(err)
		}
	}
	rd := p.Ready()
	if rd.Failure == nil {
		t.Fatalf("no failure: %s", formatReady(rd))
	}
	for _, r := range rd.Replies {
		if !errors.Is(r.Err, replication.ErrFailed) {
			t.Errorf("reply %s, want ErrFailed", replyString(r))
		}
	}
	if rd.Persist != nil {
		t.Errorf("Ready still asks to write Persist %d, whose produce was answered ErrFailed", rd.Persist.Op)
	}
	if len(rd.Reads) != 0 {
		t.Errorf("Ready still asks for Reads %+v, whose fetch was answered ErrFailed", rd.Reads)
	}
}

// Work stepped between Ready and Advance is not in the Ready being
// acknowledged: Advance must keep it for the next Ready, or refuse the
// sequence with an assertion. Dropping it silently leaves a Persist in
// flight that no executor ever saw, and every later produce queues behind
// it forever.
func TestAdvanceDoesNotDropWorkSteppedAfterReady(t *testing.T) {
	p := replication.NewPartition(testConfig(), zap.NewNop())
	now := env.Time{Mono: 0, WallMs: wallBaseMs}
	if err := p.Step(replication.Recovered{Now: now}); err != nil {
		t.Fatal(err)
	}
	rd := p.Ready()
	if err := p.Step(replication.Produce{Now: now, ID: 1, Batch: testBatch(1, 5, 0, 1), Acks: -1}); err != nil {
		t.Fatal(err)
	}
	panicked := func() (panicked bool) {
		defer func() { panicked = recover() != nil }()
		p.Advance(rd)
		return false
	}()
	if panicked {
		return // refused: acceptable
	}
	if next := p.Ready(); next.Persist == nil {
		t.Fatalf("the Persist built between Ready and Advance was dropped: the partition is wedged (next Ready: %s)", formatReady(next))
	}
}
