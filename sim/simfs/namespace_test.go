// Goal: pin the namespace half of the crash model: names are durable only
// after SyncDir of their directory (File.Sync is not enough), each queued
// op survives or reverts as a whole, sequences may half-apply, and SyncDir
// commits its own directory's ops (plus those they depend on) only.
package simfs

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/takhin-io/takhin/env"
)

// names lists which of paths exist, as "a,c" (or "-" for none).
func names(t *testing.T, fs *FS, paths ...string) string {
	t.Helper()
	var found []string
	for _, p := range paths {
		if _, err := fs.lookup(p); err == nil {
			found = append(found, p)
		}
	}
	if len(found) == 0 {
		return "-"
	}
	return strings.Join(found, ",")
}

// expectOutcomes runs setup over many crash seeds and checks that the set
// of outcomes (labelled by the paths that exist) is exactly want.
func expectOutcomes(t *testing.T, setup func(*FS), paths []string, want ...string) {
	t.Helper()
	expectLabels(t, setup, func(fs *FS) string { return names(t, fs, paths...) }, want...)
}

// expectLabels is expectOutcomes with any labelling of the crashed disk.
func expectLabels(t *testing.T, setup func(*FS), label func(*FS) string, want ...string) {
	t.Helper()
	seen := overSeeds(t, Options{}, setup, label)
	for _, w := range want {
		if seen[w] == 0 {
			t.Errorf("outcome %q never seen; seen %v", w, seen)
		}
	}
	for got := range seen {
		if !slices.Contains(want, got) {
			t.Errorf("illegal outcome %q; legal %v", got, want)
		}
	}
}

func TestCreateDurableOnlyAfterSyncDir(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*FS)
		want  []string
	}{
		{"file-synced only: may vanish", func(fs *FS) {
			put(t, fs, "f", []byte("x"), true)
		}, []string{"f", "-"}},
		{"dir-synced: stays", func(fs *FS) {
			put(t, fs, "f", []byte("x"), false)
			ok(t, fs.SyncDir("."))
		}, []string{"f"}},
		{"other dir synced: may vanish", func(fs *FS) {
			ok(t, fs.MkdirAll("d"))
			ok(t, fs.SyncDir("."))
			put(t, fs, "f", []byte("x"), true)
			put(t, fs, "d/g", []byte("x"), true)
			ok(t, fs.SyncDir("d"))
		}, []string{"f,d/g", "d/g"}},
		{"parent of dir not synced: subtree may vanish", func(fs *FS) {
			ok(t, fs.MkdirAll("a/b"))
			put(t, fs, "a/b/f", []byte("x"), true)
			ok(t, fs.SyncDir("a/b"))
			ok(t, fs.SyncDir("a"))
		}, []string{"a/b/f", "-"}},
		{"every parent synced: stays", func(fs *FS) {
			ok(t, fs.MkdirAll("a/b"))
			put(t, fs, "a/b/f", []byte("x"), true)
			ok(t, fs.SyncDir("a/b"))
			ok(t, fs.SyncDir("a"))
			ok(t, fs.SyncDir("."))
		}, []string{"a/b/f"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectOutcomes(t, tt.setup, []string{"f", "a/b/f", "d/g"}, tt.want...)
		})
	}
}

func TestRenameAndRemove(t *testing.T) {
	durableAB := func(fs *FS) {
		put(t, fs, "a", []byte("A"), true)
		put(t, fs, "b", []byte("B"), true)
		ok(t, fs.SyncDir("."))
	}
	tests := []struct {
		name  string
		setup func(*FS)
		want  []string
	}{
		{"rename without SyncDir reverts or not", func(fs *FS) {
			durableAB(fs)
			ok(t, fs.Rename("a", "c"))
		}, []string{"a,b", "b,c"}},
		{"rename with SyncDir survives", func(fs *FS) {
			durableAB(fs)
			ok(t, fs.Rename("a", "c"))
			ok(t, fs.SyncDir("."))
		}, []string{"b,c"}},
		{"rename over a file is atomic", func(fs *FS) {
			durableAB(fs)
			ok(t, fs.Rename("a", "b"))
		}, []string{"a,b", "b"}},
		{"chain a->c->d may half-apply", func(fs *FS) {
			durableAB(fs)
			ok(t, fs.Rename("a", "c"))
			ok(t, fs.Rename("c", "d"))
		}, []string{"a,b", "b,c", "b,d"}},
		{"two renames may half-apply", func(fs *FS) {
			durableAB(fs)
			ok(t, fs.Rename("a", "c"))
			ok(t, fs.Rename("b", "d"))
		}, []string{"a,b", "b,c", "a,d", "c,d"}},
		{"remove without SyncDir may reappear", func(fs *FS) {
			durableAB(fs)
			ok(t, fs.Remove("a"))
		}, []string{"a,b", "b"}},
		{"remove with SyncDir is gone", func(fs *FS) {
			durableAB(fs)
			ok(t, fs.Remove("a"))
			ok(t, fs.SyncDir("."))
		}, []string{"b"}},
		{"create then rename, never dir-synced", func(fs *FS) {
			put(t, fs, "a", []byte("A"), true)
			ok(t, fs.Rename("a", "c"))
		}, []string{"-", "a", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectOutcomes(t, tt.setup, []string{"a", "b", "c", "d"}, tt.want...)
		})
	}
}

