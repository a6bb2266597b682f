package storage

// Goal: a model-based property test of the partition log on the
// crash-faithful simulated disk (issue 2, criterion 1).
//
// The model is the list of batches the log acknowledged (by offset, with
// their exact bytes after offset assignment), which of them were synced,
// the checkpointed recovery point, and the corruption the test injected.
// Random actions: appends (some with gaps), reads, syncs (some failing,
// which fail-stops the log and forces a crash and reopen, as an fsync error
// stops the process), checkpoints, crashes with reopen, clean reopens,
// disk-full episodes, and bit flips in synced batches. Some batches carry
// an idempotent producer's id, epoch and sequence (their values need not
// obey Kafka's rules: the log records what it stores). The properties:
//
//   - no read ever returns a batch whose bytes differ from what was
//     appended at its offset, and no torn or CRC-failing batch;
//   - after a crash the log holds a prefix of the model: every batch below
//     the recovery point survives byte for byte; every synced batch
//     survives unless a bit flip was injected at or before it above the
//     recovery point (then the log may end at the corrupted batch);
//   - a flip below the recovery point is reported as ErrCorrupt (by Open or
//     by the read that meets it), never silently dropped or served;
//   - ENOSPC from an append leaves the log usable and unchanged;
//   - the log's producer state always equals the state recomputed from
//     the model's batches (after every reopen: from the surviving ones),
//     whether it came from a snapshot, a replay or both.
//
// Bit flips are aimed at the bytes the batch CRC covers (and the length
// field): BaseOffset and PartitionLeaderEpoch sit outside Kafka's CRC, so a
// flip there is only caught by cross-checks (ARCHITECTURE.md says so).

import (
	"bytes"
	"errors"
	"flag"
	"math"
	"testing"

	"pgregory.net/rapid"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/sim/simfs"
)

type modelBatch struct {
	base, next Offset
	bytes      []byte
	synced     bool
}

type logMachine struct {
	fs  *simfs.FS
	rng *env.Rand
	log *Log

	batches   []modelBatch
	rp        Offset
	flipAbove Offset // lowest flipped batch at or above the recovery point, MaxInt64 if none
	flipBelow bool   // a flip was injected below the recovery point
}

// propStats counts what the runs exercised, so a vacuous run shows.
var propStats struct{ crashes, flips, failStops, truncations int }

const propDir = "p"

func propConfig() Config {
	return Config{SegmentBytes: 2048, SegmentMs: 1 << 40, IndexIntervalBytes: 200}
}

func (m *logMachine) open(t *rapid.T) {
	l, err := Open(m.fs, propDir, propConfig(), 0)
	if err != nil {
		if errors.Is(err, ErrCorrupt) && m.flipBelow {
			m.replaceDisk(t)
			return
		}
		t.Fatalf("open: %v", err)
	}
	m.log = l
	m.reconcile(t)
}

// reconcile checks the reopened log against the model and adopts it: the
// log must hold a prefix of the model batches, long enough.
func (m *logMachine) reconcile(t *rapid.T) {
	got, ok := m.readEverything(t)
	if !ok {
		return // met a planted flip: m.open already handled it
	}
	if len(got) > len(m.batches) {
		t.Fatalf("log has %d batches, the model only %d", len(got), len(m.batches))
	}
	for i, b := range got {
		if !bytes.Equal(b, m.batches[i].bytes) {
			t.Fatalf("batch %d (offset %d) differs from what was appended", i, m.batches[i].base)
		}
	}
	for _, b := range m.batches[len(got):] {
		if b.next <= m.rp && !m.flipBelow {
			t.Fatalf("batch %d below the recovery point %d lost", b.base, m.rp)
		}
		if b.synced && b.base < m.flipAbove && !m.flipBelow {
			t.Fatalf("synced batch %d lost without corruption before it (flip at %d)", b.base, m.flipAbove)
		}
	}
	if len(got) < len(m.batches) {
		propStats.truncations++
	}
	m.batches = m.batches[:len(got)]
	for i := range m.batches {
		m.batches[i].synced = true // recovery syncs what survived
	}
	m.rp = m.log.RecoveryPoint()
	m.checkProducerState(t)
	if m.flipAbove != math.MaxInt64 && (len(m.batches) == 0 || m.batches[len(m.batches)-1].next <= m.flipAbove) {
		m.flipAbove = math.MaxInt64 // the flipped batch was truncated away
	}
}

