// Package simfs is a simulated disk that implements env.FS with the crash
// behaviour of Linux/ext4, so that storage code can be tested against power
// loss, failed fsyncs, full disks and bit rot, reproducibly from a seed.
//
// # Model
//
// The FS is a tree of inodes. A name binds to an inode; file data belongs to
// inodes. Each file inode holds two byte strings: data (the page cache, what
// reads see) and durable (what the medium holds). Each directory inode holds
// two name tables: entries (visible) and durableEntries (on the medium).
//
//   - Data. Write appends to data and Truncate resizes it at once. A
//     successful File.Sync writes the dirty part of data to durable (from
//     the start of the sector where it begins) and sets the durable size to
//     the current size. File.Sync says nothing about the file's name.
//   - Namespace. Create (of a new file), Rename, Remove and MkdirAll change the
//     visible entries at once and queue a namespace op. SyncDir(dir) writes to
//     the medium, in order, every queued op that touches dir, and any earlier
//     queued op sharing a directory with one of those (so the medium never
//     sees an op before one it depends on). A cross-directory rename is one op
//     of both directories: SyncDir of either makes it durable, as ext4's
//     journal does. A directory is renamed only within its parent.
//   - Crash(rng) is power loss. Each queued namespace op independently survives
//     or is reverted (1/2 each); the survivors are replayed in order on the
//     medium's tables, and one whose precondition no longer holds (a rename
//     whose source is not there) is dropped, so each op stays atomic but a
//     sequence may half-apply. Inodes then unreachable from the root are gone:
//     a synced file whose name was never SyncDir'ed vanishes. Then every
//     reachable file whose data differs from durable is, 1/3 each, lost (the
//     medium's content), kept (the page cache's), or torn: its size becomes
//     either of the two sizes or a sector boundary between them, and each
//     sector that differs independently holds the old or the new bytes
//     (where the old size ends, "old" is zeros; where the new ends, it is the
//     old bytes). The result becomes both data and durable; every File opened
//     before returns ErrStaleHandle.
//   - Failed fsync (fsyncgate). When Sync fails (an injected EIO or ENOSPC),
//     the dirty data counts as clean: a later successful Sync does not write
//     it (the medium keeps its old bytes, or zeros past its old size), reads
//     still see it, and a crash loses or tears it like unsynced data.
//   - Space. CapacityBytes bounds the sum of the current sizes of all files
//     (open files whose names were removed included, as on Linux). A Write
//     that does not fit writes the prefix that fits and returns ENOSPC;
//     creating a new file on a full disk fails with ENOSPC.
//   - Faults. Sync, SyncDir and ReadAt consult an Injector (a seeded random
//     one built from Options.Faults by default), and before it a queue filled
//     by InjectNext. A read fault is transient: an EIO or one flipped bit in
//     the returned buffer, never in the stored bytes. Corrupt flips a bit on
//     the medium and in the page cache: it persists across crashes.
//
// The FS is single-threaded by contract (the simulator steps one thing at a
// time): it has no locks, no goroutines and no clock, and every random draw
// comes from an env.Rand, so the same seed and the same calls give the same
// disk, bit for bit (Digest).
package simfs

import (
	"errors"
	iofs "io/fs"
	"maps"
	"math"
	"slices"
	"syscall"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/assert"
)

// Options configures an FS. The zero value is a fault-free, unlimited disk
// with 512-byte sectors.
type Options struct {
	// SectorSize is the unit a crash tears at: each sector of a file
	// survives whole, as the medium held it or as the page cache held it.
	// Zero means 512.
	SectorSize int
	// CapacityBytes bounds the sum of the current sizes of all files; a
	// Write past it is cut short with ENOSPC. Zero means unlimited. It can
	// be changed at run time with SetCapacity.
	CapacityBytes int64
	// Faults are the probabilities of the default Injector, which draws from
	// the FS's Rand. Ignored when Injector is set.
	Faults Probabilities
	// Injector, when set, decides the faults of Sync, SyncDir and ReadAt
	// instead of Faults. InjectNext still goes first.
	Injector Injector
	// OnOp, when set, is called after every operation that reads or
	// changes the disk (all but Size, Name, Usage and the observers), and
	// after Crash and Corrupt, with the op's name, path, byte count and
	// error, so the simulator can hash disk I/O into its trace.
	OnOp func(op, name string, n int, err error)
}

