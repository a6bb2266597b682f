package storage

import (
	"errors"
	"fmt"
	"io"

	"github.com/takhin-io/takhin/internal/bufpool"
)

// ReadResult is what Read returns.
type ReadResult struct {
	// Batches holds whole, CRC-checked batches, in offset order, in a
	// buffer the caller owns, from internal/bufpool: the caller may Put
	// it back once no slice of it will be read again.
	Batches []byte
	// Next is the offset a follow-up read should start from: after the
	// last batch returned, or from itself when nothing was returned.
	Next Offset
}

// Read returns the batches from the one holding from (or, inside a gap,
// the next one), staying in one segment as Kafka does, up to maxBytes but at
// least one whole batch, and never a batch whose last offset is ≥ upTo
// (pass the high watermark, or EndOffset). from must lie in
// [StartOffset, EndOffset]. A batch that fails its CRC or its cross-check
// twice in a row is corruption: the log fail-stops.
func (l *Log) Read(from Offset, maxBytes int, upTo Offset) (ReadResult, error) {
	if err := l.usable(); err != nil {
		return ReadResult{}, err
	}
	end := l.EndOffset()
	if from < l.startOffset || from > end {
		return ReadResult{}, fmt.Errorf("%w: %d not in [%d, %d]", ErrOffsetOutOfRange, from, l.startOffset, end)
	}
	upTo = min(upTo, end)
	for i := l.segmentFor(from); i < len(l.segments) && from < upTo; i++ {
		var batches []byte
		var found bool
		err := l.retryCorrupt(func() (err error) {
			batches, found, err = l.readSegment(l.segments[i], from, maxBytes, upTo)
			return err
		})
		if err != nil {
			return ReadResult{}, err
		}
		if found { // batches may be empty: the batch holding from reaches upTo
			return ReadResult{Batches: batches, Next: lastNextOffset(batches, from)}, nil
		}
	}
	return ReadResult{Next: from}, nil
}

// retryCorrupt runs read, and once more if it found bad bytes (a transient
// flip on the read path); bad bytes twice fail-stop the log.
func (l *Log) retryCorrupt(read func() error) error {
	err := read()
	if err != nil && errors.Is(err, errBadBatch) {
		err = read()
	}
	if err != nil && errors.Is(err, errBadBatch) {
		return l.fail(fmt.Errorf("%w: %v", ErrCorrupt, err))
	}
	return err
}

func lastNextOffset(batches []byte, from Offset) Offset {
	next := from
	for len(batches) >= BatchHeaderSize {
		h := DecodeBatchHeader(batches)
		next = h.NextOffset()
		batches = batches[h.Size():]
	}
	return next
}

// locate returns the position and header of the first batch in s whose
// last offset is ≥ from, or found=false when s holds none.
func (l *Log) locate(s *segment, from Offset) (int64, BatchHeader, bool, error) {
	pos, indexed, ok := lookupIndex(s.index, from)
	pos, h, _, found, err := l.scanTo(s, from, pos, indexed, ok, false)
	return pos, h, found, err
}

// locateWithPrev is locate that also returns the end offset of the batch
// before the one found (the segment's base when none). It starts one index
// entry earlier than locate: the batch at locate's entry may be the one
// found, and the end of the batch before it must be read, not assumed.
func (l *Log) locateWithPrev(s *segment, from Offset) (int64, BatchHeader, Offset, bool, error) {
	pos, indexed, ok := lookupIndex(s.index, from)
	if ok {
		pos, indexed, ok = lookupIndex(s.index, indexed-1)
	}
	return l.scanTo(s, from, pos, indexed, ok, true)
}

// scanTo walks s from pos (the batch at indexed when ok) to the first batch
// whose last offset is ≥ from, returning also the end offset of the batch
// before it. Every batch it steps over is CRC-checked: a flipped offset
// field must not make it skip data. The batch found is CRC-checked only
// when checkFound: a reader that reads it whole next checks it then (a
// flipped header that stopped the scan early fails that check), and
// does not read it twice.
func (l *Log) scanTo(s *segment, from Offset, pos int64, indexed Offset, ok, checkFound bool) (int64, BatchHeader, Offset, bool, error) {
	prevNext := s.base
	if cap(l.buf) < BatchHeaderSize {
		l.buf = make([]byte, 64<<10)
	}
	for first := true; pos < s.size; first = false {
		h, err := s.readHeader(pos, s.size, l.buf)
		if err == nil && (checkFound || h.LastOffset() < from) {
			h, _, err = s.readBatch(pos, s.size, &l.buf)
		}
		if first && ok && (errors.Is(err, errBadBatch) || err == nil && h.BaseOffset != indexed) {
			// The index hint or the segment is wrong where the entry
			// points: drop the entry and those after it (the hint has no
			// checksum) and scan from the segment's start, which meets the
			// segment's corruption if that is what it is.
			s.dropIndexFrom(indexed)
			return l.scanTo(s, from, 0, 0, false, checkFound)
		}
		if err != nil {
			return 0, h, 0, false, err
		}
		if h.BaseOffset < prevNext || !s.holds(&h) {
			return 0, h, 0, false, fmt.Errorf("%w: batch %d..%d at position %d out of order or past the segment's end %d", errBadBatch, h.BaseOffset, h.LastOffset(), pos, s.next)
		}
		if h.LastOffset() >= from {
			return pos, h, prevNext, true, nil
		}
		prevNext = h.NextOffset()
		pos += h.Size()
	}
	return 0, BatchHeader{}, prevNext, false, nil
}

