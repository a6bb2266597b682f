package storage

// Goal: a crash in the middle of a recovery that cuts a segment never
// leaves the shortened segment together with a later one (found by the
// simulator, seed 1403: the cut was durable while the later segment's
// removal reverted, and the next recovery took the hole for a legitimate
// gap, so reads from the lost offsets skipped to the later segment).
// Every durability step of the recovery is failed in turn, the disk
// crashes, and the reopened log must hold contiguous offsets from 0 to
// its end (it may end anywhere at or after the bad batch's base is cut).

import (
	"fmt"
	"testing"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/sim/simfs"
)

// nthSync fails the n-th Sync or SyncDir after it is armed.
type nthSync struct{ countdown int }

func (a *nthSync) Inject(op simfs.Op, _ string) simfs.Fault {
	if op == simfs.OpRead || a.countdown == 0 {
		return simfs.NoFault
	}
	a.countdown--
	if a.countdown == 0 {
		return simfs.FaultIO
	}
	return simfs.NoFault
}

func TestCrashDuringRecoveryCutLeavesNoHole(t *testing.T) {
	cuts := 0
	for seed := uint64(0); seed < 32; seed++ {
		for failAt := 1; failAt <= 6; failAt++ {
			if recoveryCrashOnce(t, seed, failAt) {
				cuts++
			}
		}
	}
	if cuts == 0 {
		t.Fatal("no run crashed between the cut and the removal of the later segments: the test shows nothing")
	}
}

