package replication_test

// Goal: pin when a compacted partition runs the log cleaner — every
// CleanerBackoffMs it asks storage.CleanableOffsets, over the segments and
// cleaner checkpoint the executor last reported (Recovered, Written after a
// roll, BackgroundDone), whether a pass is due: the dirty ratio above
// min.cleanable.dirty.ratio, or max.compaction.lag.ms overdue, never past
// the high watermark or inside min.compaction.lag.ms. A due pass runs as
// Clean chunks of one pass (More: the next chunk at once, same pass and
// policy), then the next check waits a backoff; retention keeps its own
// schedule and never runs at the same time.

import (
	"math"
	"testing"

	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

func compactConfig() replication.PartitionConfig {
	cfg := testConfig()
	cfg.Compact = true
	cfg.CleanerBackoffMs = 1000
	cfg.RetentionCheckIntervalMs = 1_000_000
	cfg.DeleteRetentionMs = 500
	cfg.CleanChunkBytes = 4096
	return cfg
}

// fourSegments is a log of four 100-byte segments [0,40) and an active
// one; firstTs is the first timestamp of the first segment (wall ms).
func fourSegments(firstTs int64) []storage.SegmentInfo {
	var segs []storage.SegmentInfo
	for i := int64(0); i < 5; i++ {
		ts := firstTs + 100*i
		segs = append(segs, storage.SegmentInfo{Base: storage.Offset(10 * i), Next: storage.Offset(10*i + 10),
			SizeBytes: 100, FirstTimestamp: ts, LargestTimestamp: ts + 50, Active: i == 4})
	}
	return segs
}

func (h *harness) recoveredWith(end storage.Offset, segs []storage.SegmentInfo, cleanedTo storage.Offset) replication.Ready {
	h.t.Helper()
	h.diskEnd, h.hw = end, end
	return h.step(replication.Recovered{Now: h.now, Start: 0, End: end, Segments: segs, CleanedTo: cleanedTo})
}

func (h *harness) cleanDone(id uint64, more bool, segs []storage.SegmentInfo, cleanedTo storage.Offset) replication.Ready {
	h.t.Helper()
	delete(h.tasks, id)
	return h.step(replication.BackgroundDone{Now: h.now, Task: id, More: more, Segments: segs, CleanedTo: cleanedTo})
}

func cleanTasks(rd replication.Ready) []replication.Task {
	var out []replication.Task
	for _, t := range rd.Background {
		if t.Clean != nil {
			out = append(out, t)
		}
	}
	return out
}

func TestCleanerRunsWhenTheDirtyRatioIsHigh(t *testing.T) {
	h := newHarness(t, compactConfig())
	rd := h.recoveredWith(45, fourSegments(wallBaseMs), 20) // 200 clean, 200 dirty: ratio 0.5
	if rd.Deadline != ns(1000) {
		t.Fatalf("Deadline %dms, want the cleaner check at 1000ms", rd.Deadline/1_000_000)
	}
	if rd := h.tick(1000); len(rd.Background) != 0 {
		t.Fatalf("ratio 0.5 is not above min.cleanable.dirty.ratio 0.5, yet: %s", formatReady(rd))
	}
	// The next check is a backoff later.
	if rd := h.tick(1999); len(rd.Background) != 0 || h.p.Ready().Deadline != ns(2000) {
		t.Fatalf("a check before the backoff passed: %s", formatReady(rd))
	}
	// A log cleaned only to 10: ratio 0.75.
	h = newHarness(t, compactConfig())
	h.recoveredWith(45, fourSegments(wallBaseMs), 10)
	rd = h.tick(1000)
	tasks := cleanTasks(rd)
	if len(tasks) != 1 {
		t.Fatalf("ratio 0.75: want one Clean task, got %s", formatReady(rd))
	}
	task := tasks[0]
	want := storage.CleanPolicy{HighWatermark: 45, NowMs: h.now.WallMs, DeleteRetentionMs: 500,
		MaxCompactionLagMs: math.MaxInt64, MinCleanableRatio: 0.5}
	if *task.Clean != want || task.ChunkBytes != 4096 || task.CleanPass != 1 {
		t.Fatalf("task %+v policy %+v, want %+v", task, *task.Clean, want)
	}
	if rd.Deadline != 0 {
		t.Fatalf("Deadline %d with a task in flight", rd.Deadline)
	}
	// A chunk that stopped at its limit: the same pass and policy at once.
	h.at(1100)
	rd = h.cleanDone(task.ID, true, fourSegments(wallBaseMs), 10)
	next := cleanTasks(rd)
	if len(next) != 1 || next[0].ID == task.ID || next[0].CleanPass != 1 || *next[0].Clean != want {
		t.Fatalf("after More: want the pass's next chunk, got %s", formatReady(rd))
	}
	// The last chunk: the checkpoint moved to 40, nothing is dirty, and the
	// next check is a backoff later.
	h.at(1200)
	rd = h.cleanDone(next[0].ID, false, fourSegments(wallBaseMs), 40)
	if len(rd.Background) != 0 || rd.Deadline != ns(2200) {
		t.Fatalf("after the pass: %s, want nothing until 2200ms", formatReady(rd))
	}
	if rd := h.tick(2200); len(rd.Background) != 0 {
		t.Fatalf("a pass with nothing dirty: %s", formatReady(rd))
	}
}

func TestCleanerHonoursLagsAndTheHighWatermark(t *testing.T) {
	cases := []struct {
		name  string
		mod   func(*replication.PartitionConfig)
		hw    storage.Offset
		cutAt storage.Offset // cleaned to
		due   bool
	}{
		{"all dirty", nil, 45, 0, true},
		{"the high watermark inside the first segment", nil, 5, 0, false},
		{"min.compaction.lag.ms covers every segment", func(c *replication.PartitionConfig) { c.MinCompactionLagMs = 2000 }, 45, 0, false},
		{"min.compaction.lag.ms spares the old ones", func(c *replication.PartitionConfig) { c.MinCompactionLagMs = 700 }, 45, 0, true},
		{"a low ratio alone is not due", func(c *replication.PartitionConfig) { c.MinCleanableDirtyRatio = 0.9 }, 45, 30, false},
		{"max.compaction.lag.ms overdue forces it", func(c *replication.PartitionConfig) {
			c.MinCleanableDirtyRatio, c.MaxCompactionLagMs = 0.9, 500
		}, 45, 30, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := compactConfig()
			if c.mod != nil {
				c.mod(&cfg)
			}
			h := newHarness(t, cfg)
			// Segments timestamped 0..350ms after the start; the check runs at 1000ms.
			h.recoveredWith(c.hw, fourSegments(wallBaseMs), c.cutAt)
			if got := len(cleanTasks(h.tick(1000))) == 1; got != c.due {
				t.Fatalf("due %v, want %v", got, c.due)
			}
		})
	}
}

