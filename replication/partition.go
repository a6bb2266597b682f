package replication

import (
	"errors"
	"fmt"
	"math"

	"go.uber.org/zap"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/assert"
	"github.com/takhin-io/takhin/internal/simbug"
	"github.com/takhin-io/takhin/storage"
)

// PartitionConfig is what a partition machine needs to know.
type PartitionConfig struct {
	Topic     string
	Partition int32
	// Epoch is the leader epoch stamped on appended batches (0 on one node).
	Epoch storage.Epoch
	// LogAppendTime stamps batches with the broker's time
	// (message.timestamp.type=LogAppendTime).
	LogAppendTime bool
	// TailBytesMax bounds the in-memory copy of the newest batches that
	// fetches are served from without a disk read.
	TailBytesMax int
	// PersistBytesMax bounds one group commit; the rest waits for the next.
	PersistBytesMax int
	// CheckpointIntervalMs is how often (at most, on the monotonic clock) a
	// Persist also checkpoints the recovery point
	// (log.flush.offset.checkpoint.interval.ms).
	CheckpointIntervalMs int64
	// FlushMessages is flush.messages: an acks=1 produce that would leave
	// this many messages (offsets) or more above the high watermark, its
	// own included, is answered only once synced, as Kafka's append
	// fsyncs the log before answering when its unflushed messages reach
	// flush.messages. 0 (or more than any log holds): acks=1 is answered
	// once written. acks=-1 is always answered once synced.
	FlushMessages int64
	// RetentionMs and RetentionBytes are retention.ms and retention.bytes
	// (-1: unlimited); RetentionCheckIntervalMs is
	// log.retention.check.interval.ms.
	RetentionMs, RetentionBytes int64
	RetentionCheckIntervalMs    int64
	// RetentionChunkSegments bounds one retention chunk.
	RetentionChunkSegments int
	// ProducerIDExpirationMs is producer.id.expiration.ms: an idempotent
	// producer idle that long (broker time) is forgotten, and then
	// accepted at any sequence, as Kafka ≥ 2.5 does.
	ProducerIDExpirationMs int64
	// Compact is cleanup.policy containing compact (and the cleaner
	// enabled): every CleanerBackoffMs the machine checks, from the
	// segments the executor last reported, whether a clean pass is due
	// (storage.CleanableOffsets: min.cleanable.dirty.ratio,
	// min.compaction.lag.ms, max.compaction.lag.ms) and runs it as Clean
	// tasks, one chunk (CleanChunkBytes of mapping, or one group of
	// segments) each. Retention keeps its own schedule; the two never run
	// at once (one Background task in flight).
	Compact bool
	// DeleteRetentionMs, MinCompactionLagMs and MaxCompactionLagMs are the
	// topic's delete.retention.ms, min.compaction.lag.ms and
	// max.compaction.lag.ms; MinCleanableDirtyRatio is
	// min.cleanable.dirty.ratio.
	DeleteRetentionMs                      int64
	MinCompactionLagMs, MaxCompactionLagMs int64
	MinCleanableDirtyRatio                 float64
	// CleanerBackoffMs is log.cleaner.backoff.ms: how often a compacted
	// partition checks whether a pass is due.
	CleanerBackoffMs int64
	// CleanChunkBytes bounds the dirty bytes one mapping chunk reads;
	// CleanerMapBytes bounds a pass's key map
	// (log.cleaner.dedupe.buffer.size; 0: storage's default).
	CleanChunkBytes, CleanerMapBytes int64
}

// DefaultPartitionConfig returns Kafka's defaults where Kafka has one.
func DefaultPartitionConfig(topic string, partition int32) PartitionConfig {
	return PartitionConfig{
		Topic: topic, Partition: partition,
		TailBytesMax: 4 << 20, PersistBytesMax: 8 << 20,
		CheckpointIntervalMs: 60_000,
		RetentionMs:          7 * 24 * 3600 * 1000, RetentionBytes: -1,
		RetentionCheckIntervalMs: 300_000, RetentionChunkSegments: 16,
		ProducerIDExpirationMs: 86_400_000,
		DeleteRetentionMs:      86_400_000, MinCleanableDirtyRatio: 0.5,
		MaxCompactionLagMs: math.MaxInt64, CleanerBackoffMs: 15_000, CleanChunkBytes: 16 << 20,
	}
}