// recoveryCrashOnce builds a two-segment log whose first segment holds a
// flipped batch above the recovery point, runs a recovery whose failAt-th
// sync fails, crashes, and checks the next recovery. It reports whether
// the crash left the first segment cut (the window the bug needed).
func recoveryCrashOnce(t *testing.T, seed uint64, failAt int) bool {
	inj := &nthSync{}
	fs := simfs.New(env.NewRand(seed, "disk"), simfs.Options{Injector: inj})
	cfg := smallConfig()
	l, err := Open(fs, "p", cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		mustAppend(t, l, testBatch(1, make([]byte, 240), int64(i)))
		if i == 4 {
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			if err := l.Checkpoint(); err != nil { // recovery point 5
				t.Fatal(err)
			}
		}
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	segs := l.Segments()
	if len(segs) < 2 {
		t.Fatalf("want at least two segments, got %d", len(segs))
	}
	first := segs[0].Base
	l.Close()
	name := fmt.Sprintf("p/%020d.log", first)
	if err := fs.Corrupt(name, 7*301+70, 3); err != nil { // batch 7, above the recovery point
		t.Fatal(err)
	}
	inj.countdown = failAt
	if l, err := Open(fs, "p", cfg, 0); err == nil {
		l.Close()
	}
	fs.Crash(env.NewRand(seed, "crash"))
	size, _ := fs.DurableSize(name)
	l, err = Open(fs, "p", cfg, 0)
	if err != nil {
		t.Fatalf("seed %d, sync %d failed: reopen: %v", seed, failAt, err)
	}
	defer l.Close()
	next := Offset(0)
	for _, h := range readAll(t, l, 0) {
		if h.BaseOffset != next {
			t.Fatalf("seed %d, sync %d failed: a hole: offset %d follows %d (segments %+v)", seed, failAt, h.BaseOffset, next, l.Segments())
		}
		next = h.NextOffset()
	}
	if next > 7 {
		t.Fatalf("seed %d, sync %d failed: the flipped batch 7 was served (end %d)", seed, failAt, next)
	}
	return size < 7*301+301
}

// rollConfig has segments of three 301-byte test batches.
var rollConfig = Config{SegmentBytes: 1024, SegmentMs: 1 << 40, IndexIntervalBytes: 256}

// reopenContiguous crashes fs (a power loss drawn from seed), reopens the
// log with rollConfig and checks it holds no hole.
func reopenContiguous(t *testing.T, fs *simfs.FS, seed uint64, what string) *Log {
	t.Helper()
	fs.Crash(env.NewRand(seed, "crash"))
	l, err := Open(fs, "p", rollConfig, 0)
	if err != nil {
		t.Fatalf("%s: reopen: %v", what, err)
	}
	assertContiguous(t, l, what)
	return l
}

// assertContiguous fails unless l's batches run from its start offset
// without a hole.
func assertContiguous(t *testing.T, l *Log, what string) {
	t.Helper()
	next := l.StartOffset()
	for _, h := range readAll(t, l, next) {
		if h.BaseOffset != next {
			t.Fatalf("%s: a hole: offset %d follows %d (segments %+v)", what, h.BaseOffset, next, l.Segments())
		}
		next = h.NextOffset()
	}
}

// TestTwoRollsBetweenSyncsLeaveNoHole: a segment rolled twice away from
// before the next Sync has its data synced at the second roll, and its
// name must be durable then too; a power loss that kept the third
// segment's link and lost the second's would leave a hole that recovery
// cannot tell from a legitimate gap. (Found by a review of the crash
// model: each unsynced directory entry survives or not on its own.)
func TestTwoRollsBetweenSyncsLeaveNoHole(t *testing.T) {
	keptThird := 0
	for seed := uint64(0); seed < 64; seed++ {
		fs := simfs.New(env.NewRand(seed, "disk"), simfs.Options{})
		l, err := Open(fs, "p", rollConfig, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			mustAppend(t, l, testBatch(1, make([]byte, 240), int64(i)))
		}
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		for len(l.Segments()) < 3 { // no Sync: two rolls
			mustAppend(t, l, testBatch(1, make([]byte, 240), 100))
		}
		third := l.Segments()[2].Base
		l = reopenContiguous(t, fs, seed, fmt.Sprintf("seed %d", seed)) // a power loss, no Close
		if l.EndOffset() > third {
			keptThird++
		}
		l.Close()
	}
	if keptThird == 0 {
		t.Fatal("no crash kept the third segment's batch: the test shows nothing")
	}
}

// TestCrashDuringTruncateLeavesNoHole: TruncateTo removes several later
// segments and cuts one; whichever of its syncs fails, the power loss
// that follows leaves contiguous offsets (the removals and the cut may
// each be kept or lost, but never a later segment behind a lost one, nor
// the cut with a later segment kept).
func TestCrashDuringTruncateLeavesNoHole(t *testing.T) {
	crashed := 0
	for seed := uint64(0); seed < 32; seed++ {
		for failAt := 1; failAt <= 6; failAt++ {
			inj := &nthSync{}
			fs := simfs.New(env.NewRand(seed, "disk"), simfs.Options{Injector: inj})
			l, err := Open(fs, "p", rollConfig, 0)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 14; i++ { // five segments of up to three batches
				mustAppend(t, l, testBatch(1, make([]byte, 240), int64(i)))
			}
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			inj.countdown = failAt
			if err := l.TruncateTo(4); err == nil {
				l.Close()
				continue // fewer syncs than failAt
			}
			crashed++
			reopenContiguous(t, fs, seed, fmt.Sprintf("seed %d, sync %d failed", seed, failAt)).Close()
		}
	}
	if crashed == 0 {
		t.Fatal("no truncation failed: the test shows nothing")
	}
}

// TestRollThenFullDiskLeavesNoStraySegment: an append that rolled and
// then met ENOSPC removes the segment it created; a smaller batch then
// goes into the previous segment, at the removed segment's base offset.
// The removal must be durable before that: a power loss that kept the
// empty segment's name would make the previous segment, trusted up to the
// recovery point, reach into the next one, and recovery would refuse the
// log as corrupt. (Found by the property test.)
func TestRollThenFullDiskLeavesNoStraySegment(t *testing.T) {
	kept := 0
	for seed := uint64(0); seed < 64; seed++ {
		fs := simfs.New(env.NewRand(seed, "disk"), simfs.Options{})
		l, err := Open(fs, "p", rollConfig, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ { // 903 of the segment's 1024 bytes
			mustAppend(t, l, testBatch(1, make([]byte, 240), int64(i)))
		}
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		if err := l.Checkpoint(); err != nil { // the recovery point 3: the segment is trusted
			t.Fatal(err)
		}
		usage, err := fs.Usage(".")
		if err != nil {
			t.Fatal(err)
		}
		fs.SetCapacity(usage.TotalBytes - usage.UsableBytes - (1024 - 903) + 10) // 10 bytes free once the roll cuts the reserved zeros
		if _, err := l.Append(testBatch(1, make([]byte, 240), 3), AppendOptions{}); !env.IsNoSpace(err) {
			t.Fatalf("seed %d: an append that rolls onto a full disk: %v", seed, err)
		}
		if n := len(l.Segments()); n != 1 {
			t.Fatalf("seed %d: %d segments after the failed append, want the new one removed", seed, n)
		}
		fs.SetCapacity(0)
		mustAppend(t, l, testBatch(1, make([]byte, 20), 4)) // fits the first segment, at offset 3; unsynced
		l = reopenContiguous(t, fs, seed, fmt.Sprintf("seed %d", seed))
		if l.EndOffset() == 4 {
			kept++
		}
		l.Close()
	}
	if kept == 0 {
		t.Fatal("no crash kept the unsynced batch: the test shows nothing")
	}
}
