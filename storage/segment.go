package storage

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"strconv"
	"strings"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/assert"
	"github.com/takhin-io/takhin/internal/simbug"
)

// segment is one log file with its in-memory indexes. Its batches have
// offsets in [base, next) and positions in [0, size).
type segment struct {
	base Offset
	dir  string
	file env.File
	size int64
	next Offset // offset after the last batch; base when empty

	index          []indexEntry
	times          []timeEntry
	lastIndexedPos int64
	maxTimestamp   int64 // largest batch MaxTimestamp; -1 when none
	maxTsOffset    Offset
	maxTsPos       int64
	firstTimestamp int64 // first batch's MaxTimestamp, -1 when none (segment.ms rolls on it)
	createdMs      int64 // wall time the segment was created or opened
	// modifiedMs is the wall time of the last append (or of creation or
	// opening before any): Kafka's lastModified, the file's mtime, which
	// ages a segment whose batches carry no timestamp.
	modifiedMs int64

	indexWritten int  // entries of index already in the index file
	timesWritten int  // entries of times already in the time-index file
	hintsStale   bool // the hint files may hold entries from before a reset
	unsynced     bool // log file holds writes not yet fsynced
	// unsyncedBytes: written since the last sync. reserved: where the
	// file's reserved zeros end (0 when it reserves none); see reserveFor.
	unsyncedBytes  int64
	reserved       int64
	reserveRefused bool // a Reserve failed: none again until the next segment
}

const (
	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"
)

func segmentName(base Offset, suffix string) string {
	return fmt.Sprintf("%020d%s", base, suffix)
}

// parseSegmentName returns the base offset of a "<20 digits>.log" name.
func parseSegmentName(name string) (Offset, bool) {
	digits, ok := strings.CutSuffix(name, logSuffix)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return Offset(n), true
}

func newSegment(dir string, base Offset, file env.File, nowMs int64) *segment {
	return &segment{
		base: base, dir: dir, file: file, next: base,
		maxTimestamp: -1, firstTimestamp: -1, createdMs: nowMs, modifiedMs: nowMs,
	}
}

func (s *segment) path(suffix string) string { return path.Join(s.dir, segmentName(s.base, suffix)) }

// track does the bookkeeping for a batch that now sits at pos.
func (s *segment) track(h *BatchHeader, pos, intervalBytes int64) {
	if h.BaseOffset < s.next || pos != s.size {
		assert.Failf("segment %d: batch %d at %d after next %d size %d", s.base, h.BaseOffset, pos, s.next, s.size)
	}
	if pos == 0 {
		s.firstTimestamp = h.MaxTimestamp
	}
	if h.MaxTimestamp > s.maxTimestamp {
		s.maxTimestamp, s.maxTsOffset, s.maxTsPos = h.MaxTimestamp, h.BaseOffset, pos
	}
	if pos > 0 && pos-s.lastIndexedPos >= intervalBytes {
		s.index = append(s.index, indexEntry{offset: h.BaseOffset, pos: pos})
		s.lastIndexedPos = pos
		if n := len(s.times); n == 0 || s.maxTimestamp > s.times[n-1].ts {
			s.times = append(s.times, timeEntry{ts: s.maxTimestamp, offset: s.maxTsOffset, pos: s.maxTsPos})
		}
	}
	s.next = h.NextOffset()
	s.size = pos + h.Size()
}

// resetTracking forgets every batch, keeping the file.
func (s *segment) resetTracking() {
	s.size, s.next = 0, s.base
	s.index, s.times, s.lastIndexedPos = nil, nil, 0
	s.maxTimestamp, s.firstTimestamp, s.maxTsOffset, s.maxTsPos = -1, -1, 0, 0
	s.indexWritten, s.timesWritten, s.hintsStale = 0, 0, true
}

// fits reports whether a batch with these offsets can be stored in s: its
// offsets relative to base must fit the indexes' 32 bits.
func (s *segment) fits(h *BatchHeader) bool {
	return h.BaseOffset >= s.base && int64(h.LastOffset()-s.base) <= math.MaxInt32
}

// holds reports whether h's offsets lie within s as it is tracked: a
// cross-check of BaseOffset, which the batch CRC does not cover.
func (s *segment) holds(h *BatchHeader) bool {
	return s.fits(h) && h.NextOffset() <= s.next
}

