package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"sort"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/assert"
	"github.com/takhin-io/takhin/internal/invariants"
	"github.com/takhin-io/takhin/internal/simbug"
)

// Config holds the storage-level topic configs. The broker maps Kafka's
// config names onto it.
type Config struct {
	// SegmentBytes is segment.bytes: a batch that would take the active
	// segment past it rolls a new segment first.
	SegmentBytes int64
	// SegmentMs is segment.ms: a batch whose MaxTimestamp is SegmentMs (less
	// the segment's jitter) past the active segment's first batch rolls.
	// The caller gives the effective value (on a compacted topic Kafka
	// rolls by max.compaction.lag.ms when that is shorter, KIP-354).
	SegmentMs int64
	// SegmentJitterMs is segment.jitter.ms: each segment rolls up to this
	// much (bounded by SegmentMs) before SegmentMs, by an amount spread
	// over partitions and segments (rollJitter), so that partitions
	// created together do not all roll at once.
	SegmentJitterMs int64
	// IndexIntervalBytes is index.interval.bytes: the spacing of sparse
	// index entries.
	IndexIntervalBytes int64
	// ProducerIDExpirationMs is producer.id.expiration.ms: Checkpoint drops
	// from the log's producer state (and so from its snapshots) producers
	// whose last append is this old. 0 means Kafka's default, 86400000.
	ProducerIDExpirationMs int64
}

// DefaultConfig returns Kafka's defaults.
func DefaultConfig() Config {
	return Config{SegmentBytes: 1 << 30, SegmentMs: 7 * 24 * 3600 * 1000, IndexIntervalBytes: 4096,
		ProducerIDExpirationMs: DefaultProducerIDExpirationMs}
}

// Log is one partition's log in one directory. See the package comment for
// its durability and recovery rules. Not safe for concurrent use.
type Log struct {
	fs  env.FS
	dir string
	cfg Config

	segments      []*segment // sorted by base; the last one is active
	startOffset   Offset     // log start offset: reads below it are out of range
	recoveryPoint Offset     // as last checkpointed
	syncedEnd     Offset     // every batch below it is durable
	epochs        epochCache
	dirUnsynced   bool   // files were created or removed since the last SyncDir
	startDirty    bool   // startOffset changed since the last checkpoint
	cleanedTo     Offset // the cleaner checkpoint: the next clean pass's first dirty offset
	failed        error  // set once: the log has fail-stopped
	closed        bool
	buf           []byte // scratch for reads

	prod producerLog // idempotent-producer state and its snapshots (producer_log.go)
}

// AppendOptions are the broker's decisions for one append.
type AppendOptions struct {
	// Epoch is stamped into PartitionLeaderEpoch (Append only).
	Epoch Epoch
	// NowMs is the event's wall time: LogAppendTime, and segment.ms for a
	// segment whose batches carry no timestamp.
	NowMs int64
	// LogAppendTime rewrites the batch's timestamp type and MaxTimestamp
	// (message.timestamp.type=LogAppendTime).
	LogAppendTime bool
	// CRCVerified says the caller already checked the batch's CRC (the
	// broker's validator does, for every produced batch), so the append
	// checks only the header's shape and length: the CRC pass is then
	// repeated only when invariants are enabled (tests, the simulator).
	CRCVerified bool
}

// AppendResult says where a batch landed.
type AppendResult struct {
	Base, Last   Offset
	MaxTimestamp int64
	// Rolled is true when the append started a new segment; the caller
	// should Sync and Checkpoint soon, as Kafka flushes on roll.
	Rolled bool
}

// SegmentInfo describes a segment, for retention decisions.
type SegmentInfo struct {
	Base, Next       Offset
	SizeBytes        int64
	LargestTimestamp int64 // -1 when no batch has a timestamp
	FirstTimestamp   int64 // the first batch's MaxTimestamp, -1 when none (max.compaction.lag.ms)
	CreatedMs        int64 // wall time the segment was created or this process opened it
	// ModifiedMs is the wall time of the segment's last append, or of
	// its creation or opening before any (Kafka's lastModified).
	ModifiedMs int64
	Active     bool
}

// AgeTimestamp is what retention.ms and min.compaction.lag.ms age a
// segment by (Kafka's LogSegment.largestTimestamp): its largest timestamp,
// or, when no batch carries one, the time it was last appended to (never
// before its creation, whatever the clock did).
func (s SegmentInfo) AgeTimestamp() int64 {
	if s.LargestTimestamp >= 0 {
		return s.LargestTimestamp
	}
	return max(s.CreatedMs, s.ModifiedMs)
}

func (l *Log) usable() error {
	if l.closed {
		return ErrClosed
	}
	if l.failed != nil {
		return fmt.Errorf("%w: %v", ErrFailed, l.failed)
	}
	return nil
}

