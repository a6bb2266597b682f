package replication_test

// Goal: one hand-driven harness for every Partition test. It plays the
// executor by hand (each completion is an explicit call), keeps a model of
// what the executor wrote, prints every Ready in a fixed format (the
// datadriven transcripts and the determinism test compare it), and checks,
// after every Ready, the invariants no test should have to repeat:
//
//   - every reply answers a request that was made, and only once;
//   - the high watermark never goes backwards;
//   - an acks=-1 success appears only in the Ready after a Synced, and its
//     batch lies below the high watermark; an acks=0/1 success appears only
//     after a Written;
//   - a fetch reply holds whole, CRC-valid batches, all below the high
//     watermark, byte for byte what the executor wrote;
//   - a Persist appears only when none is in flight, its batches are valid,
//     contiguous, start at the written end and carry the configured epoch.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.uber.org/zap"
	"pgregory.net/rapid"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

// The v2 batch header layout (storage keeps its offsets unexported).
const (
	offBatchLength     = 8
	offMagic           = 16
	offCRC             = 17
	offAttributes      = 21
	offLastOffsetDelta = 23
	offBaseTimestamp   = 27
	offMaxTimestamp    = 35
	offProducerID      = 43
	offProducerEpoch   = 51
	offBaseSequence    = 53
	offRecordCount     = 57
	batchLengthBase    = 12
	attrLogAppendTime  = 1 << 3
)

// wallBaseMs is the wall clock at harness time 0; transcripts print wall
// times relative to it.
const wallBaseMs = 1_700_000_000_000

// testBatch builds a v2 batch of n records whose opaque record bytes are
// payloadBytes bytes derived from seed, timestamps ts..ts+n-1, a
// non-idempotent producer and a correct CRC. Base offset and epoch are 0:
// the partition assigns them.
func testBatch(n, payloadBytes int, ts int64, seed byte) []byte {
	b := make([]byte, storage.BatchHeaderSize, storage.BatchHeaderSize+payloadBytes)
	be := binary.BigEndian
	be.PutUint32(b[offBatchLength:], uint32(storage.BatchHeaderSize-batchLengthBase+payloadBytes))
	b[offMagic] = 2
	be.PutUint32(b[offLastOffsetDelta:], uint32(n-1))
	be.PutUint64(b[offBaseTimestamp:], uint64(ts))
	be.PutUint64(b[offMaxTimestamp:], uint64(ts+int64(n)-1))
	be.PutUint64(b[offProducerID:], ^uint64(0))
	be.PutUint16(b[offProducerEpoch:], ^uint16(0))
	be.PutUint32(b[offBaseSequence:], ^uint32(0))
	be.PutUint32(b[offRecordCount:], uint32(n))
	for i := 0; i < payloadBytes; i++ {
		b = append(b, seed+byte(i))
	}
	be.PutUint32(b[offCRC:], storage.BatchCRC(b))
	return b
}

// splitBatches splits concatenated batches, failing on any invalid one.
func splitBatches(t rapid.TB, b []byte) []storage.BatchHeader {
	t.Helper()
	var out []storage.BatchHeader
	for len(b) > 0 {
		if len(b) < storage.BatchHeaderSize {
			t.Fatalf("%d trailing bytes are not a batch", len(b))
		}
		size := storage.DecodeBatchHeader(b).Size()
		if size > int64(len(b)) {
			t.Fatalf("batch of %d bytes with %d left", size, len(b))
		}
		h, err := storage.ValidateBatch(b[:size])
		if err != nil {
			t.Fatalf("invalid batch in a reply: %v", err)
		}
		out = append(out, h)
		b = b[size:]
	}
	return out
}

// request is what the harness remembers of one request it made.
type request struct {
	admin   bool // DeleteRecords, Producers, LogSize: checked by their tests
	fetch   bool
	from    storage.Offset // fetch
	acks    int16          // produce
	records int            // produce
}

