package storage

// Goal: a segment whose batches carry no timestamp (MaxTimestamp -1, which
// Kafka accepts with CreateTime) ages from its last append, as Kafka's
// LogSegment.largestTimestamp falls back to the file's last-modified time:
// retention.ms and min.compaction.lag.ms count from the last record
// written, not from the segment's creation, which segment.ms rolls at.

import (
	"testing"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/sim/simfs"
)

// noTimestampLog returns a log holding segment [0,2), created at 0 and last
// appended at 900, rolled by segment.ms=1000 at 1001 into the active
// segment [2,3).
func noTimestampLog(t *testing.T) *Log {
	t.Helper()
	fs := simfs.New(env.NewRand(1, "disk"), simfs.Options{})
	l, err := Open(fs, "t-0", Config{SegmentBytes: 1 << 20, SegmentMs: 1000, IndexIntervalBytes: 256}, 0)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	for _, nowMs := range []int64{0, 900, 1001} {
		batch := keyedBatch(t, []kv{{key: []byte("k"), value: []byte("v"), ts: -1}}, 0, -1, 0, 0, false)
		if _, err := l.Append(batch, AppendOptions{NowMs: nowMs}); err != nil {
			t.Fatalf("append at %d: %v", nowMs, err)
		}
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if segs := l.Segments(); len(segs) != 2 || segs[0].LargestTimestamp != -1 || segs[1].Base != 2 {
		t.Fatalf("segments %+v, want [0,2) without timestamps and [2,3)", segs)
	}
	return l
}

func TestRetentionWithoutTimestampsCountsFromTheLastAppend(t *testing.T) {
	l := noTimestampLog(t)
	p := RetentionPolicy{RetentionMs: 500, RetentionBytes: -1, HighWatermark: l.EndOffset(), NowMs: 1200}
	if n := DeletableSegments(l.Segments(), l.StartOffset(), p); n != 0 {
		t.Fatalf("retention.ms=500 deleted a segment appended to 300 ms ago")
	}
	p.NowMs = 1401
	if n := DeletableSegments(l.Segments(), l.StartOffset(), p); n != 1 {
		t.Fatalf("retention.ms=500 kept a segment last appended to 501 ms ago (%d deletable)", n)
	}
}

func TestMinCompactionLagWithoutTimestampsCountsFromTheLastAppend(t *testing.T) {
	l := noTimestampLog(t)
	p := CleanPolicy{HighWatermark: l.EndOffset(), NowMs: 1200, MinCompactionLagMs: 500}
	if c := CleanableOffsets(l.Segments(), l.StartOffset(), l.CleanedTo(), p); c.FirstUncleanable != 0 || c.DirtyBytes != 0 {
		t.Fatalf("min.compaction.lag.ms=500 let a segment appended to 300 ms ago be cleaned: %+v", c)
	}
	p.NowMs = 1401
	if c := CleanableOffsets(l.Segments(), l.StartOffset(), l.CleanedTo(), p); c.FirstUncleanable != 2 {
		t.Fatalf("a segment last appended to 501 ms ago is not cleanable with min.compaction.lag.ms=500: %+v", c)
	}
}
