package replication_test

// Goal: the administrative requests. DeleteRecords moves the log start
// only through a durable background task and is answered after it (at
// once when the start already covers it; OFFSET_OUT_OF_RANGE above the
// high watermark; -1 means the high watermark), waits for a task in
// flight, and fails with the partition; Producers lists idempotent
// producers; LogSize is measured by the executor; Reconfigure takes new
// retention settings live.

import (
	"errors"
	"testing"

	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

func (h *harness) admin(id replication.RequestID, ev replication.Event) replication.Ready {
	h.t.Helper()
	h.request(id, request{admin: true})
	return h.step(ev)
}

// produced writes n one-record batches with acks=all and syncs them.
func (h *harness) produced(first replication.RequestID, n int) {
	h.t.Helper()
	for i := 0; i < n; i++ {
		h.produce(first+replication.RequestID(i), -1, 1, 8)
		h.persist()
	}
}

func TestDeleteRecordsIsAnsweredOnceDurable(t *testing.T) {
	h := newHarness(t, testConfig())
	h.recovered(0, 0)
	h.produced(1, 10)
	rd := h.admin(100, replication.DeleteRecords{Now: h.now, ID: 100, Offset: 4})
	if len(rd.Background) != 1 || rd.Background[0].SetStart != 4 || len(rd.Replies) != 0 {
		t.Fatalf("DeleteRecords must start a durable SetStart task and wait: %s", formatReady(rd))
	}
	// Another one meanwhile waits for the task in flight.
	if rd := h.admin(101, replication.DeleteRecords{Now: h.now, ID: 101, Offset: -1}); len(rd.Background) != 0 {
		t.Fatalf("a second task while one is in flight: %s", formatReady(rd))
	}
	rd = h.backgroundDone(rd.Background[0].ID, 4, false, nil)
	if r := h.reply(100); r.Err != nil || r.LogStart != 4 {
		t.Fatalf("reply: %+v", r)
	}
	if len(rd.Background) != 1 || rd.Background[0].SetStart != 10 {
		t.Fatalf("the waiting DeleteRecords(-1) must run next, to the high watermark 10: %s", formatReady(rd))
	}
	h.backgroundDone(rd.Background[0].ID, 10, false, nil)
	if r := h.reply(101); r.Err != nil || r.LogStart != 10 {
		t.Fatalf("reply to -1: %+v", r)
	}
	h.fetch(102, 3, 1000, 0, 0)
	if r := h.reply(102); !errors.Is(r.Err, replication.ErrOffsetOutOfRange) {
		t.Fatalf("a fetch below the new log start: %+v", r)
	}
	h.admin(103, replication.DeleteRecords{Now: h.now, ID: 103, Offset: 2})
	if r := h.reply(103); r.Err != nil || r.LogStart != 10 {
		t.Fatalf("an offset below the start is answered at once: %+v", r)
	}
	h.admin(104, replication.DeleteRecords{Now: h.now, ID: 104, Offset: 11})
	if r := h.reply(104); !errors.Is(r.Err, replication.ErrOffsetOutOfRange) {
		t.Fatalf("above the high watermark: %+v", r)
	}
}

func TestDeleteRecordsFailsWithThePartition(t *testing.T) {
	h := newHarness(t, testConfig())
	h.recovered(0, 0)
	h.produced(1, 3)
	rd := h.admin(100, replication.DeleteRecords{Now: h.now, ID: 100, Offset: 2})
	h.backgroundDone(rd.Background[0].ID, 0, false, storage.ErrCorrupt)
	if r := h.reply(100); !errors.Is(r.Err, replication.ErrFailed) {
		t.Fatalf("reply after a failed task: %+v", r)
	}
}

func TestProducersAndLogSize(t *testing.T) {
	h := newHarness(t, testConfig())
	h.recovered(0, 0)
	h.request(1, request{records: 1, acks: -1})
	h.step(replication.Produce{Now: h.now, ID: 1, Batch: producerBatch(7, 0), Acks: -1})
	h.persist()
	h.admin(2, replication.Producers{Now: h.now, ID: 2})
	if r := h.reply(2); len(r.Producers) != 1 || r.Producers[0].ProducerID != 7 {
		t.Fatalf("producers: %+v", r)
	}
	rd := h.admin(3, replication.LogSize{Now: h.now, ID: 3})
	if len(rd.Reads) != 1 || !rd.Reads[0].Stat {
		t.Fatalf("LogSize must ask the executor: %s", formatReady(rd))
	}
	delete(h.reads, 3)
	h.step(replication.ReadDone{Now: h.now, ID: 3, Stat: true, SizeBytes: 1234})
	if r := h.reply(3); r.Err != nil || r.SizeBytes != 1234 {
		t.Fatalf("size: %+v", r)
	}
}

func TestReconfigureTakesRetentionLive(t *testing.T) {
	cfg := retentionConfig()
	cfg.RetentionCheckIntervalMs = 60_000
	h := newHarness(t, cfg)
	h.recovered(0, 0)
	if rd := h.p.Ready(); rd.Deadline != ns(60_000) {
		t.Fatalf("deadline %d", rd.Deadline)
	}
	next := cfg
	next.RetentionCheckIntervalMs, next.RetentionMs = 1000, 10
	h.at(5)
	rd := h.step(replication.Reconfigure{Now: h.now, Config: next})
	if rd.Deadline != ns(1005) {
		t.Fatalf("a shorter check interval must apply at once: deadline %dms", rd.Deadline/1_000_000)
	}
	rd = h.tick(1005)
	if len(rd.Background) != 1 || rd.Background[0].Retention.RetentionMs != 10 {
		t.Fatalf("retention with the new settings: %s", formatReady(rd))
	}
}

// A background chunk whose sync failed is process-fatal, as a failed
// Persist sync is (simulator seed 113: a failed directory sync during
// compaction only fail-stopped the partition, which nothing restarted); a
// transient failure (a full disk) leaves the partition serving and answers
// the DeleteRecords that waited on it with a storage error.
func TestBackgroundFailures(t *testing.T) {
	h := newHarness(t, testConfig())
	h.recovered(0, 0)
	h.produced(1, 3)
	rd := h.admin(100, replication.DeleteRecords{Now: h.now, ID: 100, Offset: 2})
	h.step(replication.BackgroundDone{Now: h.now, Task: rd.Background[0].ID, Start: 0, Transient: errors.New("no space")})
	delete(h.tasks, rd.Background[0].ID)
	if r := h.reply(100); !errors.Is(r.Err, replication.ErrStorage) {
		t.Fatalf("DeleteRecords over a transient failure: %+v", r)
	}
	if h.failure != nil {
		t.Fatalf("a transient failure must not fail the partition: %+v", h.failure)
	}
	rd = h.admin(101, replication.DeleteRecords{Now: h.now, ID: 101, Offset: 2})
	rd = h.step(replication.BackgroundDone{Now: h.now, Task: rd.Background[0].ID, Err: errors.New("sync dir: EIO"), Fatal: true})
	if rd.Failure == nil || !rd.Failure.ProcessFatal {
		t.Fatalf("a failed sync in a background chunk must be process-fatal: %+v", rd.Failure)
	}
}

// A DeleteRecords waiting behind a chunked retention pass runs between two
// of its chunks, and the pass resumes at the next tick.
func TestDeleteRecordsGoesBetweenRetentionChunks(t *testing.T) {
	h := newHarness(t, retentionConfig())
	h.recovered(0, 0)
	h.produced(1, 5)
	rd := h.tick(1000)
	if len(rd.Background) != 1 || rd.Background[0].Retention == nil {
		t.Fatalf("retention: %s", formatReady(rd))
	}
	h.admin(100, replication.DeleteRecords{Now: h.now, ID: 100, Offset: 3})
	rd = h.backgroundDone(rd.Background[0].ID, 0, true, nil)
	if len(rd.Background) != 1 || rd.Background[0].SetStart != 3 {
		t.Fatalf("the DeleteRecords must run before the next retention chunk: %s", formatReady(rd))
	}
	h.backgroundDone(rd.Background[0].ID, 3, false, nil)
	if r := h.reply(100); r.Err != nil || r.LogStart != 3 {
		t.Fatalf("reply: %+v", r)
	}
	if rd := h.tick(1001); len(rd.Background) != 1 || rd.Background[0].Retention == nil {
		t.Fatalf("retention must resume at the next tick: %s", formatReady(rd))
	}
}