// diskBatch is one batch the executor wrote.
type diskBatch struct {
	base, next storage.Offset
	bytes      []byte
}

// harness drives one Partition. Every event method steps the machine,
// takes its Ready, checks it, appends it to the transcript, advances, and
// returns it.
type harness struct {
	t   rapid.TB
	cfg replication.PartitionConfig
	p   *replication.Partition
	now env.Time

	requests map[replication.RequestID]request
	answered map[replication.RequestID]replication.Reply
	appended map[replication.RequestID][2]storage.Offset // successful produces: base, next

	inflight        *replication.Persist // the Persist being carried out
	inflightWritten bool                 // Written was delivered for inflight
	reads           map[replication.RequestID]replication.Read
	tasks           map[uint64]replication.Task
	disk            []diskBatch // what the executor wrote, in offset order
	diskEnd         storage.Offset
	lastEvent       replication.Event
	hw              storage.Offset
	out             strings.Builder
	nextSeed        byte
	allReadies      []replication.Ready
	failure         *replication.Failure // the first Failure seen
}

func testConfig() replication.PartitionConfig {
	cfg := replication.DefaultPartitionConfig("topic", 0)
	return cfg
}

func newHarness(t rapid.TB, cfg replication.PartitionConfig) *harness {
	return &harness{
		t: t, cfg: cfg, p: replication.NewPartition(cfg, zap.NewNop()),
		now:      env.Time{Mono: 0, WallMs: wallBaseMs},
		requests: map[replication.RequestID]request{},
		answered: map[replication.RequestID]replication.Reply{},
		appended: map[replication.RequestID][2]storage.Offset{},
		reads:    map[replication.RequestID]replication.Read{},
		tasks:    map[uint64]replication.Task{},
	}
}

// at sets the harness clock to ms milliseconds (both clocks).
func (h *harness) at(ms int64) { h.now = env.Time{Mono: ms * 1_000_000, WallMs: wallBaseMs + ms} }

// ns converts harness milliseconds to a monotonic deadline.
func ns(ms int64) int64 { return ms * 1_000_000 }

// step applies ev, which must succeed, and processes the Ready.
func (h *harness) step(ev replication.Event) replication.Ready {
	h.t.Helper()
	if err := h.p.Step(ev); err != nil {
		h.t.Fatalf("step %T: %v", ev, err)
	}
	h.lastEvent = ev
	return h.ready()
}

// stepErr applies ev, which must be refused, and processes the Ready.
func (h *harness) stepErr(ev replication.Event) (replication.Ready, error) {
	h.t.Helper()
	err := h.p.Step(ev)
	if err == nil {
		h.t.Fatalf("step %T: want an error", ev)
	}
	h.lastEvent = ev
	return h.ready(), err
}

func (h *harness) recovered(start, end storage.Offset) replication.Ready {
	h.t.Helper()
	// The executor recovered [start, end): one-record batches.
	h.disk, h.diskEnd = nil, end
	for o := start; o < end; o++ {
		b := testBatch(1, 4, h.now.WallMs, byte(o))
		storage.AssignBatch(b, o, h.cfg.Epoch, 0, false)
		h.disk = append(h.disk, diskBatch{base: o, next: o + 1, bytes: b})
	}
	h.hw = end
	return h.step(replication.Recovered{Now: h.now, Start: start, End: end, Epoch: h.cfg.Epoch})
}

// produce sends a batch of records records with payloadBytes record bytes.
func (h *harness) produce(id replication.RequestID, acks int16, records, payloadBytes int) replication.Ready {
	h.t.Helper()
	h.nextSeed++
	return h.produceBatch(id, acks, testBatch(records, payloadBytes, h.now.WallMs-wallBaseMs, h.nextSeed))
}

func (h *harness) produceBatch(id replication.RequestID, acks int16, batch []byte) replication.Ready {
	h.t.Helper()
	h.request(id, request{acks: acks, records: int(storage.DecodeBatchHeader(batch).LastOffsetDelta) + 1})
	return h.step(replication.Produce{Now: h.now, ID: id, Batch: batch, Acks: acks})
}