// ErrStaleHandle is returned by every method of a File opened before the
// last Crash: after power loss, the process that held it is gone.
var ErrStaleHandle = errors.New("simfs: file handle from before crash")

// unlimitedBytes is the TotalBytes that Usage reports for an unlimited disk.
const unlimitedBytes = int64(1) << 50

// FS is the simulated disk. Build it with New.
type FS struct {
	rng      *env.Rand
	sector   int
	capacity int64
	injector Injector
	next     map[Op][]Fault // InjectNext's queue, per op
	onOp     func(op, name string, n int, err error)

	root    *inode
	pending []*nsOp // namespace ops not yet on the medium, in order
	lastID  uint64  // of inodes and ops: creation order, stable per seed
	used    int64   // current bytes of all live files
	epoch   uint64  // incremented by Crash; Files from an older one are stale
	stats   Stats
}

var _ env.FS = (*FS)(nil)

// New returns an empty disk whose root directory is durable. rng feeds the
// default fault injector and the position of injected bit flips; Crash takes
// its own.
func New(rng *env.Rand, opts Options) *FS {
	assert.That(rng != nil, "simfs: New needs a Rand")
	assert.That(opts.SectorSize >= 0 && opts.CapacityBytes >= 0, "simfs: negative option")
	fs := &FS{
		rng:      rng,
		sector:   opts.SectorSize,
		capacity: opts.CapacityBytes,
		injector: opts.Injector,
		next:     map[Op][]Fault{},
		onOp:     opts.OnOp,
	}
	if fs.sector == 0 {
		fs.sector = 512
	}
	if fs.injector == nil {
		fs.injector = &randomInjector{rng: rng, p: opts.Faults}
	}
	fs.root = fs.newInode(true)
	return fs
}

// Create creates name, or truncates it if it exists (the same inode, as
// os.Create), and opens it read-write. A new name is durable only after
// SyncDir of its directory.
func (fs *FS) Create(name string) (env.File, error) {
	dir, base, err := fs.parent(name)
	var node *inode
	if err == nil {
		node = dir.entries[base]
		switch {
		case node != nil && node.isDir:
			err = syscall.EISDIR
		case node != nil:
			fs.used -= int64(len(node.data))
			node.touch(0)
			node.data = node.data[:0]
		case fs.room() <= 0:
			err = env.ErrNoSpace
		default:
			node = fs.newInode(false)
			fs.do(&nsOp{kind: opLink, dir: dir, name: base, node: node})
		}
	}
	if err != nil {
		return nil, fs.done("create", name, 0, pathErr("create", name, err))
	}
	return fs.open(node, name, true), fs.done("create", name, 0, nil)
}

// Open opens an existing file read-only.
func (fs *FS) Open(name string) (env.File, error) {
	return fs.openExisting("open", name, false)
}

// OpenReadWrite opens an existing file for reading and appending.
func (fs *FS) OpenReadWrite(name string) (env.File, error) {
	return fs.openExisting("openrw", name, true)
}

func (fs *FS) openExisting(op, name string, writable bool) (env.File, error) {
	node, err := fs.lookup(name)
	if err == nil && node.isDir {
		err = syscall.EISDIR
	}
	if err != nil {
		return nil, fs.done(op, name, 0, pathErr(op, name, err))
	}
	return fs.open(node, name, writable), fs.done(op, name, 0, nil)
}

func (fs *FS) open(node *inode, name string, writable bool) *File {
	node.opens++
	return &File{fs: fs, node: node, name: name, writable: writable, epoch: fs.epoch}
}

// Rename atomically binds newname to oldname's inode, replacing a file
// there. It never replaces a directory, and moves a directory only within
// its parent. It is durable after SyncDir of either directory.
func (fs *FS) Rename(oldname, newname string) error {
	err := fs.rename(oldname, newname)
	if err != nil {
		err = &iofs.PathError{Op: "simfs: rename", Path: oldname + " -> " + newname, Err: err}
	}
	return fs.done("rename", oldname+" -> "+newname, 0, err)
}

