// Package bufpool recycles the large byte buffers of the data path (a
// fetch's read, a response frame), which would otherwise be allocated and
// zeroed afresh for every request: megabytes per fetch, cleared at memory
// bandwidth and, on a machine whose memory is backed lazily, faulted in
// page by page.
//
// Ownership is explicit: Get hands out a buffer nobody else holds; the
// holder calls Put only when no slice of it can be read again (a response
// once written to its socket, a read once encoded into its response).
// Forgetting to Put costs an allocation, never correctness; putting a
// buffer that is still in use would be a bug, so every Put site names the
// point after which the bytes are dead. Contents never decide anything:
// Get's caller overwrites the length it asked for before reading it, so
// recycling changes no output and the simulator's runs stay
// deterministic.
//
// Buffers are kept in size classes, powers of two from 64 KiB to 64 MiB;
// smaller requests are plain allocations, and a Put of a slice whose
// capacity is not a class size is ignored (it is left to the collector).
package bufpool

import (
	"math/bits"
	"sync"
)

const (
	minClassShift = 16 // 64 KiB
	maxClassShift = 26 // 64 MiB
	classes       = maxClassShift - minClassShift + 1
)

var pools [classes]sync.Pool

// class returns the size class holding n bytes, or -1 when n is outside
// the pooled range.
func class(n int) int {
	if n <= 1<<(minClassShift-1) || n > 1<<maxClassShift {
		return -1
	}
	shift := bits.Len(uint(n - 1)) // 2^shift ≥ n
	return max(shift, minClassShift) - minClassShift
}

// Get returns a buffer of length n (its contents are arbitrary).
func Get(n int) []byte {
	c := class(n)
	if c < 0 {
		return make([]byte, n)
	}
	if p, ok := pools[c].Get().(*[]byte); ok {
		return (*p)[:n]
	}
	return make([]byte, n, 1<<(c+minClassShift))
}

// Put returns b's whole capacity to its class for reuse. The caller must
// hold no other slice of it.
func Put(b []byte) {
	c := class(cap(b))
	if c < 0 || cap(b) != 1<<(c+minClassShift) {
		return
	}
	b = b[:cap(b)]
	pools[c].Put(&b)
}