func (h *harness) request(id replication.RequestID, r request) {
	h.t.Helper()
	if _, ok := h.requests[id]; ok {
		h.t.Fatalf("test bug: request id %d reused", id)
	}
	h.requests[id] = r
}

// fetch sends a fetch with a deadline in harness milliseconds (0: at once).
func (h *harness) fetch(id replication.RequestID, from storage.Offset, maxBytes, minBytes int, deadlineMs int64) replication.Ready {
	h.t.Helper()
	h.request(id, request{fetch: true, from: from})
	return h.step(replication.Fetch{Now: h.now, ID: id, From: from, MaxBytes: maxBytes, MinBytes: minBytes, Deadline: ns(deadlineMs)})
}

// persistEnd is the offset after the in-flight Persist's last batch.
func (h *harness) persistEnd() storage.Offset {
	h.t.Helper()
	if h.inflight == nil {
		h.t.Fatalf("no Persist in flight")
	}
	return storage.DecodeBatchHeader(h.inflight.Batches[len(h.inflight.Batches)-1]).NextOffset()
}

// written completes the write half of the in-flight Persist up to upTo.
func (h *harness) written(upTo storage.Offset, err error) replication.Ready {
	h.t.Helper()
	if h.inflight == nil || h.inflightWritten {
		h.t.Fatalf("test bug: nothing to write")
	}
	h.inflightWritten = true
	for _, b := range h.inflight.Batches {
		hd := storage.DecodeBatchHeader(b)
		if hd.NextOffset() <= upTo && !errors.Is(err, storage.ErrFailed) {
			h.disk = append(h.disk, diskBatch{base: hd.BaseOffset, next: hd.NextOffset(), bytes: append([]byte(nil), b...)})
			h.diskEnd = hd.NextOffset()
		}
	}
	return h.step(replication.Written{Now: h.now, Op: h.inflight.Op, UpTo: upTo, Err: err})
}

// synced completes the sync half of the in-flight Persist.
func (h *harness) synced(err error) replication.Ready {
	h.t.Helper()
	if h.inflight == nil || !h.inflightWritten {
		h.t.Fatalf("test bug: nothing to sync")
	}
	op := h.inflight.Op
	h.inflight, h.inflightWritten = nil, false
	return h.step(replication.Synced{Now: h.now, Op: op, UpTo: h.diskEnd, Err: err})
}

// persist completes the in-flight Persist fully: written, then synced. It
// returns the Ready after Written and the Ready after Synced.
func (h *harness) persist() (replication.Ready, replication.Ready) {
	h.t.Helper()
	w := h.written(h.persistEnd(), nil)
	return w, h.synced(nil)
}

// readResult is what storage.Log.Read would return from the disk model.
func (h *harness) readResult(r replication.Read) storage.ReadResult {
	var out []byte
	next := r.From
	for _, b := range h.disk {
		if b.next <= r.From {
			continue
		}
		if b.next > r.UpTo || (len(out) > 0 && len(out)+len(b.bytes) > r.MaxBytes) {
			break
		}
		out = append(out, b.bytes...)
		next = b.next
	}
	return storage.ReadResult{Batches: out, Next: next}
}

// readDone completes the Read of fetch id, from the disk model unless err.
func (h *harness) readDone(id replication.RequestID, err error) replication.Ready {
	h.t.Helper()
	r, ok := h.reads[id]
	if !ok {
		h.t.Fatalf("test bug: no Read for %d", id)
	}
	delete(h.reads, id)
	var res storage.ReadResult
	if err == nil {
		res = h.readResult(r)
	}
	return h.step(replication.ReadDone{Now: h.now, ID: id, Result: res, Err: err})
}

