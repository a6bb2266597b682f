package replication_test

// Goal: pin the produce half of Partition's contract — nothing before
// Recovered; group commit (one Persist in flight, the queue goes whole into
// the next, bounded by PersistBytesMax, offsets assigned contiguously at
// Persist time and stamped into the batch); replies released by the
// completion that covers them (acks=0/1 at Written, acks=-1 at Synced and
// never before); write failures (ENOSPC frees the failed offsets, a failed
// log fail-stops the partition); sync failures (process-fatal, everything
// waiting answered once); checkpoints on an interval of wall time.

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

func TestNothingBeforeRecovered(t *testing.T) {
	h := newHarness(t, testConfig())
	rd := h.produce(1, -1, 1, 10)
	if rd.Persist != nil {
		t.Fatalf("Persist before Recovered: %+v", rd.Persist)
	}
	if !errors.Is(h.reply(1).Err, replication.ErrNotReady) {
		t.Fatalf("produce before Recovered: %v, want ErrNotReady", h.reply(1).Err)
	}
	h.fetch(2, 0, 100, 0, 50)
	if !errors.Is(h.reply(2).Err, replication.ErrNotReady) {
		t.Fatalf("fetch before Recovered: %v, want ErrNotReady", h.reply(2).Err)
	}
	if rd := h.tick(10); rd.Deadline != 0 || len(rd.Background) != 0 || len(rd.Replies) != 0 {
		t.Fatalf("tick before Recovered did something: %s", formatReady(rd))
	}
	// Completions for work never asked for are refused, not asserted on.
	if err := h.p.Step(replication.Written{Now: h.now, Op: 1, UpTo: 1}); err == nil {
		t.Fatalf("Written before Recovered accepted")
	}
	if err := h.p.Step(replication.Synced{Now: h.now, Op: 1, UpTo: 1}); err == nil {
		t.Fatalf("Synced before Recovered accepted")
	}
	// Recovered opens it for business; a second one is refused.
	h.recovered(0, 0)
	h.produce(3, -1, 1, 10)
	if h.inflight == nil {
		t.Fatalf("no Persist after Recovered")
	}
	if err := h.p.Step(replication.Recovered{Now: h.now}); err == nil {
		t.Fatalf("a second Recovered accepted")
	}
}

func TestGroupCommitQueuesWhileAPersistIsInFlight(t *testing.T) {
	h := newHarness(t, testConfig())
	h.recovered(0, 0)
	rd := h.produce(1, -1, 2, 10)
	if rd.Persist == nil || rd.Persist.Op == 0 || len(rd.Persist.Batches) != 1 {
		t.Fatalf("first produce: want a Persist of one batch, got %s", formatReady(rd))
	}
	first := rd.Persist.Op
	var queued [][]byte
	for id := replication.RequestID(2); id <= 4; id++ {
		h.nextSeed++
		b := testBatch(int(id), 20, 0, h.nextSeed)
		queued = append(queued, append([]byte(nil), b...))
		if rd := h.produceBatch(id, -1, b); rd.Persist != nil {
			t.Fatalf("produce %d: a second Persist while %d is in flight", id, first)
		}
	}
	h.written(2, nil)
	if rd := h.p.Ready(); rd.Persist != nil {
		t.Fatalf("Persist before the in-flight one synced")
	}
	rd = h.synced(nil)
	if rd.Persist == nil || rd.Persist.Op == first {
		t.Fatalf("after Synced: want the next Persist, got %s", formatReady(rd))
	}
	if len(rd.Persist.Batches) != 3 {
		t.Fatalf("next Persist carries %d batches, want all 3 queued", len(rd.Persist.Batches))
	}
	// Offsets follow on from the first batch, in arrival order; the records
	// are untouched.
	wantBase := []storage.Offset{2, 4, 7}
	for i, b := range rd.Persist.Batches {
		hd := storage.DecodeBatchHeader(b)
		if hd.BaseOffset != wantBase[i] {
			t.Errorf("batch %d at %d, want %d", i, hd.BaseOffset, wantBase[i])
		}
		if string(b[storage.BatchHeaderSize:]) != string(queued[i][storage.BatchHeaderSize:]) {
			t.Errorf("batch %d: records changed", i)
		}
	}
	h.persist()
	for id, base := range map[replication.RequestID]storage.Offset{1: 0, 2: 2, 3: 4, 4: 7} {
		if r := h.reply(id); r.Err != nil || r.Base != base {
			t.Errorf("produce %d: %s, want base %d", id, replyString(r), base)
		}
	}
	if hw := h.p.HighWatermark(); hw != 11 {
		t.Fatalf("high watermark %d, want 11", hw)
	}
}

