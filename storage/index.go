package storage

import (
	"encoding/binary"
	"sort"
)

// The sparse indexes of one segment. Both are kept whole in memory (the
// authority while running) and written to files only as a start-up hint:
// Checkpoint writes and syncs them, and Open trusts them only for segments
// entirely below the recovery point, after a sanity check, re-scanning the
// tail after their last entry.
//
// Entry rule (deterministic, so a re-scan rebuilds the same entries): a
// batch starting at position p gets an offset-index entry when
// p - lastIndexedPosition ≥ index.interval.bytes, where lastIndexedPosition
// starts at 0 (the segment's first batch is found without an entry). At each
// offset-index entry, a time-index entry records the largest timestamp seen
// so far in the segment if it grew since the previous time entry.

// indexEntry maps a batch's base offset to its position.
type indexEntry struct {
	offset Offset
	pos    int64
}

// timeEntry says every batch before position pos has MaxTimestamp ≤ ts, and
// the batch at pos (base offset offset) reaches ts.
type timeEntry struct {
	ts     int64
	offset Offset
	pos    int64
}

const (
	indexEntrySize = 8  // relative offset uint32, position uint32
	timeEntrySize  = 16 // timestamp int64, relative offset uint32, position uint32
)

func encodeIndexEntry(dst []byte, base Offset, e indexEntry) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(e.offset-base))
	return binary.BigEndian.AppendUint32(dst, uint32(e.pos))
}

func encodeTimeEntry(dst []byte, base Offset, e timeEntry) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.ts))
	dst = binary.BigEndian.AppendUint32(dst, uint32(e.offset-base))
	return binary.BigEndian.AppendUint32(dst, uint32(e.pos))
}

// decodeIndex returns the longest sane prefix of an offset-index file:
// offsets and positions strictly increasing, positions inside the segment.
func decodeIndex(b []byte, base Offset, segmentSize int64) []indexEntry {
	var out []indexEntry
	for len(b) >= indexEntrySize {
		e := indexEntry{
			offset: base + Offset(binary.BigEndian.Uint32(b)),
			pos:    int64(binary.BigEndian.Uint32(b[4:])),
		}
		b = b[indexEntrySize:]
		if e.pos <= 0 || e.pos >= segmentSize || e.offset <= base {
			break
		}
		if n := len(out); n > 0 && (e.offset <= out[n-1].offset || e.pos <= out[n-1].pos) {
			break
		}
		out = append(out, e)
	}
	return out
}

// decodeTimeIndex returns the longest sane prefix of a time-index file whose
// entries also lie before limitPos (the start of the re-scanned tail).
func decodeTimeIndex(b []byte, base Offset, limitPos int64) []timeEntry {
	var out []timeEntry
	for len(b) >= timeEntrySize {
		e := timeEntry{
			ts:     int64(binary.BigEndian.Uint64(b)),
			offset: base + Offset(binary.BigEndian.Uint32(b[8:])),
			pos:    int64(binary.BigEndian.Uint32(b[12:])),
		}
		b = b[timeEntrySize:]
		if e.pos < 0 || e.pos > limitPos || e.offset < base {
			break
		}
		if n := len(out); n > 0 && (e.ts <= out[n-1].ts || e.pos < out[n-1].pos) {
			break
		}
		out = append(out, e)
	}
	return out
}

// lookupIndex returns the position of the last indexed batch whose base
// offset is ≤ offset (0 when none): where a forward scan for offset starts.
func lookupIndex(index []indexEntry, offset Offset) (pos int64, indexed Offset, ok bool) {
	i := sort.Search(len(index), func(i int) bool { return index[i].offset > offset })
	if i == 0 {
		return 0, 0, false
	}
	return index[i-1].pos, index[i-1].offset, true
}

// lookupTime returns the index of the last time entry whose timestamp is
// < ts (every batch before its position has MaxTimestamp < ts), or -1.
func lookupTime(times []timeEntry, ts int64) int {
	return sort.Search(len(times), func(i int) bool { return times[i].ts >= ts }) - 1
}