// backgroundDone completes task id; start is the log start after it.
func (h *harness) backgroundDone(id uint64, start storage.Offset, more bool, err error) replication.Ready {
	h.t.Helper()
	if _, ok := h.tasks[id]; !ok {
		h.t.Fatalf("test bug: no task %d", id)
	}
	delete(h.tasks, id)
	return h.step(replication.BackgroundDone{Now: h.now, Task: id, Start: start, More: more, Err: err})
}

// tick moves the clock to ms and delivers a Tick.
func (h *harness) tick(ms int64) replication.Ready {
	h.t.Helper()
	h.at(ms)
	return h.step(replication.Tick{Now: h.now})
}

// ready takes the machine's Ready, checks it, records it and advances.
func (h *harness) ready() replication.Ready {
	h.t.Helper()
	rd := h.p.Ready()
	h.allReadies = append(h.allReadies, rd)
	h.check(rd)
	h.out.WriteString(formatReady(rd))
	if h.p.HasReady() {
		h.p.Advance(rd)
	}
	if h.p.HasReady() {
		h.t.Fatalf("HasReady after Advance")
	}
	return rd
}

func (h *harness) check(rd replication.Ready) {
	h.t.Helper()
	if hw := h.p.HighWatermark(); hw < h.hw {
		h.t.Errorf("high watermark went back from %d to %d", h.hw, hw)
	} else {
		h.hw = hw
	}
	if rd.Failure != nil && h.failure == nil {
		h.failure = rd.Failure
	}
	if rd.Persist != nil {
		h.checkPersist(rd.Persist)
	}
	for _, r := range rd.Reads {
		if _, ok := h.reads[r.ID]; ok {
			h.t.Errorf("second Read for fetch %d", r.ID)
		}
		if !r.Stat && r.UpTo != h.p.HighWatermark() {
			h.t.Errorf("Read for %d up to %d, want the high watermark %d", r.ID, r.UpTo, h.p.HighWatermark())
		}
		h.reads[r.ID] = r
	}
	for _, task := range rd.Background {
		h.tasks[task.ID] = task
	}
	for _, r := range rd.Replies {
		h.checkReply(r)
	}
}

func (h *harness) checkPersist(ps *replication.Persist) {
	h.t.Helper()
	if h.inflight != nil {
		h.t.Errorf("Persist %d while %d is in flight", ps.Op, h.inflight.Op)
	}
	if len(ps.Batches) == 0 {
		h.t.Errorf("Persist %d without batches", ps.Op)
	}
	next := h.diskEnd
	for _, b := range ps.Batches {
		hd, err := storage.ValidateBatch(b)
		if err != nil {
			h.t.Errorf("Persist %d: invalid batch: %v", ps.Op, err)
			continue
		}
		if hd.BaseOffset != next {
			h.t.Errorf("Persist %d: batch at %d, want %d (contiguous from the written end)", ps.Op, hd.BaseOffset, next)
		}
		if hd.PartitionLeaderEpoch != h.cfg.Epoch {
			h.t.Errorf("Persist %d: epoch %d, want %d", ps.Op, hd.PartitionLeaderEpoch, h.cfg.Epoch)
		}
		next = hd.NextOffset()
	}
	cp := *ps
	h.inflight, h.inflightWritten = &cp, false
}

func (h *harness) checkReply(r replication.Reply) {
	h.t.Helper()
	req, ok := h.requests[r.ID]
	if !ok {
		h.t.Errorf("reply to unknown request %d", r.ID)
		return
	}
	if prev, dup := h.answered[r.ID]; dup {
		h.t.Errorf("request %d answered twice: first %s, then %s", r.ID, replyString(prev), replyString(r))
	}
	h.answered[r.ID] = r
	switch {
	case r.Err != nil, req.admin:
	case req.fetch:
		h.checkFetchReply(r, req.from)
	default:
		h.checkProduceReply(r, req)
	}
}

