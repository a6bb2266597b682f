// These tests pin osfs to env.FS's contract on a real disk (t.TempDir()):
// each method, O_APPEND writes (also after Truncate), reservations, sorted List, Rename
// replacing its target, plausible Usage, errors that keep errors.Is working,
// and paths that try to leave the root.
package osfs_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"testing"

	"github.com/takhin-io/takhin/driver/osfs"
	"github.com/takhin-io/takhin/env"
)

func newFS(t *testing.T) (env.FS, string) {
	t.Helper()
	root := t.TempDir()
	return osfs.New(root), root
}

func writeFile(t *testing.T, fsys env.FS, name, data string) {
	t.Helper()
	f, err := fsys.Create(name)
	if err != nil {
		t.Fatalf("Create(%q): %v", name, err)
	}
	if _, err := f.Write([]byte(data)); err != nil {
		t.Fatalf("Write(%q): %v", name, err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close(%q): %v", name, err)
	}
}

// readAll reads the whole file through env.File's ReadAt and Size.
func readAll(t *testing.T, fsys env.FS, name string) string {
	t.Helper()
	f, err := fsys.Open(name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		t.Fatalf("Size(%q): %v", name, err)
	}
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil {
		t.Fatalf("ReadAt(%q): %v", name, err)
	}
	return string(buf)
}

func TestCreateWriteReadAtSyncSize(t *testing.T) {
	fsys, root := newFS(t)
	f, err := fsys.Create("log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.Name(); got != "log" {
		t.Errorf("Name() = %q, want the path it was opened with, %q", got, "log")
	}
	if n, err := f.Write([]byte("hello world")); n != 11 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if size, err := f.Size(); size != 11 || err != nil {
		t.Fatalf("Size = %d, %v; want 11", size, err)
	}
	buf := make([]byte, 5)
	if n, err := f.ReadAt(buf, 6); n != 5 || err != nil || string(buf) != "world" {
		t.Fatalf("ReadAt(6) = %d, %q, %v", n, buf, err)
	}
	if n, err := f.ReadAt(buf, 9); n != 2 || !errors.Is(err, io.EOF) {
		t.Fatalf("ReadAt past the end = %d, %v; want 2, io.EOF", n, err)
	}
	onDisk, err := os.ReadFile(filepath.Join(root, "log"))
	if err != nil || string(onDisk) != "hello world" {
		t.Fatalf("file on disk = %q, %v: not under the root", onDisk, err)
	}
}

func TestCreateTruncatesAnExistingFile(t *testing.T) {
	fsys, _ := newFS(t)
	writeFile(t, fsys, "f", "old contents")
	writeFile(t, fsys, "f", "new")
	if got := readAll(t, fsys, "f"); got != "new" {
		t.Fatalf("after a second Create: %q, want %q", got, "new")
	}
}

func TestOpenIsReadOnly(t *testing.T) {
	fsys, _ := newFS(t)
	writeFile(t, fsys, "f", "data")
	f, err := fsys.Open("f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("x")); err == nil {
		t.Fatal("Write on a file from Open succeeded; want an error")
	}
}

func TestOpenReadWriteAppends(t *testing.T) {
	fsys, _ := newFS(t)
	writeFile(t, fsys, "f", "abc")
	f, err := fsys.OpenReadWrite("f")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("def")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, fsys, "f"); got != "abcdef" {
		t.Fatalf("got %q, want the write appended: %q", got, "abcdef")
	}
}

// A torn write is cut off with Truncate; the next Write must land at the
// new end, not at the old write position.
func TestWriteAppendsAtSizeAfterTruncate(t *testing.T) {
	fsys, _ := newFS(t)
	f, err := fsys.Create("f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(4); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("xy")); err != nil {
		t.Fatal(err)
	}
	if size, err := f.Size(); size != 6 || err != nil {
		t.Fatalf("Size = %d, %v; want 6", size, err)
	}
	if got := readAll(t, fsys, "f"); got != "0123xy" {
		t.Fatalf("got %q, want %q", got, "0123xy")
	}
}

