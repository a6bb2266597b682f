// Goal: pin the data half of the crash model: unsynced data is lost, kept
// or torn, synced data always survives, tearing happens only at sector
// granularity within the legal sizes, and after a crash old handles are
// stale and everything left is durable.
package simfs

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/takhin-io/takhin/env"
)

// durableFile creates name with data, Syncs it and SyncDirs its directory.
func durableFile(t tb, fs *FS, name string, data []byte) {
	t.Helper()
	put(t, fs, name, data, true)
	ok(t, fs.SyncDir("."))
	if !fs.IsDurable(name) {
		t.Fatalf("%s not durable after Sync and SyncDir", name)
	}
}

func TestUnsyncedAppendLostKeptOrTorn(t *testing.T) {
	old := bytesOf('A', 1000)
	cur := append(bytes.Clone(old), bytesOf('B', 1000)...)
	seen := overSeeds(t, Options{}, func(fs *FS) {
		durableFile(t, fs, "f", old)
		appendTo(t, fs, "f", cur[len(old):], false)
	}, func(fs *FS) string {
		got, found := get(t, fs, "f")
		if !found {
			t.Fatal("a durable file vanished")
		}
		checkTorn(t, got, old, cur, 512)
		switch {
		case bytes.Equal(got, old):
			return "lost"
		case bytes.Equal(got, cur):
			return "kept"
		}
		return "torn"
	})
	for _, outcome := range []string{"lost", "kept", "torn"} {
		if seen[outcome] == 0 {
			t.Errorf("no seed gave outcome %q: %v", outcome, seen)
		}
	}
}

func TestSyncedDataAlwaysSurvives(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*FS)
	}{
		{"synced then crash", func(fs *FS) {}},
		{"unsynced append after", func(fs *FS) { appendTo(t, fs, "f", []byte("more"), false) }},
		{"other files unsynced", func(fs *FS) { put(t, fs, "g", bytesOf('g', 5000), false) }},
		{"synced twice", func(fs *FS) { appendTo(t, fs, "f", []byte("more"), true) }},
	}
	want := bytesOf('s', 1300)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			overSeeds(t, Options{}, func(fs *FS) {
				durableFile(t, fs, "f", want)
				tt.setup(fs)
			}, func(fs *FS) string {
				got, found := get(t, fs, "f")
				if !found || !bytes.HasPrefix(got, want) {
					t.Fatalf("synced content lost: found=%v len=%d", found, len(got))
				}
				return ""
			})
		})
	}
}

// TestTornOnlyAtSectors rewrites a durable file (Truncate then Write) and
// checks over many seeds that each surviving sector is wholly old or new.
func TestTornOnlyAtSectors(t *testing.T) {
	tests := []struct {
		name             string
		sector           int
		oldSize, newSize int
	}{
		{"grow", 512, 2100, 3000},
		{"shrink", 512, 3000, 1100},
		{"same size", 512, 2048, 2048},
		{"small sectors", 64, 700, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, cur := pattern('A', tt.oldSize, tt.sector), pattern('a', tt.newSize, tt.sector)
			seen := overSeeds(t, Options{SectorSize: tt.sector}, func(fs *FS) {
				durableFile(t, fs, "f", old)
				f, err := fs.OpenReadWrite("f")
				ok(t, err)
				ok(t, f.Truncate(0))
				_, err = f.Write(cur)
				ok(t, err)
			}, func(fs *FS) string {
				got, _ := get(t, fs, "f")
				checkTorn(t, got, old, cur, tt.sector)
				if bytes.Equal(got, old) || bytes.Equal(got, cur) {
					return "whole"
				}
				return "torn"
			})
			if seen["torn"] == 0 {
				t.Fatalf("no torn outcome: %v", seen)
			}
		})
	}
}

// pattern makes size bytes whose sector k holds base+k, so sectors differ.
func pattern(base byte, size, sector int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = base + byte(i/sector)
	}
	return b
}

// checkTorn asserts got is a legal crash outcome of a file whose medium
// held old and page cache cur: its size is one of the two or a sector
// boundary between, and each sector is the old one (zeros past old) or the
// new one (old bytes past cur).
func checkTorn(t *testing.T, got, old, cur []byte, sector int) {
	t.Helper()
	size := len(got)
	low, high := min(len(old), len(cur)), max(len(old), len(cur))
	if size != len(old) && size != len(cur) && (size < low || size > high || size%sector != 0) {
		t.Fatalf("size %d not among %d, %d or a sector boundary between", size, len(old), len(cur))
	}
	for start := 0; start < size; start += sector {
		end := min(start+sector, size)
		o, c := make([]byte, end-start), make([]byte, end-start)
		overlay(o, nil, old, start)
		overlay(c, old, cur, start)
		if s := got[start:end]; !bytes.Equal(s, o) && !bytes.Equal(s, c) {
			t.Fatalf("sector at %d is neither old nor new: %q", start, s[:min(8, len(s))])
		}
	}
}

func TestHandlesStaleAfterCrash(t *testing.T) {
	fs := newFS(t, Options{})
	durableFile(t, fs, "f", []byte("data"))
	f, err := fs.OpenReadWrite("f")
	ok(t, err)
	fs.Crash(env.NewRand(1, "crash"))
	_, werr := f.Write([]byte("x"))
	_, rerr := f.ReadAt(make([]byte, 1), 0)
	_, serr := f.Size()
	for i, err := range []error{werr, rerr, serr, f.Sync(), f.Truncate(0), f.Close()} {
		if !errors.Is(err, ErrStaleHandle) {
			t.Errorf("method %d: %v, want ErrStaleHandle", i, err)
		}
	}
	if got, _ := get(t, fs, "f"); string(got) != "data" {
		t.Fatalf("content %q", got)
	}
}

func TestEverythingDurableAfterCrash(t *testing.T) {
	for seed := range uint64(50) {
		fs := New(env.NewRand(seed, "fs"), Options{})
		ok(t, fs.MkdirAll("d"))
		for i := range 4 {
			put(t, fs, fmt.Sprintf("d/f%d", i), bytesOf('x', 700*i), i%2 == 0)
		}
		fs.Crash(env.NewRand(seed, "crash"))
		for _, name := range []string{"d", "d/f0", "d/f1", "d/f2", "d/f3"} {
			if _, err := fs.lookup(name); err == nil && !fs.IsDurable(name) {
				t.Fatalf("seed %d: %s not durable after crash", seed, name)
			}
		}
		digest := fs.Digest()
		fs.Crash(env.NewRand(seed+1, "crash"))
		if fs.Digest() != digest {
			t.Fatalf("seed %d: a second crash with nothing unsynced changed the disk", seed)
		}
	}
}
