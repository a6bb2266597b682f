package executor

// Goal: after a crash, recovery leaves only durable data to read (issue 3:
// "a read after a crash never sees unsynced data"): whatever unsynced bytes
// survived the crash are synced by recovery before the machine's Recovered
// event, so every byte a later read can return is on the medium; and a
// recreated topic never sees its predecessor's records.

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/sim/simfs"
	"github.com/takhin-io/takhin/storage"
)

func batch(v string) []byte {
	return storage.EncodeBatch([]kmsg.Record{{Value: []byte(v)}}, 0)
}

func TestRecoveredDataIsDurable(t *testing.T) {
	cfg := storage.DefaultConfig()
	cfg.SegmentBytes = 4096
	for seed := uint64(0); seed < 100; seed++ {
		fs := simfs.New(env.NewRand(seed, "disk"), simfs.Options{})
		s, rec, err := OpenPartition(fs, "t-0", "id1", cfg, env.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		end := rec.End
		for op := uint64(1); op <= 20; op++ {
			var bs [][]byte
			for i := 0; i < 5; i++ {
				b := batch("x")
				storage.AssignBatch(b, end, 0, 0, false)
				end++
				bs = append(bs, b)
			}
			p := &replication.Persist{Op: op, Batches: bs}
			if w := s.Write(p, env.Time{}); w.Err != nil {
				t.Fatal(w.Err)
			}
			if op%3 == 0 { // some persists are synced, the rest are not
				if sy := s.Sync(p, env.Time{}); sy.Err != nil {
					t.Fatal(sy.Err)
				}
			}
		}
		fs.Crash(env.NewRand(seed, "crash"))
		s, rec, err = OpenPartition(fs, "t-0", "id1", cfg, env.Time{}, 0)
		if err != nil {
			t.Fatalf("seed %d: reopen: %v", seed, err)
		}
		names, _ := fs.List("t-0")
		for _, n := range names {
			size, _ := fs.DurableSize("t-0/" + n)
			f, _ := fs.Open("t-0/" + n)
			cur, _ := f.Size()
			f.Close()
			if !fs.IsDurable("t-0/"+n) || size != cur {
				t.Fatalf("seed %d: %s holds %d bytes of which %d durable after recovery", seed, n, cur, size)
			}
		}
		if _, err := s.ReadAll(); err != nil || rec.End < 15 {
			t.Fatalf("seed %d: end %d (synced 15), read: %v", seed, rec.End, err)
		}
		s.Close()
	}
}

func TestRecreatedTopicStartsEmpty(t *testing.T) {
	fs := simfs.New(env.NewRand(1, "disk"), simfs.Options{})
	s, _, err := OpenPartition(fs, "t-0", "old-id", storage.DefaultConfig(), env.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := batch("old")
	storage.AssignBatch(b, 0, 0, 0, false)
	p := &replication.Persist{Op: 1, Batches: [][]byte{b}}
	s.Write(p, env.Time{})
	s.Sync(p, env.Time{})
	s.Close()
	s, rec, err := OpenPartition(fs, "t-0", "new-id", storage.DefaultConfig(), env.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if rec.End != 0 {
		t.Fatalf("the recreated topic's partition starts at %d, holding its predecessor's records", rec.End)
	}
}

// failSyncDirOf fails the next directory sync of dir once armed.
type failSyncDirOf struct {
	dir   string
	armed bool
}

func (f *failSyncDirOf) Inject(op simfs.Op, name string) simfs.Fault {
	if f.armed && op == simfs.OpSyncDir && name == f.dir {
		f.armed = false
		return simfs.FaultIO
	}
	return simfs.NoFault
}

// TestRemoveDirInterruptedByACrash: removing a deleted topic's partition
// directory fails at its first directory sync, and a power loss keeps or
// reverts each unsynced entry on its own. In every outcome the next open,
// as a recreated topic of the same name, starts empty and opens cleanly,
// and the removal, run again, leaves nothing of the old directory.
func TestRemoveDirInterruptedByACrash(t *testing.T) {
	cfg := storage.DefaultConfig()
	for seed := uint64(0); seed < 64; seed++ {
		inj := &failSyncDirOf{dir: "."}
		fs := simfs.New(env.NewRand(seed, "disk"), simfs.Options{Injector: inj})
		s, _, err := OpenPartition(fs, "t-0", "old-id", cfg, env.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		var bs [][]byte
		for i := storage.Offset(0); i < 5; i++ {
			b := batch("old")
			storage.AssignBatch(b, i, 0, 0, false)
			bs = append(bs, b)
		}
		p := &replication.Persist{Op: 1, Batches: bs}
		if w := s.Write(p, env.Time{}); w.Err != nil {
			t.Fatal(w.Err)
		}
		if sy := s.Sync(p, env.Time{}); sy.Err != nil {
			t.Fatal(sy.Err)
		}
		if err := s.Log.Checkpoint(); err != nil {
			t.Fatal(err)
		}
		s.Close()
		inj.armed = true
		if err := RemoveDir(fs, "t-0"); err == nil {
			t.Fatalf("seed %d: the injected directory-sync failure went unseen", seed)
		}
		fs.Crash(env.NewRand(seed, "crash"))
		if names, _ := fs.List("."); slices.Contains(names, "t-0"+DeletingSuffix) {
			if err := RemoveDir(fs, "t-0"+DeletingSuffix); err != nil { // what a boot does
				t.Fatal(err)
			}
		}
		s, rec, err := OpenPartition(fs, "t-0", "new-id", cfg, env.Time{}, 0)
		if err != nil {
			t.Fatalf("seed %d: the recreated topic's partition: %v", seed, err)
		}
		if rec.End != 0 {
			t.Fatalf("seed %d: the recreated topic's partition starts at %d, holding its predecessor's records", seed, rec.End)
		}
		s.Close()
		if err := RemoveDir(fs, "t-0"); err != nil {
			t.Fatal(err)
		}
		if names, _ := fs.List("."); len(names) != 0 {
			t.Fatalf("seed %d: left after removal: %v", seed, names)
		}
	}
}

// TestWriteWhoseRollFailsToSyncIsFatal: a write that rolls a segment syncs
// the one it leaves; when that sync fails, the log fail-stops and the
// Written says Fatal (the process restarts through recovery), with EIO and
// with ENOSPC alike. A write that only ran out of space is not Fatal.
func TestWriteWhoseRollFailsToSyncIsFatal(t *testing.T) {
	cfg := storage.DefaultConfig()
	cfg.SegmentBytes = 200 // a batch of batch("x") is 69 bytes: the third rolls
	for _, fault := range []simfs.Fault{simfs.FaultIO, simfs.FaultNoSpace} {
		fs := simfs.New(env.NewRand(1, "disk"), simfs.Options{})
		s, rec, err := OpenPartition(fs, "t-0", "id1", cfg, env.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		end := rec.End
		write := func(op uint64) replication.Written {
			b := batch("x")
			storage.AssignBatch(b, end, 0, 0, false)
			end++
			return s.Write(&replication.Persist{Op: op, Batches: [][]byte{b}}, env.Time{})
		}
		for op := uint64(1); op <= 2; op++ {
			if w := write(op); w.Err != nil || w.Fatal {
				t.Fatalf("write %d: %+v", op, w)
			}
		}
		fs.InjectNext(simfs.OpSync, fault)
		w := write(3)
		if w.Err == nil || !w.Fatal || w.UpTo != 2 {
			t.Fatalf("fault %d: the rolling write gave %+v, want a Fatal error ending at 2", fault, w)
		}
		s.Close()
	}
	fs := simfs.New(env.NewRand(1, "disk"), simfs.Options{})
	s, _, err := OpenPartition(fs, "t-0", "id1", cfg, env.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := fs.Usage("t-0")
	fs.SetCapacity(u.TotalBytes - u.UsableBytes + 100) // room for one batch
	var bs [][]byte
	for i := range 3 {
		b := batch("x")
		storage.AssignBatch(b, storage.Offset(i), 0, 0, false)
		bs = append(bs, b)
	}
	if w := s.Write(&replication.Persist{Op: 1, Batches: bs}, env.Time{}); !env.IsNoSpace(w.Err) || w.Fatal {
		t.Fatalf("a full disk: %+v, want a retryable ENOSPC", w)
	}
}
