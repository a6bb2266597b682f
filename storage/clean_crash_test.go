package storage

// Goal: a crash anywhere during a clean pass leaves a log that recovers,
// and whose content is the content before the pass or after one of its
// steps (each step swaps one group of segments in), never a mix inside a
// group; and a pass run again after recovery reaches the same content as
// an uninterrupted pass (cleaning is idempotent).
//
// The process "dies" at its k-th disk mutation (create, write, sync,
// truncate, rename, remove, directory sync), for every k the pass makes:
// from then on every call fails, as if nothing after it ran. Then the
// simulated disk crashes (losing or tearing whatever was not synced, each
// pending directory operation surviving or not) and the log reopens.

import (
	"bytes"
	"fmt"
	"path"
	"testing"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/sim/simfs"
	"github.com/takhin-io/takhin/storage/compression"
)

// dyingFS fails every call once budget mutations have happened (budget <
// 0: never), or once a rename onto a file named dieAfterRenameTo succeeded.
type dyingFS struct {
	env.FS
	budget           int
	dieAfterRenameTo string
}

func (d *dyingFS) mutate() error {
	if d.budget == 0 {
		return fmt.Errorf("process died: %w", env.ErrIO)
	}
	if d.budget > 0 {
		d.budget--
	}
	return nil
}

func (d *dyingFS) dead() bool { return d.budget == 0 }

func (d *dyingFS) Create(name string) (env.File, error) {
	if err := d.mutate(); err != nil {
		return nil, err
	}
	f, err := d.FS.Create(name)
	return wrapDying(f, err, d)
}

func (d *dyingFS) Open(name string) (env.File, error) {
	if d.dead() {
		return nil, env.ErrIO
	}
	f, err := d.FS.Open(name)
	return wrapDying(f, err, d)
}

func (d *dyingFS) OpenReadWrite(name string) (env.File, error) {
	if d.dead() {
		return nil, env.ErrIO
	}
	f, err := d.FS.OpenReadWrite(name)
	return wrapDying(f, err, d)
}

func (d *dyingFS) Rename(a, b string) error {
	if err := d.mutate(); err != nil {
		return err
	}
	err := d.FS.Rename(a, b)
	if err == nil && d.dieAfterRenameTo != "" && path.Base(b) == d.dieAfterRenameTo {
		d.budget = 0
	}
	return err
}

func (d *dyingFS) Remove(name string) error {
	if err := d.mutate(); err != nil {
		return err
	}
	return d.FS.Remove(name)
}

func (d *dyingFS) SyncDir(dir string) error {
	if err := d.mutate(); err != nil {
		return err
	}
	return d.FS.SyncDir(dir)
}

type dyingFile struct {
	env.File
	fs *dyingFS
}

func wrapDying(f env.File, err error, d *dyingFS) (env.File, error) {
	if err != nil {
		return nil, err
	}
	return &dyingFile{File: f, fs: d}, nil
}

