package simfs

import (
	"io"
	iofs "io/fs"
	"syscall"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/assert"
)

// File is an open file of an FS. Writes append (O_APPEND). Every method
// fails with ErrStaleHandle after a Crash, and with fs.ErrClosed after Close.
type File struct {
	fs       *FS
	node     *inode
	name     string
	writable bool
	epoch    uint64
	closed   bool
}

var _ env.File = (*File)(nil)

// check returns the error that op must fail with before touching anything.
func (f *File) check(op string, write bool) error {
	switch {
	case f.epoch != f.fs.epoch:
		return pathErr(op, f.name, ErrStaleHandle)
	case f.closed:
		return pathErr(op, f.name, iofs.ErrClosed)
	case write && !f.writable:
		return pathErr(op, f.name, syscall.EBADF)
	}
	return nil
}

// Write appends p to the page cache: visible to reads now, durable after a
// successful Sync. When the disk is full it appends the prefix that fits and
// returns ENOSPC with n < len(p).
func (f *File) Write(p []byte) (int, error) {
	if err := f.check("write", true); err != nil {
		return 0, f.fs.done("write", f.name, 0, err)
	}
	n, err := len(p), error(nil)
	if room := f.fs.room(); int64(n) > room {
		n = int(max(room, 0))
		err = pathErr("write", f.name, env.ErrNoSpace)
	}
	f.node.touch(len(f.node.data))
	f.node.data = append(f.node.data, p[:n]...)
	f.fs.used += int64(n)
	f.fs.stats.Writes++
	f.fs.stats.BytesWritten += int64(n)
	return n, f.fs.done("write", f.name, n, err)
}

// ReadAt reads from the page cache. An injected fault makes it fail with
// EIO, or flips one bit of p; the stored bytes are never changed by a read.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if err := f.check("read", false); err != nil {
		return 0, f.fs.done("read", f.name, 0, err)
	}
	if off < 0 {
		return 0, f.fs.done("read", f.name, 0, pathErr("read", f.name, iofs.ErrInvalid))
	}
	if len(p) == 0 {
		return 0, nil
	}
	fault := f.fs.fault(OpRead, f.name)
	if fault == FaultIO {
		return 0, f.fs.done("read", f.name, 0, pathErr("read", f.name, fault.err()))
	}
	data := f.node.data
	if off >= int64(len(data)) {
		return 0, f.fs.done("read", f.name, 0, io.EOF)
	}
	n := copy(p, data[off:])
	if fault == FaultBitFlip {
		bit := f.fs.rng.IntN(n * 8)
		p[bit/8] ^= 1 << (bit % 8)
	}
	var err error
	if n < len(p) {
		err = io.EOF
	}
	f.fs.stats.Reads++
	f.fs.stats.BytesRead += int64(n)
	return n, f.fs.done("read", f.name, n, err)
}

// Sync writes the dirty data to the medium and sets the durable size to the
// current size. On an injected fault it returns the error and the dirty
// data counts as clean from then on (fsyncgate): no later Sync writes it.
func (f *File) Sync() error {
	if err := f.check("sync", false); err != nil {
		return f.fs.done("sync", f.name, 0, err)
	}
	f.fs.stats.Syncs++
	if err := f.fs.fault(OpSync, f.name).err(); err != nil {
		f.node.dirtyFrom = len(f.node.data)
		return f.fs.done("sync", f.name, 0, pathErr("sync", f.name, err))
	}
	f.node.sync(f.fs.sector)
	return f.fs.done("sync", f.name, len(f.node.data), nil)
}

// sync makes durable the clean prefix it already holds (zeros where a
// failed Sync lost pages past its old size) followed by the dirty bytes of
// data, from the start of the sector where they begin, as a page cache
// writes whole pages.
func (n *inode) sync(sector int) {
	size := len(n.data)
	assert.That(n.dirtyFrom <= size, "simfs: dirtyFrom past the end of data")
	from := n.dirtyFrom
	if from < size {
		from -= from % sector
	}
	// Rewrite the durable copy in place from the first dirty sector on: a
	// sync costs what it writes, not the file's size. durable keeps its own
	// backing array (append copies data's bytes into it).
	durable := n.durable[:min(from, len(n.durable))]
	if len(durable) < from {
		durable = append(durable, make([]byte, from-len(durable))...)
	}
	n.durable = append(durable, n.data[from:]...)
	n.dirtyFrom = size
}

// Truncate sets the size: it drops the tail or appends zeros. Growing past
// the capacity fails with ENOSPC and changes nothing.
func (f *File) Truncate(size int64) error {
	if err := f.check("truncate", true); err != nil {
		return f.fs.done("truncate", f.name, 0, err)
	}
	if size < 0 {
		return f.fs.done("truncate", f.name, 0, pathErr("truncate", f.name, iofs.ErrInvalid))
	}
	cur := int64(len(f.node.data))
	if grow := size - cur; grow > 0 && grow > f.fs.room() {
		return f.fs.done("truncate", f.name, 0, pathErr("truncate", f.name, env.ErrNoSpace))
	}
	f.node.touch(int(min(size, cur)))
	if size <= cur {
		f.node.data = f.node.data[:size]
	} else {
		f.node.data = append(f.node.data, make([]byte, size-cur)...)
	}
	f.fs.used += size - cur
	return f.fs.done("truncate", f.name, int(size), nil)
}

// Size is the current (page cache) size.
func (f *File) Size() (int64, error) {
	if err := f.check("size", false); err != nil {
		return 0, err
	}
	return int64(len(f.node.data)), nil
}

// Close releases the handle; a removed file's bytes are freed with its last
// handle.
func (f *File) Close() error {
	if err := f.check("close", false); err != nil {
		return f.fs.done("close", f.name, 0, err)
	}
	f.closed = true
	f.node.opens--
	f.fs.release(f.node)
	return f.fs.done("close", f.name, 0, nil)
}

// Name is the path the file was opened with.
func (f *File) Name() string { return f.name }
