package storage

import (
	"fmt"
	"math"

	"github.com/takhin-io/takhin/internal/assert"
)

// TruncateTo removes every batch whose last offset is ≥ offset (replication
// divergence; a batch straddling offset goes whole), so EndOffset becomes
// the end of the last remaining batch, ≤ offset; a segment left empty goes
// too (recovery would remove it). When that would end the log below its
// start offset (the batch holding the start went), nothing at or above
// the start is left: every segment goes and the log restarts empty at the
// start offset, as Kafka's truncateFullyAndStartAt. The recovery point is
// lowered durably first and the truncation is synced before it returns, so
// removed batches never come back. offset must be ≥ StartOffset.
func (l *Log) TruncateTo(offset Offset) error {
	if err := l.usable(); err != nil {
		return err
	}
	if offset >= l.EndOffset() {
		return nil
	}
	if offset < l.startOffset {
		return fmt.Errorf("%w: truncate to %d below the log start %d", ErrOffsetOutOfRange, offset, l.startOffset)
	}
	p, err := l.planTruncation(offset)
	if err != nil {
		return err
	}
	// Lower the recovery point durably first: a crash part-way must not
	// find the log shorter than its checkpoint.
	if p.newEnd < l.recoveryPoint {
		if err := l.writePartitionCheckpoint(p.newEnd); err != nil {
			return err
		}
	}
	if err := l.removeSegmentsFrom(max(p.k+1, 1)); err != nil {
		return l.fail(err)
	}
	if p.full {
		// The new segment, then the last old one goes: in any crash
		// between, recovery removes the old one, which lies below the
		// start (Open's rule for segments below it), or finds it alone
		// ending below the start and restarts the log there.
		if err := l.addSegment(p.newEnd, l.prod.nowMs); err != nil { // it may overlap the old one, removed next
			return l.fail(err)
		}
		if err := l.removeSegment(0); err != nil {
			return l.fail(err)
		}
	}
	if p.cut >= 0 {
		if err := l.segments[p.k].truncate(p.cut, l.cfg.IndexIntervalBytes, &l.buf); err != nil {
			return l.fail(err)
		}
	}
	assert.That(l.EndOffset() == p.newEnd, "truncation ends where planned")
	if err := l.truncateProducerState(p.newEnd); err != nil {
		return err
	}
	l.syncedEnd = min(l.syncedEnd, l.EndOffset())
	l.epochs.truncateFrom(l.EndOffset())
	l.cleanedTo = min(l.cleanedTo, l.EndOffset()) // Kafka's maybeTruncateCheckpoint
	return l.Sync()
}

// truncation is what TruncateTo will do: keep segments up to k (none when
// full), cut segment k at position cut (-1: keep it whole), and end the
// log at newEnd; full restarts the log empty at its start offset.
type truncation struct {
	k      int
	cut    int64
	newEnd Offset
	full   bool
}

// planTruncation finds where TruncateTo(offset) cuts. The segments after k
// start at or after offset and go whole; in segment k the cut is at the
// first batch reaching offset. A segment that would be left empty goes
// whole, and so does any empty one before it (compaction can empty a
// segment): recovery would remove an empty last segment and find the log
// ending below the recovery point. Ending below the start offset means
// nothing at or above the start is left: a full restart.
func (l *Log) planTruncation(offset Offset) (truncation, error) {
	k := len(l.segments) - 1
	for k > 0 && l.segments[k].base >= offset {
		k--
	}
	s := l.segments[k]
	p := truncation{k: k, cut: -1, newEnd: s.next}
	err := l.retryCorrupt(func() error {
		pos, _, prevNext, found, err := l.locateWithPrev(s, offset)
		if found {
			p.cut, p.newEnd = pos, prevNext
		}
		return err
	})
	if err != nil {
		return p, err
	}
	for p.k > 0 && (p.cut == 0 || p.cut < 0 && l.segments[p.k].size == 0) {
		p.k, p.cut = p.k-1, -1
		p.newEnd = l.segments[p.k].next
	}
	if p.newEnd < l.startOffset {
		p = truncation{k: -1, cut: -1, newEnd: l.startOffset, full: true}
	}
	return p, nil
}

// removeSegmentsFrom removes the segments from index i on, from the last,
// each removal durable before the next: a crash part-way keeps a prefix of
// the segments, never one behind a hole that recovery could not tell from
// a legitimate gap (each unsynced directory entry may survive or not on
// its own). Truncation is rare; a directory sync per segment is its price.
func (l *Log) removeSegmentsFrom(i int) error {
	for len(l.segments) > i {
		if err := l.removeSegment(len(l.segments) - 1); err != nil {
			return err
		}
		if err := l.fs.SyncDir(l.dir); err != nil {
			return fmt.Errorf("storage: sync dir %s: %w", l.dir, err)
		}
		l.dirUnsynced = false
	}
	return nil
}

// SetStartOffset moves the log start offset forward (DeleteRecords) and
// makes it durable before returning; reads below it become out of range.
// Segments are deleted separately by DeleteSegmentsBelow.
func (l *Log) SetStartOffset(offset Offset) error {
	if err := l.usable(); err != nil {
		return err
	}
	if offset > l.EndOffset() {
		return fmt.Errorf("%w: start offset %d beyond the log end %d", ErrOffsetOutOfRange, offset, l.EndOffset())
	}
	if offset <= l.startOffset {
		return nil
	}
	old := l.startOffset
	l.startOffset = offset
	if err := l.Checkpoint(); err != nil {
		if l.failed == nil {
			l.startOffset = old
		}
		return err
	}
	return nil
}

// DeleteSegmentsBelow deletes, oldest first and at most limit of them, the
// segments that lie entirely below offset, never the active one. The log
// start offset moves to the first remaining segment and is checkpointed
// before any file goes, so a crash in between only leaves files that
// recovery deletes. It returns how many segments it deleted; callers run it
// in bounded chunks.
func (l *Log) DeleteSegmentsBelow(offset Offset, limit int) (int, error) {
	if err := l.usable(); err != nil {
		return 0, err
	}
	if limit <= 0 {
		limit = math.MaxInt
	}
	n := 0
	for n < limit && n+1 < len(l.segments) && l.segments[n+1].base <= offset {
		n++
	}
	if n == 0 {
		return 0, nil
	}
	if newStart := l.segments[n].base; newStart > l.startOffset {
		if err := l.SetStartOffset(newStart); err != nil {
			return 0, err
		}
	}
	for i := 0; i < n; i++ {
		if err := l.removeSegment(0); err != nil {
			return i, l.fail(err)
		}
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return n, l.fail(fmt.Errorf("storage: sync dir %s: %w", l.dir, err))
	}
	l.dirUnsynced = false
	return n, nil
}