// errBadBatch marks bytes that are not a valid batch where one should be;
// the caller decides between truncation and corruption.
var errBadBatch = errors.New("invalid batch")

// readHeader reads the header at pos and checks its shape against end,
// the position where the segment's valid bytes stop. A short read or a bad
// shape is errBadBatch; other read errors are returned as they are.
func (s *segment) readHeader(pos, end int64, scratch []byte) (BatchHeader, error) {
	buf := scratch[:BatchHeaderSize]
	if end-pos < BatchHeaderSize {
		return BatchHeader{}, fmt.Errorf("%w: %d bytes left at position %d", errBadBatch, end-pos, pos)
	}
	if _, err := s.file.ReadAt(buf, pos); err != nil {
		if errors.Is(err, io.EOF) {
			return BatchHeader{}, fmt.Errorf("%w: short header at position %d", errBadBatch, pos)
		}
		return BatchHeader{}, fmt.Errorf("storage: read %s at %d: %w", s.file.Name(), pos, err)
	}
	h := DecodeBatchHeader(buf)
	if err := checkHeaderShape(&h, end-pos); err != nil {
		return h, fmt.Errorf("%w: at position %d: %v", errBadBatch, pos, err)
	}
	return h, nil
}

// readBatch reads and validates the whole batch at pos, growing *buf as
// needed. The returned slice aliases *buf.
func (s *segment) readBatch(pos, end int64, buf *[]byte) (BatchHeader, []byte, error) {
	if cap(*buf) < BatchHeaderSize {
		*buf = make([]byte, 64<<10)
	}
	h, err := s.readHeader(pos, end, *buf)
	if err != nil {
		return h, nil, err
	}
	size := int(h.Size())
	if cap(*buf) < size {
		*buf = make([]byte, size)
	}
	b := (*buf)[:size]
	if _, err := s.file.ReadAt(b, pos); err != nil {
		if errors.Is(err, io.EOF) {
			return h, nil, fmt.Errorf("%w: short batch at position %d", errBadBatch, pos)
		}
		return h, nil, fmt.Errorf("storage: read %s at %d: %w", s.file.Name(), pos, err)
	}
	if got := BatchCRC(b); got != h.CRC && !simbug.Active(simbug.RecoverySkipsCRC) {
		return h, nil, fmt.Errorf("%w: crc %08x, header says %08x, at position %d", errBadBatch, got, h.CRC, pos)
	}
	return h, b, nil
}

// scan validates and tracks batches from pos (which must equal s.size) to
// fileSize. It stops at the first invalid batch and returns its position
// and why, or -1 when every byte up to fileSize held valid batches. limit is the first
// offset this segment may not hold (the next segment's base).
func (s *segment) scan(pos, fileSize int64, limit Offset, intervalBytes int64, buf *[]byte, each func(*BatchHeader)) (int64, error) {
	for pos < fileSize {
		h, _, err := s.readBatch(pos, fileSize, buf)
		if err == nil {
			err = s.checkOrder(&h, limit)
		}
		if err != nil {
			return pos, err
		}
		s.track(&h, pos, intervalBytes)
		if each != nil {
			each(&h)
		}
		pos += h.Size()
	}
	return -1, nil
}

// checkOrder cross-checks a batch's offsets against its neighbours.
func (s *segment) checkOrder(h *BatchHeader, limit Offset) error {
	switch {
	case h.BaseOffset < s.next:
		return fmt.Errorf("%w: base offset %d below the previous end %d", errBadBatch, h.BaseOffset, s.next)
	case !s.fits(h):
		return fmt.Errorf("%w: offsets %d..%d do not fit segment %d", errBadBatch, h.BaseOffset, h.LastOffset(), s.base)
	case h.LastOffset() >= limit:
		return fmt.Errorf("%w: last offset %d reaches the next segment at %d", errBadBatch, h.LastOffset(), limit)
	}
	return nil
}