func TestListIsSorted(t *testing.T) {
	fsys, _ := newFS(t)
	if err := fsys.MkdirAll("d/sub"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"d/c", "d/a", "d/B", "d/b10", "d/b2"} {
		writeFile(t, fsys, name, "")
	}
	got, err := fsys.List("d")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"B", "a", "b10", "b2", "c", "sub"}
	if !slices.Equal(got, want) {
		t.Fatalf("List = %q, want %q", got, want)
	}
	if root, err := fsys.List("."); err != nil || !slices.Equal(root, []string{"d"}) {
		t.Fatalf("List(.) = %q, %v", root, err)
	}
}

func TestRenameReplacesTheTarget(t *testing.T) {
	fsys, _ := newFS(t)
	writeFile(t, fsys, "checkpoint.tmp", "new")
	writeFile(t, fsys, "checkpoint", "old")
	if err := fsys.Rename("checkpoint.tmp", "checkpoint"); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, fsys, "checkpoint"); got != "new" {
		t.Fatalf("after Rename: %q, want %q", got, "new")
	}
	if names, _ := fsys.List("."); !slices.Equal(names, []string{"checkpoint"}) {
		t.Fatalf("List = %q, want only the target", names)
	}
}

func TestRemoveFilesAndEmptyDirectories(t *testing.T) {
	fsys, _ := newFS(t)
	if err := fsys.MkdirAll("d"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, fsys, "d/f", "x")
	if err := fsys.Remove("d"); err == nil {
		t.Fatal("Remove of a non-empty directory succeeded")
	}
	if err := fsys.Remove("d/f"); err != nil {
		t.Fatal(err)
	}
	if err := fsys.Remove("d"); err != nil {
		t.Fatal(err)
	}
	if names, err := fsys.List("."); err != nil || len(names) != 0 {
		t.Fatalf("List = %q, %v; want empty", names, err)
	}
}

func TestMkdirAllAndSyncDir(t *testing.T) {
	fsys, _ := newFS(t)
	if err := fsys.MkdirAll("a/b/c"); err != nil {
		t.Fatal(err)
	}
	if err := fsys.MkdirAll("a/b/c"); err != nil {
		t.Fatalf("MkdirAll of an existing dir: %v", err)
	}
	writeFile(t, fsys, "a/b/c/f", "x")
	for _, dir := range []string{"a/b/c", "a/b", "a", "."} {
		if err := fsys.SyncDir(dir); err != nil {
			t.Errorf("SyncDir(%q): %v", dir, err)
		}
	}
}

func TestUsageIsPlausible(t *testing.T) {
	fsys, _ := newFS(t)
	u, err := fsys.Usage(".")
	if err != nil {
		t.Fatal(err)
	}
	if u.TotalBytes <= 0 || u.UsableBytes < 0 || u.UsableBytes > u.TotalBytes {
		t.Fatalf("Usage = %+v; want 0 < total, 0 ≤ usable ≤ total", u)
	}
}

func TestMissingPathsAreErrNotExist(t *testing.T) {
	fsys, _ := newFS(t)
	ops := map[string]func() error{
		"Create":        func() error { _, err := fsys.Create("nodir/f"); return err },
		"Open":          func() error { _, err := fsys.Open("missing"); return err },
		"OpenReadWrite": func() error { _, err := fsys.OpenReadWrite("missing"); return err },
		"Rename":        func() error { return fsys.Rename("missing", "other") },
		"Remove":        func() error { return fsys.Remove("missing") },
		"List":          func() error { _, err := fsys.List("missing"); return err },
		"SyncDir":       func() error { return fsys.SyncDir("missing") },
		"Usage":         func() error { _, err := fsys.Usage("missing"); return err },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			err := op()
			if !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, env.ErrNotExist) {
				t.Fatalf("err = %v; want errors.Is(err, fs.ErrNotExist)", err)
			}
		})
	}
}

// /dev/full fails every write with ENOSPC: root an FS at /dev to check
// that the error still matches syscall.ENOSPC and env.IsNoSpace.
func TestWriteErrorsKeepTheErrno(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full:", err)
	}
	f, err := osfs.New("/dev").OpenReadWrite("full")
	if err != nil {
		t.Skip("cannot open /dev/full:", err)
	}
	defer f.Close()
	_, err = f.Write([]byte("x"))
	if !errors.Is(err, syscall.ENOSPC) || !env.IsNoSpace(err) || errors.Is(err, syscall.EIO) {
		t.Fatalf("Write to /dev/full: %v; want ENOSPC only", err)
	}
}

