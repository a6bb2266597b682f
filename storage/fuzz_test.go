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
