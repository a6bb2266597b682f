package storage

// Goal: no bytes on disk crash recovery. Whatever a segment file holds,
// Open returns a usable log or an error (ErrCorrupt below the recovery
// point), and every batch it then serves is valid.

import (
	"errors"
	"testing"
)

func FuzzValidateBatch(f *testing.F) {
	f.Add(testBatch(2, []byte("seed"), 1))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ValidateBatch(b)
		if err == nil && (h.Size() != int64(len(b)) || BatchCRC(b) != h.CRC) {
			t.Fatalf("accepted an inconsistent batch %+v", h)
		}
	})
}

func FuzzRecoverSegment(f *testing.F) {
	good := append(testBatch(1, []byte("a"), 1), testBatch(3, []byte("bcd"), 2)...)
	f.Add(good, false)
	f.Add(good[:70], true)
	f.Fuzz(func(t *testing.T, content []byte, checkpointed bool) {
		fs := simDisk(1)
		if err := fs.MkdirAll("p"); err != nil {
			t.Fatal(err)
		}
		if checkpointed {
			if _, err := writeCheckpoint(fs, "p", partitionCheckpointName, "partition",
				[]string{"recovery-point 1", "log-start-offset 0"}); err != nil {
				t.Fatal(err)
			}
		}
		seg, err := fs.Create("p/" + segmentName(0, logSuffix))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := seg.Write(content); err != nil {
			t.Fatal(err)
		}
		seg.Close()
		l, err := Open(fs, "p", smallConfig(), 0)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("open failed without ErrCorrupt: %v", err)
			}
			return
		}
		defer l.Close()
		readAll(t, l, l.StartOffset())
	})
}

// FuzzDamagedLog: a real log of several checkpointed segments (with index
// hints, a producer snapshot, a cleaner checkpoint), then bits flipped
// anywhere in its files, chosen by the input (each 6 bytes: file, position,
// bit). Open, reading everything, a clean pass and reading again each
// return nil or a corruption error, never panic, and every batch served is
// valid. (Added after a review found flipped base offsets reaching an
// assertion in the cleaner: the single-segment target could not.)
func FuzzDamagedLog(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 7, 1})    // the first segment's first base offset
	f.Add([]byte{1, 0, 0, 0, 12, 3})   // an index hint
	f.Add([]byte{3, 0, 0, 1, 0x2d, 0}) // somewhere in a later segment
	f.Fuzz(func(t *testing.T, damage []byte) {
		fs := simDisk(1)
		cfg := Config{SegmentBytes: 1024, SegmentMs: 1 << 40, IndexIntervalBytes: 128}
		l, err := Open(fs, "p", cfg, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 16; i++ {
			k := []byte{'k', byte('0' + i%5)}
			mustAppend(t, l, keyedBatch(t, []kv{{key: k, value: make([]byte, 60+i)}}, 0, int64(i%2), 0, int32(i/2), false))
			if i == 11 {
				cleanAll(t, l, CleanPolicy{HighWatermark: 10, NowMs: 1}, 1<<20)
			}
		}
		mustSyncCheckpoint(t, l)
		l.Close()
		names, err := fs.List("p")
		if err != nil {
			t.Fatal(err)
		}
		for ; len(damage) >= 6; damage = damage[6:] {
			name := "p/" + names[int(damage[0])%len(names)]
			f, err := fs.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			size, _ := f.Size()
			f.Close()
			if size > 0 {
				pos := int64(uint32(damage[1])<<24|uint32(damage[2])<<16|uint32(damage[3])<<8|uint32(damage[4])) % size
				if err := fs.Corrupt(name, pos, damage[5]%8); err != nil {
					t.Fatal(err)
				}
			}
		}
		l, err = Open(fs, "p", cfg, 1)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("open failed without ErrCorrupt: %v", err)
			}
			return
		}
		defer l.Close()
		checkServed := func() bool {
			for from := l.StartOffset(); from < l.EndOffset(); {
				r, err := l.Read(from, 1<<16, l.EndOffset())
				if err != nil {
					if !errors.Is(err, ErrCorrupt) {
						t.Fatalf("read %d: %v", from, err)
					}
					return false
				}
				for b := r.Batches; len(b) > 0; {
					h := DecodeBatchHeader(b)
					if _, err := ValidateBatch(b[:h.Size()]); err != nil || h.BaseOffset < from && h.LastOffset() < from {
						t.Fatalf("read %d served a bad batch %d..%d: %v", from, h.BaseOffset, h.LastOffset(), err)
					}
					from, b = h.NextOffset(), b[h.Size():]
				}
			}
			return true
		}
		if !checkServed() {
			return
		}
		c, err := l.StartClean(CleanPolicy{HighWatermark: l.EndOffset(), NowMs: 2})
		for done := false; err == nil && !done; {
			done, err = l.CleanStep(c, 1<<20)
		}
		if err != nil && !errors.Is(err, ErrCorrupt) && l.Failed() == nil {
			t.Fatalf("clean: %v", err)
		}
		if l.Failed() == nil {
			checkServed()
		}
	})
}
