package replication_test

// Goal: pin the fetch half of Partition's contract — the offset range
// check against [log start, log end]; long-polls parked at the high
// watermark, woken by a Synced that moves it or answered empty at their
// deadline; MinBytes; serving from the in-memory tail without a Read;
// Reads (UpTo = high watermark) for data older than the tail; read errors
// (corruption fail-stops the partition, not the process); and never a byte
// at or above the high watermark.

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

func TestFetchOffsetRange(t *testing.T) {
	h := newHarness(t, testConfig())
	h.recovered(5, 10)
	cases := []struct {
		id    replication.RequestID
		from  storage.Offset
		inErr bool
	}{
		{1, 0, true},
		{2, 4, true},
		{3, 5, false},
		{4, 9, false},
		{5, 10, false}, // the log end: empty, not out of range
		{6, 11, true},
		{7, -1, true},
	}
	for _, c := range cases {
		rd := h.fetch(c.id, c.from, 1000, 0, 0)
		if len(rd.Reads) > 0 {
			// In range below the high watermark and not in the tail.
			h.readDone(c.id, nil)
		}
		r := h.reply(c.id)
		if got := errors.Is(r.Err, replication.ErrOffsetOutOfRange); got != c.inErr {
			t.Errorf("fetch from %d: %s, want out of range %v", c.from, replyString(r), c.inErr)
		}
		if r.HighWatermark != 10 || r.LogStart != 5 {
			t.Errorf("fetch from %d: reply hw %d start %d, want 10 and 5", c.from, r.HighWatermark, r.LogStart)
		}
	}
	if got := fetchedOffsets(t, h.reply(4)); !slices.Equal(got, [][2]storage.Offset{{9, 10}}) {
		t.Errorf("fetch from 9: %v, want [[9 10]]", got)
	}
}

func TestFetchLongPollWokenBySynced(t *testing.T) {
	h := newHarness(t, testConfig())
	h.recovered(0, 0)
	rd := h.fetch(1, 0, 1000, 0, 500)
	if len(rd.Replies) != 0 {
		t.Fatalf("fetch at the high watermark answered at once: %s", formatReady(rd))
	}
	if rd.Deadline != ns(500) {
		t.Fatalf("Deadline %d, want the fetch's %d", rd.Deadline, ns(500))
	}
	h.at(10)
	h.produce(2, 1, 2, 10)
	h.written(2, nil) // written but not synced: nothing to see yet
	h.unanswered(1)
	rd = h.synced(nil)
	if !slices.Contains(replyIDs(rd), 1) {
		t.Fatalf("the Synced that moved the high watermark did not wake the fetch: %s", formatReady(rd))
	}
	if got := fetchedOffsets(t, h.reply(1)); !slices.Equal(got, [][2]storage.Offset{{0, 2}}) {
		t.Fatalf("woken fetch returned %v, want [[0 2]]", got)
	}
	if len(rd.Reads) != 0 {
		t.Fatalf("data in the tail went through a Read")
	}
	if rd.Deadline == ns(500) {
		t.Fatalf("the answered fetch's deadline is still armed")
	}
}