// readEverything reads the whole log; ok=false when it met a flip the test
// planted (the log fail-stopped, and was reopened when the flip lay above
// the recovery point).
func (m *logMachine) readEverything(t *rapid.T) (batches [][]byte, ok bool) {
	var out [][]byte
	for from := m.log.StartOffset(); from < m.log.EndOffset(); {
		r, err := m.log.Read(from, 1<<16, m.log.EndOffset())
		if errors.Is(err, ErrCorrupt) && (m.flipBelow || m.flipAbove != math.MaxInt64) {
			m.log.Close()
			if m.flipBelow {
				m.replaceDisk(t)
				return nil, false
			}
			m.open(t) // above the recovery point: recovery truncates it
			return nil, false
		}
		if err != nil {
			t.Fatalf("read %d: %v", from, err)
		}
		if len(r.Batches) == 0 {
			t.Fatalf("read %d returned nothing below the end %d", from, m.log.EndOffset())
		}
		for b := r.Batches; len(b) > 0; {
			h := DecodeBatchHeader(b)
			if _, err := ValidateBatch(b[:h.Size()]); err != nil {
				t.Fatalf("read served an invalid batch: %v", err)
			}
			out = append(out, append([]byte(nil), b[:h.Size()]...))
			b = b[h.Size():]
		}
		from = r.Next
	}
	return out, true
}

// replaceDisk is the operator's answer to a fail-stopped partition: the
// property held (the flip was reported), so start again on a new disk.
func (m *logMachine) replaceDisk(t *rapid.T) {
	propStats.failStops++
	m.fs = simfs.New(m.rng.Fork("disk"), simfs.Options{})
	m.batches, m.rp, m.flipAbove, m.flipBelow = nil, 0, math.MaxInt64, false
	m.open(t)
}

func (m *logMachine) crash(t *rapid.T) {
	if m.log != nil {
		m.log.Close()
	}
	m.fs.Crash(m.rng)
	propStats.crashes++
	m.open(t)
}

func (m *logMachine) end() Offset {
	if n := len(m.batches); n > 0 {
		return m.batches[n-1].next
	}
	return m.log.EndOffset()
}

func (m *logMachine) Append(t *rapid.T) {
	n := rapid.IntRange(1, 5).Draw(t, "records")
	size := rapid.IntRange(0, 700).Draw(t, "payload")
	pid := int64(rapid.IntRange(-1, 2).Draw(t, "producer"))
	seq := int32(rapid.SampledFrom([]int{0, 1, 7, math.MaxInt32 - 1}).Draw(t, "sequence"))
	batch := testProducerBatch(n, bytes.Repeat([]byte{byte(len(m.batches))}, size), int64(len(m.batches)),
		pid, int16(rapid.IntRange(0, 1).Draw(t, "epoch")), seq)
	gap := rapid.IntRange(0, 8).Draw(t, "gap")
	full := rapid.IntRange(0, 9).Draw(t, "disk-full") == 0
	if full {
		usage, err := m.fs.Usage(".")
		if err != nil {
			t.Fatal(err)
		}
		m.fs.SetCapacity(usage.TotalBytes - usage.UsableBytes + int64(rapid.IntRange(0, len(batch)-1).Draw(t, "room")))
		defer m.fs.SetCapacity(0)
	}
	var r AppendResult
	var err error
	if gap > 5 {
		r, err = m.log.AppendAssigned(withBase(batch, m.log.EndOffset()+Offset(gap), 0), AppendOptions{})
	} else {
		r, err = m.log.Append(batch, AppendOptions{})
	}
	if err != nil {
		if full && env.IsNoSpace(err) {
			return // nothing was appended
		}
		t.Fatalf("append: %v", err)
	}
	stored := batch
	if gap > 5 {
		stored = withBase(batch, r.Base, 0)
	}
	m.batches = append(m.batches, modelBatch{base: r.Base, next: r.Last + 1, bytes: append([]byte(nil), stored...)})
}

func (m *logMachine) Sync(t *rapid.T) {
	if rapid.IntRange(0, 5).Draw(t, "sync-fails") == 0 && m.needsSync() {
		m.fs.InjectNext(simfs.OpSync, simfs.FaultIO)
		if err := m.log.Sync(); err == nil {
			t.Fatalf("an injected fsync error was not reported")
		}
		if m.log.Failed() == nil {
			t.Fatalf("a failed fsync must fail-stop the log")
		}
		m.crash(t) // an fsync error stops the process
		return
	}
	if err := m.log.Sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	for i := range m.batches {
		m.batches[i].synced = true
	}
}

// needsSync reports whether Sync will fsync a segment file (where the
// injected fault lands).
func (m *logMachine) needsSync() bool {
	for _, s := range m.log.segments {
		if s.unsynced {
			return true
		}
	}
	return false
}

func (m *logMachine) Checkpoint(t *rapid.T) {
	if err := m.log.Checkpoint(); err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	m.rp = m.log.RecoveryPoint()
	m.noteRecoveryPoint()
}