func TestGroupCommitBoundedByPersistBytesMax(t *testing.T) {
	size := len(testBatch(1, 39, 0, 0)) // 100 bytes
	cfg := testConfig()
	cfg.PersistBytesMax = 2*size + size/2
	h := newHarness(t, cfg)
	h.recovered(0, 0)
	h.produce(1, 1, 1, 39)
	for id := replication.RequestID(2); id <= 6; id++ {
		h.produce(id, 1, 1, 39)
	}
	// A batch larger than the bound still goes, alone.
	h.produce(7, 1, 1, 3*size)
	h.produce(8, 1, 1, 39)
	var got []int
	for h.inflight != nil {
		got = append(got, len(h.inflight.Batches))
		total := 0
		for _, b := range h.inflight.Batches {
			total += len(b)
		}
		if len(h.inflight.Batches) > 1 && total > cfg.PersistBytesMax {
			t.Errorf("Persist %d: %d bytes over PersistBytesMax %d", h.inflight.Op, total, cfg.PersistBytesMax)
		}
		h.persist()
	}
	if want := []int{1, 2, 2, 1, 1, 1}; !slices.Equal(got, want) {
		t.Fatalf("Persist sizes %v, want %v", got, want)
	}
	if hw := h.p.HighWatermark(); hw != 8 {
		t.Fatalf("high watermark %d, want 8", hw)
	}
}

func TestPersistStampsBaseOffsetAndEpoch(t *testing.T) {
	cfg := testConfig()
	cfg.Epoch = 7
	h := newHarness(t, cfg)
	h.recovered(40, 42)
	h.at(5)
	orig := testBatch(3, 10, 123, 9)
	rd := h.produceBatch(1, 1, append([]byte(nil), orig...))
	hd, err := storage.ValidateBatch(rd.Persist.Batches[0])
	if err != nil {
		t.Fatalf("persisted batch invalid: %v", err)
	}
	if hd.BaseOffset != 42 || hd.PartitionLeaderEpoch != 7 {
		t.Fatalf("batch at %d epoch %d, want 42 epoch 7", hd.BaseOffset, hd.PartitionLeaderEpoch)
	}
	// CreateTime: the producer's timestamps and the CRC stay as sent.
	if o := storage.DecodeBatchHeader(orig); hd.MaxTimestamp != o.MaxTimestamp || hd.CRC != o.CRC || hd.Attributes != o.Attributes {
		t.Fatalf("CreateTime batch rewritten: max-ts %d crc %08x attrs %d, sent %d %08x %d",
			hd.MaxTimestamp, hd.CRC, hd.Attributes, o.MaxTimestamp, o.CRC, o.Attributes)
	}
	h.persist()
	if r := h.reply(1); r.Base != 42 {
		t.Fatalf("reply base %d, want 42", r.Base)
	}
}

func TestPersistStampsLogAppendTime(t *testing.T) {
	cfg := testConfig()
	cfg.LogAppendTime = true
	h := newHarness(t, cfg)
	h.recovered(0, 0)
	h.at(1000)
	rd := h.produce(1, -1, 2, 10)
	checkLogAppendTime(t, rd.Persist.Batches[0], h.now.WallMs)
	// A batch that waited in the queue is stamped when its Persist is built.
	h.at(1500)
	h.produce(2, -1, 1, 10)
	h.at(2000)
	h.written(2, nil)
	rd = h.synced(nil)
	checkLogAppendTime(t, rd.Persist.Batches[0], h.now.WallMs)
}

