package simfs

import (
	"bytes"
	"fmt"
	"hash"
	"hash/fnv"
	iofs "io/fs"
	"maps"
	"slices"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/assert"
)

// Stats counts what the disk did since New.
type Stats struct {
	Writes, BytesWritten int64 // File.Write calls and bytes appended
	Reads, BytesRead     int64 // File.ReadAt calls that read, and bytes read
	Syncs, SyncDirs      int64 // calls that reached the disk, failed ones included
	Faults               int64 // injected faults (InjectNext and Injector)
	Crashes              int64
}

// Stats returns the counters.
func (fs *FS) Stats() Stats { return fs.stats }

// Digest hashes the whole disk state — visible tree, page cache and medium
// contents, durable name tables and queued namespace ops — in sorted order,
// so equal seeds and calls give equal digests.
func (fs *FS) Digest() uint64 {
	h := fnv.New64a()
	digestDir(h, fs.root, "")
	for _, op := range fs.pending {
		to := uint64(0)
		if op.toDir != nil {
			to = op.toDir.id
		}
		fmt.Fprintf(h, "op %d %d %d/%q %d/%q %d\n", op.id, op.kind, op.dir.id, op.name, to, op.toName, op.node.id)
	}
	return h.Sum64()
}

func digestDir(h hash.Hash64, dir *inode, prefix string) {
	for _, name := range slices.Sorted(maps.Keys(dir.durableEntries)) {
		fmt.Fprintf(h, "durable %q %d\n", prefix+name, dir.durableEntries[name].id)
	}
	for _, name := range slices.Sorted(maps.Keys(dir.entries)) {
		node := dir.entries[name]
		if node.isDir {
			fmt.Fprintf(h, "dir %q %d\n", prefix+name, node.id)
			digestDir(h, node, prefix+name+"/")
			continue
		}
		fmt.Fprintf(h, "file %q %d %d %d %d\n", prefix+name, node.id, len(node.data), len(node.durable), node.dirtyFrom)
		_, _ = h.Write(node.data)
		_, _ = h.Write(node.durable)
	}
}

// IsDurable reports whether a crash now would leave name exactly as it is:
// each step of its path is bound on the medium to the inode it is bound to
// visibly, with no queued op on that entry, and a file's medium content
// equals its page cache.
func (fs *FS) IsDurable(name string) bool {
	parts, ok := split(name)
	if !ok {
		return false
	}
	node := fs.root
	for _, part := range parts {
		if !node.isDir {
			return false
		}
		next := node.entries[part]
		if next == nil || node.durableEntries[part] != next || fs.queuedOn(node, part) {
			return false
		}
		node = next
	}
	return node.isDir || bytes.Equal(node.data, node.durable)
}

func (fs *FS) queuedOn(dir *inode, name string) bool {
	for _, op := range fs.pending {
		if op.binds(dir, name) {
			return true
		}
	}
	return false
}

// DurableSize is the size of the file name on the medium (whether or not
// its name is durable).
func (fs *FS) DurableSize(name string) (int64, error) {
	node, err := fs.file("durablesize", name)
	if err != nil {
		return 0, err
	}
	return int64(len(node.durable)), nil
}

// Corrupt flips bit (0-7) of byte off of file name on the medium and in the
// page cache, wherever the byte exists: bit rot that a crash does not undo.
func (fs *FS) Corrupt(name string, off int64, bit uint8) error {
	assert.That(bit < 8, "simfs: Corrupt bit out of range")
	node, err := fs.file("corrupt", name)
	if err == nil && (off < 0 || off >= int64(max(len(node.data), len(node.durable)))) {
		err = pathErr("corrupt", name, iofs.ErrInvalid)
	}
	if err != nil {
		return fs.done("corrupt", name, 0, err)
	}
	for _, b := range [][]byte{node.data, node.durable} {
		if off < int64(len(b)) {
			b[off] ^= 1 << bit
		}
	}
	return fs.done("corrupt", name, int(off), nil)
}

// CorruptRandom flips one bit of file name chosen by rng, and says which.
func (fs *FS) CorruptRandom(rng *env.Rand, name string) (off int64, bit uint8, err error) {
	node, err := fs.file("corrupt", name)
	if err != nil {
		return 0, 0, err
	}
	size := max(len(node.data), len(node.durable))
	if size == 0 {
		return 0, 0, pathErr("corrupt", name, iofs.ErrInvalid)
	}
	off, bit = rng.Int64N(int64(size)), uint8(rng.IntN(8))
	return off, bit, fs.Corrupt(name, off, bit)
}

// file resolves name to a visible file inode.
func (fs *FS) file(op, name string) (*inode, error) {
	node, err := fs.lookup(name)
	if err == nil && node.isDir {
		err = iofs.ErrInvalid
	}
	if err != nil {
		return nil, pathErr(op, name, err)
	}
	return node, nil
}