func (f *dyingFile) Write(p []byte) (int, error) {
	if err := f.fs.mutate(); err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

func (f *dyingFile) Sync() error {
	if err := f.fs.mutate(); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *dyingFile) Truncate(n int64) error {
	if err := f.fs.mutate(); err != nil {
		return err
	}
	return f.File.Truncate(n)
}

func (f *dyingFile) ReadAt(p []byte, off int64) (int, error) {
	if f.fs.dead() {
		return 0, env.ErrIO
	}
	return f.File.ReadAt(p, off)
}

const crashNowMs = 1_000_000

// crashPolicy cleans everything synced, with tombstones past their horizon
// (the setup's first pass set it an hour earlier).
func crashPolicy(hw Offset) CleanPolicy {
	return CleanPolicy{HighWatermark: hw, NowMs: crashNowMs + 7_200_000, DeleteRetentionMs: 3_600_000}
}

// crashSetup builds the same log for a seed every time: keyed batches over
// many small segments, a first pass an hour in (tombstones get their
// horizon), more batches, everything synced and (for odd seeds)
// checkpointed.
func crashSetup(t *testing.T, seed uint64) (*simfs.FS, *dyingFS, *Log) {
	fs := simfs.New(env.NewRand(seed, "disk"), simfs.Options{})
	d := &dyingFS{FS: fs, budget: -1}
	cfg := Config{SegmentBytes: 600, SegmentMs: 1 << 40, IndexIntervalBytes: 100, ProducerIDExpirationMs: 1 << 40}
	l, err := Open(d, "c", cfg, crashNowMs)
	if err != nil {
		t.Fatal(err)
	}
	rng := env.NewRand(seed, "data")
	appendSome := func(n int, ts int64) {
		for i := 0; i < n; i++ {
			recs := make([]kv, 1+rng.IntN(3))
			for j := range recs {
				recs[j] = kv{key: []byte(fmt.Sprintf("k%d", rng.IntN(6))), ts: ts}
				if rng.IntN(4) != 0 {
					recs[j].value = bytes.Repeat([]byte{byte(i)}, rng.IntN(50))
				}
			}
			pid := int64(rng.IntN(3)) - 1
			b := keyedBatch(t, recs, compression.Codec(rng.IntN(5)), pid, 0, int32(i*4), false)
			if _, err := l.Append(b, AppendOptions{NowMs: ts}); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	appendSome(30, crashNowMs)
	cleanAll(t, l, CleanPolicy{HighWatermark: l.EndOffset(), NowMs: crashNowMs + 3_600_000, DeleteRetentionMs: 3_600_000}, 1000)
	appendSome(30, crashNowMs+3_600_000)
	if seed%2 == 1 {
		if err := l.Checkpoint(); err != nil {
			t.Fatal(err)
		}
	}
	return fs, d, l
}

func TestCrashDuringClean(t *testing.T) {
	seeds := uint64(6)
	if testing.Short() {
		seeds = 1
	}
	for seed := uint64(0); seed < seeds; seed++ {
		// The reference: the content before the pass and after each step.
		_, d, l := crashSetup(t, seed)
		d.budget = 1 << 30
		snapshots := [][][]byte{readBatches(t, l)}
		c, err := l.StartClean(crashPolicy(l.SyncedEnd()))
		if err != nil {
			t.Fatal(err)
		}
		for done := false; !done; {
			if done, err = l.CleanStep(c, 400); err != nil {
				t.Fatal(err)
			}
			snapshots = append(snapshots, readBatches(t, l))
		}
		ops := 1<<30 - d.budget
		final := snapshots[len(snapshots)-1]
		l.Close()
		if c.Stats.SegmentsCleaned < 4 || c.Stats.BatchesDropped == 0 {
			t.Fatalf("seed %d: the pass did too little: %+v", seed, c.Stats)
		}
		t.Logf("seed %d: %d mutations, %d steps, %+v", seed, ops, len(snapshots)-1, c.Stats)
		for k := 0; k <= ops; k++ {
			crashAt(t, seed, k, snapshots, final)
		}
	}
}

// TestCrashBeforeTheSwapIntentIsSynced: the process dies right after the
// swap intent's rename, before the directory sync that would make it
// durable, and the power loss keeps or reverts each pending directory
// entry independently. The cleaned file's name must be durable before the
// intent can be: an intent that survives without its cleaned file is
// rolled forward by removing the old segments it names, and their live
// records with them.
func TestCrashBeforeTheSwapIntentIsSynced(t *testing.T) {
	swapped := 0
	for seed := uint64(0); seed < 64; seed++ {
		fs := simfs.New(env.NewRand(seed, "disk"), simfs.Options{})
		d := &dyingFS{FS: fs, budget: -1}
		l, err := Open(d, "c", cleanPropConfig(), crashNowMs)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 40; i++ { // about 10 segments, each with one record that stays
			key := fmt.Sprintf("k%d", i%3)
			if i%4 == 0 {
				key = fmt.Sprintf("u%d", i)
			}
			mustAppend(t, l, keyedBatch(t, []kv{{key: []byte(key), value: bytes.Repeat([]byte{byte(i)}, 100), ts: crashNowMs}}, compression.CodecNone, -1, 0, 0, false))
		}
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		// A first pass shrinks the segments, so the next one (after the
		// k-keys are written again) swaps the first four, all live, in as one.
		cleanAll(t, l, crashPolicy(l.SyncedEnd()), 1<<20)
		for i := 0; i < 12; i++ {
			mustAppend(t, l, keyedBatch(t, []kv{{key: []byte(fmt.Sprintf("k%d", i%3)), value: []byte("again"), ts: crashNowMs}}, compression.CodecNone, -1, 0, 0, false))
		}
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		before, segments := readBatches(t, l), len(l.Segments())
		d.dieAfterRenameTo = swapIntentName
		c, err := l.StartClean(crashPolicy(l.SyncedEnd()))
		for done := false; !done && err == nil; {
			done, err = l.CleanStep(c, 400)
		}
		if err == nil || !d.dead() {
			t.Fatalf("seed %d: the pass survived its swap intent (%v)", seed, err)
		}
		l.Close()
		fs.Crash(env.NewRand(seed, "crash"))
		l, err = Open(fs, "c", cleanPropConfig(), crashNowMs)
		if err != nil {
			t.Fatalf("seed %d: recovery: %v", seed, err)
		}
		if got := readBatches(t, l); !equalBatches(got, before) {
			t.Fatalf("seed %d: after a crash before the swap intent was durable, the log holds %d batches, not the %d it held", seed, len(got), len(before))
		}
		if len(l.Segments()) < segments {
			swapped++
		}
		l.Close()
	}
	if swapped == 0 {
		t.Fatalf("no crash kept the intent: the test covered only one case")
	}
}

// crashAt runs the pass with the process dying at mutation k, crashes the
// disk, recovers and checks the content.
func crashAt(t *testing.T, seed uint64, k int, snapshots [][][]byte, final [][]byte) {
	fs, d, l := crashSetup(t, seed)
	hw := l.SyncedEnd()
	d.budget = k
	if c, err := l.StartClean(crashPolicy(hw)); err == nil {
		for done := false; !done && err == nil; {
			done, err = l.CleanStep(c, 400)
		}
	}
	l.Close()
	fs.Crash(env.NewRand(seed*1000+uint64(k), "crash"))
	l, err := Open(fs, "c", cleanPropConfig(), crashNowMs)
	if err != nil {
		t.Fatalf("seed %d crash at %d: recovery: %v", seed, k, err)
	}
	defer l.Close()
	got := readBatches(t, l)
	matched := false
	for _, s := range snapshots {
		if equalBatches(got, s) {
			matched = true
			break
		}
	}
	if !matched {
		t.Fatalf("seed %d crash at %d: the log (%d batches) is neither before, after, nor between steps of the pass", seed, k, len(got))
	}
	cleanAll(t, l, crashPolicy(hw), 400)
	if got := readBatches(t, l); !equalBatches(got, final) {
		t.Fatalf("seed %d crash at %d: a pass after recovery ends with %d batches, the uninterrupted pass %d", seed, k, len(got), len(final))
	}
}

func equalBatches(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
