package storage

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/assert"
)

// The Log's producer state: producer state is part of the log (DESIGN.md
// §3), so the log observes every batch it stores and can hand the partition
// machine the state of its contents after Open.
//
// Which state is kept. The log keeps the state as of SyncedEnd: Append
// queues the headers of idempotent batches and Sync applies them once they
// are durable. So a snapshot written at Checkpoint describes exactly the
// batches below the recovery point it is named after, whatever was
// appended since the last Sync; ProducerState adds the queued batches to a
// copy. TruncateTo drops queued batches past the cut.
//
// Snapshots. Checkpoint writes "<SyncedEnd:020d>.snapshot" (Kafka's name)
// before the partition checkpoint, when SyncedEnd moved or the state
// changed (expiry) since the last one: temp file → fsync → rename → fsync
// the directory. The snapshot is durable before the checkpoint naming its
// offset is renamed into place: a disk may keep a later rename and lose an
// earlier one when both are unsynced, and a recovery point without its
// snapshot replays from an older one, below batches that segment deletion
// may since have removed. Only once the partition checkpoint is durable
// does Checkpoint delete all but the newest two snapshot files, so the
// snapshot at the durable recovery point is never deleted by checkpoints
// that failed for space. Before
// snapshotting it expires the log's own copy (Config.ProducerIDExpirationMs,
// against the latest wall time the log was given) so snapshots do not grow
// forever; the machine expires its own copy on its own schedule.
//
// Recovery. Open deletes the snapshots above the recovery point (the
// checkpoint that would vouch for them never became durable, and recovery
// may truncate the batches they describe), loads the newest one at or
// below it that decodes (a corrupt one: the one before; none: an empty
// state from the log start), and replays the headers of every batch from
// its offset on: the segments re-validated anyway apply during their scan,
// trusted segments are walked batch by batch from their index, each
// batch's CRC checked (a flipped producer field must not enter the state
// silently, nor a flipped offset delta break its order). Replayed
// batches are stamped with the recovery's wall time, not their original
// append time (which only a snapshot holds): a producer seen in the replayed
// range lives a full expiration from the restart, never less.
//
// TruncateTo rebuilds the state when the cut removes synced batches: the
// snapshots above the new end are deleted (made durable by its Sync, before
// a later checkpoint could move the recovery point past them again), then
// the newest snapshot at or below the new end plus a replay. Segment
// deletion (retention, DeleteRecords) leaves the state alone: as in Kafka,
// a producer whose batches were all deleted keeps its state until it
// expires.

const (
	snapshotSuffix = ".snapshot"
	snapshotsKept  = 2
)

// pendingProducerBatch is an appended batch of an idempotent producer that
// is not yet synced.
type pendingProducerBatch struct {
	h     BatchHeader
	nowMs int64
}

// producerLog is the Log's producer state and its snapshot files.
type producerLog struct {
	state      *ProducerState         // as of the log's SyncedEnd
	pending    []pendingProducerBatch // tracked batches at or above SyncedEnd, in offset order
	snapshots  []Offset               // snapshot files believed to be on disk, ascending
	snapshotAt Offset                 // the offset state was last loaded from or written at; -1 none
	dirty      bool                   // state changed since then without SyncedEnd moving
	replayFrom Offset                 // during a replay: batches at or above it are applied
	nowMs      int64                  // the latest wall time the log was given (Open, Append)
}

func newProducerLog(nowMs int64) producerLog {
	return producerLog{state: NewProducerState(), snapshotAt: -1, nowMs: nowMs}
}

func (c Config) producerExpirationMs() int64 {
	if c.ProducerIDExpirationMs > 0 {
		return c.ProducerIDExpirationMs
	}
	return DefaultProducerIDExpirationMs
}

func snapshotName(offset Offset) string { return segmentName(offset, snapshotSuffix) }

// parseSnapshotName returns the offset of a "<20 digits>.snapshot" name.
func parseSnapshotName(name string) (Offset, bool) {
	digits, ok := strings.CutSuffix(name, snapshotSuffix)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return Offset(n), true
}

// ProducerState returns a copy of the producer state of every batch in the
// log, synced or not: after Open, the partition machine's starting point.
// The caller owns the copy.
func (l *Log) ProducerState() *ProducerState {
	s := l.prod.state.Clone()
	for _, p := range l.prod.pending {
		s.Apply(p.h, p.nowMs)
	}
	return s
}

