package storage

// Goal: producer state is part of the log (DESIGN.md §3). The Log observes
// every batch it stores; Checkpoint snapshots exactly the synced state
// (never unsynced batches) and keeps two snapshots; after a crash on the
// simulated disk the recovered state is the state of the surviving batches
// (through the snapshot, a corrupt snapshot's predecessor, or a replay from
// the start, including the CRC-checked walk of trusted segments);
// TruncateTo rebuilds it and deletes the snapshots past the cut; segment
// deletion keeps it, through failed checkpoints and crashes too (the
// snapshot is durable before the checkpoint naming it); Checkpoint
// expires idle producers.

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"testing"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/sim/simfs"
)

func simDisk(seed uint64) *simfs.FS { return simfs.New(env.NewRand(seed, "disk"), simfs.Options{}) }

// producerWorkload appends the i-th batch of a workload of three idempotent
// producers (one bumps its epoch half-way) and plain batches, about 300
// bytes each, at wall time 1000.
func producerWorkload(t *testing.T, l *Log, i int) {
	t.Helper()
	payload := make([]byte, 200+i%50)
	var b []byte
	switch pid := int64(i % 4); {
	case pid == 3:
		b = testBatch(1+i%3, payload, int64(i))
	case pid == 2 && i >= 40:
		b = testProducerBatch(2, payload, int64(i), pid, 1, int32(2*((i-40)/4)))
	default:
		b = testProducerBatch(2, payload, int64(i), pid, 0, int32(2*(i/4)))
	}
	mustAppend(t, l, b)
}

// modelState recomputes the producer state from the batches in the log.
func modelState(t *testing.T, l *Log, nowMs int64) *ProducerState {
	t.Helper()
	s := NewProducerState()
	for _, h := range readAll(t, l, l.StartOffset()) {
		s.Apply(h, nowMs)
	}
	return s
}

func snapshotFiles(t *testing.T, fs env.FS) []Offset {
	t.Helper()
	names, err := fs.List("topic-0")
	if err != nil {
		t.Fatal(err)
	}
	var out []Offset
	for _, n := range names {
		if o, ok := parseSnapshotName(n); ok {
			out = append(out, o)
		}
	}
	return out
}

func mustSyncCheckpoint(t *testing.T, l *Log) {
	t.Helper()
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.Checkpoint(); err != nil {
		t.Fatal(err)
	}
}

func TestProducerStateSurvivesCrash(t *testing.T) {
	sawTail := false
	for seed := uint64(0); seed < 20; seed++ {
		fs := simDisk(seed)
		l := openLog(t, fs, smallConfig())
		for i := 0; i < 60; i++ {
			producerWorkload(t, l, i)
			if i == 30 {
				mustSyncCheckpoint(t, l)
			}
		}
		if err := l.Sync(); err != nil { // synced, not checkpointed
			t.Fatal(err)
		}
		synced, syncedEnd := l.prod.state.Clone(), l.SyncedEnd()
		for i := 60; i < 70; i++ {
			producerWorkload(t, l, i) // unsynced
		}
		if !l.ProducerState().Equal(modelState(t, l, 1000)) {
			t.Fatalf("seed %d: the live state differs from the log's batches", seed)
		}
		l.Close()
		fs.Crash(env.NewRand(seed, "crash"))
		l = openLog(t, fs, smallConfig())
		got := l.ProducerState()
		if !got.Equal(modelState(t, l, 1000)) {
			t.Fatalf("seed %d: recovered state differs from the surviving batches", seed)
		}
		switch {
		case l.EndOffset() < syncedEnd:
			t.Fatalf("seed %d: synced batches lost", seed)
		case l.EndOffset() == syncedEnd && !got.Equal(synced):
			t.Fatalf("seed %d: recovered state differs from the pre-crash synced state", seed)
		case l.EndOffset() > syncedEnd:
			sawTail = true
		}
		if snaps := snapshotFiles(t, fs); !slices.Contains(snaps, l.RecoveryPoint()) || len(snaps) > snapshotsKept {
			t.Fatalf("seed %d: snapshots %v after recovery to %d", seed, snaps, l.RecoveryPoint())
		}
		l.Close()
	}
	if !sawTail {
		t.Fatalf("no seed kept an unsynced batch: the test covered only one case")
	}
}