func TestFetchLongPollAnsweredAtItsDeadline(t *testing.T) {
	cfg := testConfig()
	cfg.RetentionCheckIntervalMs = 10_000
	h := newHarness(t, cfg)
	h.recovered(3, 3)
	h.fetch(1, 3, 1000, 0, 200)
	h.fetch(2, 3, 1000, 0, 100)
	h.fetch(3, 3, 1000, 0, 300)
	if rd := h.p.Ready(); rd.Deadline != ns(100) {
		t.Fatalf("Deadline %dms, want the earliest fetch deadline 100ms", rd.Deadline/1_000_000)
	}
	if rd := h.tick(99); len(rd.Replies) != 0 {
		t.Fatalf("tick before any deadline answered %v", replyIDs(rd))
	}
	rd := h.tick(150)
	if got := replyIDs(rd); !slices.Equal(got, []replication.RequestID{2}) {
		t.Fatalf("tick at 150ms answered %v, want [2]", got)
	}
	if r := h.reply(2); r.Err != nil || len(r.Batches) != 0 || r.HighWatermark != 3 || r.LogStart != 3 {
		t.Fatalf("expired fetch: %s, want empty with hw 3 start 3", replyString(r))
	}
	if rd.Deadline != ns(200) {
		t.Fatalf("Deadline %dms, want the next fetch deadline 200ms", rd.Deadline/1_000_000)
	}
	h.tick(1000)
	h.reply(1)
	h.reply(3)
	if rd := h.p.Ready(); rd.Deadline != ns(10_000) {
		t.Fatalf("Deadline %dms with no fetch parked, want the retention check 10000ms", rd.Deadline/1_000_000)
	}
}

func TestFetchMinBytes(t *testing.T) {
	h := newHarness(t, testConfig())
	h.recovered(0, 0)
	size := len(testBatch(1, 39, 0, 0))
	h.fetch(1, 0, 10_000, 2*size, 1000)
	h.produce(2, -1, 1, 39)
	h.persist()
	h.unanswered(1) // one batch is less than MinBytes
	h.produce(3, -1, 1, 39)
	_, rd := h.persist()
	if !slices.Contains(replyIDs(rd), 1) {
		t.Fatalf("MinBytes reached but the fetch is still parked")
	}
	if got := fetchedOffsets(t, h.reply(1)); !slices.Equal(got, [][2]storage.Offset{{0, 1}, {1, 2}}) {
		t.Fatalf("fetch returned %v, want both batches", got)
	}
	// Enough data already there: answered at once. Not enough: parked
	// until the deadline, then answered with what there is.
	h.fetch(4, 0, 10_000, size, 1000)
	h.reply(4)
	h.fetch(5, 1, 10_000, size+1, 1000)
	h.unanswered(5)
	h.tick(1000)
	if got := fetchedOffsets(t, h.reply(5)); !slices.Equal(got, [][2]storage.Offset{{1, 2}}) {
		t.Fatalf("expired MinBytes fetch returned %v, want [[1 2]]", got)
	}
}

func TestFetchFromTheTailRespectsMaxBytes(t *testing.T) {
	h := newHarness(t, testConfig())
	h.recovered(0, 0)
	size := len(testBatch(1, 39, 0, 0))
	for id := replication.RequestID(1); id <= 4; id++ {
		h.produce(id, 1, 1, 39)
	}
	for h.inflight != nil {
		h.persist()
	}
	cases := []struct {
		id       replication.RequestID
		from     storage.Offset
		maxBytes int
		want     [][2]storage.Offset
	}{
		{10, 0, 2 * size, [][2]storage.Offset{{0, 1}, {1, 2}}},
		{11, 0, 2*size + 1, [][2]storage.Offset{{0, 1}, {1, 2}}},
		{12, 2, 1, [][2]storage.Offset{{2, 3}}}, // at least one batch
		{13, 3, 1 << 20, [][2]storage.Offset{{3, 4}}},
	}
	for _, c := range cases {
		rd := h.fetch(c.id, c.from, c.maxBytes, 0, 0)
		if len(rd.Reads) != 0 {
			t.Errorf("fetch %d: a Read for data in the tail", c.id)
		}
		if got := fetchedOffsets(t, h.reply(c.id)); !slices.Equal(got, c.want) {
			t.Errorf("fetch %d from %d max %d: %v, want %v", c.id, c.from, c.maxBytes, got, c.want)
		}
	}
}