func checkLogAppendTime(t *testing.T, b []byte, wantMs int64) {
	t.Helper()
	hd, err := storage.ValidateBatch(b)
	if err != nil {
		t.Fatalf("LogAppendTime batch fails validation (CRC not recomputed?): %v", err)
	}
	if hd.Attributes&attrLogAppendTime == 0 {
		t.Errorf("LogAppendTime attribute not set: %#x", hd.Attributes)
	}
	if hd.MaxTimestamp != wantMs {
		t.Errorf("MaxTimestamp %d, want the append time %d", hd.MaxTimestamp, wantMs)
	}
}

func TestRepliesReleasedByTheCompletionThatCoversThem(t *testing.T) {
	h := newHarness(t, testConfig())
	h.recovered(0, 0)
	h.produce(1, -1, 1, 10) // op 1
	h.produce(2, 0, 2, 10)  // op 2 from here on
	h.produce(3, 1, 1, 10)
	h.produce(4, -1, 3, 10)
	h.persist()
	if h.hw != 1 {
		t.Fatalf("high watermark %d after op 1, want 1", h.hw)
	}
	rd := h.written(h.persistEnd(), nil)
	if got := replyIDs(rd); !slices.Equal(got, []replication.RequestID{2, 3}) {
		t.Fatalf("Written released %v, want the acks=0 and acks=1 produces [2 3]", got)
	}
	h.unanswered(4)
	if hw := h.p.HighWatermark(); hw != 1 {
		t.Fatalf("Written moved the high watermark to %d", hw)
	}
	// Nothing else happening in between releases acks=-1 either.
	h.fetch(9, 1, 1000, 0, 0)
	h.tick(1)
	h.unanswered(4)
	rd = h.synced(nil)
	if got := replyIDs(rd); !slices.Contains(got, 4) {
		t.Fatalf("Synced did not release the acks=-1 produce: %v", got)
	}
	r := h.reply(4)
	if r.Base != 4 || r.HighWatermark != 7 {
		t.Fatalf("acks=-1 reply %s, want base 4 hw 7", replyString(r))
	}
	if r := h.reply(2); r.Base != 1 {
		t.Fatalf("acks=0 reply %s, want base 1", replyString(r))
	}
	if r := h.reply(3); r.Base != 3 {
		t.Fatalf("acks=1 reply %s, want base 3", replyString(r))
	}
}

func TestWriteNoSpaceFailsTheRestAndFreesTheirOffsets(t *testing.T) {
	h := newHarness(t, testConfig())
	h.recovered(10, 10)
	h.produce(1, 1, 1, 10) // op 1: [10, 11)
	h.produce(2, -1, 2, 10)
	h.produce(3, 1, 1, 10)
	h.produce(4, -1, 1, 10)
	h.persist() // op 2: 2 at [11, 13), 3 at [13, 14), 4 at [14, 15)
	if end := h.persistEnd(); end != 15 {
		t.Fatalf("op 2 ends at %d, want 15", end)
	}
	rd := h.written(13, errNoSpace)
	for _, id := range []replication.RequestID{3, 4} {
		if r := h.reply(id); !errors.Is(r.Err, replication.ErrStorage) {
			t.Errorf("produce %d past the failed write: %s, want ErrStorage", id, replyString(r))
		}
	}
	if got := replyIDs(rd); len(got) != 2 {
		t.Errorf("Written answered %v, want only the failed [3 4]", got)
	}
	h.unanswered(2)
	rd = h.synced(nil)
	if r := h.reply(2); r.Err != nil || r.Base != 11 {
		t.Fatalf("acks=-1 produce below the failure: %s, want base 11", replyString(r))
	}
	if hw := h.p.HighWatermark(); hw != 13 {
		t.Fatalf("high watermark %d, want the written end 13", hw)
	}
	// The partition keeps serving; the next batch reuses the freed offsets.
	rd = h.produce(5, -1, 1, 10)
	if rd.Persist == nil {
		t.Fatalf("no Persist after a retryable write failure")
	}
	if base := storage.DecodeBatchHeader(rd.Persist.Batches[0]).BaseOffset; base != 13 {
		t.Fatalf("next batch at %d, want the freed offset 13", base)
	}
	h.persist()
	if r := h.reply(5); r.Err != nil || r.Base != 13 {
		t.Fatalf("produce after the failure: %s", replyString(r))
	}
}

