package storage

// Goal: DeletableSegments follows Kafka's deletableSegments rule — a prefix,
// bounded by the high watermark, by time, by size or by the log start.

import "testing"

func TestDeletableSegments(t *testing.T) {
	// Four segments of 100 bytes: [0,10) ts 1000, [10,20) ts 2000,
	// [20,30) ts 3000, active [30,35) ts 4000.
	segs := []SegmentInfo{
		{Base: 0, Next: 10, SizeBytes: 100, LargestTimestamp: 1000},
		{Base: 10, Next: 20, SizeBytes: 100, LargestTimestamp: 2000},
		{Base: 20, Next: 30, SizeBytes: 100, LargestTimestamp: 3000},
		{Base: 30, Next: 35, SizeBytes: 100, LargestTimestamp: 4000, Active: true},
	}
	const off = -1
	cases := []deletableCase{
		{"nothing configured", 0, RetentionPolicy{off, off, 35, 9999}, 0},
		{"time: older than now-retention", 0, RetentionPolicy{2500, off, 35, 5000}, 2},
		{"time: exactly retention old stays", 0, RetentionPolicy{3000, off, 35, 5000}, 1},
		{"time never takes the active segment", 0, RetentionPolicy{0, off, 35, 1 << 40}, 3},
		{"time bounded by the high watermark", 0, RetentionPolicy{0, off, 20, 1 << 40}, 2},
		{"size: keep at least retention.bytes", 0, RetentionPolicy{off, 250, 35, 0}, 1},
		{"size: exact fit", 0, RetentionPolicy{off, 200, 35, 0}, 2},
		{"size bounded by the high watermark", 0, RetentionPolicy{off, 0, 10, 0}, 1},
		{"log start offset", 25, RetentionPolicy{off, off, 35, 0}, 2},
		{"the longest of the three", 15, RetentionPolicy{1500, 350, 35, 3000}, 1},
		{"a prefix only: a young segment stops time", 0, RetentionPolicy{500, off, 35, 2600}, 2},
	}
	checkDeletable(t, segs, cases)
}

// Kafka's deleteOldSegments runs its three passes one after the other (log
// start, then retention.bytes, then retention.ms), each from the first
// segment the previous ones left: a segment an earlier pass deleted does
// not stop a later one.
func TestDeletableSegmentsChainsPasses(t *testing.T) {
	// [0,10) is young, the two after it are old.
	segs := []SegmentInfo{
		{Base: 0, Next: 10, SizeBytes: 300, LargestTimestamp: 4900},
		{Base: 10, Next: 20, SizeBytes: 100, LargestTimestamp: 1000},
		{Base: 20, Next: 30, SizeBytes: 100, LargestTimestamp: 1000},
		{Base: 30, Next: 35, SizeBytes: 100, LargestTimestamp: 4950, Active: true},
	}
	const off = -1
	cases := []deletableCase{
		{"time goes on past a segment below the log start", 10, RetentionPolicy{1000, off, 35, 5000}, 3},
		{"time goes on past a segment retention.bytes took", 0, RetentionPolicy{1000, 300, 35, 5000}, 3},
		{"size counts what the log start pass left", 10, RetentionPolicy{off, 150, 35, 5000}, 2},
		{"the high watermark still bounds every pass", 10, RetentionPolicy{1000, off, 20, 5000}, 2},
	}
	checkDeletable(t, segs, cases)
}

// deletableCase is one DeletableSegments question: the log start, the
// policy, and how many segments it may delete.
type deletableCase struct {
	name  string
	start Offset
	p     RetentionPolicy
	want  int
}

func checkDeletable(t *testing.T, segs []SegmentInfo, cases []deletableCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := DeletableSegments(segs, c.start, c.p); got != c.want {
				t.Fatalf("got %d, want %d", got, c.want)
			}
		})
	}
}
