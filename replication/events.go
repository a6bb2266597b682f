package replication

import (
	"errors"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/storage"
)

// RequestID names one request to a machine; the caller picks it and gets it
// back on the Reply.
type RequestID uint64

// Event is an input to Partition.Step. Every event carries the driver's now.
type Event interface{ When() env.Time }

// Recovered reports that the executor opened the log through recovery.
// Recovery syncs what survived, so End is also the high watermark.
type Recovered struct {
	Now        env.Time
	Start, End storage.Offset
	Epoch      storage.Epoch
	// Producers is the idempotent-producer state recovered with the log
	// (nil: none). The machine takes ownership.
	Producers *storage.ProducerState
	// Segments and CleanedTo are the log's segments and cleaner checkpoint,
	// from which the machine decides when a clean pass is due.
	Segments  []storage.SegmentInfo
	CleanedTo storage.Offset
}

// Produce asks to append one batch that the broker has validated. Acks is
// Kafka's: 0 and 1 are answered once the batch is written, -1 (all) once it
// is below the high watermark (fsynced). The machine answers every request;
// the broker drops the answer to acks=0. The machine takes ownership of
// Batch: it stamps the offsets into it and keeps it in its tail.
type Produce struct {
	Now   env.Time
	ID    RequestID
	Batch []byte
	Acks  int16
}

// Fetch asks for batches from From below the high watermark. It is answered
// when at least MinBytes are available, or at Deadline (monotonic ns; 0
// answers at once) with whatever there is.
type Fetch struct {
	Now      env.Time
	ID       RequestID
	From     storage.Offset
	MaxBytes int
	MinBytes int
	Deadline int64
}

// Written completes the write half of Persist Op: every batch below UpTo
// is on disk (not yet synced). Err is set when a write failed (ENOSPC is
// retryable; the batches from UpTo on failed and nothing of them remains).
// Fatal says the write left the log fail-stopped, not by corruption: a
// roll's sync of the segment it leaves failed (its dirty pages may be
// gone), or a partial write could not be undone. Only recovery clears
// that, so the process stops and restarts, as after a failed Synced.
type Written struct {
	Now   env.Time
	Op    uint64
	UpTo  storage.Offset
	Err   error
	Fatal bool
	// Segments, when set, is the log's segments after a write that rolled
	// a new segment (the cleaner's view; nil: unchanged).
	Segments []storage.SegmentInfo
}

// Synced completes the sync half of Persist Op: every batch below UpTo is
// durable. Any Err is fatal for the process.
type Synced struct {
	Now  env.Time
	Op   uint64
	UpTo storage.Offset
	Err  error
}

// ReadDone completes a Read. ByTimestamp echoes the Read's kind: the
// Result then holds the batch found, if any.
type ReadDone struct {
	Now env.Time
	ID  RequestID
	// Stat echoes a Stat read; SizeBytes answers it: the log's bytes on
	// disk, and TotalBytes and UsableBytes those of its volume (-1:
	// unknown).
	Stat                               bool
	SizeBytes, TotalBytes, UsableBytes int64
	Result                             storage.ReadResult
	Err                                error
	ByTimestamp                        bool
}

// BackgroundDone completes a Background task. Start is the log start offset
// after it; More says the task stopped at its chunk limit.
type BackgroundDone struct {
	Now   env.Time
	Task  uint64
	Start storage.Offset
	More  bool
	// Err fail-stops the partition; with Fatal (the log failed a sync, so
	// its dirty pages may be gone) the whole process, which restarts
	// through recovery, as a failed Persist sync does. Transient is an
	// error that left the log usable (a full disk): the chunk did nothing,
	// and a DeleteRecords waiting on it is answered with ErrStorage.
	Err       error
	Fatal     bool
	Transient error
	// Segments and CleanedTo are the log's segments and cleaner checkpoint
	// after the chunk (nil Segments: not reported).
	Segments  []storage.SegmentInfo
	CleanedTo storage.Offset
}

// Tick reports that the machine's deadline passed.
type Tick struct{ Now env.Time }

func (e Recovered) When() env.Time      { return e.Now }
func (e Produce) When() env.Time        { return e.Now }
func (e Fetch) When() env.Time          { return e.Now }
func (e Written) When() env.Time        { return e.Now }
func (e Synced) When() env.Time         { return e.Now }
func (e ReadDone) When() env.Time       { return e.Now }
func (e BackgroundDone) When() env.Time { return e.Now }
func (e Tick) When() env.Time           { return e.Now }

// Errors carried on replies; the broker maps them to Kafka codes.
var (
	// ErrNotReady: the log is still being recovered (retriable).
	ErrNotReady = errors.New("replication: partition not ready")
	// ErrStorage: the write or read failed on disk (KAFKA_STORAGE_ERROR).
	ErrStorage = errors.New("replication: storage error")
	// ErrOffsetOutOfRange: a fetch outside [log start, log end].
	ErrOffsetOutOfRange = errors.New("replication: offset out of range")
	// ErrFailed: the partition has fail-stopped (KAFKA_STORAGE_ERROR).
	ErrFailed = errors.New("replication: partition failed")
	// ErrOutOfOrderSequence: an idempotent producer's sequence skipped
	// ahead (OUT_OF_ORDER_SEQUENCE_NUMBER).
	ErrOutOfOrderSequence = errors.New("replication: out of order sequence number")
	// ErrInvalidProducerEpoch: an idempotent producer's epoch went back
	// (INVALID_PRODUCER_EPOCH).
	ErrInvalidProducerEpoch = errors.New("replication: invalid producer epoch")
	// ErrInvalidBatch: a produce that is not a record batch (the broker
	// validates first; CORRUPT_MESSAGE).
	ErrInvalidBatch = errors.New("replication: invalid batch")
)

// WithNow returns ev stamped with now: drivers stamp an event when they
// deliver it, whoever built it.
func WithNow(ev Event, now env.Time) Event {
	switch e := ev.(type) {
	case Recovered:
		e.Now = now
		return e
	case Produce:
		e.Now = now
		return e
	case Fetch:
		e.Now = now
		return e
	case Written:
		e.Now = now
		return e
	case Synced:
		e.Now = now
		return e
	case ReadDone:
		e.Now = now
		return e
	case BackgroundDone:
		e.Now = now
		return e
	case Tick:
		e.Now = now
		return e
	case ListOffset:
		e.Now = now
		return e
	case EpochEnd:
		e.Now = now
		return e
	case DeleteRecords:
		e.Now = now
		return e
	case Producers:
		e.Now = now
		return e
	case LogSize:
		e.Now = now
		return e
	case Reconfigure:
		e.Now = now
		return e
	}
	return ev
}

// RequestIDOf returns the id of a request event (Produce, Fetch,
// ListOffset, EpochEnd, DeleteRecords, Producers, LogSize), or 0 for any
// other event.
func RequestIDOf(ev Event) RequestID {
	switch e := ev.(type) {
	case Produce:
		return e.ID
	case Fetch:
		return e.ID
	case ListOffset:
		return e.ID
	case EpochEnd:
		return e.ID
	case DeleteRecords:
		return e.ID
	case Producers:
		return e.ID
	case LogSize:
		return e.ID
	}
	return 0
}