func TestCheckpointSnapshotsTheSyncedState(t *testing.T) {
	fs := simDisk(1)
	l := openLog(t, fs, smallConfig())
	defer l.Close()
	mustAppend(t, l, testProducerBatch(1, nil, 0, 5, 0, 0))
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	syncedOnly := l.ProducerState()
	mustAppend(t, l, testProducerBatch(1, nil, 0, 5, 0, 1)) // not synced
	if err := l.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if !readSnapshot(t, fs, l.SyncedEnd()).Equal(syncedOnly) {
		t.Fatalf("the snapshot at the synced end holds unsynced batches")
	}
	if e, _ := l.ProducerState().Producer(5); len(e.Batches) != 2 {
		t.Fatalf("ProducerState misses the unsynced batch: %+v", e)
	}
	for i := int32(2); i < 5; i++ {
		mustSyncCheckpoint(t, l)
		mustAppend(t, l, testProducerBatch(1, nil, 0, 5, 0, i))
	}
	mustSyncCheckpoint(t, l)
	want := []Offset{4, 5}
	if got := snapshotFiles(t, fs); !slices.Equal(got, want) {
		t.Fatalf("snapshots %v, want the newest two %v", got, want)
	}
	if !readSnapshot(t, fs, 5).Equal(l.ProducerState()) {
		t.Fatalf("the newest snapshot is not the state")
	}
	before := fs.Stats()
	if err := l.Checkpoint(); err != nil { // nothing changed: no new snapshot
		t.Fatal(err)
	}
	if got := snapshotFiles(t, fs); !slices.Equal(got, want) || fs.Stats().Syncs-before.Syncs > 1 {
		t.Fatalf("an idle checkpoint rewrote the snapshot: %v, %d syncs", got, fs.Stats().Syncs-before.Syncs)
	}
}

