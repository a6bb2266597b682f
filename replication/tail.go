package replication

import "github.com/takhin-io/takhin/storage"

// tail is the in-memory copy of the newest written batches. It covers every
// offset from coverFrom to the written end, contiguously, so a fetch at or
// after coverFrom never needs the disk.
type tail struct {
	entries   []tailEntry
	bytes     int
	coverFrom storage.Offset
}

type tailEntry struct {
	base, next storage.Offset
	batch      []byte
}

// reset empties the tail; it covers from end on.
func (t *tail) reset(end storage.Offset) {
	*t = tail{coverFrom: end}
}

// add appends a written batch, evicting the oldest to stay within max.
func (t *tail) add(base storage.Offset, batch []byte, maxBytes int) {
	h := storage.DecodeBatchHeader(batch)
	if n := len(t.entries); n > 0 && t.entries[n-1].next != base || n == 0 && base != t.coverFrom {
		t.reset(base) // not contiguous (after a failed write): start over
	}
	t.entries = append(t.entries, tailEntry{base: base, next: h.NextOffset(), batch: batch})
	t.bytes += len(batch)
	for t.bytes > maxBytes && len(t.entries) > 0 {
		t.bytes -= len(t.entries[0].batch)
		t.entries[0] = tailEntry{}
		t.entries = t.entries[1:]
		if len(t.entries) > 0 {
			t.coverFrom = t.entries[0].base
		} else {
			t.coverFrom = h.NextOffset()
		}
	}
}

// first returns the index of the entry holding offset.
func (t *tail) first(offset storage.Offset) int {
	lo, hi := 0, len(t.entries)
	for lo < hi {
		mid := (lo + hi) / 2
		if t.entries[mid].next <= offset {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// bytesBetween counts the bytes of the batches holding [from, upTo), if the
// tail covers from.
func (t *tail) bytesBetween(from, upTo storage.Offset) (int, bool) {
	if from < t.coverFrom {
		return 0, false
	}
	n := 0
	for _, e := range t.entries[t.first(from):] {
		if e.next > upTo {
			break
		}
		n += len(e.batch)
	}
	return n, true
}

// read returns the batches from the one holding from, below upTo, within
// maxBytes but at least one, if the tail covers from.
func (t *tail) read(from storage.Offset, maxBytes int, upTo storage.Offset) ([]byte, bool) {
	if from < t.coverFrom {
		return nil, false
	}
	// Find the run of batches first, then copy it once into a buffer of
	// its exact size (or share the one batch: written batches are never
	// modified, and the slice is capped so nobody can append into it).
	entries := t.entries[t.first(from):]
	n, size := 0, 0
	for _, e := range entries {
		if e.next > upTo || (size > 0 && size+len(e.batch) > maxBytes) {
			break
		}
		n, size = n+1, size+len(e.batch)
	}
	switch n {
	case 0:
		return nil, true
	case 1:
		b := entries[0].batch
		return b[:len(b):len(b)], true
	}
	out := make([]byte, 0, size)
	for _, e := range entries[:n] {
		out = append(out, e.batch...)
	}
	return out, true
}