func TestWriteNoSpaceOnTheFirstBatchWithAQueue(t *testing.T) {
	h := newHarness(t, testConfig())
	h.recovered(0, 0)
	h.produce(1, -1, 2, 10)
	h.produce(2, -1, 1, 10) // queued
	h.written(0, errNoSpace)
	if r := h.reply(1); !errors.Is(r.Err, replication.ErrStorage) {
		t.Fatalf("produce 1: %s, want ErrStorage", replyString(r))
	}
	rd := h.synced(nil)
	if rd.Persist == nil || storage.DecodeBatchHeader(rd.Persist.Batches[0]).BaseOffset != 0 {
		t.Fatalf("queued batch: want a Persist at offset 0, got %s", formatReady(rd))
	}
	h.persist()
	if r := h.reply(2); r.Err != nil || r.Base != 0 {
		t.Fatalf("produce 2: %s, want base 0", replyString(r))
	}
}

func TestWriteOnAFailedLogFailStopsThePartition(t *testing.T) {
	h := newHarness(t, testConfig())
	h.recovered(0, 0)
	h.produce(1, 1, 1, 10)
	h.produce(2, -1, 1, 10)
	h.persist()
	h.produce(3, -1, 1, 10) // queued behind op 2
	rd := h.written(1, fmt.Errorf("%w: earlier corruption", storage.ErrFailed))
	if rd.Failure == nil || rd.Failure.ProcessFatal {
		t.Fatalf("Written(ErrFailed): want a partition (not process) failure, got %s", formatReady(rd))
	}
	for _, id := range []replication.RequestID{2, 3} {
		if r := h.reply(id); !errors.Is(r.Err, replication.ErrFailed) {
			t.Errorf("produce %d: %s, want ErrFailed", id, replyString(r))
		}
	}
	h.produce(4, 1, 1, 10)
	if r := h.reply(4); !errors.Is(r.Err, replication.ErrFailed) {
		t.Fatalf("produce after the failure: %s, want ErrFailed", replyString(r))
	}
	if rd := h.p.Ready(); rd.Deadline != 0 || rd.Persist != nil {
		t.Fatalf("a failed partition still wants work: %s", formatReady(rd))
	}
}

// TestWriteFailedBySyncIsProcessFatal: a write that failed because the log
// fail-stopped on a sync (Fatal: a roll syncs the segment it leaves) stops
// the process, even when the sync's error was ENOSPC, which a write alone
// retries. Before, it stopped only the partition, which then stayed
// offline with nothing corrupt (simulator seed 163135402998498: a sync EIO
// at a roll of 4 KiB segments).
func TestWriteFailedBySyncIsProcessFatal(t *testing.T) {
	for name, err := range map[string]error{"EIO": env.ErrIO, "ENOSPC": env.ErrNoSpace} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			h.recovered(0, 0)
			h.produce(1, -1, 1, 10)
			rd := h.step(replication.Written{Now: h.now, Op: h.inflight.Op, UpTo: 0,
				Err: fmt.Errorf("storage: sync 00000000000000000000.log: %w", err), Fatal: true})
			if rd.Failure == nil || !rd.Failure.ProcessFatal || !errors.Is(rd.Failure.Err, err) {
				t.Fatalf("Written(%s, Fatal): want a process-fatal failure carrying the error, got %s", name, formatReady(rd))
			}
			if r := h.reply(1); !errors.Is(r.Err, replication.ErrFailed) {
				t.Fatalf("produce 1: %s, want ErrFailed", replyString(r))
			}
		})
	}
}