func TestDirectories(t *testing.T) {
	durableDir := func(fs *FS) {
		ok(t, fs.MkdirAll("a"))
		ok(t, fs.MkdirAll("b"))
		put(t, fs, "a/x", []byte("x"), true)
		ok(t, fs.SyncDir("a"))
		ok(t, fs.SyncDir("."))
	}
	tests := []struct {
		name  string
		setup func(*FS)
		want  []string
	}{
		{"cross-dir rename durable by SyncDir of the target", func(fs *FS) {
			durableDir(fs)
			ok(t, fs.Rename("a/x", "b/x"))
			ok(t, fs.SyncDir("b"))
		}, []string{"a,b/x"}},
		{"cross-dir rename durable by SyncDir of the source", func(fs *FS) {
			durableDir(fs)
			ok(t, fs.Rename("a/x", "b/x"))
			ok(t, fs.SyncDir("a"))
		}, []string{"a,b/x"}},
		{"cross-dir rename of a new file commits its create", func(fs *FS) {
			durableDir(fs)
			put(t, fs, "a/y", []byte("y"), true)
			ok(t, fs.Rename("a/y", "b/y"))
			ok(t, fs.SyncDir("b"))
		}, []string{"a,a/x,b/y"}},
		{"rmdir without SyncDir", func(fs *FS) {
			durableDir(fs)
			ok(t, fs.Remove("a/x"))
			ok(t, fs.Remove("a"))
		}, []string{"a,a/x", "a", "-"}},
		{"rename dir without SyncDir", func(fs *FS) {
			durableDir(fs)
			ok(t, fs.Rename("a", "c"))
		}, []string{"a,a/x", "c,c/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectOutcomes(t, tt.setup, []string{"a", "a/x", "a/y", "b/x", "b/y", "c", "c/x"}, tt.want...)
		})
	}
}

// TestCheckpointProtocol is the pattern storage uses for every checkpoint:
// write temp, Sync, Rename over the old one, SyncDir. Without the SyncDir the
// old or the new checkpoint survives whole, never a mix or nothing.
func TestCheckpointProtocol(t *testing.T) {
	for _, syncDir := range []bool{false, true} {
		// Outcomes: which names exist, then ckpt's first byte and size/100.
		legal := []string{"ckpt n9"}
		if !syncDir {
			legal = append(legal, "ckpt o7", "ckpt,ckpt.tmp o7")
		}
		expectLabels(t, func(fs *FS) {
			put(t, fs, "ckpt", bytesOf('o', 700), true)
			ok(t, fs.SyncDir("."))
			put(t, fs, "ckpt.tmp", bytesOf('n', 900), true)
			ok(t, fs.Rename("ckpt.tmp", "ckpt"))
			if syncDir {
				ok(t, fs.SyncDir("."))
			}
		}, func(fs *FS) string {
			got, _ := get(t, fs, "ckpt")
			return fmt.Sprintf("%s %c%d", names(t, fs, "ckpt", "ckpt.tmp"), got[0], len(got)/100)
		}, legal...)
	}
}

// A directory whose removal a crash reverted can be removed again: its
// reference count is rebuilt like a file's (found by the simulator).
func TestRemoveDirAgainAfterRevertedRemove(t *testing.T) {
	for seed := uint64(0); seed < 50; seed++ {
		fs := New(env.NewRand(seed, "disk"), Options{})
		if err := fs.MkdirAll("d"); err != nil {
			t.Fatal(err)
		}
		if err := fs.SyncDir("."); err != nil {
			t.Fatal(err)
		}
		if err := fs.Remove("d"); err != nil {
			t.Fatal(err)
		}
		fs.Crash(env.NewRand(seed, "crash"))
		if names, _ := fs.List("."); len(names) == 1 {
			if err := fs.Remove("d"); err != nil {
				t.Fatalf("seed %d: remove again: %v", seed, err)
			}
		}
	}
}
