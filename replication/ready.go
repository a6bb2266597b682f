package replication

import "github.com/takhin-io/takhin/storage"

// Ready is what the partition wants done, in this order:
//
//  1. Persist: append Batches (offsets already assigned; AppendAssigned),
//     report Written, then fsync and report Synced; then, if Checkpoint,
//     checkpoint the log. Synced is owed even after a Written with an
//     error (it syncs what was written before the failure). At most one Persist is in flight: appends that
//     arrive meanwhile wait and go together in the next one (group commit).
//  2. Reads and Background tasks: run them, report ReadDone and
//     BackgroundDone. At most one Background task is in flight.
//  3. Replies: release them to the callers. Replies that depend on
//     durability appear only after the Synced event that covers them.
//  4. Deadline: arm one timer; deliver Tick when it passes.
//
// Failure, when set, stops the partition (and, when ProcessFatal, the
// whole process, which restarts through recovery).
type Ready struct {
	Persist    *Persist
	Reads      []Read
	Background []Task
	Replies    []Reply
	Deadline   int64 // monotonic ns of the next Tick; 0 for none
	Failure    *Failure
}

// Persist is one group commit.
type Persist struct {
	Op         uint64
	Batches    [][]byte
	Checkpoint bool
}

// Read asks the executor for storage.Log.Read(From, MaxBytes, UpTo); or,
// when ByTimestamp is set, for the first batch below UpTo whose
// MaxTimestamp reaches it (-3: the largest timestamp in the log).
type Read struct {
	ID          RequestID
	From        storage.Offset
	MaxBytes    int
	UpTo        storage.Offset
	ByTimestamp *int64
	// Stat asks for the log's size instead (ReadDone.SizeBytes).
	Stat bool
}

// Task is background work run in bounded chunks; each chunk ends in a
// BackgroundDone.
type Task struct {
	ID uint64
	// Retention deletes the prefix of segments Kafka's deletableSegments
	// rule allows, at most ChunkSegments of them.
	Retention *storage.RetentionPolicy
	// ChunkSegments bounds one chunk.
	ChunkSegments int
	// Clean runs one chunk of compaction pass CleanPass (storage's
	// StartClean at the pass's first chunk, then CleanStep): mapping up to
	// ChunkBytes of the dirty section, or cleaning one group of segments.
	// Every chunk of a pass carries the policy of its first.
	Clean      *storage.CleanPolicy
	CleanPass  uint64
	ChunkBytes int64
	// SetStart, when above 0, moves the log start offset there durably
	// (DeleteRecords; storage.Log.SetStartOffset).
	SetStart storage.Offset
}

// Reply answers one request.
type Reply struct {
	ID RequestID
	// Produce: the batch's base offset. Fetch: the batches (whole,
	// CRC-checked) and the offsets a Kafka fetch response carries.
	Base    storage.Offset
	Batches []byte
	// Recyclable: Batches is a buffer read for this reply alone (from
	// internal/bufpool), which the receiver may Put back once no slice of
	// it is read again; false when Batches shares the machine's tail.
	Recyclable    bool
	HighWatermark storage.Offset
	LogStart      storage.Offset
	// ListOffset: the timestamp of the batch found (-1 for none or a
	// special query); Produce: the LogAppendTime stamped into the batch
	// (-1 when none, or for a duplicate, whose time is not kept);
	// EpochEnd: the epoch answered.
	Timestamp int64
	Epoch     storage.Epoch
	// Producers answers Producers; SizeBytes, TotalBytes and
	// UsableBytes answer LogSize.
	Producers                          []storage.ProducerEntry
	SizeBytes, TotalBytes, UsableBytes int64
	Err                                error
}

// Failure is a fail-stop.
type Failure struct {
	Err          error
	ProcessFatal bool
}

// empty reports whether r holds nothing to do (its deadline aside).
func (r *Ready) empty() bool {
	return r.Persist == nil && len(r.Reads) == 0 && len(r.Background) == 0 &&
		len(r.Replies) == 0 && r.Failure == nil
}
