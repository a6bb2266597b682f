package storage

// Goal: the partition log's contract on a real filesystem — offsets,
// reads (limits, gaps, high-watermark bound), rolls, indexes, reopen through
// both the trusted and the re-scanning recovery paths, and the maintenance
// primitives (TruncateTo, SetStartOffset, DeleteSegmentsBelow,
// FindTimestamp, leader epochs).

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/invariants"
	"github.com/takhin-io/takhin/sim/simfs"
	"github.com/takhin-io/takhin/storage/compression"
)

func TestAppendAssignsContiguousOffsets(t *testing.T) {
	l := openLog(t, tempFS(t), smallConfig())
	defer l.Close()
	var want Offset
	for i := 1; i <= 20; i++ {
		r := mustAppend(t, l, testBatch(i, make([]byte, 30*i), int64(i)))
		if r.Base != want || r.Last != want+Offset(i)-1 {
			t.Fatalf("batch %d at %d..%d, want base %d", i, r.Base, r.Last, want)
		}
		want = r.Last + 1
	}
	if l.EndOffset() != want {
		t.Fatalf("end %d, want %d", l.EndOffset(), want)
	}
	hs := readAll(t, l, 0)
	if len(hs) != 20 {
		t.Fatalf("read %d batches, want 20", len(hs))
	}
	if len(l.Segments()) < 2 {
		t.Fatalf("expected rolls with 4 KiB segments, got %d segment(s)", len(l.Segments()))
	}
}

// CRCVerified skips only the CRC pass, and only without invariants: a batch
// whose length disagrees with its header is still refused, and a bad CRC
// is refused whenever invariants are on (tests under -race, the simulator).
func TestAppendCRCVerifiedSkipsOnlyTheCRC(t *testing.T) {
	l := openLog(t, tempFS(t), DefaultConfig())
	defer l.Close()
	verified := AppendOptions{NowMs: 1000, CRCVerified: true}
	short := testBatch(1, make([]byte, 10), 0)
	if _, err := l.AppendAssigned(withBase(short, 0, 0)[:len(short)-1], verified); !errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("a truncated batch: %v, want ErrInvalidBatch", err)
	}
	bad := withBase(testBatch(1, make([]byte, 10), 0), 0, 0)
	bad[len(bad)-1] ^= 1
	if _, err := l.AppendAssigned(bad, AppendOptions{NowMs: 1000}); !errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("a bad CRC without CRCVerified: %v, want ErrInvalidBatch", err)
	}
	_, err := l.AppendAssigned(bad, verified)
	if invariants.Enabled != errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("a bad CRC with CRCVerified, invariants %v: %v", invariants.Enabled, err)
	}
}

func TestReadLimits(t *testing.T) {
	l := openLog(t, tempFS(t), DefaultConfig())
	defer l.Close()
	for i := 0; i < 10; i++ {
		mustAppend(t, l, testBatch(2, make([]byte, 100), 0)) // 161 bytes each, offsets 2i..2i+1
	}
	size := int(DecodeBatchHeader(testBatch(2, make([]byte, 100), 0)).Size())
	cases := []struct {
		name            string
		from, upTo      Offset
		maxBytes        int
		wantN           int
		wantFirst, next Offset
	}{
		{"from the start, room for three", 0, 20, 3 * size, 3, 0, 6},
		{"inside a batch returns the whole batch", 3, 20, size, 1, 2, 4},
		{"at least one batch even if larger", 4, 20, 1, 1, 4, 6},
		{"upTo stops before a batch reaching it", 0, 5, 10 * size, 2, 0, 4},
		{"upTo at the start returns nothing", 6, 6, 10 * size, 0, 0, 6},
		{"the end returns nothing", 20, 20, 10 * size, 0, 0, 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := l.Read(c.from, c.maxBytes, c.upTo)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(r.Batches) / size; got != c.wantN || len(r.Batches)%size != 0 {
				t.Fatalf("got %d bytes, want %d batches", len(r.Batches), c.wantN)
			}
			if c.wantN > 0 && DecodeBatchHeader(r.Batches).BaseOffset != c.wantFirst {
				t.Fatalf("first batch %d, want %d", DecodeBatchHeader(r.Batches).BaseOffset, c.wantFirst)
			}
			if r.Next != c.next {
				t.Fatalf("next %d, want %d", r.Next, c.next)
			}
		})
	}
	for _, from := range []Offset{-1, 21} {
		if _, err := l.Read(from, 100, 20); !errors.Is(err, ErrOffsetOutOfRange) {
			t.Fatalf("read %d: want ErrOffsetOutOfRange, got %v", from, err)
		}
	}
}