// fail fail-stops the log with err and returns it.
func (l *Log) fail(err error) error {
	if l.failed == nil {
		l.failed = err
	}
	return err
}

func (l *Log) active() *segment { return l.segments[len(l.segments)-1] }

// StartOffset is the log start offset.
func (l *Log) StartOffset() Offset { return l.startOffset }

// EndOffset is the log end offset: the offset the next Append gets.
func (l *Log) EndOffset() Offset { return l.active().next }

// SyncedEnd is the end of the durable prefix: the high watermark on a
// single node.
func (l *Log) SyncedEnd() Offset { return l.syncedEnd }

// RecoveryPoint is the recovery point as last checkpointed.
func (l *Log) RecoveryPoint() Offset { return l.recoveryPoint }

// Failed returns the error that fail-stopped the log, or nil.
func (l *Log) Failed() error { return l.failed }

// Epochs returns the leader-epoch entries.
func (l *Log) Epochs() []EpochEntry { return append([]EpochEntry(nil), l.epochs.entries...) }

// EndOffsetForEpoch answers OffsetForLeaderEpoch (KIP-279).
func (l *Log) EndOffsetForEpoch(e Epoch) (Epoch, Offset) {
	return l.epochs.endOffsetFor(e, l.EndOffset())
}

// SizeBytes is the total size of the segments.
func (l *Log) SizeBytes() int64 {
	var n int64
	for _, s := range l.segments {
		n += s.size
	}
	return n
}

// Segments describes every segment, oldest first.
func (l *Log) Segments() []SegmentInfo {
	out := make([]SegmentInfo, len(l.segments))
	for i, s := range l.segments {
		out[i] = SegmentInfo{Base: s.base, Next: s.next, SizeBytes: s.size,
			LargestTimestamp: s.maxTimestamp, FirstTimestamp: s.firstTimestamp, CreatedMs: s.createdMs,
			ModifiedMs: s.modifiedMs, Active: i == len(l.segments)-1}
	}
	return out
}

// Append validates batch (exactly one v2 batch with a correct CRC), assigns
// it the next offsets and opts.Epoch, and writes it to the active segment,
// unsynced. It rewrites batch's header in place. On ENOSPC nothing is left
// of the batch on disk and the error wraps env.ErrNoSpace (retryable).
func (l *Log) Append(batch []byte, opts AppendOptions) (AppendResult, error) {
	return l.append(batch, opts, true)
}

// AppendAssigned writes a batch whose BaseOffset and PartitionLeaderEpoch
// are already set (a replicated or re-written batch). Its base offset must
// be at or past EndOffset; anything between is a gap.
func (l *Log) AppendAssigned(batch []byte, opts AppendOptions) (AppendResult, error) {
	return l.append(batch, opts, false)
}

func (l *Log) append(batch []byte, opts AppendOptions, assign bool) (AppendResult, error) {
	if err := l.usable(); err != nil {
		return AppendResult{}, err
	}
	h, err := validateAppend(batch, opts.CRCVerified && !invariants.Enabled)
	if err != nil {
		return AppendResult{}, err
	}
	end := l.EndOffset()
	if assign {
		AssignBatch(batch, end, opts.Epoch, opts.NowMs, opts.LogAppendTime)
		h = DecodeBatchHeader(batch)
	} else if h.BaseOffset < end {
		return AppendResult{}, fmt.Errorf("%w: base offset %d below the log end %d", ErrInvalidBatch, h.BaseOffset, end)
	}
	if h.LastOffset() < h.BaseOffset || h.LastOffset() == math.MaxInt64 {
		return AppendResult{}, fmt.Errorf("%w: offsets overflow", ErrInvalidBatch)
	}
	rolled, err := l.maybeRoll(&h, opts)
	if err != nil {
		return AppendResult{}, err
	}
	s := l.active()
	pos := s.size
	s.reserveFor(int64(len(batch)), l.cfg.SegmentBytes)
	if err := s.write(batch); err != nil {
		if errors.Is(err, ErrFailed) {
			return AppendResult{}, l.fail(err)
		}
		if rolled && len(l.segments) > 1 {
			// Leave no empty segment behind: it would move the log end to
			// a batch that was never written. The removal is durable at
			// once: the next append may put the segment's base offset in
			// the previous one, and a crash that kept the empty segment's
			// name would leave two segments claiming it.
			if rerr := l.removeSegment(len(l.segments) - 1); rerr != nil {
				return AppendResult{}, l.fail(rerr)
			}
			if rerr := l.fs.SyncDir(l.dir); rerr != nil {
				return AppendResult{}, l.fail(fmt.Errorf("storage: sync dir %s: %w", l.dir, rerr))
			}
			l.dirUnsynced = false
		}
		return AppendResult{}, err
	}
	s.track(&h, pos, l.cfg.IndexIntervalBytes)
	s.modifiedMs = max(s.modifiedMs, opts.NowMs)
	l.epochs.observe(h.PartitionLeaderEpoch, h.BaseOffset)
	l.observeAppend(&h, opts.NowMs)
	l.checkInvariants()
	return AppendResult{Base: h.BaseOffset, Last: h.LastOffset(), MaxTimestamp: h.MaxTimestamp, Rolled: rolled}, nil
}

