// Package env holds the seams between Takhin's deterministic core and the
// world: the filesystem, the network, time and randomness. It is a leaf: it
// imports only the standard library. Production adapters live in driver/,
// simulated doubles in sim/simfs and sim/simnet.
package env

import (
	"errors"
	"io/fs"
	"syscall"
)

// FS is the narrow filesystem every disk-touching executor is written
// against. Paths are slash-separated and relative to the FS root.
//
// Durability contract (the one Linux gives, and the one simfs enforces):
//   - File data is durable only after File.Sync returns nil.
//   - Create, Rename and Remove are durable only after SyncDir of the parent
//     directory returns nil; until then a crash may revert each of them
//     independently.
//   - An error from Sync or SyncDir is fatal for the process: the kernel may
//     have dropped the dirty pages, so a later Sync succeeding proves nothing.
//   - ENOSPC/EDQUOT from Write, Truncate or Create is retryable (IsNoSpace).
//
// Implementations never expose modification times: code must not depend on
// them.
type FS interface {
	// Create creates name (truncating an existing file) and opens it read-write.
	Create(name string) (File, error)
	// Open opens an existing file read-only.
	Open(name string) (File, error)
	// OpenReadWrite opens an existing file for reading and appending.
	OpenReadWrite(name string) (File, error)
	// Rename atomically replaces newname with oldname.
	Rename(oldname, newname string) error
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// MkdirAll creates dir and any missing parents. Like Create, the new
	// entries are durable only after SyncDir of each parent.
	MkdirAll(dir string) error
	// List returns the names (not paths) of dir's entries, sorted.
	List(dir string) ([]string, error)
	// SyncDir makes the entries of dir durable.
	SyncDir(dir string) error
	// Usage reports the space of the filesystem holding dir.
	Usage(dir string) (Usage, error)
}

// File is an open file. Writes always append at the end of the file
// (O_APPEND semantics): logs, indexes and checkpoints are all append-only or
// rewritten whole, and a single write position keeps the crash model simple.
// The end is Size, which a reservation (Reserve) may leave short of the
// bytes on disk.
type File interface {
	// Write appends p. On ENOSPC it may have appended a prefix of p: n says
	// how much, and the caller is expected to Truncate it away.
	Write(p []byte) (n int, err error)
	// ReadAt reads len(p) bytes at off; like io.ReaderAt it returns io.EOF
	// when fewer bytes exist.
	ReadAt(p []byte, off int64) (n int, err error)
	// Sync makes the file's data durable.
	Sync() error
	// Truncate changes the file's size; the next Write appends at size.
	Truncate(size int64) error
	// Size is the current (not necessarily durable) size.
	Size() (int64, error)
	// Reserve writes n zero bytes past the end of the file without
	// counting them in Size: the following Writes overwrite them instead
	// of growing the file, so a Sync after those Writes changes neither
	// the file's size on disk nor its blocks, and fdatasync need not write
	// the inode. The zeros are data like any other: unsynced they may be
	// lost in a crash, synced they survive it, and after a crash or a
	// reopen they are part of the file and of its Size. Truncate ends the
	// reservation (the file is cut at the size given); Close cuts the file
	// at Size first. On ENOSPC it reserves nothing. An implementation with
	// nothing to gain may do nothing and return nil.
	Reserve(n int64) error
	Close() error
	// Name is the path the file was opened with.
	Name() string
}

// Usage is the space of one filesystem, in bytes.
type Usage struct {
	TotalBytes  int64
	UsableBytes int64
}

// Errors shared by every FS implementation. They are the syscall errors
// themselves so that errors.Is works the same against the real disk and
// the simulated one.
var (
	ErrIO       error = syscall.EIO
	ErrNoSpace  error = syscall.ENOSPC
	ErrQuota    error = syscall.EDQUOT
	ErrNotExist       = fs.ErrNotExist
	ErrExist          = fs.ErrExist
)

// IsNoSpace reports whether err means the disk or quota is full: retryable
// for writes, truncates and creates, fatal from Sync and SyncDir.
func IsNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