// syncFailureSetup leaves a partition with: op 1 synced; op 2 (produce 2,
// acks=-1) written, awaiting Synced; produce 3 queued; fetch 4 parked at the
// high watermark; fetch 5 waiting for a Read.
func syncFailureSetup(t *testing.T) *harness {
	cfg := testConfig()
	cfg.TailBytesMax = 0
	h := newHarness(t, cfg)
	h.recovered(0, 3)
	h.produce(1, -1, 1, 10)
	h.persist()
	h.produce(2, -1, 1, 10)
	h.produce(3, -1, 1, 10)
	h.fetch(4, 4, 1000, 0, 100)
	h.fetch(5, 0, 1000, 0, 100)
	if _, ok := h.reads[5]; !ok {
		t.Fatalf("fetch 5 did not ask for a Read")
	}
	h.written(5, nil)
	return h
}

func TestSyncFailureIsProcessFatalAndAnswersEveryone(t *testing.T) {
	h := syncFailureSetup(t)
	rd := h.synced(fmt.Errorf("fsync: %w", env.ErrIO))
	if rd.Failure == nil || !rd.Failure.ProcessFatal || !errors.Is(rd.Failure.Err, env.ErrIO) {
		t.Fatalf("Synced(EIO): want a process-fatal failure carrying the error, got %s", formatReady(rd))
	}
	if rd.Persist != nil {
		t.Fatalf("a Persist after a failed sync: the queued batch must not be written")
	}
	for _, id := range []replication.RequestID{2, 3, 4, 5} {
		if r := h.reply(id); !errors.Is(r.Err, replication.ErrFailed) {
			t.Errorf("request %d: %s, want ErrFailed", id, replyString(r))
		}
	}
	if hw := h.p.HighWatermark(); hw != 4 {
		t.Errorf("high watermark %d after a failed sync, want it left at 4", hw)
	}
	// Later requests fail at once; later completions change nothing.
	h.produce(6, 1, 1, 10)
	h.fetch(7, 0, 1000, 0, 100)
	for _, id := range []replication.RequestID{6, 7} {
		if r := h.reply(id); !errors.Is(r.Err, replication.ErrFailed) {
			t.Errorf("request %d after the failure: %s, want ErrFailed", id, replyString(r))
		}
	}
	for _, ev := range []replication.Event{
		replication.ReadDone{Now: h.now, ID: 5},
		replication.Written{Now: h.now, Op: 2, UpTo: 5},
		replication.Synced{Now: h.now, Op: 2, UpTo: 5},
		replication.BackgroundDone{Now: h.now, Task: 1},
		replication.Tick{Now: h.now.AddMs(1 << 30)},
	} {
		if rd := h.step(ev); len(rd.Replies) != 0 || rd.Persist != nil || len(rd.Background) != 0 || rd.Deadline != 0 {
			t.Errorf("%T after the failure did something: %s", ev, formatReady(rd))
		}
	}
	if hw := h.p.HighWatermark(); hw != 4 {
		t.Errorf("a completion after the failure moved the high watermark to %d", hw)
	}
}

// A sync failure must not answer a second time the requests the Written
// before it already answered: acks=0/1 successes and write failures.
func TestSyncFailureAnswersEachRequestOnce(t *testing.T) {
	h := newHarness(t, testConfig())
	h.recovered(0, 0)
	h.produce(1, 1, 1, 10)  // op 1
	h.produce(2, 1, 1, 10)  // op 2, written: answered at Written
	h.produce(3, 0, 1, 10)  // op 2, written: answered at Written
	h.produce(4, -1, 1, 10) // op 2, written: waits for Synced
	h.produce(5, 1, 1, 10)  // op 2, ENOSPC: answered at Written
	h.persist()             // op 1
	h.written(4, errNoSpace)
	before := map[replication.RequestID]replication.Reply{}
	for _, id := range []replication.RequestID{2, 3, 5} {
		before[id] = h.reply(id)
	}
	rd := h.synced(fmt.Errorf("fsync: %w", env.ErrIO))
	if got := replyIDs(rd); !slices.Equal(got, []replication.RequestID{4}) {
		t.Errorf("the failed sync answered %v, want only the unanswered acks=-1 produce [4]", got)
	}
	if r := h.reply(4); !errors.Is(r.Err, replication.ErrFailed) {
		t.Errorf("produce 4: %s, want ErrFailed", replyString(r))
	}
}

