package storage

// Goal: CleanableOffsets and Due follow Kafka's LogCleanerManager: the dirty
// section starts at the cleaner checkpoint (reset to the log start when out
// of range) and stops at the active segment, the high watermark's segment
// and (with min.compaction.lag.ms) the first young dirty segment; a pass is
// due when the dirty ratio exceeds min.cleanable.dirty.ratio or
// max.compaction.lag.ms is overdue, and never with nothing dirty.

import (
	"math"
	"testing"
)

func TestCleanableOffsets(t *testing.T) {
	// Five segments of 100 bytes, first/largest timestamps 1000s apart;
	// the last is active.
	segs := []SegmentInfo{
		{Base: 0, Next: 10, SizeBytes: 100, FirstTimestamp: 1000, LargestTimestamp: 1900},
		{Base: 10, Next: 20, SizeBytes: 100, FirstTimestamp: 2000, LargestTimestamp: 2900},
		{Base: 20, Next: 30, SizeBytes: 100, FirstTimestamp: 3000, LargestTimestamp: 3900},
		{Base: 30, Next: 40, SizeBytes: 100, FirstTimestamp: 4000, LargestTimestamp: 4900},
		{Base: 40, Next: 45, SizeBytes: 100, FirstTimestamp: 5000, LargestTimestamp: 5000, Active: true},
	}
	base := CleanPolicy{HighWatermark: 45, NowMs: 6000, MinCleanableRatio: 0.5, MaxCompactionLagMs: math.MaxInt64}
	with := func(f func(*CleanPolicy)) CleanPolicy { p := base; f(&p); return p }
	cases := []struct {
		name      string
		start     Offset
		cleanedTo Offset
		p         CleanPolicy
		want      CleanableSection
		due       bool
	}{
		{"never cleaned: all dirty up to the active segment", 0, 0, base,
			CleanableSection{FirstDirty: 0, FirstUncleanable: 40, DirtyBytes: 400}, true},
		{"half cleaned: ratio 0.5 is not above 0.5", 0, 20, base,
			CleanableSection{FirstDirty: 20, FirstUncleanable: 40, CleanBytes: 200, DirtyBytes: 200}, false},
		{"ratio above the minimum", 0, 10, base,
			CleanableSection{FirstDirty: 10, FirstUncleanable: 40, CleanBytes: 100, DirtyBytes: 300}, true},
		{"the high watermark's segment and after stay", 0, 0, with(func(p *CleanPolicy) { p.HighWatermark = 25 }),
			CleanableSection{FirstDirty: 0, FirstUncleanable: 20, DirtyBytes: 200}, true},
		{"a segment ending at the high watermark is cleanable", 0, 0, with(func(p *CleanPolicy) { p.HighWatermark = 30 }),
			CleanableSection{FirstDirty: 0, FirstUncleanable: 30, DirtyBytes: 300}, true},
		{"min.compaction.lag.ms stops at the first young dirty segment", 0, 0, with(func(p *CleanPolicy) { p.MinCompactionLagMs = 2500 }),
			CleanableSection{FirstDirty: 0, FirstUncleanable: 20, DirtyBytes: 200}, true},
		{"min lag: a young segment makes nothing dirty", 0, 30, with(func(p *CleanPolicy) { p.MinCompactionLagMs = 1500 }),
			CleanableSection{FirstDirty: 30, FirstUncleanable: 30, CleanBytes: 300}, false},
		{"max.compaction.lag.ms forces a low ratio", 0, 30, with(func(p *CleanPolicy) { p.MaxCompactionLagMs = 1000 }),
			CleanableSection{FirstDirty: 30, FirstUncleanable: 40, CleanBytes: 300, DirtyBytes: 100, OverdueMs: 1000}, true},
		{"max lag not yet reached", 0, 30, with(func(p *CleanPolicy) { p.MaxCompactionLagMs = 2000 }),
			CleanableSection{FirstDirty: 30, FirstUncleanable: 40, CleanBytes: 300, DirtyBytes: 100}, false},
		{"a checkpoint below the log start resets to it", 20, 5, base,
			CleanableSection{FirstDirty: 20, FirstUncleanable: 40, CleanBytes: 200, DirtyBytes: 200}, false},
		{"a checkpoint past the end resets to the log start", 0, 99, base,
			CleanableSection{FirstDirty: 0, FirstUncleanable: 40, DirtyBytes: 400}, true},
		{"everything clean: never due, even overdue", 0, 40, with(func(p *CleanPolicy) { p.MaxCompactionLagMs = 1 }),
			CleanableSection{FirstDirty: 40, FirstUncleanable: 40, CleanBytes: 400}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := CleanableOffsets(segs, c.start, c.cleanedTo, c.p)
			if got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			if got.Due(c.p) != c.due {
				t.Fatalf("due %v (ratio %.2f), want %v", got.Due(c.p), got.Ratio(), c.due)
			}
		})
	}
}