// rollJitter is how much earlier than SegmentMs the segment of the log in
// dir starting at base rolls: Kafka draws it at random per segment, below
// min(segment.jitter.ms, segment.ms); here it is a hash of the directory
// and the base offset, which spreads it as well and keeps a run
// deterministic without a random stream in storage.
func rollJitter(dir string, base Offset, cfg Config) int64 {
	span := min(cfg.SegmentJitterMs, cfg.SegmentMs)
	if span <= 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(dir))
	_, _ = h.Write(binary.BigEndian.AppendUint64(nil, uint64(base)))
	return int64(h.Sum64() % uint64(span))
}

// maybeRoll starts a new active segment when the batch must not go into
// the current one (Kafka's LogSegment.shouldRoll).
func (l *Log) maybeRoll(h *BatchHeader, opts AppendOptions) (bool, error) {
	s := l.active()
	if s.size == 0 && s.fits(h) {
		return false, nil
	}
	waited := opts.NowMs - s.createdMs
	if s.firstTimestamp >= 0 {
		waited = h.MaxTimestamp - s.firstTimestamp
	}
	full := s.size+h.Size() > l.cfg.SegmentBytes
	old := s.size > 0 && waited > l.cfg.SegmentMs-rollJitter(l.dir, s.base, l.cfg)
	if !full && !old && s.fits(h) {
		return false, nil
	}
	if s.size == 0 {
		// An empty segment that cannot hold the batch's offsets (a gap
		// past 2^31) is replaced rather than left empty behind: the new
		// one first, so the log always has a segment, even when this
		// fails part-way (a crash keeping both leaves an empty segment in
		// the middle, which holds no offsets).
		if err := l.createSegment(h.BaseOffset, opts.NowMs); err != nil {
			return false, err
		}
		if err := l.removeSegment(len(l.segments) - 2); err != nil {
			return false, l.fail(err)
		}
		return true, nil
	}
	// The rolled segment is synced before the next one exists: otherwise a
	// crash could lose its tail yet keep the new segment, leaving a hole
	// that recovery cannot tell from a legitimate gap. One fsync per roll,
	// always, even with nothing appended since the last: it makes the cut
	// of the segment's reserved zeros durable, including a cut made in the
	// page cache only (after a partial write, or by the Close of a process
	// that stopped before syncing it), so no segment below the recovery
	// point ever ends in zeros.
	if err := s.endReservation(); err != nil {
		return false, l.fail(err)
	}
	s.unsynced = true
	if err := s.sync(); err != nil {
		return false, l.fail(err)
	}
	// So is its name, when it is not durable yet (a second roll since the
	// last Sync): a crash could otherwise keep the next segment's link and
	// lose this one's, the same hole.
	if l.dirUnsynced && !simbug.Active(simbug.SkipDirSync) {
		if err := l.fs.SyncDir(l.dir); err != nil {
			return false, l.fail(fmt.Errorf("storage: sync dir %s: %w", l.dir, err))
		}
		l.dirUnsynced = false
	}
	return true, l.createSegment(h.BaseOffset, opts.NowMs)
}

// createSegment adds an empty active segment at base.
func (l *Log) createSegment(base Offset, nowMs int64) error {
	if n := len(l.segments); n > 0 {
		assert.That(base >= l.segments[n-1].next, "new segment starts at or after the log end")
	}
	return l.addSegment(base, nowMs)
}

// addSegment creates an empty segment file at base and appends it to the
// segments, unchecked: the caller keeps them in order.
func (l *Log) addSegment(base Offset, nowMs int64) error {
	f, err := l.fs.Create(newSegment(l.dir, base, nil, 0).path(logSuffix))
	if err != nil {
		return fmt.Errorf("storage: create segment %d: %w", base, err)
	}
	l.segments = append(l.segments, newSegment(l.dir, base, f, nowMs))
	l.dirUnsynced = true
	return nil
}

// removeSegment closes and deletes segment i's files.
func (l *Log) removeSegment(i int) error {
	s := l.segments[i]
	_ = s.file.Close()
	for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
		if err := l.fs.Remove(s.path(suffix)); err != nil && !errors.Is(err, env.ErrNotExist) {
			return fmt.Errorf("storage: remove %s: %w", s.path(suffix), err)
		}
	}
	l.segments = append(l.segments[:i:i], l.segments[i+1:]...)
	l.dirUnsynced = true
	return nil
}

