package replication_test

// Goal: pin Partition's deadlines and background work — Ready().Deadline is
// the earliest parked fetch deadline or the retention check; a Tick at the
// retention time emits one Retention task carrying the high watermark and
// now; BackgroundDone{More} emits the next chunk at once, {!More} schedules
// the next check an interval later; the log start in replies follows
// BackgroundDone.Start.

import (
	"errors"
	"fmt"
	"testing"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

func retentionConfig() replication.PartitionConfig {
	cfg := testConfig()
	cfg.RetentionCheckIntervalMs = 1000
	cfg.RetentionMs = 5000
	cfg.RetentionBytes = 4096
	cfg.RetentionChunkSegments = 3
	return cfg
}

func TestDeadlineIsTheEarliestOfFetchesAndRetention(t *testing.T) {
	h := newHarness(t, retentionConfig())
	h.at(50)
	rd := h.recovered(0, 0)
	if rd.Deadline != ns(1050) {
		t.Fatalf("Deadline after Recovered at 50ms: %dms, want the retention check at 1050ms", rd.Deadline/1_000_000)
	}
	h.fetch(1, 0, 100, 0, 2000)
	if rd := h.p.Ready(); rd.Deadline != ns(1050) {
		t.Fatalf("Deadline %dms, want the earlier retention check 1050ms", rd.Deadline/1_000_000)
	}
	h.fetch(2, 0, 100, 0, 700)
	if rd := h.p.Ready(); rd.Deadline != ns(700) {
		t.Fatalf("Deadline %dms, want the earlier fetch 700ms", rd.Deadline/1_000_000)
	}
	h.tick(700)
	h.reply(2)
	if rd := h.p.Ready(); rd.Deadline != ns(1050) {
		t.Fatalf("Deadline %dms, want 1050ms again", rd.Deadline/1_000_000)
	}
}

func TestRetentionRunsAtItsCheckTime(t *testing.T) {
	cfg := retentionConfig()
	h := newHarness(t, cfg)
	h.recovered(0, 0)
	h.at(10)
	h.produce(1, -1, 4, 10)
	h.persist()
	if rd := h.tick(999); len(rd.Background) != 0 {
		t.Fatalf("retention before its check time: %s", formatReady(rd))
	}
	// [4, 6) written but not synced: retention must not count it.
	h.produce(9, 1, 2, 10)
	h.written(6, nil)
	rd := h.tick(1000)
	if len(rd.Background) != 1 || rd.Background[0].Retention == nil {
		t.Fatalf("tick at the retention time: want one retention task, got %s", formatReady(rd))
	}
	task := rd.Background[0]
	want := storage.RetentionPolicy{RetentionMs: 5000, RetentionBytes: 4096, HighWatermark: 4, NowMs: h.now.WallMs}
	if *task.Retention != want {
		t.Fatalf("retention policy %+v, want %+v", *task.Retention, want)
	}
	if task.ChunkSegments != 3 {
		t.Fatalf("chunk %d segments, want RetentionChunkSegments 3", task.ChunkSegments)
	}
	// While it runs, no second task and no retention deadline.
	if rd.Deadline != 0 {
		t.Fatalf("Deadline %dms with the retention task in flight and nothing parked", rd.Deadline/1_000_000)
	}
	if rd := h.tick(5000); len(rd.Background) != 0 {
		t.Fatalf("a second task while one is in flight: %s", formatReady(rd))
	}

	// A chunk that stopped at its limit: the next at once, with now and
	// the current high watermark.
	h.at(5100)
	h.synced(nil)
	h.produce(2, -1, 1, 10)
	h.persist()
	rd = h.backgroundDone(task.ID, 2, true, nil)
	if len(rd.Background) != 1 || rd.Background[0].ID == task.ID {
		t.Fatalf("BackgroundDone{More}: want the next chunk at once, got %s", formatReady(rd))
	}
	next := rd.Background[0]
	if p := next.Retention; p == nil || p.HighWatermark != 7 || p.NowMs != h.now.WallMs {
		t.Fatalf("next chunk policy %+v, want hw 7 now %d", p, h.now.WallMs)
	}
	if h.p.LogStart() != 2 {
		t.Fatalf("log start %d, want 2 from BackgroundDone", h.p.LogStart())
	}

	// The last chunk: the next check an interval later.
	h.at(5200)
	rd = h.backgroundDone(next.ID, 3, false, nil)
	if len(rd.Background) != 0 {
		t.Fatalf("BackgroundDone{!More} started another task: %s", formatReady(rd))
	}
	if rd.Deadline != ns(6200) {
		t.Fatalf("Deadline %dms, want the next check at 6200ms", rd.Deadline/1_000_000)
	}
	if rd := h.tick(6199); len(rd.Background) != 0 {
		t.Fatalf("retention before the next check: %s", formatReady(rd))
	}
	if rd := h.tick(6200); len(rd.Background) != 1 {
		t.Fatalf("no retention at the next check: %s", formatReady(rd))
	}
}

func TestLogStartInRepliesFollowsRetention(t *testing.T) {
	h := newHarness(t, retentionConfig())
	h.recovered(0, 10)
	rd := h.tick(1000)
	h.backgroundDone(rd.Background[0].ID, 6, false, nil)
	h.fetch(1, 5, 1000, 0, 0)
	if r := h.reply(1); !errors.Is(r.Err, replication.ErrOffsetOutOfRange) || r.LogStart != 6 {
		t.Fatalf("fetch below the new log start: %s, want out of range with start 6", replyString(r))
	}
	h.fetch(2, 10, 1000, 0, 0)
	if r := h.reply(2); r.Err != nil || r.LogStart != 6 {
		t.Fatalf("fetch: %s, want log start 6", replyString(r))
	}
	h.produce(3, -1, 1, 10)
	h.persist()
	if r := h.reply(3); r.LogStart != 6 {
		t.Fatalf("produce reply: %s, want log start 6", replyString(r))
	}
}

func TestRetentionWithATaskAndAParkedFetch(t *testing.T) {
	h := newHarness(t, retentionConfig())
	h.recovered(0, 0)
	rd := h.tick(1000)
	h.fetch(1, 0, 100, 0, 1500)
	if rd := h.p.Ready(); rd.Deadline != ns(1500) {
		t.Fatalf("Deadline %dms, want the fetch's 1500ms while retention runs", rd.Deadline/1_000_000)
	}
	h.tick(1500)
	h.reply(1)
	h.backgroundDone(rd.Background[0].ID, 0, false, nil)
	if rd := h.p.Ready(); rd.Deadline != ns(2500) {
		t.Fatalf("Deadline %dms, want 2500ms", rd.Deadline/1_000_000)
	}
}

// A failure after a Written answered some requests must not answer them
// again, whatever fail-stops the partition.
func TestFailureAfterWrittenAnswersEachRequestOnce(t *testing.T) {
	cases := []struct {
		name string
		fail func(h *harness) replication.Ready
	}{
		{"sync EIO", func(h *harness) replication.Ready { return h.synced(fmt.Errorf("fsync: %w", env.ErrIO)) }},
		{"read corrupt", func(h *harness) replication.Ready {
			return h.readDone(9, fmt.Errorf("%w: crc", storage.ErrCorrupt))
		}},
		{"background error", func(h *harness) replication.Ready {
			for id := range h.tasks {
				return h.backgroundDone(id, 0, false, fmt.Errorf("%w: index", storage.ErrCorrupt))
			}
			h.t.Fatalf("no task")
			return replication.Ready{}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, retentionConfig())
			h.recovered(0, 2)
			h.tick(1000)             // a retention task in flight
			h.fetch(9, 0, 100, 0, 0) // a Read in flight
			h.produce(1, 1, 1, 10)   // op 1
			h.produce(2, 1, 1, 10)   // op 2: answered at Written
			h.produce(3, -1, 1, 10)  // op 2: waits for Synced
			h.persist()
			h.written(h.persistEnd(), nil)
			h.reply(2)
			rd := c.fail(h)
			if rd.Failure == nil {
				t.Fatalf("no failure: %s", formatReady(rd))
			}
			if r := h.reply(3); !errors.Is(r.Err, replication.ErrFailed) {
				t.Fatalf("produce 3: %s, want ErrFailed", replyString(r))
			}
		})
	}
}