// noteRecoveryPoint reclassifies a flip the recovery point has moved past:
// the checkpoint vouched for bytes already rotten, so they now lie below
// it and must fail-stop the partition.
func (m *logMachine) noteRecoveryPoint() {
	if m.flipAbove < m.rp {
		m.flipBelow, m.flipAbove = true, math.MaxInt64
	}
}

func (m *logMachine) Crash(t *rapid.T) {
	m.crash(t)
}

func (m *logMachine) Reopen(t *rapid.T) {
	m.log.Close()
	m.open(t)
}

func (m *logMachine) Read(t *rapid.T) {
	if len(m.batches) == 0 {
		t.Skip("nothing to read")
	}
	i := rapid.IntRange(0, len(m.batches)-1).Draw(t, "batch")
	from := m.batches[i].base
	r, err := m.log.Read(from, rapid.IntRange(1, 4096).Draw(t, "max"), m.log.EndOffset())
	if errors.Is(err, ErrCorrupt) && (m.flipBelow || m.flipAbove != math.MaxInt64) {
		m.log.Close()
		m.open(t)
		return
	}
	if err != nil {
		t.Fatalf("read %d: %v", from, err)
	}
	for b := r.Batches; len(b) > 0; i++ {
		h := DecodeBatchHeader(b)
		if i >= len(m.batches) || !bytes.Equal(b[:h.Size()], m.batches[i].bytes) {
			t.Fatalf("read at %d served batch %d with bytes that were not appended there", from, h.BaseOffset)
		}
		b = b[h.Size():]
	}
}

// Flip flips one bit of a synced batch, in the bytes its CRC covers.
func (m *logMachine) Flip(t *rapid.T) {
	if len(m.batches) == 0 || !m.batches[0].synced {
		t.Skip("nothing synced")
	}
	last := 0
	for last+1 < len(m.batches) && m.batches[last+1].synced {
		last++
	}
	i := rapid.IntRange(0, last).Draw(t, "batch")
	b := m.batches[i]
	seg := m.log.segments[m.log.segmentFor(b.base)]
	pos, _, found, err := m.log.locate(seg, b.base)
	if err != nil || !found {
		t.Skip("batch not locatable (already corrupt)")
	}
	off := int64(rapid.IntRange(offMagic, len(b.bytes)-1).Draw(t, "byte"))
	if rapid.Bool().Draw(t, "length-field") {
		off = int64(rapid.IntRange(offBatchLength, offLeaderEpoch-1).Draw(t, "length-byte"))
	}
	if err := m.fs.Corrupt(seg.path(logSuffix), pos+off, uint8(rapid.IntRange(0, 7).Draw(t, "bit"))); err != nil {
		t.Fatal(err)
	}
	propStats.flips++
	if b.next <= m.rp {
		m.flipBelow = true
	} else {
		m.flipAbove = min(m.flipAbove, b.base)
	}
}

// checkProducerState compares the log's producer state with the one
// recomputed from the model's batches (every append and Open is at time 0).
func (m *logMachine) checkProducerState(t *rapid.T) {
	want := NewProducerState()
	for _, b := range m.batches {
		want.Apply(DecodeBatchHeader(b.bytes), 0)
	}
	if got := m.log.ProducerState(); !got.Equal(want) {
		t.Fatalf("producer state %+v, the model's %+v", got.Producers(), want.Producers())
	}
}

func (m *logMachine) Check(t *rapid.T) {
	if m.log.EndOffset() != m.end() {
		t.Fatalf("log end %d, model end %d", m.log.EndOffset(), m.end())
	}
	if m.log.RecoveryPoint() != m.rp {
		t.Fatalf("recovery point %d, model %d", m.log.RecoveryPoint(), m.rp)
	}
	m.checkProducerState(t)
}

func TestLogAgainstModelOnCrashingDisk(t *testing.T) {
	// Runs are cheap (milliseconds): use more than rapid's default 100
	// unless the command line asked for a number.
	if f := flag.Lookup("rapid.checks"); f != nil && f.Value.String() == f.DefValue && !testing.Short() {
		_ = f.Value.Set("2000")
	}
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		m := &logMachine{
			fs:        simfs.New(env.NewRand(seed, "disk"), simfs.Options{}),
			rng:       env.NewRand(seed, "crash"),
			flipAbove: math.MaxInt64,
		}
		m.open(t)
		t.Repeat(map[string]func(*rapid.T){
			"append":     m.Append,
			"sync":       m.Sync,
			"checkpoint": m.Checkpoint,
			"crash":      m.Crash,
			"reopen":     m.Reopen,
			"read":       m.Read,
			"flip":       m.Flip,
			"":           m.Check,
		})
	})
	t.Logf("exercised: %+v", propStats)
	if propStats.crashes == 0 || propStats.flips == 0 || propStats.truncations == 0 {
		t.Fatalf("the run exercised too little: %+v", propStats)
	}
}