func TestGapsAreTolerated(t *testing.T) {
	fs := tempFS(t)
	l := openLog(t, fs, smallConfig())
	bases := []Offset{0, 10, 11, 50, 5000, 1 << 33} // the last one forces a roll: relative offsets are 32 bits
	for _, b := range bases {
		if _, err := l.AppendAssigned(withBase(testBatch(1, make([]byte, 300), 0), b, 0), AppendOptions{}); err != nil {
			t.Fatalf("append at %d: %v", b, err)
		}
	}
	if _, err := l.AppendAssigned(withBase(testBatch(1, nil, 0), 7, 0), AppendOptions{}); !errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("append below the end: want ErrInvalidBatch, got %v", err)
	}
	check := func(l *Log) {
		for _, c := range []struct{ from, want Offset }{{1, 10}, {12, 50}, {51, 5000}, {5001, 1 << 33}} {
			r, err := l.Read(c.from, 1, l.EndOffset())
			if err != nil || len(r.Batches) == 0 {
				t.Fatalf("read %d: %v (%d bytes)", c.from, err, len(r.Batches))
			}
			if got := DecodeBatchHeader(r.Batches).BaseOffset; got != c.want {
				t.Fatalf("read %d inside a gap returned %d, want %d", c.from, got, c.want)
			}
		}
	}
	check(l)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l = openLog(t, fs, smallConfig())
	defer l.Close()
	check(l)
}