// Sync makes every appended batch durable: the segment files with unsynced
// writes, oldest first, then the directory when files were created or
// removed. Any error is fatal (the kernel may have dropped the dirty
// pages): the log fail-stops and must be reopened through recovery.
func (l *Log) Sync() error {
	if err := l.usable(); err != nil {
		return err
	}
	end := l.EndOffset()
	for _, s := range l.segments {
		if err := s.sync(); err != nil {
			return l.fail(err)
		}
	}
	if l.dirUnsynced && !simbug.Active(simbug.SkipDirSync) {
		if err := l.fs.SyncDir(l.dir); err != nil {
			return l.fail(fmt.Errorf("storage: sync dir %s: %w", l.dir, err))
		}
		l.dirUnsynced = false
	}
	assert.That(end >= l.syncedEnd, "the synced end never goes backwards")
	l.syncedEnd = end
	l.applySynced()
	return nil
}

// Checkpoint writes the index files, the leader-epoch checkpoint and a
// producer-state snapshot as of SyncedEnd (producer_log.go), then the
// recovery point (= SyncedEnd) and log start offset. Call it after
// Sync, on roll and on an interval. An ENOSPC error is retryable and leaves
// the old checkpoint; any other error fail-stops the log.
func (l *Log) Checkpoint() error {
	if err := l.usable(); err != nil {
		return err
	}
	for _, s := range l.segments {
		if s.next > l.syncedEnd {
			break // indexes of unsynced data must not be trusted on recovery
		}
		if err := s.writeIndexes(l.fs); err != nil {
			return l.fail(err)
		}
	}
	if l.epochs.dirty {
		fatal, err := writeCheckpoint(l.fs, l.dir, epochCheckpointName, "leader-epochs", l.epochs.encode())
		if err != nil {
			return l.checkpointError(fatal, err)
		}
		l.epochs.dirty = false
	}
	if err := l.writeProducerSnapshot(); err != nil {
		return err
	}
	if err := l.writePartitionCheckpoint(l.syncedEnd); err != nil {
		return err
	}
	l.pruneProducerSnapshots()
	return nil
}

func (l *Log) checkpointError(fatal bool, err error) error {
	if fatal || !env.IsNoSpace(err) {
		return l.fail(err)
	}
	return err
}

const partitionCheckpointName = "partition.checkpoint"

func (l *Log) writePartitionCheckpoint(recoveryPoint Offset) error {
	lines := []string{
		fmt.Sprintf("recovery-point %d", recoveryPoint),
		fmt.Sprintf("log-start-offset %d", l.startOffset),
	}
	fatal, err := writeCheckpoint(l.fs, l.dir, partitionCheckpointName, "partition", lines)
	if err != nil {
		return l.checkpointError(fatal, err)
	}
	l.recoveryPoint, l.startDirty = recoveryPoint, false
	return nil
}

// segmentFor returns the index of the segment that holds offset, or would:
// the last segment whose base is ≤ offset (0 when offset is below them all).
func (l *Log) segmentFor(offset Offset) int {
	i := sort.Search(len(l.segments), func(i int) bool { return l.segments[i].base > offset })
	if i == 0 {
		return 0
	}
	return i - 1
}

// Close closes the files without syncing their appends (see the active
// segment's reservation below).
func (l *Log) Close() error {
	if l.closed {
		return nil
	}
	l.closed = true
	var first error
	if s := l.active(); l.failed == nil && s.reserved > s.size {
		// A log closed after its last sync leaves no zeros on disk: the
		// reservation is cut and the cut synced. With appends unsynced it
		// is cut only (syncing would make them durable); a crash may keep
		// the zeros, which recovery cuts, as it would a torn tail.
		synced := !s.unsynced
		if err := s.endReservation(); err != nil {
			first = err
		} else if synced {
			first = s.sync()
		}
	}
	for _, s := range l.segments {
		if err := s.closeFiles(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (l *Log) checkInvariants() {
	if !invariants.Enabled {
		return
	}
	assert.That(len(l.segments) > 0, "a log has an active segment")
	for i, s := range l.segments {
		assert.That(s.next >= s.base, "segment end at or after its base")
		if i > 0 {
			assert.That(s.base >= l.segments[i-1].next, "segments do not overlap")
		}
	}
	assert.That(l.syncedEnd <= l.EndOffset(), "synced end ≤ log end")
	assert.That(l.recoveryPoint <= l.syncedEnd, "recovery point ≤ synced end")
	l.epochs.checkInvariants()
	l.prod.checkInvariants(l.syncedEnd)
}

// scratch returns a buffer of at least a header's size.
func (l *Log) scratch() []byte {
	if cap(l.buf) < BatchHeaderSize {
		l.buf = make([]byte, 64<<10)
	}
	return l.buf[:cap(l.buf)]
}
