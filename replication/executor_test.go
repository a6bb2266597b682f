package replication_test

// Goal: the partition against the real storage.Log (over the simulated disk
// sim/simfs), with a minimal in-order executor that follows Ready's
// documented recipe: Persist → AppendAssigned each batch, Written, Sync,
// Synced, Checkpoint; Reads → Log.Read; Retention → DeletableSegments and
// DeleteSegmentsBelow in chunks. It checks that what the machine asks for
// is what storage accepts (assigned offsets, epochs, LogAppendTime CRCs,
// offsets reused after ENOSPC), that consumers read back exactly the
// acknowledged batches, that retention moves the log start the replies
// carry, and that a reopened log recovers to the high watermark.

import (
	"errors"
	"fmt"
	"testing"

	"go.uber.org/zap"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/sim/simfs"
	"github.com/takhin-io/takhin/storage"
)

// logExecutor carries out a Partition's Ready against a storage.Log,
// completing everything at once and in order.
type logExecutor struct {
	t   *testing.T
	fs  *simfs.FS
	log *storage.Log
	p   *replication.Partition
	cfg replication.PartitionConfig
	now env.Time

	replies map[replication.RequestID]replication.Reply
	failure *replication.Failure
	hw      storage.Offset
}

func newLogExecutor(t *testing.T, fs *simfs.FS, cfg replication.PartitionConfig, now env.Time) *logExecutor {
	t.Helper()
	log, err := storage.Open(fs, "topic-0", storage.Config{SegmentBytes: 1024, SegmentMs: 1 << 40, IndexIntervalBytes: 256}, now.WallMs)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	x := &logExecutor{t: t, fs: fs, log: log, cfg: cfg, now: now,
		p: replication.NewPartition(cfg, zap.NewNop()), replies: map[replication.RequestID]replication.Reply{}}
	x.step(replication.Recovered{Now: now, Start: log.StartOffset(), End: log.EndOffset(), Epoch: cfg.Epoch})
	return x
}

// step applies ev and then runs every Ready until the partition is idle.
func (x *logExecutor) step(ev replication.Event) {
	x.t.Helper()
	queue := []replication.Event{ev}
	for len(queue) > 0 {
		if err := x.p.Step(queue[0]); err != nil {
			x.t.Fatalf("step %T: %v", queue[0], err)
		}
		queue = queue[1:]
		rd := x.p.Ready()
		x.p.Advance(rd)
		queue = append(queue, x.run(rd)...)
		if hw := x.p.HighWatermark(); hw < x.hw {
			x.t.Fatalf("high watermark went back from %d to %d", x.hw, hw)
		} else {
			x.hw = hw
		}
		if hw := x.p.HighWatermark(); hw > x.log.SyncedEnd() {
			x.t.Fatalf("high watermark %d above the log's synced end %d", hw, x.log.SyncedEnd())
		}
	}
}

// run carries out rd and returns the completions, in order.
func (x *logExecutor) run(rd replication.Ready) []replication.Event {
	var out []replication.Event
	if rd.Persist != nil {
		out = append(out, x.persist(rd.Persist)...)
	}
	for _, r := range rd.Reads {
		res, err := x.log.Read(r.From, r.MaxBytes, r.UpTo)
		out = append(out, replication.ReadDone{Now: x.now, ID: r.ID, Result: res, Err: err})
	}
	for _, task := range rd.Background {
		out = append(out, x.retention(task))
	}
	for _, r := range rd.Replies {
		if _, dup := x.replies[r.ID]; dup {
			x.t.Errorf("request %d answered twice", r.ID)
		}
		x.replies[r.ID] = r
	}
	if rd.Failure != nil {
		x.failure = rd.Failure
	}
	return out
}

