package storage

// Goal: a batch's BaseOffset lies outside its CRC, so a flipped bit there
// is caught only by cross-checks against the segment (its end, the batch
// before): a read or a clean pass that meets one reports corruption, never
// serves the batch under another offset (a consumer would skip offsets),
// never writes it into a cleaned segment, and never panics; a garbage base
// offset whose last offset overflows is an invalid batch at recovery.
// (Found by a review of the paths from disk bytes to assertions.)

import (
	"errors"
	"testing"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/sim/simfs"
	"github.com/takhin-io/takhin/storage/compression"
)

// flipFirstBaseOffset builds a log of four one-record batches, one segment
// each, synced and checkpointed, then flips bit 1 of the last byte of the
// first batch's BaseOffset (offset 0 reads as 2) on the medium.
func flipFirstBaseOffset(t *testing.T) (*simfs.FS, *Log) {
	t.Helper()
	fs := simfs.New(env.NewRand(1, "disk"), simfs.Options{})
	cfg := Config{SegmentBytes: 1 << 20, SegmentMs: 500, IndexIntervalBytes: 4096}
	l, err := Open(fs, "t-0", cfg, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ { // a second apart: segment.ms rolls each
		b := keyedBatch(t, []kv{{key: []byte("k"), value: []byte{byte(i)}, ts: int64(i) * 1000}}, compression.CodecNone, -1, 0, 0, false)
		if _, err := l.Append(b, AppendOptions{NowMs: int64(i) * 1000}); err != nil {
			t.Fatal(err)
		}
	}
	mustSyncCheckpoint(t, l)
	if n := len(l.Segments()); n != 4 {
		t.Fatalf("%d segments, want 4", n)
	}
	if err := fs.Corrupt("t-0/"+segmentName(0, logSuffix), offBaseOffset+7, 1); err != nil {
		t.Fatal(err)
	}
	return fs, l
}

func TestFlippedBaseOffsetFailsARead(t *testing.T) {
	_, l := flipFirstBaseOffset(t)
	defer l.Close()
	r, err := l.Read(0, 1<<20, l.EndOffset())
	if !errors.Is(err, ErrCorrupt) {
		h := DecodeBatchHeader(r.Batches)
		t.Fatalf("read(0) = batch %d..%d, next %d, %v; want ErrCorrupt", h.BaseOffset, h.LastOffset(), r.Next, err)
	}
}

func TestFlippedBaseOffsetFailsACleanPass(t *testing.T) {
	_, l := flipFirstBaseOffset(t)
	defer l.Close()
	c, err := l.StartClean(CleanPolicy{HighWatermark: l.EndOffset(), NowMs: 5000})
	for done := false; err == nil && !done; {
		done, err = l.CleanStep(c, 1<<20)
	}
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a clean pass over the flipped batch: %v, want ErrCorrupt (segments %+v)", err, l.Segments())
	}
}

func TestOverflowingBaseOffsetIsAnInvalidBatch(t *testing.T) {
	fs := simfs.New(env.NewRand(1, "disk"), simfs.Options{})
	cfg := Config{SegmentBytes: 1 << 20, SegmentMs: 1 << 40, IndexIntervalBytes: 4096}
	l, err := Open(fs, "t-0", cfg, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		mustAppend(t, l, keyedBatch(t, []kv{{key: []byte("k"), value: []byte{1}}, {key: []byte("j"), value: []byte{2}}}, compression.CodecNone, -1, 0, 0, false))
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	l.Close()                             // the recovery point stays 0: recovery scans every batch
	for bit := uint8(0); bit < 7; bit++ { // the first batch's base offset: 0x7f00…00 + ff bytes = MaxInt64
		if err := fs.Corrupt("t-0/"+segmentName(0, logSuffix), offBaseOffset, bit); err != nil {
			t.Fatal(err)
		}
	}
	for i := int64(1); i < 8; i++ {
		for bit := uint8(0); bit < 8; bit++ {
			if err := fs.Corrupt("t-0/"+segmentName(0, logSuffix), offBaseOffset+i, bit); err != nil {
				t.Fatal(err)
			}
		}
	}
	l, err = Open(fs, "t-0", cfg, 2000)
	if err != nil {
		t.Fatalf("open: %v (above the recovery point, a bad batch is cut)", err)
	}
	defer l.Close()
	if s := l.Segments()[0]; l.EndOffset() != 0 || s.Next < s.Base {
		t.Fatalf("after recovery: end %d, segment %+v; want the log cut at the overflowing batch", l.EndOffset(), s)
	}
}
