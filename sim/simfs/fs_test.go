// Goal: pin the env.FS / env.File contract (rule 7 of the brief) without
// crashes: naming, errors, Create truncating, Rename replacing, List order,
// handles, Usage.
package simfs

import (
	"errors"
	"io"
	iofs "io/fs"
	"slices"
	"syscall"
	"testing"

	"github.com/takhin-io/takhin/env"
)

func TestSatisfiesEnv(t *testing.T) {
	var _ env.FS = (*FS)(nil)
	var _ env.File = (*File)(nil)
}

func TestListSortedAndNames(t *testing.T) {
	fs := newFS(t, Options{})
	ok(t, fs.MkdirAll("d/sub"))
	for _, name := range []string{"d/c", "d/a", "d/b"} {
		put(t, fs, name, []byte(name), false)
	}
	names, err := fs.List("d")
	ok(t, err)
	if want := []string{"a", "b", "c", "sub"}; !slices.Equal(names, want) {
		t.Fatalf("List = %v, want %v", names, want)
	}
	f, err := fs.Open("d/./a")
	ok(t, err)
	if f.Name() != "d/./a" {
		t.Fatalf("Name() = %q, want the path opened", f.Name())
	}
	root, err := fs.List("")
	ok(t, err)
	if !slices.Equal(root, []string{"d"}) {
		t.Fatalf("root List = %v", root)
	}
}

func TestErrors(t *testing.T) {
	fs := newFS(t, Options{})
	ok(t, fs.MkdirAll("dir/full"))
	put(t, fs, "dir/full/x", []byte("x"), false)
	put(t, fs, "file", []byte("x"), false)
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"open missing", second(fs.Open("nope")), env.ErrNotExist},
		{"openrw missing", second(fs.OpenReadWrite("dir/nope")), env.ErrNotExist},
		{"create in missing dir", second(fs.Create("nodir/x")), env.ErrNotExist},
		{"create under a file", second(fs.Create("file/x")), syscall.ENOTDIR},
		{"create a dir", second(fs.Create("dir")), syscall.EISDIR},
		{"open a dir", second(fs.Open("dir")), syscall.EISDIR},
		{"remove non-empty dir", fs.Remove("dir/full"), syscall.ENOTEMPTY},
		{"remove missing", fs.Remove("nope"), env.ErrNotExist},
		{"remove root", fs.Remove("."), iofs.ErrInvalid},
		{"rename missing", fs.Rename("nope", "x"), env.ErrNotExist},
		{"rename over a dir", fs.Rename("file", "dir"), syscall.EEXIST},
		{"rename dir across parents", fs.Rename("dir/full", "full"), syscall.EXDEV},
		{"mkdir over a file", fs.MkdirAll("file/sub"), syscall.ENOTDIR},
		{"path out of root", second(fs.Open("../x")), iofs.ErrInvalid},
		{"list a file", second(fs.List("file")), syscall.ENOTDIR},
		{"syncdir missing", fs.SyncDir("nope"), env.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Fatalf("err = %v, want %v", tt.err, tt.want)
			}
		})
	}
}

func second[T any](_ T, err error) error { return err }

func TestCreateTruncatesSameInode(t *testing.T) {
	fs := newFS(t, Options{})
	put(t, fs, "f", []byte("hello"), true)
	old, err := fs.Open("f")
	ok(t, err)
	f, err := fs.Create("f")
	ok(t, err)
	if size, _ := old.Size(); size != 0 {
		t.Fatalf("a handle opened before Create sees size %d, want 0", size)
	}
	_, err = f.Write([]byte("hi"))
	ok(t, err)
	if got, _ := get(t, fs, "f"); string(got) != "hi" {
		t.Fatalf("content %q", got)
	}
}

func TestRenameReplacesAndHandlesFollowInodes(t *testing.T) {
	fs := newFS(t, Options{})
	put(t, fs, "a", []byte("A"), false)
	put(t, fs, "b", []byte("B"), false)
	held, err := fs.OpenReadWrite("a")
	ok(t, err)
	ok(t, fs.Rename("a", "b"))
	if _, found := get(t, fs, "a"); found {
		t.Fatal("a still exists after rename")
	}
	_, err = held.Write([]byte("2"))
	ok(t, err)
	if got, _ := get(t, fs, "b"); string(got) != "A2" {
		t.Fatalf("b = %q, want A2 (written through the handle opened as a)", got)
	}
	ok(t, fs.Remove("b"))
	if _, err := held.Write([]byte("3")); err != nil {
		t.Fatalf("a removed file stays writable through an open handle: %v", err)
	}
}

func TestFileHandles(t *testing.T) {
	fs := newFS(t, Options{})
	put(t, fs, "f", []byte("0123456789"), false)
	r, err := fs.Open("f")
	ok(t, err)
	if _, err := r.Write([]byte("x")); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("write on read-only handle: %v", err)
	}
	buf := make([]byte, 4)
	if n, err := r.ReadAt(buf, 8); n != 2 || err != io.EOF {
		t.Fatalf("short ReadAt = %d, %v; want 2, io.EOF", n, err)
	}
	if n, err := r.ReadAt(buf, 3); n != 4 || err != nil || string(buf) != "3456" {
		t.Fatalf("ReadAt = %d, %v, %q", n, err, buf)
	}
	w, err := fs.OpenReadWrite("f")
	ok(t, err)
	ok(t, w.Truncate(4))
	_, err = w.Write([]byte("ab"))
	ok(t, err)
	if got, _ := get(t, fs, "f"); string(got) != "0123ab" {
		t.Fatalf("write after truncate appends at the new size: %q", got)
	}
	ok(t, r.Close())
	if err := r.Close(); !errors.Is(err, iofs.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

func TestUsageCountsLiveFiles(t *testing.T) {
	fs := newFS(t, Options{CapacityBytes: 1000})
	put(t, fs, "a", bytesOf('a', 300), false)
	held, err := fs.Open("a")
	ok(t, err)
	ok(t, fs.Remove("a"))
	if u, _ := fs.Usage("."); u.UsableBytes != 700 {
		t.Fatalf("usable %d, want 700: an open removed file still holds its bytes", u.UsableBytes)
	}
	ok(t, held.Close())
	if u, _ := fs.Usage("."); u.TotalBytes != 1000 || u.UsableBytes != 1000 {
		t.Fatalf("usage %+v after the last handle closed", u)
	}
	unlimited := newFS(t, Options{})
	if u, _ := unlimited.Usage("."); u.TotalBytes != unlimitedBytes {
		t.Fatalf("unlimited total %d", u.TotalBytes)
	}
}