func (h *harness) checkProduceReply(r replication.Reply, req request) {
	h.t.Helper()
	next := r.Base + storage.Offset(req.records)
	h.appended[r.ID] = [2]storage.Offset{r.Base, next}
	switch _, synced := h.lastEvent.(replication.Synced); {
	case req.acks == -1 && !synced:
		h.t.Errorf("acks=-1 produce %d answered after a %T, not a Synced", r.ID, h.lastEvent)
	case req.acks == -1 && next > h.p.HighWatermark():
		h.t.Errorf("acks=-1 produce %d [%d, %d) answered above the high watermark %d", r.ID, r.Base, next, h.p.HighWatermark())
	case req.acks != -1 && synced && h.cfg.FlushMessages > 0:
		// flush.messages held it for the sync.
	case req.acks != -1:
		if _, written := h.lastEvent.(replication.Written); !written {
			h.t.Errorf("acks=%d produce %d answered after a %T, not a Written", req.acks, r.ID, h.lastEvent)
		}
	}
}

func (h *harness) checkFetchReply(r replication.Reply, from storage.Offset) {
	h.t.Helper()
	headers := splitBatches(h.t, r.Batches)
	switch {
	case len(headers) == 0 && from < r.HighWatermark:
		h.t.Errorf("fetch %d from %d: answered empty below the high watermark %d", r.ID, from, r.HighWatermark)
	case len(headers) > 0 && (headers[0].BaseOffset > from || headers[0].NextOffset() <= from):
		h.t.Errorf("fetch %d from %d: first batch is [%d, %d), not the one holding %d",
			r.ID, from, headers[0].BaseOffset, headers[0].NextOffset(), from)
	}
	if r.HighWatermark != h.p.HighWatermark() {
		h.t.Errorf("fetch %d: reply carries high watermark %d, machine has %d", r.ID, r.HighWatermark, h.p.HighWatermark())
	}
	if r.LogStart != h.p.LogStart() {
		h.t.Errorf("fetch %d: reply carries log start %d, machine has %d", r.ID, r.LogStart, h.p.LogStart())
	}
	rest := r.Batches
	for i, hd := range headers {
		if i > 0 && hd.BaseOffset != headers[i-1].NextOffset() {
			h.t.Errorf("fetch %d: batches not contiguous at %d", r.ID, hd.BaseOffset)
		}
		size := hd.Size()
		if hd.NextOffset() > r.HighWatermark {
			h.t.Errorf("fetch %d returned [%d, %d) at or above the high watermark %d", r.ID, hd.BaseOffset, hd.NextOffset(), r.HighWatermark)
		}
		if want := h.diskBytes(hd.BaseOffset); string(want) != string(rest[:size]) {
			h.t.Errorf("fetch %d: batch at %d differs from what was written", r.ID, hd.BaseOffset)
		}
		rest = rest[size:]
	}
}

func (h *harness) diskBytes(base storage.Offset) []byte {
	for _, b := range h.disk {
		if b.base == base {
			return b.bytes
		}
	}
	return nil
}

// reply returns the answer to id, failing when there is none.
func (h *harness) reply(id replication.RequestID) replication.Reply {
	h.t.Helper()
	r, ok := h.answered[id]
	if !ok {
		h.t.Fatalf("request %d not answered", id)
	}
	return r
}

// unanswered fails if any of ids has been answered.
func (h *harness) unanswered(ids ...replication.RequestID) {
	h.t.Helper()
	for _, id := range ids {
		if r, ok := h.answered[id]; ok {
			h.t.Errorf("request %d answered early: %s", id, replyString(r))
		}
	}
}

// replyIDs lists the IDs answered in rd, in order.
func replyIDs(rd replication.Ready) []replication.RequestID {
	var ids []replication.RequestID
	for _, r := range rd.Replies {
		ids = append(ids, r.ID)
	}
	return ids
}

// fetchedOffsets lists [base, next) of each batch in a fetch reply.
func fetchedOffsets(t rapid.TB, r replication.Reply) [][2]storage.Offset {
	t.Helper()
	var out [][2]storage.Offset
	for _, hd := range splitBatches(t, r.Batches) {
		out = append(out, [2]storage.Offset{hd.BaseOffset, hd.NextOffset()})
	}
	return out
}

