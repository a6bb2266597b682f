// Goal: same seed and same calls give the same disk, bit for bit (Digest),
// and the same OnOp trace; the observability hooks (Stats, OnOp,
// DurableSize, IsDurable) report what happened.
package simfs

import (
	"fmt"
	"hash/fnv"
	"testing"

	"github.com/takhin-io/takhin/env"
)

// workload drives fs with steps random calls drawn from rng, crashes and
// injected faults included; errors are part of the run, not failures.
func workload(fs *FS, rng *env.Rand, steps int) {
	paths := []string{"a", "b", "d/a", "d/b"}
	for step := range steps {
		name, other := paths[rng.IntN(len(paths))], paths[rng.IntN(len(paths))]
		switch rng.IntN(8) {
		case 0:
			_ = fs.MkdirAll("d")
		case 1:
			if f, err := fs.Create(name); err == nil {
				_, _ = f.Write(bytesOf(byte(step), rng.IntN(2000)))
				_ = f.Close()
			}
		case 2:
			if f, err := fs.OpenReadWrite(name); err == nil {
				_, _ = f.Write(bytesOf(byte(step), rng.IntN(2000)))
				_ = f.Sync()
				_, _ = f.ReadAt(make([]byte, 10), 0)
				_ = f.Close()
			}
		case 3:
			_ = fs.Rename(name, other)
		case 4:
			_ = fs.Remove(name)
		case 5:
			_ = fs.SyncDir(".")
			_ = fs.SyncDir("d")
		case 6:
			fs.Crash(rng.Fork(fmt.Sprint("crash", step)))
		case 7:
			_, _, _ = fs.CorruptRandom(rng, name)
		}
	}
}

// run returns the digest and a hash of the OnOp trace of one seeded run.
func run(seed uint64) (digest, trace uint64) {
	h := fnv.New64a()
	opts := Options{
		CapacityBytes: 20_000,
		Faults:        Probabilities{SyncIO: 0.05, SyncNoSpace: 0.05, ReadIO: 0.1, ReadBitFlip: 0.1},
		OnOp: func(op, name string, n int, err error) {
			fmt.Fprintf(h, "%s %s %d %v\n", op, name, n, err)
		},
	}
	fs := New(env.NewRand(seed, "fs"), opts)
	workload(fs, env.NewRand(seed, "workload"), 300)
	return fs.Digest(), h.Sum64()
}

func TestDeterminism(t *testing.T) {
	digests := map[uint64]bool{}
	for seed := range uint64(20) {
		d1, t1 := run(seed)
		d2, t2 := run(seed)
		if d1 != d2 || t1 != t2 {
			t.Fatalf("seed %d: two runs differ: digest %x/%x trace %x/%x", seed, d1, d2, t1, t2)
		}
		digests[d1] = true
	}
	if len(digests) < 15 {
		t.Fatalf("only %d distinct disks over 20 seeds: the seed barely matters", len(digests))
	}
}

func TestObservability(t *testing.T) {
	var ops []string
	fs := newFS(t, Options{OnOp: func(op, name string, n int, err error) {
		ops = append(ops, fmt.Sprintf("%s %s %d %v", op, name, n, err))
	}})
	put(t, fs, "f", bytesOf('x', 700), true)
	appendTo(t, fs, "f", bytesOf('y', 100), false)
	if size, _ := fs.DurableSize("f"); size != 700 {
		t.Fatalf("DurableSize = %d, want 700", size)
	}
	if fs.IsDurable("f") {
		t.Fatal("IsDurable before SyncDir")
	}
	appendTo(t, fs, "f", nil, true)
	ok(t, fs.SyncDir("."))
	if !fs.IsDurable("f") {
		t.Fatal("not IsDurable after Sync and SyncDir")
	}
	ok(t, fs.Rename("f", "g"))
	ok(t, fs.Rename("g", "f"))
	if fs.IsDurable("f") {
		t.Fatal("IsDurable with renames of f queued: a crash may keep only the first")
	}
	ok(t, fs.SyncDir("."))
	if !fs.IsDurable("f") {
		t.Fatal("not IsDurable after the renames were dir-synced")
	}
	want := Stats{Writes: 3, BytesWritten: 800, Syncs: 2, SyncDirs: 2}
	if got := fs.Stats(); got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
	if ops[0] != "create f 0 <nil>" || ops[1] != "write f 700 <nil>" || ops[2] != "sync f 700 <nil>" {
		t.Fatalf("OnOp trace starts %q", ops[:3])
	}
}
