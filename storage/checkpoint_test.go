package storage

// Goal: every checkpoint file survives a crash between its rename and the
// directory sync (issue 2, criterion 2): the log reopens with either the old
// or the new checkpoint, never a mix or an error, and loses nothing synced.
// Over many seeds both outcomes must occur, so the test shows the crash
// really landed in the window.

import (
	"fmt"
	"path"
	"testing"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/sim/simfs"
)

// armedInjector fails the n-th SyncDir after it is armed.
type armedInjector struct{ countdown int }

func (a *armedInjector) Inject(op simfs.Op, _ string) simfs.Fault {
	if op != simfs.OpSyncDir || a.countdown == 0 {
		return simfs.NoFault
	}
	a.countdown--
	if a.countdown == 0 {
		return simfs.FaultIO
	}
	return simfs.NoFault
}

func TestCheckpointCrashBetweenRenameAndDirSync(t *testing.T) {
	for _, c := range []struct {
		file    string
		syncDir int // which SyncDir of Checkpoint fails: epochs, producer snapshot, partition
	}{{epochCheckpointName, 1}, {"producer snapshot", 2}, {partitionCheckpointName, 3}} {
		t.Run(c.file, func(t *testing.T) {
			outcomes := map[string]int{}
			for seed := uint64(0); seed < 64; seed++ {
				outcomes[checkpointCrashOnce(t, seed, c.syncDir)]++
			}
			if outcomes["old"] == 0 || outcomes["new"] == 0 {
				t.Fatalf("want both outcomes over the seeds, got %v", outcomes)
			}
		})
	}
}

// checkpointCrashOnce writes a checkpoint whose directory sync fails,
// crashes, reopens, and says which checkpoint survived.
func checkpointCrashOnce(t *testing.T, seed uint64, failSyncDir int) string {
	inj := &armedInjector{}
	fs := simfs.New(env.NewRand(seed, "disk"), simfs.Options{Injector: inj})
	l, err := Open(fs, "p", smallConfig(), 0)
	if err != nil {
		t.Fatal(err)
	}
	appendEpoch := func(e Epoch, n int) {
		for i := 0; i < n; i++ {
			if _, err := l.Append(testBatch(1, make([]byte, 100), 0), AppendOptions{Epoch: e}); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendEpoch(1, 10)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	oldRP, oldEpochs := l.RecoveryPoint(), fmt.Sprint(l.Epochs())
	appendEpoch(2, 10) // a new epoch makes the epoch checkpoint dirty too
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	newEpochs := fmt.Sprint(l.Epochs())
	inj.countdown = failSyncDir
	if err := l.Checkpoint(); err == nil || l.Failed() == nil {
		t.Fatalf("seed %d: a failed directory sync must fail-stop the log (err %v)", seed, err)
	}
	fs.Crash(env.NewRand(seed, "crash"))
	outcome := survivingCheckpoint(t, fs, failSyncDir, oldRP, oldEpochs)

	l, err = Open(fs, "p", smallConfig(), 0)
	if err != nil {
		t.Fatalf("seed %d: reopen: %v", seed, err)
	}
	defer l.Close()
	if l.EndOffset() != 20 || len(readAll(t, l, 0)) != 20 {
		t.Fatalf("seed %d: synced batches lost: end %d", seed, l.EndOffset())
	}
	if got := fmt.Sprint(l.Epochs()); got != newEpochs {
		t.Fatalf("seed %d: epochs %s, want %s (old was %s)", seed, got, newEpochs, oldEpochs)
	}
	if l.RecoveryPoint() != 20 {
		t.Fatalf("seed %d: recovery point after recovery %d, want 20", seed, l.RecoveryPoint())
	}
	names, _ := fs.List("p")
	for _, n := range names {
		if path.Ext(n) == tempSuffix {
			t.Fatalf("seed %d: temp file %s left after recovery", seed, n)
		}
	}
	return outcome
}

// survivingCheckpoint reads, right after the crash and before recovery
// rewrites it, which version of the checkpoint under test survived.
func survivingCheckpoint(t *testing.T, fs env.FS, failSyncDir int, oldRP Offset, oldEpochs string) string {
	if failSyncDir == 1 {
		lines, found, err := readCheckpoint(fs, "p", epochCheckpointName, "leader-epochs")
		if err != nil || !found {
			t.Fatalf("epoch checkpoint after the crash: found=%v %v", found, err)
		}
		entries, err := decodeEpochs(lines)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(entries) == oldEpochs {
			return "old"
		}
		return "new"
	}
	if failSyncDir == 2 {
		_, found, err := readWholeFile(fs, path.Join("p", snapshotName(20)), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if lines, _, _ := readCheckpoint(fs, "p", partitionCheckpointName, "partition"); len(lines) == 0 || lines[0] != fmt.Sprintf("recovery-point %d", oldRP) {
			t.Fatalf("the partition checkpoint moved past a snapshot whose directory sync failed: %q", lines)
		}
		if found {
			return "new"
		}
		return "old"
	}
	lines, found, err := readCheckpoint(fs, "p", partitionCheckpointName, "partition")
	if err != nil || !found {
		t.Fatalf("partition checkpoint after the crash: found=%v %v", found, err)
	}
	rp, err := parseField(lines[0], "recovery-point")
	if err != nil {
		t.Fatal(err)
	}
	if Offset(rp) == oldRP {
		return "old"
	}
	return "new"
}