// Partition is one partition replica: a single-threaded state machine with
// no I/O (STYLE rule 6). Offsets are assigned here, when a Persist is built;
// the high watermark is the synced end.
type Partition struct {
	cfg PartitionConfig
	log *zap.Logger

	recovered bool
	failure   *Failure
	start     storage.Offset // log start offset
	end       storage.Offset // assigned end: offsets below it are in a Persist
	written   storage.Offset // every batch below it is written
	hw        storage.Offset // high watermark = synced end

	queue    []*produce // waiting for the next Persist
	inflight *persistOp // the Persist being carried out
	fetches  []Fetch    // parked until data or their deadline
	reads    map[RequestID]bool
	tail     tail
	nextOp   uint64
	task     *Task // background task in flight
	nextTask uint64

	lastCheckpointMono int64
	nextRetentionMono  int64
	nextCleanMono      int64

	// The cleaner's view of the log (Compact): the segments and the
	// cleaner checkpoint as the executor last reported them (Recovered,
	// BackgroundDone, and Written when a write rolled a segment).
	segments  []storage.SegmentInfo
	cleanedTo storage.Offset
	cleanPass uint64 // the pass number of the last Clean task
	ready     Ready
	armed     int64 // the deadline of the last Ready the driver advanced past

	// producers is the idempotent-producer state, including the batches of
	// the Persist in flight; duplicates wait here for the high watermark
	// to cover the original batch (acks=-1).
	producers  *storage.ProducerState
	duplicates []duplicate
	deletes    []pendingDelete // DeleteRecords waiting for a durable start offset
}

type produce struct {
	id    RequestID
	batch []byte
	acks  int16
	base  storage.Offset
	next  storage.Offset // offset after the batch, once assigned
	// appendMs is the LogAppendTime stamped into the batch, -1 for none.
	appendMs int64
	// answered: its reply was released (acks 0/1 at Written, or a failed
	// write); a later fail-stop must not answer it again.
	answered bool
	// undo reverts its producer-state entry if its write fails.
	undo    storage.ProducerUndo
	hasUndo bool
}

type persistOp struct {
	op      uint64
	members []*produce
	end     storage.Offset
	written bool
}

// NewPartition returns a machine waiting for its Recovered event.
func NewPartition(cfg PartitionConfig, log *zap.Logger) *Partition {
	assert.That(cfg.TailBytesMax >= 0 && cfg.PersistBytesMax > 0, "partition config sizes")
	assert.That(cfg.RetentionCheckIntervalMs > 0, "a positive retention check interval")
	assert.That(!cfg.Compact || cfg.CleanerBackoffMs > 0, "a positive cleaner backoff")
	return &Partition{cfg: cfg, log: log, reads: map[RequestID]bool{}}
}

// HighWatermark is the synced end.
func (p *Partition) HighWatermark() storage.Offset { return p.hw }

// LogStart is the log start offset.
func (p *Partition) LogStart() storage.Offset { return p.start }

// Step applies one event.
func (p *Partition) Step(ev Event) error {
	if p.failure != nil {
		return p.stepFailed(ev)
	}
	switch e := ev.(type) {
	case Recovered:
		return p.stepRecovered(e)
	case Produce:
		return p.stepProduce(e)
	case Fetch:
		p.stepFetch(e)
	case Written:
		return p.stepWritten(e)
	case Synced:
		return p.stepSynced(e)
	case ReadDone:
		p.stepReadDone(e)
	case BackgroundDone:
		return p.stepBackgroundDone(e)
	case Tick:
		p.stepTick(e)
	case ListOffset:
		p.stepListOffset(e)
	case EpochEnd:
		p.stepEpochEnd(e)
	case DeleteRecords:
		p.stepDeleteRecords(e)
	case Producers:
		p.stepProducers(e)
	case LogSize:
		p.stepLogSize(e)
	case Reconfigure:
		p.stepReconfigure(e)
	default:
		return fmt.Errorf("replication: unknown event %T", ev)
	}
	return nil
}

func (p *Partition) stepRecovered(e Recovered) error {
	if p.recovered {
		return errors.New("replication: recovered twice")
	}
	p.recovered = true
	p.start, p.end, p.written, p.hw = e.Start, e.End, e.End, e.End
	p.producers = e.Producers
	if p.producers == nil || simbug.Active(simbug.ProducerStateLost) {
		p.producers = storage.NewProducerState()
	}
	p.lastCheckpointMono = e.Now.Mono
	p.nextRetentionMono = e.Now.Mono + p.cfg.RetentionCheckIntervalMs*1_000_000
	p.nextCleanMono = e.Now.Mono + p.cfg.CleanerBackoffMs*1_000_000
	p.segments, p.cleanedTo = e.Segments, e.CleanedTo
	p.tail.reset(e.End)
	p.maybePersist(e.Now)
	return nil
}

func (p *Partition) stepProduce(e Produce) error {
	if !p.recovered {
		p.reply(Reply{ID: e.ID, Err: ErrNotReady})
		return nil
	}
	if len(e.Batch) < storage.BatchHeaderSize {
		p.reply(Reply{ID: e.ID, Err: fmt.Errorf("%w: %d bytes is not a batch", ErrInvalidBatch, len(e.Batch))})
		return nil
	}
	p.queue = append(p.queue, &produce{id: e.ID, batch: e.Batch, acks: e.Acks})
	p.maybePersist(e.Now)
	return nil
}