// Reservations. An fdatasync after an append must also write the inode,
// as the file's size changed: on ext4 that is a second write to the device
// (measured: 1.6-1.9x the CPU and 1.4-1.8x the time of an fdatasync that
// overwrites zeros already on disk; see ARCHITECTURE). So when the group
// commits of the active segment are small (what awaits the next sync stays
// under reserveSyncBytesMax), it reserves zeros ahead of its end
// (env.File.Reserve), reserveChunkBytes at a time, and its appends overwrite
// them. Large group commits, where the inode write is noise, reserve
// nothing and do not write the disk twice.
//
// The zeros past the end are what any crash may leave after unsynced
// appends, so recovery treats them as it treats a torn tail: at or above
// the recovery point they are cut. A segment stops reserving when it rolls:
// its reservation is cut off and synced before the next segment exists, so
// no segment below the recovery point ever ends in zeros.
const (
	reserveSyncBytesMax = 16 << 10
	reserveChunkBytes   = 256 << 10
)

// reserveFor reserves ahead of an append of n bytes to the active segment
// when its group commits are small and the reservation would not hold
// them, never past segmentBytes (the segment rolls there). A refused
// reservation (a full disk) only costs the saving.
func (s *segment) reserveFor(n, segmentBytes int64) {
	if s.reserveRefused || s.unsyncedBytes+n > reserveSyncBytesMax || s.size+n <= s.reserved {
		return
	}
	from := max(s.reserved, s.size)
	chunk := min(reserveChunkBytes, segmentBytes-from)
	if from+chunk < s.size+n {
		return // the segment rolls before a reservation would pay
	}
	if err := s.file.Reserve(chunk); err != nil {
		// On a nearly full disk each retry would write zeros up to ENOSPC
		// and take them back, briefly filling the disk for every other
		// partition: this segment reserves no more. Zeros a failed
		// Reserve could not take back are cut at the roll.
		s.reserveRefused = true
		return
	}
	s.reserved = from + chunk
}

// endReservation cuts the file's reserved zeros off at its size; the next
// sync makes the cut durable. After a refused Reserve it cuts even with no
// reservation recorded, as the refusal may have left zeros behind.
func (s *segment) endReservation() error {
	if s.reserved <= s.size && !s.reserveRefused {
		s.reserved = 0
		return nil
	}
	if err := s.file.Truncate(s.size); err != nil {
		return fmt.Errorf("storage: cut the reservation of %s: %w", s.file.Name(), err)
	}
	s.reserved, s.unsynced = 0, true
	return nil
}

// write appends bytes to the file; on a partial write it truncates the
// partial bytes away, so the file ends where it did.
func (s *segment) write(b []byte) error {
	n, err := s.file.Write(b)
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		if n > 0 {
			// Truncate ends the reservation; the cut may drop synced
			// zeros, so it is unsynced too.
			s.reserved, s.unsynced = 0, true
			if terr := s.file.Truncate(s.size); terr != nil {
				return fmt.Errorf("%w: truncating a partial write of %s: %v (after %v)", ErrFailed, s.file.Name(), terr, err)
			}
		}
		return fmt.Errorf("storage: write %s: %w", s.file.Name(), err)
	}
	s.unsynced = true
	s.unsyncedBytes += int64(n)
	return nil
}

// truncate cuts the file at pos (a batch boundary) and rebuilds the
// in-memory indexes by re-scanning what is left.
func (s *segment) truncate(pos, intervalBytes int64, buf *[]byte) error {
	s.reserved = 0 // Truncate ends the reservation
	if err := s.file.Truncate(pos); err != nil {
		return fmt.Errorf("storage: truncate %s: %w", s.file.Name(), err)
	}
	s.unsynced = true
	s.resetTracking()
	bad, err := s.scan(0, pos, math.MaxInt64, intervalBytes, buf, nil)
	if err != nil && !errors.Is(err, errBadBatch) {
		return err
	}
	if bad >= 0 {
		return fmt.Errorf("%w: re-scan after truncating %s: %v", ErrCorrupt, s.file.Name(), err)
	}
	return nil
}

// sync fsyncs the log file if it has unsynced writes.
func (s *segment) sync() error {
	if !s.unsynced {
		return nil
	}
	if err := s.file.Sync(); err != nil {
		return fmt.Errorf("storage: sync %s: %w", s.file.Name(), err)
	}
	s.unsynced, s.unsyncedBytes = false, 0
	return nil
}
