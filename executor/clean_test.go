package executor

// Goal: a Clean task runs a compaction pass in chunks through
// Store.Background — the first chunk starts the pass, More asks for the
// next, the last reports the segments and the new cleaner checkpoint —
// and afterwards only the latest record of each key is read back; a full
// disk ends the pass without an error and leaves the log as it was.

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/sim/simfs"
	"github.com/takhin-io/takhin/storage"
)

// compactedStore writes 200 one-record batches over 10 keys, synced and
// checkpointed (cleaning stops at the recovery point), in small segments.
func compactedStore(t *testing.T, fs env.FS) (*Store, replication.Recovered) {
	s, rec := syncedStore(t, fs)
	if err := s.Log.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	return s, rec
}

// syncedStore is compactedStore without the checkpoint: its recovery
// point stays 0.
func syncedStore(t *testing.T, fs env.FS) (*Store, replication.Recovered) {
	cfg := storage.DefaultConfig()
	cfg.SegmentBytes = 1024
	s, rec, err := OpenPartition(fs, "t-0", "id1", cfg, env.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var bs [][]byte
	for i := 0; i < 200; i++ {
		b := storage.EncodeBatch([]kmsg.Record{{Key: []byte(fmt.Sprintf("k%d", i%10)), Value: []byte(fmt.Sprint(i))}}, int64(i))
		storage.AssignBatch(b, storage.Offset(i), 0, 0, false)
		bs = append(bs, b)
	}
	p := &replication.Persist{Op: 1, Batches: bs}
	if w := s.Write(p, env.Time{}); w.Err != nil || w.Segments == nil {
		t.Fatalf("write: %v, segments %v (the writes rolled)", w.Err, w.Segments)
	}
	if sy := s.Sync(p, env.Time{}); sy.Err != nil {
		t.Fatal(sy.Err)
	}
	return s, rec
}

func TestBackgroundCleansInChunks(t *testing.T) {
	fs := simfs.New(env.NewRand(1, "disk"), simfs.Options{})
	s, rec := compactedStore(t, fs)
	defer s.Close()
	if len(rec.Segments) != 1 || rec.CleanedTo != 0 {
		t.Fatalf("Recovered: segments %v cleaned to %d", rec.Segments, rec.CleanedTo)
	}
	policy := storage.CleanPolicy{HighWatermark: s.Log.SyncedEnd(), NowMs: 1000}
	task := replication.Task{ID: 1, Clean: &policy, CleanPass: 7, ChunkBytes: 2048}
	chunks := 0
	var done replication.BackgroundDone
	for {
		done = s.Background(task, env.Time{WallMs: 1000})
		chunks++
		if done.Err != nil {
			t.Fatalf("chunk %d: %v", chunks, done.Err)
		}
		if !done.More {
			break
		}
		task.ID++
	}
	if chunks < 3 {
		t.Fatalf("the pass ran in %d chunks, want several (mapping is bounded, one group per chunk)", chunks)
	}
	last := done.Segments[len(done.Segments)-1]
	if done.CleanedTo != last.Base || done.CleanedTo == 0 {
		t.Fatalf("cleaned to %d, want the active segment's base %d", done.CleanedTo, last.Base)
	}
	all, err := s.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for b := all; len(b) > 0; {
		h := storage.DecodeBatchHeader(b)
		recs, err := storage.ReadRecords(b[:h.Size()])
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if h.BaseOffset < done.CleanedTo {
				seen[string(r.Key)]++
			}
		}
		b = b[h.Size():]
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("key %s appears %d times below the cleaned point", k, n)
		}
	}
}

// TestCleaningStopsAtTheRecoveryPoint: nothing above the recovery point is
// cleaned (a bad batch there is truncated at recovery, and truncating
// behind a clean's gaps would hand their offsets out again).
func TestCleaningStopsAtTheRecoveryPoint(t *testing.T) {
	fs := simfs.New(env.NewRand(1, "disk"), simfs.Options{})
	s, _ := syncedStore(t, fs)
	defer s.Close()
	before := len(s.mustReadAll(t))
	policy := storage.CleanPolicy{HighWatermark: s.Log.SyncedEnd(), NowMs: 1000}
	task := replication.Task{ID: 1, Clean: &policy, CleanPass: 1, ChunkBytes: 1 << 20}
	for done := s.Background(task, env.Time{WallMs: 1000}); done.More; done = s.Background(task, env.Time{WallMs: 1000}) {
		task.ID++
	}
	if after := len(s.mustReadAll(t)); after != before || s.Log.CleanedTo() != 0 {
		t.Fatalf("cleaned above the recovery point 0: %d bytes before, %d after, cleaned to %d", before, after, s.Log.CleanedTo())
	}
}

func (s *Store) mustReadAll(t *testing.T) []byte {
	all, err := s.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func TestBackgroundCleanOnAFullDisk(t *testing.T) {
	fs := simfs.New(env.NewRand(2, "disk"), simfs.Options{})
	s, _ := compactedStore(t, fs)
	defer s.Close()
	before, _ := s.ReadAll()
	usage, _ := fs.Usage(".")
	fs.SetCapacity(usage.TotalBytes - usage.UsableBytes) // no room at all
	policy := storage.CleanPolicy{HighWatermark: s.Log.SyncedEnd(), NowMs: 1000}
	task := replication.Task{ID: 1, Clean: &policy, CleanPass: 1, ChunkBytes: 1 << 20}
	for i := 0; ; i++ {
		done := s.Background(task, env.Time{})
		if done.Err != nil {
			t.Fatalf("a full disk failed the task: %v", done.Err)
		}
		if !done.More {
			break
		}
		task.ID++
	}
	fs.SetCapacity(0)
	if s.Log.Failed() != nil {
		t.Fatalf("the log fail-stopped: %v", s.Log.Failed())
	}
	after, _ := s.ReadAll()
	if string(after) != string(before) {
		t.Fatalf("a pass that ran out of space changed the log")
	}
}