// TestReopenPaths reopens a multi-segment log three ways and expects the
// same batches: after a checkpoint (trusted segments, index hints), with no
// checkpoint (every segment re-scanned), and with the index files deleted.
func TestReopenPaths(t *testing.T) {
	for _, mode := range []string{"checkpointed", "no checkpoint", "no index files"} {
		t.Run(mode, func(t *testing.T) {
			fs := tempFS(t)
			l := openLog(t, fs, smallConfig())
			for i := 0; i < 200; i++ {
				mustAppend(t, l, testBatch(1+i%3, bytes.Repeat([]byte{byte(i)}, 50+i%200), int64(1000+i)))
			}
			want := readAll(t, l, 0)
			wantSegs := l.Segments()
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			if mode != "no checkpoint" {
				if err := l.Checkpoint(); err != nil {
					t.Fatal(err)
				}
			}
			l.Close()
			if mode == "no index files" {
				names, _ := fs.List("topic-0")
				for _, n := range names {
					if bytes.HasSuffix([]byte(n), []byte("index")) {
						if err := fs.Remove("topic-0/" + n); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			l = openLog(t, fs, smallConfig())
			defer l.Close()
			got := readAll(t, l, 0)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("batches differ after reopen")
			}
			if fmt.Sprint(l.Segments()) != fmt.Sprint(wantSegs) {
				t.Fatalf("segments differ after reopen:\n%v\n%v", l.Segments(), wantSegs)
			}
			for i, s := range l.segments {
				if len(s.index) == 0 && s.size > 1024 {
					t.Fatalf("segment %d has no index entries", i)
				}
			}
		})
	}
}

func TestRollBySegmentMs(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SegmentMs = 1000
	l := openLog(t, tempFS(t), cfg)
	defer l.Close()
	steps := []struct {
		ts     int64
		rolled bool
	}{{5000, false}, {5900, false}, {6000, false}, {6001, true}, {6500, false}, {7001, false}, {7002, true}}
	for _, s := range steps {
		r, err := l.Append(testBatch(1, nil, s.ts), AppendOptions{NowMs: 1})
		if err != nil {
			t.Fatal(err)
		}
		if r.Rolled != s.rolled {
			t.Fatalf("ts %d: rolled=%v, want %v", s.ts, r.Rolled, s.rolled)
		}
	}
}

// TestRollJitter: with segment.jitter.ms each segment rolls up to that
// much before segment.ms (never more than segment.ms), by an amount that
// differs between segments and between partitions.
func TestRollJitter(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SegmentMs, cfg.SegmentJitterMs = 1000, 600
	l := openLog(t, tempFS(t), cfg)
	defer l.Close()
	ts, first := int64(0), int64(0)
	jitters := map[int64]bool{}
	for range 20 {
		jitter := rollJitter(l.dir, l.active().base, cfg)
		if jitter < 0 || jitter >= 600 {
			t.Fatalf("jitter %d outside [0, 600)", jitter)
		}
		jitters[jitter] = true
		for {
			ts++
			r, err := l.Append(testBatch(1, nil, ts), AppendOptions{NowMs: 1})
			if err != nil {
				t.Fatal(err)
			}
			if r.Rolled {
				if waited := ts - first; first != 0 && waited != 1000-jitter+1 {
					t.Fatalf("rolled after %d ms, want %d (segment.ms 1000, jitter %d)", waited, 1000-jitter+1, jitter)
				}
				first = ts
				break
			}
			if first == 0 {
				first = ts
			}
		}
	}
	if len(jitters) < 10 {
		t.Errorf("20 segments drew %d distinct jitters: not spread", len(jitters))
	}
	if rollJitter("a-0", 0, cfg) == rollJitter("a-1", 0, cfg) && rollJitter("a-0", 0, cfg) == rollJitter("a-2", 0, cfg) {
		t.Errorf("three partitions' first segments share one jitter")
	}
	cfg.SegmentJitterMs = 5000 // bounded by segment.ms
	if j := rollJitter("a-0", 7, cfg); j >= 1000 {
		t.Errorf("jitter %d not below segment.ms", j)
	}
}

func TestTruncateTo(t *testing.T) {
	fs := tempFS(t)
	l := openLog(t, fs, smallConfig())
	for i := 0; i < 100; i++ {
		mustAppend(t, l, testBatch(2, make([]byte, 100), int64(i))) // offsets 2i, 2i+1
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if err := l.TruncateTo(51); err != nil { // inside batch 50..51: it goes whole
		t.Fatal(err)
	}
	if l.EndOffset() != 50 || l.SyncedEnd() != 50 || l.RecoveryPoint() != 50 {
		t.Fatalf("end %d synced %d recovery point %d, want 50", l.EndOffset(), l.SyncedEnd(), l.RecoveryPoint())
	}
	if r := mustAppend(t, l, testBatch(1, nil, 0)); r.Base != 50 {
		t.Fatalf("append after truncate at %d, want 50", r.Base)
	}
	l.Close()
	l = openLog(t, fs, smallConfig())
	defer l.Close()
	if hs := readAll(t, l, 0); len(hs) != 26 {
		t.Fatalf("after reopen %d batches, want 26", len(hs))
	}
}

// A cut at the batch an index entry points at: the end of the batch before
// it must be read, not taken as the segment's base.
func TestTruncateToAnIndexedBatch(t *testing.T) {
	l := openLog(t, tempFS(t), smallConfig())
	defer l.Close()
	for i := 0; i < 12; i++ {
		mustAppend(t, l, testBatch(2, make([]byte, 100), int64(i))) // 161 bytes, offsets 2i, 2i+1
	}
	idx := l.active().index
	if len(idx) < 2 {
		t.Fatalf("want two index entries, got %+v", idx)
	}
	cut := idx[1].offset
	if err := l.TruncateTo(cut + 1); err != nil { // inside the indexed batch: it goes whole
		t.Fatal(err)
	}
	if l.EndOffset() != cut {
		t.Fatalf("end %d, want %d", l.EndOffset(), cut)
	}
	if hs := readAll(t, l, 0); len(hs) != int(cut/2) {
		t.Fatalf("%d batches left, want %d", len(hs), cut/2)
	}
}

// TestTruncateToTheBatchHoldingTheStart: the start offset inside a batch
// (DeleteRecords) and a cut inside that batch: the batch goes whole, and
// the log restarts empty at its start offset rather than ending below it,
// where the next append's offsets could never be read. (Found by the
// property test.)
func TestTruncateToTheBatchHoldingTheStart(t *testing.T) {
	fs := tempFS(t)
	l := openLog(t, fs, smallConfig())
	mustAppend(t, l, testBatch(3, nil, 0)) // offsets 0..2
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.SetStartOffset(1); err != nil {
		t.Fatal(err)
	}
	if err := l.TruncateTo(1); err != nil {
		t.Fatal(err)
	}
	if l.StartOffset() != 1 || l.EndOffset() != 1 || l.RecoveryPoint() != 1 {
		t.Fatalf("start %d end %d recovery point %d, want all at 1", l.StartOffset(), l.EndOffset(), l.RecoveryPoint())
	}
	if r := mustAppend(t, l, testBatch(1, nil, 0)); r.Base != 1 {
		t.Fatalf("append after the truncation at %d, want 1", r.Base)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l = openLog(t, fs, smallConfig())
	defer l.Close()
	if hs := readAll(t, l, 1); len(hs) != 1 || hs[0].BaseOffset != 1 || l.StartOffset() != 1 {
		t.Fatalf("after reopen: start %d, batches %+v", l.StartOffset(), hs)
	}
}

// TestTruncateToASegmentAfterAGap: a cut inside the first batch of a
// segment that follows a gap empties that segment; it goes too, so the log
// ends at the last remaining batch and reopens (recovery would remove the
// empty segment and then find the log below its recovery point). (Found by
// the property test.)
func TestTruncateToASegmentAfterAGap(t *testing.T) {
	fs := tempFS(t)
	l := openLog(t, fs, smallConfig())
	mustAppend(t, l, testBatch(2, make([]byte, 3000), 0)) // offsets 0, 1: 3 KiB of the segment's 4
	if _, err := l.AppendAssigned(withBase(testBatch(3, make([]byte, 1500), 0), 10, 0), AppendOptions{}); err != nil {
		t.Fatal(err) // offsets 10..12, too large for the first segment
	}
	mustSyncCheckpoint(t, l)
	if n := len(l.Segments()); n != 2 {
		t.Fatalf("%d segments, want the gap to roll", n)
	}
	if err := l.TruncateTo(11); err != nil {
		t.Fatal(err)
	}
	if l.EndOffset() != 2 || l.RecoveryPoint() != 2 || len(l.Segments()) != 1 {
		t.Fatalf("end %d recovery point %d segments %d, want 2, 2, 1", l.EndOffset(), l.RecoveryPoint(), len(l.Segments()))
	}
	l.Close()
	l = openLog(t, fs, smallConfig())
	defer l.Close()
	if l.EndOffset() != 2 {
		t.Fatalf("end %d after reopen, want 2", l.EndOffset())
	}
}

// TestTruncateOntoAnEmptyCleanedSegment: compaction can empty a segment
// that is not the last; a cut that leaves it last must remove it too (and
// any empty one before), or recovery removes it and finds the log ending
// below the recovery point the truncation wrote. (Found in review.)
func TestTruncateOntoAnEmptyCleanedSegment(t *testing.T) {
	for _, cut := range []Offset{5, 4} { // inside C's first batch; at C's base
		fs := simfs.New(env.NewRand(1, "disk"), simfs.Options{})
		cfg := Config{SegmentBytes: 4096, SegmentMs: 1 << 40, IndexIntervalBytes: 4096}
		l, err := Open(fs, "t-0", cfg, 1000)
		if err != nil {
			t.Fatal(err)
		}
		big := func(key string) kv { return kv{key: []byte(key), value: make([]byte, 1500), ts: 1000} }
		for _, recs := range [][]kv{ // segments A[0 a, 1 x] B[2 x, 3 x] C[4..5 y y2, 6 x] D[7 z]
			{big("a")}, {big("x")}, {big("x")}, {big("x")},
			{{key: []byte("y"), value: make([]byte, 700), ts: 1000}, {key: []byte("y2"), value: make([]byte, 700), ts: 1000}},
			{big("x")}, {big("z")},
		} {
			mustAppend(t, l, keyedBatch(t, recs, compression.CodecNone, -1, 0, 0, false))
		}
		mustSyncCheckpoint(t, l)
		cleanAll(t, l, CleanPolicy{HighWatermark: l.EndOffset(), NowMs: 2000}, 1<<20)
		mustSyncCheckpoint(t, l)
		if segs := l.Segments(); len(segs) != 4 || segs[1].SizeBytes != 0 {
			t.Fatalf("want the clean to empty the second of four segments: %+v", segs)
		}
		if err := l.TruncateTo(cut); err != nil {
			t.Fatal(err)
		}
		if l.EndOffset() != 1 || l.RecoveryPoint() != 1 {
			t.Fatalf("truncate to %d: end %d, recovery point %d; want both at 1, after A's kept batch (x went in the clean)", cut, l.EndOffset(), l.RecoveryPoint())
		}
		l.Close()
		l, err = Open(fs, "t-0", cfg, 3000)
		if err != nil {
			t.Fatalf("truncate to %d, reopen: %v", cut, err)
		}
		l.Close()
	}
}

// TestReplacingAnEmptySegmentKeepsOne: a batch more than 2^31 offsets past
// an empty active segment replaces it. Whatever fails part-way (here the
// new segment's creation, or the directory sync that follows), the log
// keeps a segment: its end and Close do not panic, and it reopens. (Found
// in review: the old order removed the empty segment first.)
func TestReplacingAnEmptySegmentKeepsOne(t *testing.T) {
	far := Offset(1)<<31 + 10
	for _, fault := range []string{"create", "sync-dir"} {
		fs := &faultyFS{FS: simDisk(1)}
		l := openLog(t, fs, smallConfig())
		switch fault {
		case "create":
			fs.noSpace, fs.full = segmentName(far, logSuffix), true
		case "sync-dir":
			fs.InjectNext(simfs.OpSyncDir, simfs.FaultIO)
		}
		_, err := l.AppendAssigned(withBase(testBatch(1, nil, 0), far, 0), AppendOptions{})
		if fault == "create" && !env.IsNoSpace(err) {
			t.Fatalf("%s: append = %v, want ENOSPC", fault, err)
		}
		if fault == "sync-dir" && (err != nil || l.Sync() == nil) {
			t.Fatalf("%s: append = %v, then the sync must fail", fault, err)
		}
		if end := l.EndOffset(); end != 0 && end != far+1 {
			t.Fatalf("%s: end %d", fault, end)
		}
		l.Close()
		fs.full = false
		l = openLog(t, fs, smallConfig())
		l.Close()
	}
}

func TestStartOffsetAndSegmentDeletion(t *testing.T) {
	fs := tempFS(t)
	l := openLog(t, fs, smallConfig())
	for i := 0; i < 100; i++ {
		mustAppend(t, l, testBatch(1, make([]byte, 200), int64(i)))
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.SetStartOffset(30); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Read(29, 100, 100); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below the start: %v", err)
	}
	before := len(l.Segments())
	n, err := l.DeleteSegmentsBelow(30, 1)
	if err != nil || n != 1 {
		t.Fatalf("deleted %d: %v", n, err)
	}
	n, err = l.DeleteSegmentsBelow(30, 0)
	if err != nil {
		t.Fatal(err)
	}
	segs := l.Segments()
	if len(segs) != before-1-n || segs[0].Base > 30 || (len(segs) > 1 && segs[1].Base <= 30) {
		t.Fatalf("segments after deletion: %v", segs)
	}
	if _, err := l.DeleteSegmentsBelow(1<<40, 0); err != nil || len(l.Segments()) != 1 {
		t.Fatalf("the active segment must stay: %v %v", err, l.Segments())
	}
	start := l.StartOffset()
	l.Close()
	l = openLog(t, fs, smallConfig())
	defer l.Close()
	if l.StartOffset() != start || len(l.Segments()) != 1 {
		t.Fatalf("after reopen start %d (want %d), %d segments", l.StartOffset(), start, len(l.Segments()))
	}
}

func TestFindTimestamp(t *testing.T) {
	l := openLog(t, tempFS(t), smallConfig())
	defer l.Close()
	// Timestamps go up by 10 per batch, with one out-of-order batch.
	for i := 0; i < 100; i++ {
		ts := int64(i * 10)
		if i == 60 {
			ts = 5
		}
		mustAppend(t, l, testBatch(1, make([]byte, 100), ts))
	}
	cases := []struct {
		ts    int64
		want  Offset
		found bool
	}{{0, 0, true}, {5, 1, true}, {11, 2, true}, {595, 60 - 0, false}, {990, 99, true}, {991, 0, false}}
	cases[3] = struct {
		ts    int64
		want  Offset
		found bool
	}{595, 61, true}
	for _, c := range cases {
		h, found, err := l.FindTimestamp(c.ts)
		if err != nil || found != c.found || (found && h.BaseOffset != c.want) {
			t.Fatalf("ts %d: got %d found=%v err=%v, want %d found=%v", c.ts, h.BaseOffset, found, err, c.want, c.found)
		}
	}
}

func TestLeaderEpochs(t *testing.T) {
	fs := tempFS(t)
	l := openLog(t, fs, DefaultConfig())
	for _, e := range []Epoch{0, 0, 2, 2, 5} {
		if _, err := l.Append(testBatch(1, nil, 0), AppendOptions{Epoch: e}); err != nil {
			t.Fatal(err)
		}
	}
	want := []EpochEntry{{0, 0}, {2, 2}, {5, 4}}
	if fmt.Sprint(l.Epochs()) != fmt.Sprint(want) {
		t.Fatalf("epochs %v, want %v", l.Epochs(), want)
	}
	for _, c := range []struct {
		ask, epoch Epoch
		end        Offset
	}{{0, 0, 2}, {1, 0, 2}, {2, 2, 4}, {9, 5, 5}, {-1, -1, -1}} {
		if e, end := l.EndOffsetForEpoch(c.ask); e != c.epoch || end != c.end {
			t.Fatalf("epoch %d: got (%d, %d), want (%d, %d)", c.ask, e, end, c.epoch, c.end)
		}
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if err := l.TruncateTo(3); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l = openLog(t, fs, DefaultConfig())
	defer l.Close()
	if want := []EpochEntry{{0, 0}, {2, 2}}; fmt.Sprint(l.Epochs()) != fmt.Sprint(want) {
		t.Fatalf("epochs after truncate and reopen %v, want %v", l.Epochs(), want)
	}
}

// The scan that picks a read's first batch reads its header without the
// CRC; a flip there that stops the scan one batch early must fail the read
// (and be retried), not return a batch wholly below the fetch offset.
func TestValidateBatchesRefusesAFirstBatchBelowFrom(t *testing.T) {
	b := withBase(testBatch(5, make([]byte, 10), 0), 100, 0) // offsets 100..104
	if n, err := validateBatches(b, 100, 104, 1000, 1000); err != nil || n != len(b) {
		t.Fatalf("from inside the batch: %d, %v", n, err)
	}
	if _, err := validateBatches(b, 100, 105, 1000, 1000); !errors.Is(err, errBadBatch) {
		t.Fatalf("from past the batch: %v, want errBadBatch", err)
	}
}