func TestFetchInsideABatch(t *testing.T) {
	h := newHarness(t, testConfig())
	h.recovered(0, 0)
	h.produce(1, -1, 5, 10)
	h.persist()
	h.fetch(2, 3, 1000, 0, 0)
	if got := fetchedOffsets(t, h.reply(2)); !slices.Equal(got, [][2]storage.Offset{{0, 5}}) {
		t.Fatalf("fetch from inside a batch: %v, want the whole batch [[0 5]]", got)
	}
}

func TestFetchNeverReturnsUnsyncedData(t *testing.T) {
	h := newHarness(t, testConfig())
	h.recovered(0, 0)
	h.produce(1, 1, 2, 10)
	h.persist()
	h.produce(2, 1, 3, 10)
	h.written(5, nil) // [2, 5) written, in the tail, not synced
	h.fetch(3, 0, 1<<20, 0, 0)
	if got := fetchedOffsets(t, h.reply(3)); !slices.Equal(got, [][2]storage.Offset{{0, 2}}) {
		t.Fatalf("fetch returned %v, want only the synced [[0 2]]", got)
	}
	// At the high watermark with unsynced data after it: parked, not
	// served, and with no deadline: empty.
	h.fetch(4, 2, 1<<20, 0, 0)
	if r := h.reply(4); len(r.Batches) != 0 || r.HighWatermark != 2 {
		t.Fatalf("fetch at the high watermark: %s, want empty", replyString(r))
	}
	h.fetch(5, 2, 1<<20, 0, 100)
	h.unanswered(5)
	h.synced(nil)
	if got := fetchedOffsets(t, h.reply(5)); !slices.Equal(got, [][2]storage.Offset{{2, 5}}) {
		t.Fatalf("woken fetch: %v, want [[2 5]]", got)
	}
}

// Data older than the tail is read from disk, up to the high watermark.
func TestFetchBeyondTheTailReads(t *testing.T) {
	size := len(testBatch(1, 39, 0, 0))
	cfg := testConfig()
	cfg.TailBytesMax = 2 * size
	h := newHarness(t, cfg)
	h.recovered(0, 0)
	for id := replication.RequestID(1); id <= 4; id++ {
		h.produce(id, -1, 1, 39)
	}
	for h.inflight != nil {
		h.persist()
	}
	// The tail holds [2, 4); [0, 2) is on disk only.
	rd := h.fetch(10, 2, 1<<20, 0, 0)
	if len(rd.Reads) != 0 {
		t.Fatalf("fetch inside the tail read from disk")
	}
	rd = h.fetch(11, 1, 2*size, 0, 0)
	want := []replication.Read{{ID: 11, From: 1, MaxBytes: 2 * size, UpTo: 4}}
	if !slices.Equal(rd.Reads, want) {
		t.Fatalf("fetch older than the tail: Reads %+v, want %+v", rd.Reads, want)
	}
	h.unanswered(11)
	rd = h.readDone(11, nil)
	if got := fetchedOffsets(t, h.reply(11)); !slices.Equal(got, [][2]storage.Offset{{1, 2}, {2, 3}}) {
		t.Fatalf("read fetch returned %v", got)
	}
	// A ReadDone for a request that is not waiting changes nothing.
	if rd := h.step(replication.ReadDone{Now: h.now, ID: 11}); len(rd.Replies) != 0 {
		t.Fatalf("a second ReadDone answered again: %s", formatReady(rd))
	}
}

func TestFetchAfterRecoveryReadsUpToTheHighWatermark(t *testing.T) {
	h := newHarness(t, testConfig())
	h.recovered(2, 6)
	h.produce(1, 1, 1, 10)
	h.written(7, nil) // [6, 7) written, not synced
	rd := h.fetch(2, 2, 1<<20, 0, 0)
	want := []replication.Read{{ID: 2, From: 2, MaxBytes: 1 << 20, UpTo: 6}}
	if !slices.Equal(rd.Reads, want) {
		t.Fatalf("Reads %+v, want %+v", rd.Reads, want)
	}
	h.readDone(2, nil)
	if got := fetchedOffsets(t, h.reply(2)); len(got) != 4 || got[3][1] != 6 {
		t.Fatalf("read fetch returned %v, want [2, 6)", got)
	}
}