// observeAppend queues an appended batch for the producer state.
func (l *Log) observeAppend(h *BatchHeader, nowMs int64) {
	l.prod.nowMs = max(l.prod.nowMs, nowMs)
	if tracked(h) && wellFormed(h) {
		l.prod.pending = append(l.prod.pending, pendingProducerBatch{h: *h, nowMs: nowMs})
	}
}

// applySynced applies the queued batches: Sync made them durable.
func (l *Log) applySynced() {
	for _, p := range l.prod.pending {
		l.prod.state.Apply(p.h, p.nowMs)
	}
	l.prod.pending = l.prod.pending[:0]
}

// writeProducerSnapshot expires idle producers and snapshots the state at
// SyncedEnd if it is not already. ENOSPC is retryable; the old snapshots
// stay valid.
func (l *Log) writeProducerSnapshot() error {
	p := &l.prod
	if p.state.Expire(p.nowMs, l.cfg.producerExpirationMs()) > 0 {
		p.dirty = true
	}
	at := l.syncedEnd
	if p.snapshotAt == at && !p.dirty {
		return nil
	}
	fatal, err := writeFileAtomic(l.fs, l.dir, snapshotName(at), p.state.Encode(), true)
	if err != nil {
		return l.checkpointError(fatal, err)
	}
	p.snapshotAt, p.dirty = at, false
	if n := len(p.snapshots); n == 0 || p.snapshots[n-1] < at {
		p.snapshots = append(p.snapshots, at)
	}
	return nil
}

// pruneProducerSnapshots deletes all but the newest snapshotsKept snapshots,
// once the partition checkpoint at the newest is durable; a failed or
// undone removal leaves a valid one.
func (l *Log) pruneProducerSnapshots() {
	p := &l.prod
	for len(p.snapshots) > snapshotsKept {
		err := l.fs.Remove(path.Join(l.dir, snapshotName(p.snapshots[0])))
		if err != nil && !errors.Is(err, env.ErrNotExist) {
			break
		}
		p.snapshots = p.snapshots[1:]
	}
}

// loadProducerState runs at Open, after the checkpoints are read and before
// the segments are recovered: it deletes the snapshots above the recovery
// point, loads the newest good one at or below it and sets where the
// replay starts.
func (l *Log) loadProducerState(names []string) error {
	p := &l.prod
	for _, n := range names { // sorted, so offsets ascend
		o, ok := parseSnapshotName(n)
		if !ok {
			continue
		}
		if o <= l.recoveryPoint {
			p.snapshots = append(p.snapshots, o)
			continue
		}
		if err := l.fs.Remove(path.Join(l.dir, n)); err != nil && !errors.Is(err, env.ErrNotExist) {
			return fmt.Errorf("storage: remove %s: %w", n, err)
		}
		l.dirUnsynced = true
	}
	state, at, err := l.loadNewestSnapshot(l.recoveryPoint)
	if err != nil {
		return err
	}
	p.state, p.snapshotAt, p.replayFrom = state, at, max(at, 0)
	return nil
}

// loadNewestSnapshot returns the newest snapshot at or below limit that
// decodes, and its offset; none gives an empty state and -1. Only I/O errors
// are returned: a corrupt snapshot is skipped (the log is the truth).
func (l *Log) loadNewestSnapshot(limit Offset) (*ProducerState, Offset, error) {
	for i := len(l.prod.snapshots) - 1; i >= 0; i-- {
		o := l.prod.snapshots[i]
		if o > limit {
			continue
		}
		b, found, err := readWholeFile(l.fs, path.Join(l.dir, snapshotName(o)), 1<<30)
		if err != nil && !errors.Is(err, ErrCorrupt) {
			return nil, 0, err
		}
		if err != nil || !found {
			continue
		}
		// A snapshot naming batches at or past its own offset does not
		// describe this log (and replaying on top of it would apply
		// batches out of order): it is as good as corrupt.
		if s, err := DecodeProducerState(b); err == nil && s.lastOffset() < o {
			return s, o, nil
		}
	}
	return NewProducerState(), -1, nil
}

// replayBatch applies a batch met during a replay.
func (l *Log) replayBatch(h *BatchHeader) {
	if h.BaseOffset >= l.prod.replayFrom {
		l.prod.state.Apply(*h, l.prod.nowMs)
	}
}

