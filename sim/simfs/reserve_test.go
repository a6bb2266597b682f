package simfs

// Goal: a reservation behaves as osfs's does on a real disk (see
// env.File.Reserve): the zeros follow the data in the file but not in the
// handle's Size; Writes overwrite them without taking new space, so they
// succeed on a full disk; Truncate ends the reservation and Close cuts it
// off; a crash treats the zeros as data (synced: they survive, the synced
// writes over them too; unsynced: kept, lost or torn like any write).

import (
	"bytes"
	"testing"

	"github.com/takhin-io/takhin/env"
)

func TestReserveOverwritesAndCloseCuts(t *testing.T) {
	fs := newFS(t, Options{CapacityBytes: 10_000})
	f, err := fs.Create("seg")
	ok(t, err)
	_, err = f.Write([]byte("ab"))
	ok(t, err)
	ok(t, f.Reserve(1000))
	if size, _ := f.Size(); size != 2 {
		t.Fatalf("Size after Reserve = %d, want 2", size)
	}
	if u, _ := fs.Usage("."); u.UsableBytes != 10_000-1002 {
		t.Fatalf("usable %d: the reservation takes its space", u.UsableBytes)
	}
	fs.SetCapacity(1) // full: only the reservation can take writes
	if n, err := f.Write([]byte("cd")); n != 2 || err != nil {
		t.Fatalf("Write into the reservation on a full disk = %d, %v", n, err)
	}
	if n, err := f.Write(bytesOf('x', 1000)); n != 998 || !env.IsNoSpace(err) {
		t.Fatalf("Write past the reservation on a full disk = %d, %v; want the 998 reserved bytes and ENOSPC", n, err)
	}
	ok(t, f.Truncate(4)) // the caller cuts the partial write: the reservation ends
	if err := f.Reserve(10); !env.IsNoSpace(err) {
		t.Fatalf("Reserve on a full disk = %v", err)
	}
	fs.SetCapacity(0)
	ok(t, f.Reserve(500))
	other, err := fs.Open("seg")
	ok(t, err)
	if size, _ := other.Size(); size != 504 {
		t.Fatalf("another handle's Size = %d, want 504 (the zeros are file content)", size)
	}
	ok(t, other.Close())
	_, err = f.Write([]byte("e"))
	ok(t, err)
	ok(t, f.Close())
	if got, _ := get(t, fs, "seg"); string(got) != "abcde" {
		t.Fatalf("after Close the file holds %q, want abcde", got)
	}
}

func TestReserveAcrossCrashes(t *testing.T) {
	outcomes := map[int]int{}
	for seed := uint64(0); seed < seeds; seed++ {
		fs := New(env.NewRand(seed, "simfs-test"), Options{})
		f, err := fs.Create("seg")
		ok(t, err)
		ok(t, fs.SyncDir("."))
		_, err = f.Write([]byte("synced"))
		ok(t, err)
		ok(t, f.Reserve(4096))
		_, err = f.Write([]byte("+also"))
		ok(t, err)
		ok(t, f.Sync())
		_, err = f.Write([]byte("+unsynced"))
		ok(t, err)
		fs.Crash(env.NewRand(seed, "crash"))
		got, _ := get(t, fs, "seg")
		if len(got) != 4096+6 || !bytes.HasPrefix(got, []byte("synced+also")) {
			t.Fatalf("seed %d: %d bytes starting %q; want the synced writes and the synced zeros", seed, len(got), got[:min(20, len(got))])
		}
		rest := got[len("synced+also"):]
		switch {
		case bytes.HasPrefix(rest, []byte("+unsynced")):
			outcomes[1]++
		case bytes.Equal(rest, make([]byte, len(rest))):
			outcomes[0]++
		default:
			outcomes[2]++ // torn at a sector
		}
	}
	if outcomes[0] == 0 || outcomes[1] == 0 {
		t.Fatalf("outcomes %v: a crash should sometimes keep and sometimes lose the unsynced write", outcomes)
	}
}