func readSnapshot(t *testing.T, fs env.FS, at Offset) *ProducerState {
	t.Helper()
	b, found, err := readWholeFile(fs, path.Join("topic-0", snapshotName(at)), 1<<30)
	if err != nil || !found {
		t.Fatalf("snapshot %d: found %v, %v", at, found, err)
	}
	s, err := DecodeProducerState(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// twoSnapshotLog builds a log of several segments with a snapshot at X
// (after 20 batches) and one at the recovery point (after 60), and closes
// it: the segments between X and the recovery point are trusted at Open.
func twoSnapshotLog(t *testing.T, fs env.FS) (x, rp Offset) {
	t.Helper()
	l := openLog(t, fs, smallConfig())
	defer l.Close()
	for i := 0; i < 60; i++ {
		producerWorkload(t, l, i)
		if i == 19 {
			mustSyncCheckpoint(t, l)
			x = l.RecoveryPoint()
		}
	}
	mustSyncCheckpoint(t, l)
	if len(l.Segments()) < 4 || l.segments[2].base <= x {
		t.Fatalf("want trusted segments after the first snapshot, got %+v", l.Segments())
	}
	return x, l.RecoveryPoint()
}

func TestRecoveryReplaysFromAnOlderSnapshot(t *testing.T) {
	cases := []struct {
		name   string
		damage func(fs *simfs.FS, x, rp Offset) error
	}{
		{"newest snapshot corrupt", func(fs *simfs.FS, x, rp Offset) error {
			return fs.Corrupt(path.Join("topic-0", snapshotName(rp)), 20, 3)
		}},
		{"newest snapshot missing", func(fs *simfs.FS, x, rp Offset) error {
			return fs.Remove(path.Join("topic-0", snapshotName(rp)))
		}},
		{"no snapshot at all", func(fs *simfs.FS, x, rp Offset) error {
			return errors.Join(fs.Remove(path.Join("topic-0", snapshotName(rp))),
				fs.Remove(path.Join("topic-0", snapshotName(x))))
		}},
		{"newest snapshot names batches past its offset", func(fs *simfs.FS, x, rp Offset) error {
			_, err := writeFileAtomic(fs, "topic-0", snapshotName(rp), stateOf(ph(77, 0, 0, 1, rp)).Encode(), true)
			return err
		}},
		{"a bogus snapshot above the recovery point", func(fs *simfs.FS, x, rp Offset) error {
			_, err := writeFileAtomic(fs, "topic-0", snapshotName(rp+1), stateOf(ph(77, 0, 0, 1, 0)).Encode(), true)
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := simDisk(2)
			x, rp := twoSnapshotLog(t, fs)
			if err := c.damage(fs, x, rp); err != nil {
				t.Fatal(err)
			}
			l := openLog(t, fs, smallConfig())
			defer l.Close()
			if !l.ProducerState().Equal(modelState(t, l, 1000)) {
				t.Fatalf("recovered state differs from the log's batches")
			}
			if _, ok := l.ProducerState().Producer(77); ok {
				t.Fatalf("a snapshot above the recovery point was used")
			}
			if got := snapshotFiles(t, fs); len(got) > snapshotsKept || got[len(got)-1] != l.RecoveryPoint() {
				t.Fatalf("snapshots after recovery: %v", got)
			}
		})
	}
}

func TestTruncateRebuildsProducerState(t *testing.T) {
	cases := []struct {
		name      string
		cut       func(x, rp Offset) Offset
		snapshots func(x, rp Offset) []Offset // left on disk by the truncation
	}{
		{"unsynced batches only", func(x, rp Offset) Offset { return rp + 1 },
			func(x, rp Offset) []Offset { return []Offset{x, rp} }},
		{"between the snapshots", func(x, rp Offset) Offset { return (x + rp) / 2 },
			func(x, rp Offset) []Offset { return []Offset{x} }},
		{"below every snapshot", func(x, rp Offset) Offset { return x / 2 },
			func(x, rp Offset) []Offset { return nil }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := simDisk(3)
			x, rp := twoSnapshotLog(t, fs)
			l := openLog(t, fs, smallConfig())
			defer func() { l.Close() }()
			for i := 60; i < 64; i++ {
				producerWorkload(t, l, i) // unsynced
			}
			if err := l.TruncateTo(c.cut(x, rp)); err != nil {
				t.Fatal(err)
			}
			want := modelState(t, l, 1000)
			if !l.ProducerState().Equal(want) {
				t.Fatalf("state differs from the surviving batches")
			}
			if got := snapshotFiles(t, fs); !slices.Equal(got, c.snapshots(x, rp)) {
				t.Fatalf("snapshots %v, want %v", got, c.snapshots(x, rp))
			}
			l.Close()
			l = openLog(t, fs, smallConfig())
			if !l.ProducerState().Equal(want) {
				t.Fatalf("state differs after reopening")
			}
			// The log grows back past the cut with other batches; a crash
			// then must not bring back state of the truncated ones.
			for i := 100; i < 140; i++ {
				producerWorkload(t, l, i)
				if i%10 == 0 {
					mustSyncCheckpoint(t, l)
				}
			}
			mustSyncCheckpoint(t, l)
			want = modelState(t, l, 1000)
			l.Close()
			fs.Crash(env.NewRand(3, "crash"))
			l = openLog(t, fs, smallConfig())
			if !l.ProducerState().Equal(want) {
				t.Fatalf("state differs after growing back and crashing")
			}
		})
	}
}

func TestSegmentDeletionKeepsProducerState(t *testing.T) {
	fs := simDisk(4)
	l := openLog(t, fs, smallConfig())
	defer func() { l.Close() }()
	mustAppend(t, l, testProducerBatch(1, make([]byte, 200), 0, 42, 3, 7))
	for i := 0; i < 40; i++ {
		mustAppend(t, l, testBatch(1, make([]byte, 240), int64(i)))
	}
	mustSyncCheckpoint(t, l)
	segs := l.Segments()
	if n, err := l.DeleteSegmentsBelow(segs[len(segs)-1].Base, 0); err != nil || n == 0 {
		t.Fatalf("deleted %d segments: %v", n, err)
	}
	want := ProducerEntry{ProducerID: 42, Epoch: 3, LastAppendMs: 1000,
		Batches: []ProducerBatch{{FirstSeq: 7, LastSeq: 7, FirstOffset: 0, LastOffset: 0}}}
	check := func(when string) {
		if e, ok := l.ProducerState().Producer(42); !ok || !slices.Equal(e.Batches, want.Batches) || e.Epoch != want.Epoch {
			t.Fatalf("%s: producer 42 is %+v, %v; want %+v", when, e, ok, want)
		}
	}
	check("after deleting its segment")
	l.Close()
	fs.Crash(env.NewRand(4, "crash"))
	l = openLog(t, fs, smallConfig())
	check("after a crash")
}

func TestCheckpointExpiresIdleProducers(t *testing.T) {
	fs := simDisk(5)
	cfg := smallConfig()
	cfg.ProducerIDExpirationMs = 5000
	l := openLog(t, fs, cfg)
	defer func() { l.Close() }()
	for _, a := range []struct {
		pid   int64
		nowMs int64
	}{{1, 1000}, {2, 2001}, {3, 7000}} {
		if _, err := l.Append(testProducerBatch(1, nil, 0, a.pid, 0, 0), AppendOptions{NowMs: a.nowMs}); err != nil {
			t.Fatal(err)
		}
	}
	mustSyncCheckpoint(t, l) // the latest wall time is 7000: producer 1 is 6000 ms idle
	ids := func(s *ProducerState) []int64 {
		var out []int64
		for _, e := range s.Producers() {
			out = append(out, e.ProducerID)
		}
		return out
	}
	if got := ids(l.ProducerState()); !slices.Equal(got, []int64{2, 3}) {
		t.Fatalf("producers %v after checkpoint, want [2 3]", got)
	}
	if got := ids(readSnapshot(t, fs, l.RecoveryPoint())); !slices.Equal(got, []int64{2, 3}) {
		t.Fatalf("snapshot producers %v, want [2 3]", got)
	}
	l.Close()
	l, err := Open(fs, "topic-0", cfg, 7001) // Open checkpoints: producer 2 is now 5000 ms idle
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(l.ProducerState()); !slices.Equal(got, []int64{3}) {
		t.Fatalf("producers %v after reopening, want [3]", got)
	}
}

func TestSnapshotOutOfSpaceIsRetryable(t *testing.T) {
	fs := simDisk(6)
	l := openLog(t, fs, smallConfig())
	defer l.Close()
	mustAppend(t, l, testProducerBatch(1, nil, 0, 9, 0, 0))
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	usage, err := fs.Usage(".")
	if err != nil {
		t.Fatal(err)
	}
	fs.SetCapacity(usage.TotalBytes - usage.UsableBytes)
	if err := l.Checkpoint(); !env.IsNoSpace(err) || l.Failed() != nil {
		t.Fatalf("checkpoint on a full disk: %v (failed: %v)", err, l.Failed())
	}
	if l.RecoveryPoint() != 0 {
		t.Fatalf("the recovery point moved without its snapshot")
	}
	fs.SetCapacity(0)
	mustSyncCheckpoint(t, l)
	if !readSnapshot(t, fs, 1).Equal(l.ProducerState()) {
		t.Fatalf("snapshot after the disk freed up differs")
	}
}

func TestOpenRejectsNegativeExpiration(t *testing.T) {
	cfg := smallConfig()
	cfg.ProducerIDExpirationMs = -1
	if _, err := Open(simDisk(7), "topic-0", cfg, 0); err == nil {
		t.Fatalf("a negative producer.id.expiration.ms was accepted")
	}
}

// The header walk of a trusted segment (rebuilding the state from an older
// snapshot) meets bytes below the recovery point: a bad header there is
// corruption, as anywhere below it.
func TestBadHeaderInTrustedReplayIsCorrupt(t *testing.T) {
	fs := simDisk(8)
	_, rp := twoSnapshotLog(t, fs)
	if err := fs.Remove(path.Join("topic-0", snapshotName(rp))); err != nil {
		t.Fatal(err)
	}
	l := openLog(t, fs, smallConfig())
	seg := l.segments[2] // trusted, after the older snapshot
	l.Close()
	if err := fs.Remove(path.Join("topic-0", snapshotName(l.RecoveryPoint()))); err != nil {
		t.Fatal(err)
	}
	if err := fs.Corrupt(seg.path(logSuffix), offMagic, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(fs, "topic-0", smallConfig(), 1000); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open = %v, want ErrCorrupt", err)
	}
}

// TestTrustedReplayChecksTheCRC: producer-state replays check each
// batch's CRC, so a flipped bit in a field only the CRC covers is
// ErrCorrupt, never applied to the producer state in silence nor a panic
// in its offset-order assertion: the producer id or base sequence of a
// batch that Open replays from index hints, and the offset delta of a
// segment's last batch in TruncateTo's rebuild. (Found by the storage
// property test.)
func TestTrustedReplayChecksTheCRC(t *testing.T) {
	for _, field := range []int64{offProducerID + 7, offBaseSequence + 3, offLastOffsetDelta + 3} {
		fs := simDisk(8)
		x, rp := twoSnapshotLog(t, fs)
		if err := fs.Remove(path.Join("topic-0", snapshotName(rp))); err != nil {
			t.Fatal(err)
		}
		l := openLog(t, fs, smallConfig()) // its state from the snapshot at x
		seg := l.segments[2]               // trusted, after x
		if field != offLastOffsetDelta+3 {
			l.Close()
			if err := fs.Remove(path.Join("topic-0", snapshotName(l.RecoveryPoint()))); err != nil {
				t.Fatal(err) // the one that Open wrote
			}
			if err := fs.Corrupt(seg.path(logSuffix), field, 0); err != nil { // its first batch
				t.Fatal(err)
			}
			if _, err := Open(fs, "topic-0", smallConfig(), 1000); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("a bit flipped at byte %d of a replayed batch: open = %v, want ErrCorrupt", field, err)
			}
			continue
		}
		last, buf := int64(0), l.scratch()
		for pos := int64(0); pos < seg.size; {
			h, err := seg.readHeader(pos, seg.size, buf)
			if err != nil {
				t.Fatal(err)
			}
			last, pos = pos, pos+h.Size()
		}
		if err := fs.Corrupt(seg.path(logSuffix), last+field, 0); err != nil {
			t.Fatal(err)
		}
		// Below the synced end and past segment 2: the rebuild replays from x.
		if err := l.TruncateTo(l.segments[3].next - 1); !errors.Is(err, ErrCorrupt) || x >= seg.base {
			t.Fatalf("a bit flipped in the offset delta of a segment's last batch: truncate = %v, want ErrCorrupt", err)
		}
		l.Close()
	}
}

