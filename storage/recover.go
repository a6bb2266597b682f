package storage

import (
	"errors"
	"fmt"
	"math"
	"path"
	"strings"

	"github.com/takhin-io/takhin/env"
)

// Open opens (creating if needed) the log in dir and recovers it; see the
// package comment for the rule. nowMs is the event's wall time. An error
// wrapping ErrCorrupt means the partition must fail-stop; other errors are
// I/O errors and may succeed on a later attempt.
func Open(fs env.FS, dir string, cfg Config, nowMs int64) (*Log, error) {
	if cfg.SegmentBytes <= 0 || cfg.SegmentMs <= 0 || cfg.IndexIntervalBytes < 0 || cfg.ProducerIDExpirationMs < 0 {
		return nil, fmt.Errorf("storage: invalid config %+v", cfg)
	}
	l := &Log{fs: fs, dir: dir, cfg: cfg, prod: newProducerLog(nowMs)}
	names, err := l.prepareDir()
	if err != nil {
		return nil, err
	}
	if names, err = l.recoverSwap(names); err != nil {
		return nil, err
	}
	if err := l.loadCheckpoints(); err != nil {
		return nil, err
	}
	if err := l.openSegments(names, nowMs); err != nil {
		l.closeAll()
		return nil, err
	}
	if err := l.loadProducerState(names); err != nil {
		l.closeAll()
		return nil, err
	}
	if err := l.recoverSegments(nowMs); err != nil {
		l.closeAll()
		return nil, err
	}
	if err := l.finishRecovery(); err != nil {
		l.closeAll()
		return nil, err
	}
	l.checkInvariants()
	return l, nil
}

func (l *Log) closeAll() {
	for _, s := range l.segments {
		_ = s.closeFiles()
	}
}

// prepareDir creates dir if needed, removes leftover temp files and returns
// the remaining names.
func (l *Log) prepareDir() ([]string, error) {
	names, err := l.fs.List(l.dir)
	if errors.Is(err, env.ErrNotExist) {
		if err := l.fs.MkdirAll(l.dir); err != nil {
			return nil, fmt.Errorf("storage: create %s: %w", l.dir, err)
		}
		if err := l.fs.SyncDir(path.Dir(l.dir)); err != nil {
			return nil, fmt.Errorf("storage: sync dir %s: %w", path.Dir(l.dir), err)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("storage: list %s: %w", l.dir, err)
	}
	kept := names[:0:0]
	for _, n := range names {
		if strings.HasSuffix(n, tempSuffix) {
			if err := l.fs.Remove(path.Join(l.dir, n)); err != nil {
				return nil, fmt.Errorf("storage: remove %s: %w", n, err)
			}
			l.dirUnsynced = true
			continue
		}
		kept = append(kept, n)
	}
	return kept, nil
}

func (l *Log) loadCheckpoints() error {
	lines, found, err := readCheckpoint(l.fs, l.dir, partitionCheckpointName, "partition")
	if err != nil {
		return err
	}
	if found {
		if len(lines) != 2 {
			return fmt.Errorf("%w: partition checkpoint has %d lines", ErrCorrupt, len(lines))
		}
		rp, err1 := parseField(lines[0], "recovery-point")
		lso, err2 := parseField(lines[1], "log-start-offset")
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		if rp < 0 || lso < 0 {
			return fmt.Errorf("%w: negative offsets in the partition checkpoint", ErrCorrupt)
		}
		l.recoveryPoint, l.startOffset = Offset(rp), Offset(lso)
	}
	if err := l.loadCleanerCheckpoint(); err != nil {
		return err
	}
	lines, found, err = readCheckpoint(l.fs, l.dir, epochCheckpointName, "leader-epochs")
	if err != nil || !found {
		return err
	}
	l.epochs.entries, err = decodeEpochs(lines)
	return err
}

// openSegments opens every segment file, deleting the index files of
// missing segments and the segments entirely below the log start offset.
func (l *Log) openSegments(names []string, nowMs int64) error {
	logs := map[Offset]bool{}
	for _, n := range names {
		if base, ok := parseSegmentName(n); ok {
			logs[base] = true
		}
	}
	for _, n := range names { // names are sorted, so bases come in order
		base, ok := parseSegmentName(n)
		if !ok {
			if err := l.removeOrphan(n, logs); err != nil {
				return err
			}
			continue
		}
		f, err := l.fs.OpenReadWrite(path.Join(l.dir, n))
		if err != nil {
			return fmt.Errorf("storage: open %s: %w", n, err)
		}
		l.segments = append(l.segments, newSegment(l.dir, base, f, nowMs))
	}
	for len(l.segments) > 1 && l.segments[1].base <= l.startOffset {
		if err := l.removeSegment(0); err != nil {
			return err
		}
	}
	return nil
}

// removeOrphan removes an index file whose segment is gone.
func (l *Log) removeOrphan(name string, logs map[Offset]bool) error {
	for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
		digits, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		if base, ok := parseSegmentName(digits + logSuffix); ok && !logs[base] {
			l.dirUnsynced = true
			return l.fs.Remove(path.Join(l.dir, name))
		}
	}
	return nil
}

