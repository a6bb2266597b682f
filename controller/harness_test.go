package controller

// The harness is the test executor: it plays the driver and the storage
// executor by hand, so tests decide when each Persist is written and
// synced, whether a write fails, and what a crash keeps. Its disk is a
// list of batches: the durable prefix (synced) and the written tail.
// After every step it checks the durability rules from outside: no
// successful reply and no published image covers an offset that is not
// synced.

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

type harness struct {
	t   testing.TB
	cfg Config
	c   *Controller
	now env.Time

	durable []byte         // synced batches, concatenated
	synced  storage.Offset // the end of durable
	written [][]byte       // written by the Persist in flight, not yet synced
	persist *replication.Persist
	phase   int // of persist: 0 none, 1 waiting for write, 2 waiting for sync

	published *Image   // the last Published
	replies   []Reply  // every reply of this incarnation
	failure   *Failure // the last Failure
	deadline  int64    // the last deadline taken
}

func newHarness(t testing.TB) *harness {
	return &harness{t: t, now: env.Time{Mono: 1_000_000_000, WallMs: 1_700_000_000_000}}
}

// start builds a controller (a process start) and loads the durable log.
func (h *harness) start(seed uint64, cfg Config) string {
	h.cfg = cfg
	h.c = New(cfg, env.NewRand(seed, "controller"), zap.NewNop())
	h.written, h.persist, h.phase = nil, nil, 0
	h.published, h.replies, h.failure, h.deadline = nil, nil, nil, 0
	h.step(Loaded{Now: h.now, Start: 0, End: h.synced, Batches: slices.Clone(h.durable)})
	return h.drain()
}

// crash stops the process. keep says whether the written, unsynced
// batches survive (recovery then syncs them) or are lost.
func (h *harness) crash(keep bool) {
	if keep {
		for _, b := range h.written {
			h.durable = append(h.durable, b...)
			h.synced = storage.DecodeBatchHeader(b).NextOffset()
		}
	}
	h.c, h.written, h.persist, h.phase = nil, nil, nil, 0
}

func (h *harness) step(ev Event) {
	h.t.Helper()
	if err := h.c.Step(ev); err != nil {
		h.t.Fatalf("Step(%T): %v", ev, err)
	}
}

// write carries out the write half of the Persist in flight; with err,
// the write fails as a full disk does and nothing of it remains.
func (h *harness) write(err error) string {
	h.t.Helper()
	if h.phase != 1 {
		h.t.Fatalf("write: no Persist waiting for its write")
	}
	upTo := h.logEnd()
	if err == nil {
		for _, b := range h.persist.Batches {
			if _, verr := storage.ValidateBatch(b); verr != nil {
				h.t.Fatalf("the controller persists an invalid batch: %v", verr)
			}
			if got := storage.DecodeBatchHeader(b).BaseOffset; got != upTo {
				h.t.Fatalf("batch at %d, log end %d", got, upTo)
			}
			h.written = append(h.written, slices.Clone(b))
			upTo = storage.DecodeBatchHeader(b).NextOffset()
		}
	}
	h.phase = 2
	h.step(replication.Written{Now: h.now, Op: h.persist.Op, UpTo: upTo, Err: err})
	return h.drain()
}

// sync carries out the sync half of the Persist in flight.
func (h *harness) sync() string {
	h.t.Helper()
	if h.phase != 2 {
		h.t.Fatalf("sync: no Persist waiting for its sync")
	}
	for _, b := range h.written {
		h.durable = append(h.durable, b...)
		h.synced = storage.DecodeBatchHeader(b).NextOffset()
	}
	op := h.persist.Op
	h.written, h.persist, h.phase = nil, nil, 0
	h.step(replication.Synced{Now: h.now, Op: op, UpTo: h.synced})
	return h.drain()
}

// stabilize writes and syncs until nothing is in flight.
func (h *harness) stabilize() string {
	var b strings.Builder
	b.WriteString(h.drain())
	for h.phase != 0 {
		if h.phase == 1 {
			b.WriteString(h.write(nil))
		} else {
			b.WriteString(h.sync())
		}
	}
	return b.String()
}

func (h *harness) logEnd() storage.Offset {
	if n := len(h.written); n > 0 {
		return storage.DecodeBatchHeader(h.written[n-1]).NextOffset()
	}
	return h.synced
}

func (h *harness) propose(id RequestID, ch Change) {
	h.step(Propose{Now: h.now, ID: id, Change: ch})
}

func (h *harness) tick(ms int64) string {
	h.now = h.now.AddMs(ms)
	h.step(replication.Tick{Now: h.now})
	return h.drain()
}