// TestSegmentDeletionPastTheSnapshotKeepsProducerState: segments deleted
// while the newest snapshot is older than them take batches recovery would
// replay from that snapshot; moving the start offset checkpoints first
// (a snapshot at the synced end), so a power loss right after the
// deletion keeps the producer's last sequences.
func TestSegmentDeletionPastTheSnapshotKeepsProducerState(t *testing.T) {
	fs := simDisk(5)
	l := openLog(t, fs, smallConfig())
	defer func() { l.Close() }()
	mustSyncCheckpoint(t, l)               // the newest snapshot is below everything below
	last := appendProducer42ThenFill(t, l) // synced, not checkpointed
	if n, err := l.DeleteSegmentsBelow(last, 0); err != nil || n == 0 {
		t.Fatalf("deleted %d segments: %v", n, err)
	}
	fs.Crash(env.NewRand(5, "crash")) // no Close: a power loss
	l = openLog(t, fs, smallConfig())
	assertProducer42(t, l, "after deleting its segment and a crash")
}

// appendProducer42ThenFill appends producer 42's one batch (epoch 3, last
// sequence 7) and 40 plain batches, syncs, and returns the base of the
// last segment: deleting the segments below it takes producer 42's batch.
func appendProducer42ThenFill(t *testing.T, l *Log) Offset {
	t.Helper()
	mustAppend(t, l, testProducerBatch(1, make([]byte, 200), 0, 42, 3, 7))
	for i := 0; i < 40; i++ {
		mustAppend(t, l, testBatch(1, make([]byte, 240), int64(i)))
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	segs := l.Segments()
	return segs[len(segs)-1].Base
}

// assertProducer42 checks that l still knows producer 42 at epoch 3, last
// sequence 7: a retry of that batch is then a duplicate.
func assertProducer42(t *testing.T, l *Log, what string) {
	t.Helper()
	e, ok := l.ProducerState().Producer(42)
	if !ok || e.Epoch != 3 || len(e.Batches) != 1 || e.Batches[0].LastSeq != 7 {
		t.Fatalf("%s (start %d, recovery point %d): producer 42 is %+v, %v; want epoch 3, last sequence 7",
			what, l.StartOffset(), l.RecoveryPoint(), e, ok)
	}
}

// reopenAfterCrash crashes fs (a power loss drawn from seed) and reopens
// the log.
func reopenAfterCrash(t *testing.T, fs *simfs.FS, seed uint64) *Log {
	t.Helper()
	fs.Crash(env.NewRand(seed, "crash"))
	return openLog(t, fs, smallConfig())
}

// TestFailedCheckpointNeverOutlivesItsSnapshot: the partition checkpoint
// that moves the recovery point (and here the start offset past the
// producer's only batch) must never be durable while the snapshot it
// names is not. Its directory sync fails, and the power loss then keeps
// or reverts each unsynced rename independently, as a disk may; in no
// outcome may recovery lose producer 42's sequence. (Simulator seed
// 101003663811499: the checkpoint survived, its snapshot did not, and
// recovery replayed from a snapshot below the log start.)
func TestFailedCheckpointNeverOutlivesItsSnapshot(t *testing.T) {
	moved := 0
	for seed := uint64(0); seed < 32; seed++ {
		fs := &faultyFS{FS: simDisk(seed)}
		l := openLog(t, fs, smallConfig())
		mustAppend(t, l, testBatch(1, make([]byte, 240), 0)) // the epoch checkpointed
		mustSyncCheckpoint(t, l)                             // the newest snapshot: below producer 42
		last := appendProducer42ThenFill(t, l)
		fs.failSyncDirAfter = partitionCheckpointName
		if _, err := l.DeleteSegmentsBelow(last, 0); err == nil {
			t.Fatalf("seed %d: the injected directory-sync failure went unseen", seed)
		}
		l = reopenAfterCrash(t, fs.FS, seed)
		if l.StartOffset() > 0 {
			moved++
		}
		assertProducer42(t, l, fmt.Sprintf("seed %d: after a failed checkpoint and a crash", seed))
		l.Close()
	}
	if moved == 0 {
		t.Fatalf("no crash kept the moved start offset: the test covered only one case")
	}
}

// faultyFS is simfs with two faults aimed at one file name each: while
// full is set, creating noSpace fails with ENOSPC; after a rename onto
// failSyncDirAfter, the next directory sync fails with EIO.
type faultyFS struct {
	*simfs.FS
	noSpace          string
	full             bool
	failSyncDirAfter string
}

func (f *faultyFS) Create(name string) (env.File, error) {
	if f.full && path.Base(name) == f.noSpace {
		return nil, fmt.Errorf("create %s: %w", name, env.ErrNoSpace)
	}
	return f.FS.Create(name)
}

func (f *faultyFS) Rename(oldname, newname string) error {
	err := f.FS.Rename(oldname, newname)
	if err == nil && path.Base(newname) == f.failSyncDirAfter {
		f.FS.InjectNext(simfs.OpSyncDir, simfs.FaultIO)
	}
	return err
}

// TestSnapshotsOutliveFailedCheckpoints: checkpoints that fail for space
// after writing their snapshots must not prune the snapshot the durable
// recovery point needs; otherwise recovery starts from an empty state at
// the log start, and producer 42, whose batches were all deleted, is lost
// before it expires.
func TestSnapshotsOutliveFailedCheckpoints(t *testing.T) {
	for seed := uint64(0); seed < 16; seed++ {
		fs := &faultyFS{FS: simDisk(seed), noSpace: partitionCheckpointName + tempSuffix}
		l := openLog(t, fs, smallConfig())
		if n, err := l.DeleteSegmentsBelow(appendProducer42ThenFill(t, l), 0); err != nil || n == 0 {
			t.Fatalf("seed %d: deleted %d segments: %v", seed, n, err)
		}
		start := l.StartOffset()
		fs.full = true
		for i := 0; i < snapshotsKept+1; i++ {
			mustAppend(t, l, testBatch(1, make([]byte, 240), 100))
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			if err := l.Checkpoint(); !env.IsNoSpace(err) {
				t.Fatalf("seed %d: checkpoint on a full disk: %v", seed, err)
			}
		}
		fs.full = false
		l = reopenAfterCrash(t, fs.FS, seed)
		if l.StartOffset() != start {
			t.Fatalf("seed %d: start offset %d after the crash, want %d", seed, l.StartOffset(), start)
		}
		assertProducer42(t, l, fmt.Sprintf("seed %d: after failed checkpoints and a crash", seed))
		l.Close()
	}
}