func (x *logExecutor) persist(ps *replication.Persist) []replication.Event {
	var werr error
	for _, b := range ps.Batches {
		if _, werr = x.log.AppendAssigned(b, storage.AppendOptions{Epoch: x.cfg.Epoch, NowMs: x.now.WallMs}); werr != nil {
			if !errors.Is(werr, env.ErrNoSpace) && !errors.Is(werr, storage.ErrFailed) {
				x.t.Fatalf("storage refused a persisted batch: %v", werr)
			}
			break
		}
	}
	written := replication.Written{Now: x.now, Op: ps.Op, UpTo: x.log.EndOffset(), Err: werr}
	serr := x.log.Sync()
	synced := replication.Synced{Now: x.now, Op: ps.Op, UpTo: x.log.EndOffset(), Err: serr}
	if serr == nil && ps.Checkpoint {
		if err := x.log.Checkpoint(); err != nil {
			x.t.Fatalf("checkpoint: %v", err)
		}
	}
	return []replication.Event{written, synced}
}

func (x *logExecutor) retention(task replication.Task) replication.Event {
	segs := x.log.Segments()
	n := storage.DeletableSegments(segs, x.log.StartOffset(), *task.Retention)
	more := n > task.ChunkSegments
	n = min(n, task.ChunkSegments)
	var err error
	if n > 0 {
		_, err = x.log.DeleteSegmentsBelow(segs[n].Base, n)
	}
	return replication.BackgroundDone{Now: x.now, Task: task.ID, Start: x.log.StartOffset(), More: more, Err: err}
}

// consume fetches from from to the high watermark and returns the batches.
func (x *logExecutor) consume(from storage.Offset, nextID *replication.RequestID) map[storage.Offset][]byte {
	x.t.Helper()
	got := map[storage.Offset][]byte{}
	for from < x.p.HighWatermark() {
		*nextID++
		id := *nextID
		x.step(replication.Fetch{Now: x.now, ID: id, From: from, MaxBytes: 300})
		r, ok := x.replies[id]
		if !ok || r.Err != nil {
			x.t.Fatalf("fetch from %d: %+v", from, r)
		}
		b := r.Batches
		if len(b) == 0 {
			x.t.Fatalf("fetch from %d below the high watermark %d: nothing", from, r.HighWatermark)
		}
		for len(b) > 0 {
			hd, err := storage.ValidateBatch(b[:storage.DecodeBatchHeader(b).Size()])
			if err != nil {
				x.t.Fatalf("fetched batch invalid: %v", err)
			}
			if hd.BaseOffset != from {
				x.t.Fatalf("fetched batch at %d, want %d", hd.BaseOffset, from)
			}
			got[hd.BaseOffset] = b[:hd.Size()]
			b = b[hd.Size():]
			from = hd.NextOffset()
		}
	}
	return got
}

func TestAgainstTheRealLog(t *testing.T) {
	for _, logAppendTime := range []bool{false, true} {
		t.Run(fmt.Sprintf("log-append-time=%v", logAppendTime), func(t *testing.T) {
			testAgainstTheRealLog(t, logAppendTime)
		})
	}
}