// maybePersist starts the next group commit when none is in flight.
func (p *Partition) maybePersist(now env.Time) {
	if p.inflight != nil || len(p.queue) == 0 || p.failure != nil {
		return
	}
	p.nextOp++
	op := &persistOp{op: p.nextOp}
	size := 0
	for len(p.queue) > 0 && (len(op.members) == 0 || size+len(p.queue[0].batch) <= p.cfg.PersistBytesMax) {
		m := p.queue[0]
		p.queue = p.queue[1:]
		h := storage.DecodeBatchHeader(m.batch)
		if m.acks == 1 && p.cfg.FlushMessages > 0 && int64(p.end-p.hw)+int64(h.LastOffsetDelta)+1 >= p.cfg.FlushMessages {
			m.acks = -1 // flush.messages: answered once synced (a duplicate too: p.end covers its original)
		}
		if !p.admit(m, h) {
			continue // a duplicate, or refused: answered without an append
		}
		m.base, m.next = p.end, p.end+storage.Offset(h.LastOffsetDelta)+1
		storage.AssignBatch(m.batch, m.base, p.cfg.Epoch, now.WallMs, p.cfg.LogAppendTime)
		m.appendMs = -1
		if p.cfg.LogAppendTime {
			m.appendMs = now.WallMs
		}
		p.recordProducer(m, now)
		p.end = m.next
		size += len(m.batch)
		op.members = append(op.members, m)
	}
	if len(op.members) == 0 {
		p.nextOp--
		return
	}
	op.end = p.end
	p.inflight = op
	batches := make([][]byte, len(op.members))
	for i, m := range op.members {
		batches[i] = m.batch
	}
	checkpoint := now.Mono-p.lastCheckpointMono >= p.cfg.CheckpointIntervalMs*1_000_000
	if checkpoint {
		p.lastCheckpointMono = now.Mono
	}
	p.ready.Persist = &Persist{Op: op.op, Batches: batches, Checkpoint: checkpoint}
}

func (p *Partition) stepWritten(e Written) error {
	op := p.inflight
	if op == nil || op.op != e.Op || op.written {
		return fmt.Errorf("replication: unexpected Written for op %d", e.Op)
	}
	op.written = true
	if e.Segments != nil {
		p.segments = e.Segments
	}
	if e.Err != nil && (e.Fatal || !env.IsNoSpace(e.Err)) {
		// Only a full disk is retryable; any other write error (EIO, a
		// failed truncate of a partial write) fail-stops the partition,
		// and a failed sync (at a roll) the process.
		p.fail(e.Err, e.Fatal)
		return nil
	}
	assert.That(e.UpTo >= p.written && e.UpTo <= op.end, "written end within the persist")
	p.written = e.UpTo
	for _, m := range op.members {
		switch {
		case m.next <= e.UpTo:
			p.tail.add(m.base, m.batch, p.cfg.TailBytesMax)
			if m.acks != -1 {
				p.reply(Reply{ID: m.id, Base: m.base, HighWatermark: p.hw, LogStart: p.start, Timestamp: m.appendMs})
				m.answered = true
			} else if simbug.Active(simbug.AckBeforeFsync) && p.cfg.Topic != "__cluster_metadata" {
				p.reply(Reply{ID: m.id, Base: m.base, HighWatermark: m.next, LogStart: p.start, Timestamp: m.appendMs})
				m.answered = true
			}
		default:
			p.reply(Reply{ID: m.id, Err: fmt.Errorf("%w: %v", ErrStorage, e.Err)})
			m.answered = true
		}
	}
	if e.UpTo < op.end {
		// The failed batches' offsets are free again: the log ends at UpTo,
		// and their producer-state entries go, newest first.
		for i := len(op.members) - 1; i >= 0 && op.members[i].next > e.UpTo; i-- {
			if m := op.members[i]; m.hasUndo {
				p.producers.Undo(m.undo)
			}
		}
		p.end = e.UpTo
		p.log.Warn("write failed", zap.String("topic", p.cfg.Topic), zap.Int32("partition", p.cfg.Partition), zap.Error(e.Err))
	}
	return nil
}

func (p *Partition) stepSynced(e Synced) error {
	op := p.inflight
	if op == nil || op.op != e.Op || !op.written {
		return fmt.Errorf("replication: unexpected Synced for op %d", e.Op)
	}
	if e.Err != nil {
		p.fail(e.Err, true)
		return nil
	}
	assert.That(e.UpTo == p.written, "a persist syncs what it wrote")
	p.inflight = nil
	if e.UpTo < p.hw {
		assert.Failf("high watermark went back from %d to %d", p.hw, e.UpTo)
	}
	p.hw = e.UpTo
	for _, m := range op.members {
		if m.acks == -1 && m.next <= p.hw && !m.answered {
			p.reply(Reply{ID: m.id, Base: m.base, HighWatermark: p.hw, LogStart: p.start, Timestamp: m.appendMs})
		}
	}
	p.releaseDuplicates()
	p.wakeFetches(e.Now)
	p.maybePersist(e.Now)
	return nil
}