// drain takes every Ready, checks it, prints it and advances.
func (h *harness) drain() string {
	h.t.Helper()
	var b strings.Builder
	for h.c.HasReady() {
		rd := h.c.Ready()
		h.check(rd)
		h.print(&b, rd)
		h.c.Advance(rd)
		h.take(rd)
	}
	if h.c.HasReady() {
		h.t.Fatalf("HasReady right after Advance")
	}
	return b.String()
}

// check holds the durability rules from outside.
func (h *harness) check(rd Ready) {
	h.t.Helper()
	if rd.Persist != nil && h.phase != 0 {
		h.t.Fatalf("a second Persist while op %d is in flight", h.persist.Op)
	}
	if rd.Published != nil {
		if rd.Published.End() > h.synced {
			h.t.Fatalf("published image ends at %d, synced end %d", rd.Published.End(), h.synced)
		}
		if !rd.Published.Bootstrapped() {
			h.t.Fatalf("published an image that is not bootstrapped")
		}
	}
	for _, r := range rd.Replies {
		if r.Err == nil && r.Offset >= h.synced {
			h.t.Fatalf("reply %d at offset %d released before its sync (synced end %d)", r.ID, r.Offset, h.synced)
		}
		if r.Err == nil && r.Offset >= 0 && (rd.Published == nil && h.published == nil || r.Offset >= h.latestEnd(rd)) {
			h.t.Fatalf("reply %d at offset %d, but no image published with it", r.ID, r.Offset)
		}
	}
}

func (h *harness) latestEnd(rd Ready) storage.Offset {
	if rd.Published != nil {
		return rd.Published.End()
	}
	return h.published.End()
}

// take acts on an advanced Ready as the executor and the broker would.
func (h *harness) take(rd Ready) {
	if rd.Persist != nil {
		h.persist, h.phase = rd.Persist, 1
	}
	if rd.Published != nil {
		h.published = rd.Published
	}
	h.replies = append(h.replies, rd.Replies...)
	if rd.Failure != nil {
		h.failure = rd.Failure
	}
	for _, task := range rd.Background {
		h.step(replication.BackgroundDone{Now: h.now, Task: task.ID, Start: 0})
	}
}

func (h *harness) print(b *strings.Builder, rd Ready) {
	if p := rd.Persist; p != nil {
		fmt.Fprintf(b, "persist op=%d\n", p.Op)
		for _, batch := range p.Batches {
			printBatch(b, batch)
		}
	}
	for _, task := range rd.Background {
		fmt.Fprintf(b, "background task=%d\n", task.ID)
	}
	if img := rd.Published; img != nil {
		b.WriteString("published ")
		b.WriteString(img.String())
	}
	for _, r := range rd.Replies {
		fmt.Fprintf(b, "reply %d: %s\n", r.ID, replyString(r))
	}
	if rd.Failure != nil {
		fmt.Fprintf(b, "failure: %v\n", rd.Failure.Err)
	}
	if rd.Deadline != h.deadline {
		h.deadline = rd.Deadline
		if rd.Deadline == 0 {
			b.WriteString("deadline none\n")
		} else {
			fmt.Fprintf(b, "deadline in %dms\n", (rd.Deadline-h.now.Mono)/1_000_000)
		}
	}
}

func printBatch(b *strings.Builder, batch []byte) {
	d, err := decodeBatch(batch)
	if err != nil {
		fmt.Fprintf(b, "  undecodable batch: %v\n", err)
		return
	}
	fmt.Fprintf(b, "  batch [%d, %d]\n", d.header.BaseOffset, d.header.LastOffset())
	for i, rec := range d.records {
		fmt.Fprintf(b, "    %d %s\n", d.header.BaseOffset+storage.Offset(i), encodeValue(rec))
	}
}

func replyString(r Reply) string {
	if r.Err != nil {
		return "error: " + r.Err.Error()
	}
	var parts []string
	if r.Offset >= 0 {
		parts = append(parts, fmt.Sprintf("offset=%d", r.Offset))
	} else {
		parts = append(parts, "nothing written")
	}
	if !r.TopicID.IsZero() {
		parts = append(parts, "topic-id="+r.TopicID.String())
	}
	if r.ProducerIDs.Size > 0 {
		parts = append(parts, fmt.Sprintf("producer-ids=[%d, %d)", r.ProducerIDs.Start, r.ProducerIDs.Start+r.ProducerIDs.Size))
	}
	return "ok " + strings.Join(parts, " ")
}
