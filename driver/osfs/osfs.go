// Package osfs adapts the real filesystem (afero.OsFs) to env.FS, rooted at
// one directory. It is a leaf: it imports only the standard library, afero
// and env (STYLE rule 3), so storage tests can run against a real disk.
//
// Paths are slash-separated and relative to the root; a path that would
// leave the root (absolute, or climbing out with "..") is refused with
// ErrEscapesRoot. The check is lexical: symlinks inside the root are
// followed, as the operating system does.
//
// Errors are the operating system's own (*fs.PathError wrapping a
// syscall.Errno), so errors.Is(err, fs.ErrNotExist), errors.Is(err,
// syscall.ENOSPC) and errors.Is(err, syscall.EIO) work as they do against
// simfs.
package osfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/spf13/afero"

	"github.com/takhin-io/takhin/env"
)

// ErrEscapesRoot is returned (inside an *fs.PathError) for a path that is
// empty, absolute or climbs out of the root.
var ErrEscapesRoot = errors.New("osfs: path escapes the root")

// Permissions of the files and directories osfs creates.
const (
	filePerm fs.FileMode = 0o644
	dirPerm  fs.FileMode = 0o755
)

// osFS is env.FS over afero.OsFs. afero's OsFs hands out *os.File, whose
// Sync is the real fsync (afero's in-memory files are the ones whose Sync
// is a no-op).
type osFS struct {
	root string
	fs   afero.Fs
}

// New returns an env.FS whose paths are relative to root. root must exist.
func New(root string) env.FS {
	return &osFS{root: filepath.Clean(root), fs: afero.NewOsFs()}
}

// path maps a slash-separated name under the root to an OS path.
func (o *osFS) path(op, name string) (string, error) {
	local := filepath.FromSlash(name)
	if !filepath.IsLocal(local) {
		return "", &fs.PathError{Op: op, Path: name, Err: ErrEscapesRoot}
	}
	return filepath.Join(o.root, local), nil
}

func (o *osFS) Create(name string) (env.File, error) {
	return o.open("create", name, os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND)
}

func (o *osFS) Open(name string) (env.File, error) {
	return o.open("open", name, os.O_RDONLY)
}

func (o *osFS) OpenReadWrite(name string) (env.File, error) {
	return o.open("open", name, os.O_RDWR|os.O_APPEND)
}

func (o *osFS) open(op, name string, flag int) (env.File, error) {
	p, err := o.path(op, name)
	if err != nil {
		return nil, err
	}
	f, err := o.fs.OpenFile(p, flag, filePerm)
	if err != nil {
		return nil, err
	}
	return &osFile{f: f, name: name}, nil
}

func (o *osFS) Rename(oldname, newname string) error {
	from, err := o.path("rename", oldname)
	if err != nil {
		return err
	}
	to, err := o.path("rename", newname)
	if err != nil {
		return err
	}
	return o.fs.Rename(from, to)
}

func (o *osFS) Remove(name string) error {
	p, err := o.path("remove", name)
	if err != nil {
		return err
	}
	return o.fs.Remove(p)
}

func (o *osFS) MkdirAll(dir string) error {
	p, err := o.path("mkdir", dir)
	if err != nil {
		return err
	}
	return o.fs.MkdirAll(p, dirPerm)
}

// List returns the names of dir's entries, sorted bytewise.
func (o *osFS) List(dir string) ([]string, error) {
	p, err := o.path("list", dir)
	if err != nil {
		return nil, err
	}
	d, err := o.fs.Open(p)
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	closeErr := d.Close()
	if err != nil {
		return nil, err
	}
	if closeErr != nil {
		return nil, closeErr
	}
	slices.Sort(names)
	return names, nil
}

// SyncDir opens dir and fsyncs it, making its entries (creates, renames,
// removes) durable.
func (o *osFS) SyncDir(dir string) error {
	p, err := o.path("syncdir", dir)
	if err != nil {
		return err
	}
	d, err := o.fs.Open(p)
	if err != nil {
		return err
	}
	syncErr := d.Sync()
	closeErr := d.Close()
	if syncErr != nil {
		return syncErr
	}
	return closeErr
}