func TestPathsEscapingTheRootAreRejected(t *testing.T) {
	fsys, root := newFS(t)
	outside := filepath.Join(filepath.Dir(root), "outside")
	escapes := []string{"", "..", "../outside", "a/../../outside", "/etc/passwd", outside}
	for _, name := range escapes {
		ops := map[string]func() error{
			"Create":        func() error { _, err := fsys.Create(name); return err },
			"Open":          func() error { _, err := fsys.Open(name); return err },
			"OpenReadWrite": func() error { _, err := fsys.OpenReadWrite(name); return err },
			"RenameFrom":    func() error { return fsys.Rename(name, "x") },
			"RenameTo":      func() error { return fsys.Rename("x", name) },
			"Remove":        func() error { return fsys.Remove(name) },
			"MkdirAll":      func() error { return fsys.MkdirAll(name) },
			"List":          func() error { _, err := fsys.List(name); return err },
			"SyncDir":       func() error { return fsys.SyncDir(name) },
			"Usage":         func() error { _, err := fsys.Usage(name); return err },
		}
		for op, call := range ops {
			if err := call(); !errors.Is(err, osfs.ErrEscapesRoot) {
				t.Errorf("%s(%q) = %v; want ErrEscapesRoot", op, name, err)
			}
		}
	}
	if _, err := os.Stat(outside); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s was touched: %v", outside, err)
	}
	// Climbing up and back down inside the root is fine.
	if err := fsys.MkdirAll("a/../b"); err != nil {
		t.Fatalf("MkdirAll(a/../b): %v", err)
	}
}

// Sync on a closed file fails: the descriptor is held for the call, never
// read from a closed (possibly reused) number.
func TestSyncAfterCloseFails(t *testing.T) {
	fsys, _ := newFS(t)
	f, err := fsys.Create("log")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err == nil {
		t.Fatal("Sync after Close succeeded")
	}
}

// Reserve (Linux): zeros past the end on disk that Size does not count;
// Writes overwrite them; Truncate ends the reservation; Close cuts the
// file at Size. Another handle sees the zeros as file content, as a
// recovery after a crash would.
func TestReserve(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reservations are Linux-only")
	}
	fsys, root := newFS(t)
	f, err := fsys.Create("seg.log")
	if err != nil {
		t.Fatal(err)
	}
	onDisk := func() int64 {
		t.Helper()
		info, err := os.Stat(filepath.Join(root, "seg.log"))
		if err != nil {
			t.Fatal(err)
		}
		return info.Size()
	}
	size := func() int64 {
		t.Helper()
		n, err := f.Size()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	mustWrite := func(s string) {
		t.Helper()
		if n, err := f.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	mustWrite("ab")
	if err := f.Reserve(100_000); err != nil {
		t.Fatal(err)
	}
	if size() != 2 || onDisk() != 100_002 {
		t.Fatalf("after Reserve: size %d, on disk %d; want 2 and 100002", size(), onDisk())
	}
	mustWrite("cd")
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if size() != 4 || onDisk() != 100_002 {
		t.Fatalf("after a Write into the reservation: size %d, on disk %d; want 4 and 100002", size(), onDisk())
	}
	buf := make([]byte, 4)
	if _, err := f.ReadAt(buf, 0); err != nil || string(buf) != "abcd" {
		t.Fatalf("ReadAt = %q, %v", buf, err)
	}
	if got := readAll(t, fsys, "seg.log"); got != "abcd"+string(make([]byte, 99_998)) {
		t.Fatalf("another handle reads %d bytes starting %q, want abcd and the reserved zeros", len(got), got[:min(8, len(got))])
	}
	if err := f.Truncate(3); err != nil {
		t.Fatal(err)
	}
	mustWrite("x")
	if size() != 4 || onDisk() != 4 {
		t.Fatalf("after Truncate and Write: size %d, on disk %d; want 4 and 4", size(), onDisk())
	}
	if err := f.Reserve(4096); err != nil {
		t.Fatal(err)
	}
	mustWrite("yz")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, fsys, "seg.log"); got != "abcxyz" {
		t.Fatalf("after Close the file holds %q, want abcxyz (the reservation cut off)", got)
	}
}