// recoverSegments validates the segments in order: trusted ones (entirely
// below the recovery point) from their index hints, the rest batch by
// batch, truncating at the first invalid batch at or above the recovery
// point.
func (l *Log) recoverSegments(nowMs int64) error {
	if len(l.segments) == 0 {
		if l.recoveryPoint > l.startOffset {
			return fmt.Errorf("%w: no segments, but the recovery point is %d", ErrCorrupt, l.recoveryPoint)
		}
		return l.createSegment(l.startOffset, nowMs)
	}
	prevEnd := l.segments[0].base
	for i := 0; i < len(l.segments); i++ {
		s := l.segments[i]
		if s.base < prevEnd {
			return fmt.Errorf("%w: segment %d overlaps the one before (ending at %d)", ErrCorrupt, s.base, prevEnd)
		}
		limit := Offset(math.MaxInt64)
		if i+1 < len(l.segments) {
			limit = l.segments[i+1].base
		}
		bad, err := l.recoverSegment(s, limit)
		if err != nil {
			return err
		}
		if bad >= 0 {
			if err := l.truncateRecovered(i, bad); err != nil {
				return err
			}
		}
		prevEnd = s.next
	}
	// A rolled segment whose first batch was lost holds nothing; left in
	// place it would put the log end past offsets that were never written.
	for len(l.segments) > 1 && l.active().size == 0 {
		if err := l.removeSegment(len(l.segments) - 1); err != nil {
			return err
		}
	}
	if l.EndOffset() < l.startOffset && l.recoveryPoint <= l.startOffset {
		// Only a TruncateTo that took the batch holding the start offset,
		// stopped part-way, leaves this (below the start nothing is
		// readable, and the start is durable only with a recovery point
		// at or above it otherwise): as Kafka's recovery does, the log
		// restarts empty at its start. Any crash in between leaves only
		// segments below the start, which the next recovery removes too.
		for len(l.segments) > 0 {
			if err := l.removeSegment(len(l.segments) - 1); err != nil {
				return err
			}
		}
		if err := l.createSegment(l.startOffset, nowMs); err != nil {
			return err
		}
	}
	if end := l.EndOffset(); end < l.recoveryPoint {
		return fmt.Errorf("%w: the log ends at %d, below the recovery point %d", ErrCorrupt, end, l.recoveryPoint)
	}
	return nil
}

