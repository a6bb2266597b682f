package simfs

import (
	"io"
	iofs "io/fs"
	"syscall"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/assert"
)

// File is an open file of an FS. Writes append (O_APPEND) at the file's
// end, or, once the handle reserved (Reserve), overwrite the reserved
// zeros from its own end on. Every method fails with ErrStaleHandle after
// a Crash, and with fs.ErrClosed after Close.
type File struct {
	fs       *FS
	node     *inode
	name     string
	writable bool
	epoch    uint64
	closed   bool
	// reserving: Reserve has run on this handle; size is its end, short
	// of the data by the zeros still reserved.
	reserving bool
	size      int64
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
	at := len(f.node.data)
	if f.reserving {
		at = int(f.size)
	}
	// A write lands at at: over the reserved zeros first (no new space),
	// then past the data (pad: zeros up to at, if another handle cut the
	// file below it, as a pwrite past the end leaves a hole).
	pad := max(at-len(f.node.data), 0)
	n, err := len(p), error(nil)
	over := min(n, max(len(f.node.data)-at, 0))
	if room := max(f.fs.room(), 0); int64(pad+n-over) > room {
		if int(room) < pad {
			pad, n = 0, over // no room to reach at: nothing is written
		} else {
			n = over + int(room) - pad
		}
		err = pathErr("write", f.name, env.ErrNoSpace)
	}
	if over == n && pad == 0 {
		f.node.touchRange(at, at+n) // only reserved zeros overwritten
	} else {
		f.node.touch(min(at, len(f.node.data)))
	}
	copy(f.node.data[min(at, len(f.node.data)):], p[:over])
	f.node.data = append(f.node.data, make([]byte, pad)...)
	f.node.data = append(f.node.data, p[over:n]...)
	if f.reserving {
		f.size += int64(n)
	}
	f.fs.used += int64(pad + n - over)
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
		f.node.clean()
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
	to := max(min(n.dirtyTo, size), from)
	// Rewrite the durable copy in place from the first dirty sector to the
	// end of the dirty bytes: a sync costs what it writes, not the file's
	// size. durable keeps its own backing array (copy and append write
	// data's bytes into it).
	durable := n.durable[:min(len(n.durable), size)]
	if len(durable) < from {
		durable = append(durable, make([]byte, from-len(durable))...)
	}
	copied := min(to, len(durable))
	copy(durable[from:copied], n.data[from:copied])
	n.durable = append(durable, n.data[len(durable):]...) // what the medium lacked
	n.clean()
}

// Reserve appends n zeros to the page cache that the handle's Size does
// not count; its Writes overwrite them (see env.File). Like written data
// they are durable after a Sync, and a crash keeps, loses or tears them.
// Past the capacity it fails with ENOSPC and changes nothing.
func (f *File) Reserve(n int64) error {
	if err := f.check("reserve", true); err != nil {
		return f.fs.done("reserve", f.name, 0, err)
	}
	if n <= 0 {
		return nil
	}
	if n > f.fs.room() {
		return f.fs.done("reserve", f.name, 0, pathErr("reserve", f.name, env.ErrNoSpace))
	}
	if !f.reserving {
		f.reserving, f.size = true, int64(len(f.node.data))
	}
	f.node.touch(len(f.node.data))
	f.node.data = append(f.node.data, make([]byte, n)...)
	f.fs.used += n
	return f.fs.done("reserve", f.name, int(n), nil)
}

// Truncate sets the size: it drops the tail or appends zeros, and ends a
// reservation. Growing past the capacity fails with ENOSPC and changes
// nothing.
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
	if f.reserving {
		f.size = size
	}
	return f.fs.done("truncate", f.name, int(size), nil)
}

// Size is the current (page cache) size.
func (f *File) Size() (int64, error) {
	if err := f.check("size", false); err != nil {
		return 0, err
	}
	if f.reserving {
		return f.size, nil
	}
	return int64(len(f.node.data)), nil
}

// Close releases the handle, first cutting off the zeros it still
// reserves; a removed file's bytes are freed with its last handle.
func (f *File) Close() error {
	if err := f.check("close", false); err != nil {
		return f.fs.done("close", f.name, 0, err)
	}
	if f.reserving && int64(len(f.node.data)) > f.size {
		f.node.touch(int(f.size))
		f.fs.used -= int64(len(f.node.data)) - f.size
		f.node.data = f.node.data[:f.size]
	}
	f.closed = true
	f.node.opens--
	f.fs.release(f.node)
	return f.fs.done("close", f.name, 0, nil)
}

// Name is the path the file was opened with.
func (f *File) Name() string { return f.name }