func testAgainstTheRealLog(t *testing.T, logAppendTime bool) {
	fs := simfs.New(env.NewRand(1, "replication-test"), simfs.Options{})
	cfg := testConfig()
	cfg.Epoch = 2
	cfg.LogAppendTime = logAppendTime
	cfg.TailBytesMax = 400
	cfg.PersistBytesMax = 500
	cfg.CheckpointIntervalMs = 50
	cfg.RetentionCheckIntervalMs = 1000
	cfg.RetentionBytes = 2048
	cfg.RetentionChunkSegments = 1
	now := env.Time{Mono: 1, WallMs: wallBaseMs}
	x := newLogExecutor(t, fs, cfg, now)

	acked := map[replication.RequestID][]byte{} // records of each produce
	var id replication.RequestID
	payload := func(id replication.RequestID) int { return 20 + int(id)%50 }
	produce := func(n int) {
		for i := 0; i < n; i++ {
			id++
			b := testBatch(1+int(id)%3, payload(id), x.now.WallMs, byte(id))
			acked[id] = append([]byte(nil), b[storage.BatchHeaderSize:]...)
			x.step(replication.Produce{Now: x.now, ID: id, Batch: b, Acks: []int16{-1, 0, 1}[id%3]})
		}
	}
	for round := 0; round < 10; round++ {
		x.now = x.now.AddMs(30)
		produce(1 + round%4)
	}
	// The disk fills: some produces fail, the log stays whole, and later
	// ones reuse the offsets. The active segment's reserved zeros (see
	// storage's reserveFor) still take small appends, so these are larger
	// than a reservation: they need new space.
	fs.SetCapacity(1) // below what is used: every write needing space fails
	failedFrom := id + 1
	payload = func(replication.RequestID) int { return 300 << 10 }
	produce(3)
	payload = func(id replication.RequestID) int { return 20 + int(id)%50 }
	for i := failedFrom; i <= id; i++ {
		if r := x.replies[i]; !errors.Is(r.Err, replication.ErrStorage) {
			t.Fatalf("produce %d on a full disk: %+v, want ErrStorage", i, r)
		}
		delete(acked, i)
	}
	fs.SetCapacity(0)
	for round := 0; round < 10; round++ {
		x.now = x.now.AddMs(30)
		produce(2)
	}
	if x.failure != nil {
		t.Fatalf("partition failed: %v", x.failure.Err)
	}

	// Every produce answered; the successful ones tile the log.
	offsets := map[replication.RequestID][2]storage.Offset{}
	for i := range acked {
		r, ok := x.replies[i]
		if !ok || r.Err != nil {
			t.Fatalf("produce %d: %+v", i, r)
		}
		offsets[i] = [2]storage.Offset{r.Base, r.Base + storage.Offset(1+int(i)%3)}
	}
	next := storage.Offset(0)
	for _, o := range sortedOffsets(offsets) {
		if o[0] != next {
			t.Fatalf("acknowledged offsets not contiguous at %d (want %d)", o[0], next)
		}
		next = o[1]
	}
	if hw := x.p.HighWatermark(); hw != next || hw != x.log.EndOffset() || hw != x.log.SyncedEnd() {
		t.Fatalf("high watermark %d, acknowledged end %d, log end %d, synced %d", hw, next, x.log.EndOffset(), x.log.SyncedEnd())
	}

	// A consumer reads back exactly the acknowledged batches.
	fetchID := replication.RequestID(1 << 20)
	got := x.consume(0, &fetchID)
	for i, records := range acked {
		b, ok := got[x.replies[i].Base]
		if !ok || string(b[storage.BatchHeaderSize:]) != string(records) {
			t.Fatalf("produce %d at %d: read back differs", i, x.replies[i].Base)
		}
		hd := storage.DecodeBatchHeader(b)
		if hd.PartitionLeaderEpoch != cfg.Epoch || (hd.Attributes&attrLogAppendTime != 0) != logAppendTime {
			t.Fatalf("batch at %d: epoch %d attributes %#x", hd.BaseOffset, hd.PartitionLeaderEpoch, hd.Attributes)
		}
	}

	// Retention trims to retention.bytes, in one-segment chunks.
	x.now = env.Time{Mono: ns(1001), WallMs: x.now.WallMs}
	x.step(replication.Tick{Now: x.now})
	if x.p.LogStart() == 0 || x.p.LogStart() != x.log.StartOffset() {
		t.Fatalf("log start %d after retention, log says %d", x.p.LogStart(), x.log.StartOffset())
	}
	if x.log.SizeBytes() > 2048+1024 {
		t.Fatalf("retention left %d bytes", x.log.SizeBytes())
	}
	fetchID++
	x.step(replication.Fetch{Now: x.now, ID: fetchID, From: 0, MaxBytes: 100})
	if r := x.replies[fetchID]; !errors.Is(r.Err, replication.ErrOffsetOutOfRange) || r.LogStart != x.log.StartOffset() {
		t.Fatalf("fetch below the new start: %+v", r)
	}

	// Reopened, the log recovers to the high watermark and serves the same
	// bytes through a new partition.
	hw, start := x.p.HighWatermark(), x.p.LogStart()
	if err := x.log.Close(); err != nil {
		t.Fatal(err)
	}
	y := newLogExecutor(t, fs, cfg, x.now.AddMs(1))
	if y.p.HighWatermark() != hw || y.p.LogStart() != start {
		t.Fatalf("reopened at [%d, %d), want [%d, %d)", y.p.LogStart(), y.p.HighWatermark(), start, hw)
	}
	again := y.consume(start, &fetchID)
	for base, b := range again {
		if string(got[base]) != string(b) {
			t.Fatalf("batch at %d differs after reopening", base)
		}
	}
}