// Usage reports the size of the filesystem holding dir and the space an
// unprivileged process may still use (statfs f_bavail, which excludes the
// blocks reserved for root). Block counts are multiplied by f_bsize, which
// equals the fragment size on the local filesystems Linux offers (ext4,
// xfs, btrfs, tmpfs).
func (o *osFS) Usage(dir string) (env.Usage, error) {
	p, err := o.path("usage", dir)
	if err != nil {
		return env.Usage{}, err
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(p, &st); err != nil {
		return env.Usage{}, &fs.PathError{Op: "statfs", Path: dir, Err: err}
	}
	blockBytes := int64(st.Bsize)
	return env.Usage{
		TotalBytes:  int64(st.Blocks) * blockBytes,
		UsableBytes: int64(st.Bavail) * blockBytes,
	}, nil
}

// osFile is env.File over an afero.File (an *os.File under OsFs). Files
// that write were opened with O_APPEND, so every Write lands at the end,
// including after a Truncate. A file that reserves (Reserve, Linux only)
// leaves O_APPEND for positioned writes at its own end, size.
type osFile struct {
	f    afero.File
	name string
	// reserving: Reserve has run; size is the file's end for Write and
	// Size, disk the size on disk (size plus the reserved zeros).
	reserving  bool
	size, disk int64
}

func (f *osFile) ReadAt(p []byte, off int64) (int, error) { return f.f.ReadAt(p, off) }
func (f *osFile) Name() string                            { return f.name }

func (f *osFile) Write(p []byte) (int, error) {
	if !f.reserving {
		return f.f.Write(p)
	}
	n, err := pwrite(f.f.(*os.File), p, f.size)
	f.size += int64(n)
	f.disk = max(f.disk, f.size)
	return n, err
}

// Reserve writes n zeros past the end on disk (see env.File). The zeros
// reach the disk with the next Sync, which allocates their blocks once;
// the Syncs after it only overwrite.
func (f *osFile) Reserve(n int64) error {
	of, ok := f.f.(*os.File)
	if !ok || n <= 0 || !canReserve {
		return nil
	}
	if !f.reserving {
		size, err := f.Size()
		if err != nil {
			return err
		}
		if err := leaveAppend(of); err != nil {
			return err
		}
		f.reserving, f.size, f.disk = true, size, size
	}
	for done := int64(0); done < n; {
		k := min(n-done, int64(len(zeros)))
		written, err := pwrite(of, zeros[:k], f.disk+done)
		done += int64(written)
		if err != nil {
			if done > 0 {
				if terr := of.Truncate(f.disk); terr != nil {
					return errors.Join(err, terr)
				}
			}
			return err
		}
	}
	f.disk += n
	return nil
}

// zeros is what Reserve writes, a piece at a time (never written to).
var zeros = make([]byte, 64<<10)

// Truncate cuts the file at size, ending any reservation.
func (f *osFile) Truncate(size int64) error {
	if err := f.f.Truncate(size); err != nil {
		return err
	}
	if f.reserving {
		f.size, f.disk = size, size
	}
	return nil
}

// Close cuts a reservation off first, so a closed file ends at its size.
func (f *osFile) Close() error {
	var cut error
	if f.reserving && f.disk > f.size {
		cut = f.f.Truncate(f.size)
	}
	return errors.Join(cut, f.f.Close())
}

// Sync is fdatasync for an *os.File (see syncData), the file's own Sync
// otherwise.
func (f *osFile) Sync() error {
	if of, ok := f.f.(*os.File); ok {
		return syncData(of)
	}
	return f.f.Sync()
}

func (f *osFile) Size() (int64, error) {
	if f.reserving {
		return f.size, nil
	}
	info, err := f.f.Stat()
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}