// replayBatches applies the batches of s at or above l.prod.replayFrom
// that lie before position endPos (where offset endOffset starts),
// starting from the index entry at or below replayFrom, each read whole
// and CRC-checked, their offsets (outside the CRC) in order and below
// endOffset. Bad bytes are errBadBatch.
func (l *Log) replayBatches(s *segment, endPos int64, endOffset Offset) error {
	pos, indexed, ok := lookupIndex(s.index, l.prod.replayFrom)
	prevNext := s.base
	for first := true; pos < endPos; first = false {
		h, _, err := s.readBatch(pos, endPos, &l.buf)
		if err != nil {
			return err
		}
		if (first && ok && h.BaseOffset != indexed) || h.BaseOffset < prevNext || h.NextOffset() > endOffset || !s.fits(&h) {
			return fmt.Errorf("%w: batch %d at position %d of segment %d out of order", errBadBatch, h.BaseOffset, pos, s.base)
		}
		l.replayBatch(&h)
		prevNext, pos = h.NextOffset(), pos+h.Size()
	}
	return nil
}

// recoveryObserver is what recovery calls for each batch it validates.
func (l *Log) recoveryObserver(trusted bool) func(*BatchHeader) {
	return func(h *BatchHeader) {
		if !trusted { // a trusted segment's epochs were checkpointed
			l.epochs.observe(h.PartitionLeaderEpoch, h.BaseOffset)
		}
		l.replayBatch(h)
	}
}

// replayTrusted replays the part of a trusted segment that recovery does
// not scan (before position from, where its re-scanned tail starts).
func (l *Log) replayTrusted(s *segment, from int64) error {
	if from == 0 || s.next <= l.prod.replayFrom { // s.next: the offset at from
		return nil
	}
	err := l.replayBatches(s, from, s.next)
	if err != nil && errors.Is(err, errBadBatch) {
		return fmt.Errorf("%w: %s below the recovery point %d: %v", ErrCorrupt, s.file.Name(), l.recoveryPoint, err)
	}
	return err
}

// truncateProducerState brings the state in line with a TruncateTo to end
// (the new EndOffset), before SyncedEnd is lowered to it.
func (l *Log) truncateProducerState(end Offset) error {
	p := &l.prod
	for i, q := range p.pending {
		if q.h.BaseOffset >= end {
			p.pending = p.pending[:i]
			break
		}
	}
	if err := l.removeSnapshotsAbove(end); err != nil {
		return err
	}
	if end >= l.syncedEnd {
		return nil // every synced batch survives, and so does the state
	}
	p.pending = p.pending[:0]
	state, at, err := l.loadNewestSnapshot(end)
	if err != nil {
		return l.fail(err)
	}
	p.state, p.snapshotAt, p.dirty, p.replayFrom = state, at, false, max(at, 0)
	for _, s := range l.segments[l.segmentFor(p.replayFrom):] {
		if s.next <= p.replayFrom {
			continue
		}
		if err := l.replayBatches(s, s.size, s.next); err != nil {
			if errors.Is(err, errBadBatch) {
				err = fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
			return l.fail(err)
		}
	}
	return nil
}

// removeSnapshotsAbove deletes the snapshots describing batches past end.
// The caller syncs the directory before any later checkpoint.
func (l *Log) removeSnapshotsAbove(end Offset) error {
	p := &l.prod
	for n := len(p.snapshots); n > 0 && p.snapshots[n-1] > end; n = len(p.snapshots) {
		err := l.fs.Remove(path.Join(l.dir, snapshotName(p.snapshots[n-1])))
		if err != nil && !errors.Is(err, env.ErrNotExist) {
			return l.fail(fmt.Errorf("storage: remove snapshot %d: %w", p.snapshots[n-1], err))
		}
		p.snapshots = p.snapshots[:n-1]
		l.dirUnsynced = true
	}
	if p.snapshotAt > end {
		p.snapshotAt = -1
	}
	return nil
}

func (p *producerLog) checkInvariants(syncedEnd Offset) {
	assert.That(p.snapshotAt <= syncedEnd, "the state's snapshot is at or below the synced end")
	for i, q := range p.pending {
		assert.That(q.h.BaseOffset >= syncedEnd, "queued producer batches are unsynced")
		assert.That(i == 0 || q.h.BaseOffset > p.pending[i-1].h.LastOffset(), "queued producer batches are in order")
	}
	for i := 1; i < len(p.snapshots); i++ {
		assert.That(p.snapshots[i] > p.snapshots[i-1], "snapshot offsets ascend")
	}
	p.state.checkInvariants()
}
