package simfs

import (
	"bytes"
	"maps"
	"slices"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/assert"
)

// Crash simulates power loss (see the package doc for the model): queued
// namespace ops survive or revert one by one, unreachable inodes go, and
// each file's unsynced data is lost, kept or torn at sector granularity.
// Afterwards what survived is all there is, and all of it is durable; every
// File opened before fails with ErrStaleHandle. Every choice is drawn from
// rng, in a fixed order (queued ops, then files by sorted path).
func (fs *FS) Crash(rng *env.Rand) {
	for _, op := range fs.pending {
		if rng.IntN(2) == 0 {
			op.apply(onMedium) // an op whose precondition fails is dropped
		}
	}
	fs.pending = nil
	fs.used = 0
	fs.epoch++
	fs.stats.Crashes++
	fs.recover(fs.root, rng, map[*inode]bool{fs.root: true})
	fs.done("crash", "", 0, nil)
}

// recover rebuilds dir's subtree from the medium, tearing file data.
func (fs *FS) recover(dir *inode, rng *env.Rand, seen map[*inode]bool) {
	dir.entries = maps.Clone(dir.durableEntries)
	for _, name := range slices.Sorted(maps.Keys(dir.entries)) {
		node := dir.entries[name]
		assert.That(!seen[node], "simfs: inode reachable by two names after crash")
		seen[node] = true
		node.links, node.opens = 1, 0 // one name survives; no handle does
		if node.isDir {
			fs.recover(node, rng, seen)
			continue
		}
		node.data = tear(node.durable, node.data, rng, fs.sector)
		node.durable = slices.Clone(node.data)
		node.clean()
		fs.used += int64(len(node.data))
	}
}

// tear returns what the medium holds after power loss for a file whose
// medium held old and whose page cache held cur: old (lost), cur (kept), or
// a torn mix, 1/3 each. Torn: the size is drawn from {len(old), len(cur),
// the sector boundaries between}; each sector where the two differ holds,
// independently, the old bytes (zeros past len(old)) or the new bytes (the
// old ones past len(cur)).
func tear(old, cur []byte, rng *env.Rand, sector int) []byte {
	if bytes.Equal(old, cur) {
		return slices.Clone(cur)
	}
	switch rng.IntN(3) {
	case 0:
		return slices.Clone(old)
	case 1:
		return slices.Clone(cur)
	}
	size := tornSize(len(old), len(cur), rng, sector)
	out := make([]byte, size)
	oldSector := make([]byte, sector)
	newSector := make([]byte, sector)
	for start := 0; start < size; start += sector {
		end := min(start+sector, size)
		o, c := oldSector[:end-start], newSector[:end-start]
		overlay(o, nil, old, start)
		overlay(c, old, cur, start)
		if !bytes.Equal(o, c) && rng.IntN(2) == 1 {
			o = c
		}
		copy(out[start:end], o)
	}
	return out
}

// overlay fills dst with the bytes at start of top, where top ends those of
// under, and zeros where both end.
func overlay(dst, under, top []byte, start int) {
	clear(dst)
	copy(dst, under[min(start, len(under)):])
	copy(dst, top[min(start, len(top)):])
}

// tornSize draws the size of a torn file uniformly from the two sizes and
// the sector boundaries strictly between them.
func tornSize(oldSize, curSize int, rng *env.Rand, sector int) int {
	low, high := min(oldSize, curSize), max(oldSize, curSize)
	first := (low/sector + 1) * sector // first boundary above low
	boundaries := 0
	if first < high {
		boundaries = (high-1-first)/sector + 1
	}
	switch k := rng.IntN(boundaries + 2); k {
	case 0:
		return oldSize
	case 1:
		return curSize
	default:
		return first + (k-2)*sector
	}
}