func TestFetchReadErrors(t *testing.T) {
	cases := []struct {
		name    string
		err     error
		want    error
		failure bool
	}{
		{"out of range", fmt.Errorf("%w: below start", storage.ErrOffsetOutOfRange), replication.ErrOffsetOutOfRange, false},
		{"EIO", fmt.Errorf("read: %w", env.ErrIO), replication.ErrStorage, false},
		{"corrupt", fmt.Errorf("%w: crc", storage.ErrCorrupt), replication.ErrFailed, true},
		{"failed log", fmt.Errorf("%w: earlier", storage.ErrFailed), replication.ErrFailed, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			h.recovered(0, 4)
			h.fetch(1, 0, 1000, 0, 0)
			h.fetch(2, 4, 1000, 0, 500) // parked
			h.produce(3, -1, 1, 10)     // in flight
			rd := h.readDone(1, c.err)
			if r := h.reply(1); !errors.Is(r.Err, c.want) {
				t.Fatalf("fetch: %s, want %v", replyString(r), c.want)
			}
			if (rd.Failure != nil) != c.failure {
				t.Fatalf("Failure %+v, want a failure: %v", rd.Failure, c.failure)
			}
			if !c.failure {
				h.unanswered(2, 3)
				h.persist()
				h.reply(2)
				h.reply(3)
				return
			}
			if rd.Failure.ProcessFatal {
				t.Fatalf("a read error is fatal for the process, want the partition only")
			}
			for _, id := range []replication.RequestID{2, 3} {
				if r := h.reply(id); !errors.Is(r.Err, replication.ErrFailed) {
					t.Errorf("request %d: %s, want ErrFailed", id, replyString(r))
				}
			}
			h.fetch(4, 0, 1000, 0, 0)
			if r := h.reply(4); !errors.Is(r.Err, replication.ErrFailed) {
				t.Errorf("fetch after the failure: %s, want ErrFailed", replyString(r))
			}
		})
	}
}

// The fetch range is [log start, log end]; a failed write moves the log
// end back to where the write stopped.
func TestFetchRangeAfterAFailedWrite(t *testing.T) {
	h := newHarness(t, testConfig())
	h.recovered(0, 0)
	h.produce(1, 1, 1, 10)
	h.persist()
	h.produce(2, 1, 2, 10)
	h.written(1, errNoSpace) // [1, 3) failed: the log ends at 1 again
	h.synced(nil)
	h.fetch(3, 3, 1000, 0, 0)
	if r := h.reply(3); !errors.Is(r.Err, replication.ErrOffsetOutOfRange) {
		t.Fatalf("fetch beyond the end after the failed write: %s, want out of range", replyString(r))
	}
}

// A fetch parked before retention moved the log start past its offset
// must not be answered with batches below the new log start.
func TestParkedFetchBelowANewLogStart(t *testing.T) {
	cfg := testConfig()
	cfg.RetentionCheckIntervalMs = 100
	h := newHarness(t, cfg)
	h.recovered(0, 0)
	size := len(testBatch(1, 39, 0, 0))
	for id := replication.RequestID(1); id <= 3; id++ {
		h.produce(id, -1, 1, 39)
	}
	for h.inflight != nil {
		h.persist()
	}
	h.fetch(10, 0, 1<<20, 10*size, 1000) // parked: MinBytes not reached
	h.tick(100)                          // retention runs and deletes [0, 2)
	h.backgroundDone(1, 2, false, nil)
	h.tick(1000)
	r := h.reply(10)
	for _, o := range fetchedOffsets(t, r) {
		if o[1] <= r.LogStart {
			t.Fatalf("fetch answered with [%d, %d), below the log start %d (%s)", o[0], o[1], r.LogStart, replyString(r))
		}
	}
}
