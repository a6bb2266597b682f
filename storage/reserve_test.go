package storage

// Goal: the active segment's reservation (reserveFor) never shows in the
// log. Small group commits reserve zeros ahead of the segment's end and
// overwrite them; whatever a crash keeps of them, recovery ends the log at
// or past its synced end with whole, contiguous batches and cuts every
// file to its segment's size. A rolled segment's reservation is cut
// durably, so no segment below the recovery point ends in zeros (recovery
// would call that corruption). No reservation reaches past segment.bytes.
// Large group commits reserve nothing.

import (
	"bytes"
	"testing"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/sim/simfs"
)

// diskSize is the size of a segment's log file as a fresh handle sees it:
// reserved zeros included.
func diskSize(t *testing.T, fs env.FS, l *Log, base Offset) int64 {
	t.Helper()
	f, err := fs.Open("topic-0/" + segmentName(base, logSuffix))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := f.Size()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReservationIsInvisibleAcrossCrashes(t *testing.T) {
	reserved, rolled := 0, 0
	for seed := uint64(0); seed < 48; seed++ {
		fs := simfs.New(env.NewRand(seed, "disk"), simfs.Options{})
		l := openLog(t, fs, smallConfig())
		rng := env.NewRand(seed, "workload")
		var synced Offset
		for i := range 120 {
			mustAppend(t, l, testBatch(1+rng.IntN(3), bytes.Repeat([]byte{byte(i)}, 20+rng.IntN(60)), 1000))
			a := l.Segments()[len(l.Segments())-1]
			switch onDisk := diskSize(t, fs, l, a.Base); {
			case onDisk > max(smallConfig().SegmentBytes, a.SizeBytes):
				t.Fatalf("seed %d: %d bytes on disk for segment %d: reserved past segment.bytes", seed, onDisk, a.Base)
			case onDisk > a.SizeBytes:
				reserved++
			}
			if rng.IntN(4) == 0 {
				if err := l.Sync(); err != nil {
					t.Fatal(err)
				}
				synced = l.EndOffset()
			}
		}
		rolled += len(l.Segments()) - 1
		for _, s := range l.Segments()[:len(l.Segments())-1] {
			if got := diskSize(t, fs, l, s.Base); got != s.SizeBytes {
				t.Fatalf("seed %d: rolled segment %d holds %d bytes on disk, %d in the log", seed, s.Base, got, s.SizeBytes)
			}
		}
		fs.Crash(env.NewRand(seed, "crash"))
		l2, err := Open(fs, "topic-0", smallConfig(), 1000)
		if err != nil {
			t.Fatalf("seed %d: recovery: %v", seed, err)
		}
		if l2.EndOffset() < synced {
			t.Fatalf("seed %d: recovered end %d below the synced end %d", seed, l2.EndOffset(), synced)
		}
		next := Offset(0)
		for _, h := range readAll(t, l2, 0) {
			if h.BaseOffset != next {
				t.Fatalf("seed %d: batch at %d, want %d", seed, h.BaseOffset, next)
			}
			next = h.NextOffset()
		}
		for _, s := range l2.Segments() {
			if got := diskSize(t, fs, l2, s.Base); got != s.SizeBytes {
				t.Fatalf("seed %d: after recovery segment %d holds %d bytes on disk, %d in the log", seed, s.Base, got, s.SizeBytes)
			}
		}
		l2.Close()
	}
	if reserved == 0 || rolled == 0 {
		t.Fatalf("%d appends saw a reservation, %d segments rolled: the test shows nothing", reserved, rolled)
	}
}

func TestLargeGroupCommitsReserveNothing(t *testing.T) {
	fs := simfs.New(env.NewRand(1, "disk"), simfs.Options{})
	cfg := smallConfig()
	cfg.SegmentBytes = 1 << 20
	l := openLog(t, fs, cfg)
	for i := range 4 {
		mustAppend(t, l, testBatch(1, bytes.Repeat([]byte{byte(i)}, reserveSyncBytesMax), 1000))
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	a := l.Segments()[0]
	if got := diskSize(t, fs, l, a.Base); got != a.SizeBytes {
		t.Fatalf("%d bytes on disk for a %d-byte segment: a large group commit reserved", got, a.SizeBytes)
	}
	// A small one after them reserves from the end it starts at, and
	// Close cuts the reservation off.
	mustAppend(t, l, testBatch(1, []byte("small"), 1000))
	if got := diskSize(t, fs, l, a.Base); got != a.SizeBytes+reserveChunkBytes { // 1 MiB segments: room for it
		t.Fatalf("%d bytes on disk after a small append at %d: want one reservation from there", got, a.SizeBytes)
	}
	size := l.Segments()[0].SizeBytes
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := diskSize(t, fs, l, a.Base); got != size {
		t.Fatalf("%d bytes on disk after Close, want %d", got, size)
	}
}

// failNextSync fails the next Sync once armed.
type failNextSync struct{ armed bool }

func (a *failNextSync) Inject(op simfs.Op, _ string) simfs.Fault {
	if op == simfs.OpSync && a.armed {
		a.armed = false
		return simfs.FaultIO
	}
	return simfs.NoFault
}

// A cut of segment 0's reserved zeros that reached only the page cache
// must still be made durable by the roll, or a power loss would leave
// zeros below the recovery point (ErrCorrupt) or make recovery cut synced
// batches. Three ways to get such a cut (found in review): a partial write
// on a full disk; a process that fail-stopped on a checkpoint sync, closed
// and reopened; and a Close whose own sync of the cut failed.
func TestRollMakesEveryCutOfTheReservationDurable(t *testing.T) {
	for _, way := range []string{"partial write", "fail-stopped", "close sync failed"} {
		t.Run(way, func(t *testing.T) {
			inj := &failNextSync{}
			fs := simfs.New(env.NewRand(1, "disk"), simfs.Options{Injector: inj})
			cfg := Config{SegmentBytes: 1 << 20, SegmentMs: 1 << 40, IndexIntervalBytes: 4096}
			l := openLog(t, fs, cfg)
			for i := range 10 {
				mustAppend(t, l, testBatch(1, bytes.Repeat([]byte{byte(i)}, 100), 1000))
				if err := l.Sync(); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Checkpoint(); err != nil {
				t.Fatal(err)
			}
			if d, _ := fs.DurableSize("topic-0/" + segmentName(0, logSuffix)); d <= l.Segments()[0].SizeBytes {
				t.Fatalf("segment 0 holds %d bytes durably for %d: no synced reservation to cut", d, l.Segments()[0].SizeBytes)
			}
			switch way {
			case "partial write":
				u, _ := fs.Usage(".")
				fs.SetCapacity(u.TotalBytes - u.UsableBytes)
				if _, err := l.Append(testBatch(1, bytes.Repeat([]byte{'p'}, 300<<10), 1000), AppendOptions{NowMs: 1000}); !env.IsNoSpace(err) {
					t.Fatalf("a large append on a full disk: %v, want ENOSPC", err)
				}
				fs.SetCapacity(0)
			case "fail-stopped":
				inj.armed = true
				if err := l.Checkpoint(); err == nil {
					t.Fatal("the checkpoint's sync did not fail")
				}
				l.Close()
				l = openLog(t, fs, cfg) // a restart without power loss
			case "close sync failed":
				inj.armed = true
				if err := l.Close(); err == nil {
					t.Fatal("Close's sync of the cut did not fail")
				}
				l = openLog(t, fs, cfg)
			}
			mustAppend(t, l, testBatch(1, bytes.Repeat([]byte{'x'}, 1<<20-1000), 1000)) // rolls segment 0
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			if err := l.Checkpoint(); err != nil {
				t.Fatal(err)
			}
			synced := l.SyncedEnd()
			fs.Crash(env.NewRand(2, "crash"))
			l2, err := Open(fs, "topic-0", cfg, 1000)
			if err != nil {
				t.Fatalf("recovery after power loss: %v", err)
			}
			if l2.EndOffset() < synced {
				t.Fatalf("recovered end %d below the synced end %d", l2.EndOffset(), synced)
			}
			if s := l2.Segments()[0]; diskSize(t, fs, l2, s.Base) != s.SizeBytes {
				t.Fatalf("segment 0 holds %d bytes on disk for %d", diskSize(t, fs, l2, s.Base), s.SizeBytes)
			}
			l2.Close()
		})
	}
}