// recoverSegment validates one segment and returns the position of its
// first invalid batch at or above the recovery point (-1: none), where it
// must be cut.
func (l *Log) recoverSegment(s *segment, limit Offset) (int64, error) {
	fileSize, err := s.file.Size()
	if err != nil {
		return -1, fmt.Errorf("storage: size of %s: %w", s.file.Name(), err)
	}
	if fileSize > math.MaxUint32 {
		return -1, fmt.Errorf("%w: segment %s is %d bytes", ErrCorrupt, s.file.Name(), fileSize)
	}
	trusted := limit <= l.recoveryPoint
	from := int64(0)
	if trusted {
		from = s.loadIndexes(l.fs, fileSize)
	}
	if from > 0 {
		// Cross-check the last entry of each hint against the batch it
		// points at (a time entry: where the maximum timestamp grew).
		h, err := s.readHeader(from, fileSize, l.scratch())
		if err == nil && h.BaseOffset != s.next {
			err = fmt.Errorf("%w: index says offset %d at position %d, the batch there is %d", errBadBatch, s.next, from, h.BaseOffset)
		}
		if n := len(s.times); err == nil && n > 0 {
			t := s.times[n-1]
			h, err = s.readHeader(t.pos, fileSize, l.scratch())
			if err == nil && (h.BaseOffset != t.offset || h.MaxTimestamp != t.ts) {
				err = fmt.Errorf("%w: time index says %d at offset %d, position %d; the batch there is %d with %d", errBadBatch, t.ts, t.offset, t.pos, h.BaseOffset, h.MaxTimestamp)
			}
		}
		if err != nil && errors.Is(err, errBadBatch) {
			// The hint or the segment is bad: a hint costs a full scan,
			// which finds the segment's corruption if that is what it is.
			s.resetTracking()
			from, err = 0, nil
		}
		if err != nil {
			return -1, err
		}
	}
	if from > 0 {
		s.loadFirstTimestamp(fileSize, l.scratch())
	}
	if trusted {
		if err := l.replayTrusted(s, from); err != nil {
			return -1, err
		}
	}
	bad, err := s.scan(from, fileSize, limit, l.cfg.IndexIntervalBytes, &l.buf, l.recoveryObserver(trusted))
	s.indexWritten, s.timesWritten = min(s.indexWritten, len(s.index)), min(s.timesWritten, len(s.times))
	if err != nil && !errors.Is(err, errBadBatch) {
		return -1, err // an I/O error: nothing is known about the bytes
	}
	if bad < 0 {
		return -1, nil
	}
	if trusted || s.next < l.recoveryPoint {
		return -1, fmt.Errorf("%w: %s below the recovery point %d: %v", ErrCorrupt, s.file.Name(), l.recoveryPoint, err)
	}
	// The first invalid batch at or above the recovery point: it and
	// everything after it were never known to be durable.
	return bad, nil
}

// truncateRecovered cuts segment i at its first invalid batch, at pos,
// and removes every later segment. The removals are made durable first: a
// crash in between must never keep the shortened segment together with a
// later one, which would leave a hole the next recovery could not tell
// from a legitimate gap (simulator seed 1403).
func (l *Log) truncateRecovered(i int, pos int64) error {
	if len(l.segments) > i+1 {
		for len(l.segments) > i+1 {
			if err := l.removeSegment(len(l.segments) - 1); err != nil {
				return err
			}
		}
		if err := l.fs.SyncDir(l.dir); err != nil {
			return fmt.Errorf("storage: sync dir %s: %w", l.dir, err)
		}
		l.dirUnsynced = false
	}
	s := l.segments[i]
	if err := s.file.Truncate(pos); err != nil {
		return fmt.Errorf("storage: truncate %s: %w", s.file.Name(), err)
	}
	s.size, s.unsynced = pos, true
	s.indexWritten, s.timesWritten, s.hintsStale = 0, 0, true // rewrite the hints from scratch
	return nil
}

// finishRecovery makes the recovered log durable and checkpoints it: the
// bytes that survived a crash above the recovery point may still be only in
// the page cache. ENOSPC from the checkpoint is tolerated (the old one
// stays valid).
func (l *Log) finishRecovery() error {
	if l.startOffset < l.segments[0].base {
		l.startOffset = l.segments[0].base
	}
	l.epochs.truncateFrom(l.EndOffset())
	for _, s := range l.segments {
		if s.base >= l.recoveryPoint || s.next > l.recoveryPoint {
			s.unsynced = true
			s.indexWritten, s.timesWritten, s.hintsStale = 0, 0, true
		}
	}
	if err := l.Sync(); err != nil {
		return err
	}
	if err := l.Checkpoint(); err != nil && !(env.IsNoSpace(err) && l.failed == nil) {
		return err
	}
	return nil
}

// loadFirstTimestamp reads the first batch's timestamp of a segment whose
// start recovery did not scan (max.compaction.lag.ms reads it). A failed
// read leaves it unknown (-1), which only delays a forced clean.
func (s *segment) loadFirstTimestamp(fileSize int64, scratch []byte) {
	if first, err := s.readHeader(0, fileSize, scratch); err == nil {
		s.firstTimestamp = first.MaxTimestamp
	}
}
