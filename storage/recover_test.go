package storage

// Goal: Kafka's recovery rule, explicit — bad bytes at or above the
// recovery point are truncated (with everything after them), bad bytes below
// it fail-stop the partition (at Open when recovery reads them, at Read
// otherwise), and a damaged checkpoint is corruption, never a silent reset.

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/takhin-io/takhin/driver/osfs"
)

// fixture is a log on a real directory whose files the test may damage.
type fixture struct {
	t    *testing.T
	root string
}

func newFixture(t *testing.T) *fixture { return &fixture{t: t, root: t.TempDir()} }

func (f *fixture) open() (*Log, error) {
	return Open(osfs.New(f.root), "topic-0", smallConfig(), 1000)
}

func (f *fixture) mustOpen() *Log {
	l, err := f.open()
	if err != nil {
		f.t.Fatalf("open: %v", err)
	}
	return l
}

func (f *fixture) path(name string) string { return filepath.Join(f.root, "topic-0", name) }

// flip flips one bit of a file at off.
func (f *fixture) flip(name string, off int64) {
	b, err := os.ReadFile(f.path(name))
	if err != nil {
		f.t.Fatal(err)
	}
	b[off] ^= 0x10
	if err := os.WriteFile(f.path(name), b, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// build writes n batches of about 300 bytes (several 4 KiB segments),
// syncs, checkpoints after the first checkpointAt of them, and closes.
// It returns the positions (segment name, offset in file) of every batch.
func (f *fixture) build(n, checkpointAt int) []batchPlace {
	l := f.mustOpen()
	var places []batchPlace
	for i := 0; i < n; i++ {
		r := mustAppend(f.t, l, testBatch(1, make([]byte, 240), int64(i)))
		s := l.active()
		places = append(places, batchPlace{file: segmentName(s.base, logSuffix), pos: s.size - 301, offset: r.Base})
		if i+1 == checkpointAt {
			if err := l.Sync(); err != nil {
				f.t.Fatal(err)
			}
			if err := l.Checkpoint(); err != nil {
				f.t.Fatal(err)
			}
		}
	}
	if err := l.Sync(); err != nil {
		f.t.Fatal(err)
	}
	l.Close()
	return places
}

type batchPlace struct {
	file   string
	pos    int64
	offset Offset
}

func TestRecoveryTruncatesAboveTheRecoveryPoint(t *testing.T) {
	f := newFixture(t)
	places := f.build(60, 30) // recovery point 30; 30..59 synced but not checkpointed
	bad := places[45]
	f.flip(bad.file, bad.pos+70) // inside the records: a CRC mismatch
	l := f.mustOpen()
	defer l.Close()
	if l.EndOffset() != 45 {
		t.Fatalf("end %d, want 45 (truncated at the bad batch)", l.EndOffset())
	}
	if hs := readAll(t, l, 0); len(hs) != 45 {
		t.Fatalf("%d batches survive, want 45", len(hs))
	}
	if l.RecoveryPoint() != 45 {
		t.Fatalf("recovery point %d after recovery, want 45", l.RecoveryPoint())
	}
}

func TestRecoveryTruncatesATornTail(t *testing.T) {
	f := newFixture(t)
	places := f.build(20, 20)
	last := places[len(places)-1]
	fh, err := os.OpenFile(f.path(last.file), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.Write(testBatch(1, make([]byte, 100), 0)[:90]); err != nil { // half a batch
		t.Fatal(err)
	}
	fh.Close()
	l := f.mustOpen()
	defer l.Close()
	if l.EndOffset() != 20 || len(readAll(t, l, 0)) != 20 {
		t.Fatalf("end %d, want 20", l.EndOffset())
	}
}

func TestCorruptionBelowTheRecoveryPointFailStops(t *testing.T) {
	cases := []struct {
		name   string
		batch  int    // which batch to damage
		atOpen bool   // recovery reads it (segment holding the recovery point, or a trusted tail)
		file   string // a checkpoint file to damage instead
	}{
		{name: "segment holding the recovery point", batch: 55, atOpen: true},
		{name: "tail of a trusted segment", batch: 12, atOpen: true},
		{name: "indexed part of a trusted segment", batch: 2, atOpen: false},
		{name: "partition checkpoint", file: partitionCheckpointName, atOpen: true},
		{name: "epoch checkpoint", file: epochCheckpointName, atOpen: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			places := f.build(60, 58)
			if c.file != "" {
				f.flip(c.file, 30)
			} else {
				f.flip(places[c.batch].file, places[c.batch].pos+70)
			}
			l, err := f.open()
			if c.atOpen {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("open: want ErrCorrupt, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer l.Close()
			_, err = l.Read(places[c.batch].offset, 1, l.EndOffset())
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("read: want ErrCorrupt, got %v", err)
			}
			if _, err := l.Read(0, 1, l.EndOffset()); !errors.Is(err, ErrFailed) {
				t.Fatalf("after corruption the log must refuse reads, got %v", err)
			}
		})
	}
}

func TestDamagedIndexHintsAreHarmless(t *testing.T) {
	f := newFixture(t)
	f.build(60, 60)
	names, _ := os.ReadDir(filepath.Join(f.root, "topic-0"))
	for _, n := range names {
		if filepath.Ext(n.Name()) == indexSuffix {
			if err := os.Truncate(f.path(n.Name()), 13); err != nil { // one entry and a torn one
				t.Fatal(err)
			}
		}
	}
	l := f.mustOpen()
	defer l.Close()
	if hs := readAll(t, l, 0); len(hs) != 60 {
		t.Fatalf("%d batches, want 60", len(hs))
	}
}

// damageHints applies damage to every hint file of f's log with the given
// suffix that holds at least minBytes, and returns how many it damaged.
func damageHints(t *testing.T, f *fixture, suffix string, minBytes int, damage func([]byte)) int {
	t.Helper()
	names, _ := os.ReadDir(filepath.Join(f.root, "topic-0"))
	damaged := 0
	for _, n := range names {
		if filepath.Ext(n.Name()) != suffix {
			continue
		}
		b, err := os.ReadFile(f.path(n.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < minBytes {
			continue
		}
		damage(b)
		if err := os.WriteFile(f.path(n.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
		damaged++
	}
	if damaged == 0 {
		t.Fatalf("no %s hint of %d bytes or more to damage", suffix, minBytes)
	}
	return damaged
}

// TestAWrongLastIndexEntryCostsAScan: the last entry of a trusted
// segment's index hint names the wrong offset for its position (a bit
// flip in the hint, which has no checksum). Recovery's cross-check catches
// it and scans the segment whole instead of refusing the log: a hint is
// never the truth.
func TestAWrongLastIndexEntryCostsAScan(t *testing.T) {
	f := newFixture(t)
	f.build(60, 60)
	damageHints(t, f, indexSuffix, 2*indexEntrySize, func(b []byte) {
		last := len(b) - indexEntrySize
		binary.BigEndian.PutUint32(b[last:], binary.BigEndian.Uint32(b[last:])+1) // still ascending
	})
	l := f.mustOpen()
	defer l.Close()
	if hs := readAll(t, l, 0); len(hs) != 60 {
		t.Fatalf("%d batches, want 60", len(hs))
	}
}

// shiftFifthEntry moves the fifth entry of the first segment's hint with
// the given suffix one byte off its batch (flipping the low bit of the
// position field at posField within the entry): still in order, so Open
// keeps it.
func shiftFifthEntry(t *testing.T, f *fixture, suffix string, entrySize, posField int) {
	t.Helper()
	name := f.path(segmentName(0, suffix))
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 8*entrySize {
		t.Fatalf("%s hint of %d bytes, want at least 8 entries", suffix, len(b))
	}
	at := 4*entrySize + posField
	binary.BigEndian.PutUint32(b[at:], binary.BigEndian.Uint32(b[at:])^1)
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAWrongMiddleIndexEntryCostsAScan: a middle entry of an index hint
// points one byte off its batch (a flipped bit that keeps the entries in
// order, so Open keeps it). A read that lands on it scans the segment from
// its start instead of fail-stopping the log, and the entry is dropped.
func TestAWrongMiddleIndexEntryCostsAScan(t *testing.T) {
	f := newFixture(t)
	f.build(60, 60)
	shiftFifthEntry(t, f, indexSuffix, indexEntrySize, 4)
	l := f.mustOpen()
	defer l.Close()
	for o := Offset(0); o < 60; o++ {
		r, err := l.Read(o, 1, 60)
		if err != nil || len(r.Batches) == 0 || DecodeBatchHeader(r.Batches).BaseOffset != o {
			t.Fatalf("read %d: %v (log failed: %v)", o, err, l.Failed())
		}
	}
}

// TestAWrongMiddleTimeIndexEntryCostsAScan: a middle time-index entry
// points one byte off its batch (a flipped bit that keeps the entries in
// order). A timestamp lookup that starts from it scans the segment from
// its start instead of fail-stopping the log, and answers right.
func TestAWrongMiddleTimeIndexEntryCostsAScan(t *testing.T) {
	f := newFixture(t)
	f.build(60, 60) // the batch at offset i has timestamp i
	shiftFifthEntry(t, f, timeIndexSuffix, timeEntrySize, 12)
	l := f.mustOpen()
	defer l.Close()
	for ts := int64(0); ts < 60; ts++ {
		h, found, err := l.FindTimestamp(ts)
		if err != nil || !found || h.BaseOffset != Offset(ts) {
			t.Fatalf("timestamp %d: batch %d, found %v, %v (log failed: %v)", ts, h.BaseOffset, found, err, l.Failed())
		}
	}
}

// TestAWrongLastTimeIndexEntryCostsAScan: a flipped timestamp in the last
// time-index entry would become the segment's largest timestamp, and time
// retention would keep the segment for ever (or drop it early). Recovery
// cross-checks the entry against its batch and scans instead.
func TestAWrongLastTimeIndexEntryCostsAScan(t *testing.T) {
	f := newFixture(t)
	f.build(60, 60) // the batch at offset i has timestamp i
	damageHints(t, f, timeIndexSuffix, timeEntrySize, func(b []byte) {
		last := len(b) - timeEntrySize
		binary.BigEndian.PutUint64(b[last:], binary.BigEndian.Uint64(b[last:])+1<<40)
	})
	l := f.mustOpen()
	defer l.Close()
	for _, s := range l.Segments() {
		if s.LargestTimestamp != int64(s.Next-1) {
			t.Fatalf("segment %d..%d: largest timestamp %d, want %d", s.Base, s.Next-1, s.LargestTimestamp, s.Next-1)
		}
	}
}
