package storage

// Goal: a segment cut by TruncateTo to below its first index entry leaves
// no index entries from before the cut on disk. (Found in review: the
// rebuilt index was empty, so nothing rewrote the old file; once the
// segment was below the recovery point, recovery's cross-check of those
// entries against the new data called it corrupt.)

import (
	"bytes"
	"testing"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/sim/simfs"
)

func TestTruncateToLeavesNoStaleIndexEntries(t *testing.T) {
	fs := simfs.New(env.NewRand(1, "disk"), simfs.Options{})
	cfg := Config{SegmentBytes: 64 << 10, SegmentMs: 1 << 40, IndexIntervalBytes: 256}
	l := openLog(t, fs, cfg)
	for i := range 20 { // segment 0, with index entries
		mustAppend(t, l, testBatch(1, bytes.Repeat([]byte{byte(i)}, 200), 1000))
	}
	mustAppend(t, l, testBatch(1, bytes.Repeat([]byte{'r'}, 63<<10), 1000)) // rolls
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.Checkpoint(); err != nil { // writes segment 0's index files
		t.Fatal(err)
	}
	if err := l.TruncateTo(0); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, testBatch(1, bytes.Repeat([]byte{'b'}, 40<<10), 1000)) // at position 0: no entry
	mustAppend(t, l, testBatch(1, bytes.Repeat([]byte{'c'}, 40<<10), 1000)) // rolls
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
		if hint := loadHint(fs, "topic-0/"+segmentName(0, suffix)); len(hint) != 0 {
			t.Errorf("%s holds %d bytes after the truncation, want none", suffix, len(hint))
		}
	}
	l.Close()
	fs.Crash(env.NewRand(2, "crash"))
	if _, err := Open(fs, "topic-0", cfg, 1000); err != nil {
		t.Fatalf("recovery: %v", err)
	}
}