// readSegment reads the batches of s starting at the one holding from;
// found is false when s holds no batch whose last offset is ≥ from.
func (l *Log) readSegment(s *segment, from Offset, maxBytes int, upTo Offset) ([]byte, bool, error) {
	pos, first, found, err := l.locate(s, from)
	if err != nil || !found {
		return nil, false, err
	}
	want := min(max(int64(maxBytes), first.Size()), s.size-pos)
	buf := bufpool.Get(int(want)) // ReadAt fills it whole or fails
	if _, err := s.file.ReadAt(buf, pos); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, false, fmt.Errorf("%w: segment %d shorter than %d", errBadBatch, s.base, pos+want)
		}
		return nil, false, fmt.Errorf("storage: read %s at %d: %w", s.file.Name(), pos, err)
	}
	n, err := validateBatches(buf, first.BaseOffset, from, upTo, s.next)
	if err != nil {
		return nil, false, fmt.Errorf("%w: segment %d at position %d", err, s.base, pos)
	}
	return buf[:n], true, nil
}

// validateBatches returns the length of the longest prefix of buf made of
// whole, valid batches with offsets increasing from firstBase and last
// offsets below upTo; an offset at or past end (the segment's) is bad.
// Each batch's CRC is checked before any decision is taken on its header,
// so a flipped offset field cannot hide a batch. The first batch must be
// whole and must hold from or a later offset: the scan that chose it read
// its header without the CRC, and a flip there must not return a batch
// wholly below the fetch offset.
func validateBatches(buf []byte, firstBase, from, upTo, end Offset) (int, error) {
	n := 0
	next := firstBase
	for len(buf)-n >= BatchHeaderSize {
		h := DecodeBatchHeader(buf[n:])
		if err := checkHeaderShape(&h, int64(len(buf)-n)); err != nil {
			if n > 0 && h.Magic == 2 && h.BatchLength > 0 && h.Size() > int64(len(buf)-n) {
				break // a batch cut by maxBytes; its CRC is checked when it is read whole
			}
			return 0, fmt.Errorf("%w: %v", errBadBatch, err)
		}
		b := buf[n : n+int(h.Size())]
		if got := BatchCRC(b); got != h.CRC {
			return 0, fmt.Errorf("%w: crc %08x, header says %08x at offset %d", errBadBatch, got, h.CRC, h.BaseOffset)
		}
		if h.BaseOffset < next || (n == 0 && h.BaseOffset != firstBase) || h.NextOffset() > end {
			return 0, fmt.Errorf("%w: offsets %d..%d, expected from %d and below %d", errBadBatch, h.BaseOffset, h.LastOffset(), next, end)
		}
		if n == 0 && h.LastOffset() < from {
			return 0, fmt.Errorf("%w: the batch found ends at %d, before %d", errBadBatch, h.LastOffset(), from)
		}
		if h.LastOffset() >= upTo {
			break
		}
		next = h.NextOffset()
		n += len(b)
	}
	return n, nil
}

// FindTimestamp returns the header of the first batch at or after the log
// start offset whose MaxTimestamp is ≥ ts (ListOffsets by timestamp; the
// broker then picks the record inside it).
func (l *Log) FindTimestamp(ts int64) (BatchHeader, bool, error) {
	if err := l.usable(); err != nil {
		return BatchHeader{}, false, err
	}
	for _, s := range l.segments[l.segmentFor(l.startOffset):] {
		if s.maxTimestamp < ts {
			continue
		}
		var h BatchHeader
		var found bool
		err := l.retryCorrupt(func() (err error) {
			h, found, err = l.scanForTimestamp(s, ts)
			return err
		})
		if err != nil || found {
			return h, found, err
		}
	}
	return BatchHeader{}, false, nil
}

func (l *Log) scanForTimestamp(s *segment, ts int64) (BatchHeader, bool, error) {
	i, pos := lookupTime(s.times, ts), int64(0)
	if i >= 0 {
		pos = s.times[i].pos
	}
	for first := true; pos < s.size; first = false {
		h, _, err := s.readBatch(pos, s.size, &l.buf)
		if first && i >= 0 && (errors.Is(err, errBadBatch) || err == nil && (h.BaseOffset != s.times[i].offset || h.MaxTimestamp != s.times[i].ts)) {
			// The time-index hint or the segment is wrong where the entry
			// points (see scanTo): drop the entry and those after it and
			// look again without them.
			s.dropTimesFrom(i)
			return l.scanForTimestamp(s, ts)
		}
		if err != nil {
			return h, false, err
		}
		if h.NextOffset() > l.startOffset && h.MaxTimestamp >= ts {
			return h, true, nil
		}
		pos += h.Size()
	}
	return BatchHeader{}, false, nil
}