// formatReady prints rd deterministically, one item per line.
func formatReady(rd replication.Ready) string {
	var b strings.Builder
	if p := rd.Persist; p != nil {
		fmt.Fprintf(&b, "persist op=%d checkpoint=%v\n", p.Op, p.Checkpoint)
		for _, batch := range p.Batches {
			hd := storage.DecodeBatchHeader(batch)
			fmt.Fprintf(&b, "  batch %d-%d epoch=%d bytes=%d max-ts=%d%s\n", hd.BaseOffset, hd.LastOffset(),
				hd.PartitionLeaderEpoch, len(batch), hd.MaxTimestamp-tsBase(hd), logAppend(hd))
		}
	}
	for _, r := range rd.Reads {
		fmt.Fprintf(&b, "read id=%d from=%d max-bytes=%d upto=%d\n", r.ID, r.From, r.MaxBytes, r.UpTo)
	}
	for _, task := range rd.Background {
		fmt.Fprintf(&b, "background task=%d chunk=%d", task.ID, task.ChunkSegments)
		if p := task.Retention; p != nil {
			fmt.Fprintf(&b, " retention ms=%d bytes=%d hw=%d now=%d", p.RetentionMs, p.RetentionBytes, p.HighWatermark, p.NowMs-wallBaseMs)
		}
		if p := task.Clean; p != nil {
			fmt.Fprintf(&b, " clean pass=%d bytes=%d hw=%d now=%d", task.CleanPass, task.ChunkBytes, p.HighWatermark, p.NowMs-wallBaseMs)
		}
		b.WriteString("\n")
	}
	for _, r := range rd.Replies {
		b.WriteString(replyString(r) + "\n")
	}
	if f := rd.Failure; f != nil {
		fmt.Fprintf(&b, "failure process-fatal=%v err=%v\n", f.ProcessFatal, f.Err)
	}
	if rd.Deadline != 0 {
		fmt.Fprintf(&b, "deadline=%dms\n", rd.Deadline/1_000_000)
	}
	if b.Len() == 0 {
		return "(nothing)\n"
	}
	return b.String()
}

// tsBase makes printed timestamps relative to the harness's wall clock
// when they are absolute (LogAppendTime) and leaves small test ones alone.
func tsBase(hd storage.BatchHeader) int64 {
	if hd.MaxTimestamp >= wallBaseMs {
		return wallBaseMs
	}
	return 0
}

func logAppend(hd storage.BatchHeader) string {
	if hd.Attributes&attrLogAppendTime != 0 {
		return " log-append-time"
	}
	return ""
}

func replyString(r replication.Reply) string {
	var b strings.Builder
	fmt.Fprintf(&b, "reply id=%d", r.ID)
	if r.Err != nil {
		fmt.Fprintf(&b, " err=%q", r.Err.Error())
	}
	fmt.Fprintf(&b, " base=%d hw=%d start=%d", r.Base, r.HighWatermark, r.LogStart)
	if len(r.Batches) > 0 {
		var parts []string
		for b := r.Batches; len(b) >= storage.BatchHeaderSize; {
			hd := storage.DecodeBatchHeader(b)
			parts = append(parts, fmt.Sprintf("%d-%d", hd.BaseOffset, hd.LastOffset()))
			if hd.Size() <= 0 || hd.Size() > int64(len(b)) {
				break
			}
			b = b[hd.Size():]
		}
		fmt.Fprintf(&b, " batches=%s", strings.Join(parts, ","))
	}
	return b.String()
}

// sortedOffsets sorts [base, next) pairs by base.
func sortedOffsets(m map[replication.RequestID][2]storage.Offset) [][2]storage.Offset {
	out := make([][2]storage.Offset, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// errNoSpace is a write error as storage returns it on ENOSPC.
var errNoSpace = fmt.Errorf("storage: write topic-0/00000000000000000000.log: %w", env.ErrNoSpace)