func TestCleanerAndRetentionTakeTurns(t *testing.T) {
	cfg := compactConfig()
	cfg.RetentionCheckIntervalMs = 1000 // both due at 1000ms
	h := newHarness(t, cfg)
	h.recoveredWith(45, fourSegments(wallBaseMs), 0)
	rd := h.tick(1000)
	if len(rd.Background) != 1 || rd.Background[0].Retention == nil {
		t.Fatalf("want retention first, got %s", formatReady(rd))
	}
	if rd := h.tick(1500); len(rd.Background) != 0 {
		t.Fatalf("a second task while retention runs: %s", formatReady(rd))
	}
	h.at(1600)
	rd = h.cleanDone(rd.Background[0].ID, false, fourSegments(wallBaseMs), 0)
	if rd.Deadline != ns(1000) {
		t.Fatalf("Deadline %dms, want the overdue cleaner check (1000ms)", rd.Deadline/1_000_000)
	}
	rd = h.tick(1600)
	if tasks := cleanTasks(rd); len(tasks) != 1 {
		t.Fatalf("want the clean pass after retention, got %s", formatReady(rd))
	}
}

func TestCleanerSeesRolledSegments(t *testing.T) {
	h := newHarness(t, compactConfig())
	h.recoveredWith(0, []storage.SegmentInfo{{Base: 0, Next: 0, Active: true}}, 0)
	if rd := h.tick(1000); len(rd.Background) != 0 {
		t.Fatalf("an empty log is never due: %s", formatReady(rd))
	}
	h.produce(1, 1, 45, 10)
	h.step(replication.Written{Now: h.now, Op: h.inflight.Op, UpTo: h.persistEnd(), Segments: fourSegments(wallBaseMs)})
	h.inflightWritten = true
	h.diskEnd = 45
	h.synced(nil)
	if rd := h.tick(2000); len(cleanTasks(rd)) != 1 {
		t.Fatalf("the segments a roll reported are dirty: want a pass, got %s", formatReady(rd))
	}
}