// The partition checkpoints on an interval of wall time: the first Persist
// built once CheckpointIntervalMs has passed since the last checkpoint (or
// recovery) carries Checkpoint, and the interval restarts from it.
func TestCheckpointInterval(t *testing.T) {
	cfg := testConfig()
	cfg.CheckpointIntervalMs = 1000
	h := newHarness(t, cfg)
	h.recovered(0, 0)
	var got []string
	for i, ms := range []int64{100, 900, 1100, 1500, 2050, 2150, 5000} {
		h.at(ms)
		rd := h.produce(replication.RequestID(i+1), -1, 1, 10)
		if rd.Persist == nil {
			t.Fatalf("no Persist at %dms", ms)
		}
		got = append(got, fmt.Sprintf("%d:%v", ms, rd.Persist.Checkpoint))
		h.persist()
	}
	want := []string{"100:false", "900:false", "1100:true", "1500:false", "2050:false", "2150:true", "5000:true"}
	if !slices.Equal(got, want) {
		t.Fatalf("checkpoints (ms:flag)\n got %v\nwant %v", got, want)
	}
}

// Zero means every Persist checkpoints.
func TestCheckpointIntervalZero(t *testing.T) {
	cfg := testConfig()
	cfg.CheckpointIntervalMs = 0
	h := newHarness(t, cfg)
	h.recovered(0, 0)
	for i := 1; i <= 3; i++ {
		rd := h.produce(replication.RequestID(i), -1, 1, 10)
		if !rd.Persist.Checkpoint {
			t.Errorf("Persist %d without Checkpoint at interval 0", rd.Persist.Op)
		}
		h.persist()
	}
}

// A produce that is not a batch is answered ErrInvalidBatch (bad input is
// an error reply, never a Step error: STYLE rule 16) without disturbing the
// partition.
func TestProduceNotABatchIsRefused(t *testing.T) {
	h := newHarness(t, testConfig())
	h.recovered(0, 0)
	h.request(1, request{acks: 1, records: 1})
	rd := h.step(replication.Produce{Now: h.now, ID: 1, Batch: []byte("short"), Acks: 1})
	if rd.Persist != nil {
		t.Fatalf("short batch: Ready %s", formatReady(rd))
	}
	if r := h.reply(1); !errors.Is(r.Err, replication.ErrInvalidBatch) {
		t.Fatalf("short batch answered %s, want ErrInvalidBatch", replyString(r))
	}
	h.produce(2, 1, 1, 10)
	h.persist()
	if r := h.reply(2); r.Err != nil || r.Base != 0 {
		t.Fatalf("produce after the refused one: %s", replyString(r))
	}
}

// Completions that do not match the in-flight Persist are refused.
func TestUnexpectedCompletionsAreRefused(t *testing.T) {
	h := newHarness(t, testConfig())
	h.recovered(0, 0)
	h.produce(1, -1, 1, 10)
	op := h.inflight.Op
	cases := []replication.Event{
		replication.Synced{Now: h.now, Op: op, UpTo: 1},      // before Written
		replication.Written{Now: h.now, Op: op + 1, UpTo: 1}, // wrong op
		replication.BackgroundDone{Now: h.now, Task: 99},     // no such task
	}
	for _, ev := range cases {
		if err := h.p.Step(ev); err == nil {
			t.Errorf("%T %+v accepted", ev, ev)
		}
	}
	h.persist()
	if err := h.p.Step(replication.Written{Now: h.now, Op: op, UpTo: 1}); err == nil {
		t.Errorf("a second Written for a synced op accepted")
	}
	if r := h.reply(1); r.Err != nil {
		t.Fatalf("produce: %s", replyString(r))
	}
}