func (fs *FS) rename(oldname, newname string) error {
	fromDir, from, err := fs.parent(oldname)
	if err != nil {
		return err
	}
	node := fromDir.entries[from]
	if node == nil {
		return env.ErrNotExist
	}
	toDir, to, err := fs.parent(newname)
	if err != nil {
		return err
	}
	target := toDir.entries[to]
	switch {
	case target == node:
		return nil
	case target != nil && target.isDir:
		return syscall.EEXIST
	case node.isDir && target != nil:
		return syscall.ENOTDIR
	case node.isDir && toDir != fromDir:
		return syscall.EXDEV
	}
	fs.do(&nsOp{kind: opRename, dir: fromDir, name: from, toDir: toDir, toName: to, node: node})
	return nil
}

// Remove removes a file or an empty directory. An open File of a removed
// file keeps working, and its bytes count as used until it is closed.
func (fs *FS) Remove(name string) error {
	dir, base, err := fs.parent(name)
	var node *inode
	if err == nil {
		node = dir.entries[base]
		switch {
		case node == nil:
			err = env.ErrNotExist
		case node.isDir && len(node.entries) > 0:
			err = syscall.ENOTEMPTY
		}
	}
	if err != nil {
		return fs.done("remove", name, 0, pathErr("remove", name, err))
	}
	fs.do(&nsOp{kind: opUnlink, dir: dir, name: base, node: node})
	return fs.done("remove", name, 0, nil)
}

// MkdirAll creates dir and any missing parents; each new entry is durable
// after SyncDir of its parent.
func (fs *FS) MkdirAll(dir string) error {
	parts, ok := split(dir)
	if !ok {
		return fs.done("mkdir", dir, 0, pathErr("mkdir", dir, iofs.ErrInvalid))
	}
	node := fs.root
	for _, part := range parts {
		next := node.entries[part]
		if next == nil {
			next = fs.newInode(true)
			fs.do(&nsOp{kind: opLink, dir: node, name: part, node: next})
		}
		if !next.isDir {
			return fs.done("mkdir", dir, 0, pathErr("mkdir", dir, syscall.ENOTDIR))
		}
		node = next
	}
	return fs.done("mkdir", dir, 0, nil)
}

// List returns the names of dir's visible entries, sorted.
func (fs *FS) List(dir string) ([]string, error) {
	node, err := fs.lookup(dir)
	if err == nil && !node.isDir {
		err = syscall.ENOTDIR
	}
	if err != nil {
		return nil, fs.done("list", dir, 0, pathErr("list", dir, err))
	}
	names := slices.Sorted(maps.Keys(node.entries))
	return names, fs.done("list", dir, len(names), nil)
}

// SyncDir makes dir's queued namespace ops durable (see the package doc).
// On an injected fault it returns the error and the ops stay queued.
func (fs *FS) SyncDir(dir string) error {
	node, err := fs.lookup(dir)
	if err == nil && !node.isDir {
		err = syscall.ENOTDIR
	}
	if err == nil {
		fs.stats.SyncDirs++
		err = fs.fault(OpSyncDir, dir).err()
	}
	if err != nil {
		return fs.done("syncdir", dir, 0, pathErr("syncdir", dir, err))
	}
	fs.commit(node)
	return fs.done("syncdir", dir, 0, nil)
}

// Usage reports the capacity (a large number when unlimited) and what is
// left of it. dir must exist.
func (fs *FS) Usage(dir string) (env.Usage, error) {
	if _, err := fs.lookup(dir); err != nil {
		return env.Usage{}, pathErr("usage", dir, err)
	}
	total := fs.capacity
	if total == 0 {
		total = unlimitedBytes
	}
	return env.Usage{TotalBytes: total, UsableBytes: max(0, total-fs.used)}, nil
}

// SetCapacity changes the capacity at run time (0 = unlimited); raising it
// is how a full disk gets space back in a test.
func (fs *FS) SetCapacity(bytes int64) {
	assert.That(bytes >= 0, "simfs: negative capacity")
	fs.capacity = bytes
}

// room is how many more bytes fit on the disk (≤ 0 when full).
func (fs *FS) room() int64 {
	if fs.capacity == 0 {
		return math.MaxInt64
	}
	return fs.capacity - fs.used
}

// done reports an operation to OnOp and returns its error.
func (fs *FS) done(op, name string, n int, err error) error {
	if fs.onOp != nil {
		fs.onOp(op, name, n, err)
	}
	return err
}

func pathErr(op, name string, err error) error {
	return &iofs.PathError{Op: "simfs: " + op, Path: name, Err: err}
}
