// Package storage is the partition log: Kafka v2 record batches stored as
// received, in segments named by base offset, with a sparse offset index, a
// time index, a leader-epoch checkpoint, producer-state snapshots, a log
// start offset and a checkpointed recovery point.
//
// It is a synchronous library over env.FS, called only by executors (never
// by a state machine) and not safe for concurrent use.
//
// # Durability
//
// Append writes to the active segment without syncing. Sync makes every
// appended batch durable (fsync of the segment files, then of the directory
// when files were created or removed) and advances SyncedEnd. Checkpoint
// writes the index files of every segment and then the recovery point
// (= SyncedEnd) and log start offset, temp file → fsync → rename → directory
// sync. Many Appends followed by one Sync is group commit.
//
// # Recovery
//
// Open applies Kafka's rule, made explicit. Let RP be the checkpointed
// recovery point. Every batch below RP was synced before the checkpoint, so
// a bad batch there (CRC mismatch, bad header, missing bytes) is corruption:
// Open returns an error wrapping ErrCorrupt and the partition fail-stops.
// Segments entirely below RP are trusted: their index files are loaded and
// sanity-checked, and only the tail after their last index entry is
// re-scanned. From the segment holding RP on, every batch is re-validated:
// the first invalid batch at or above RP, and everything after it, is
// truncated (those bytes were never acknowledged as durable). Reads check
// CRC32C again and cross-check each batch header against the index.
//
// # Producer state
//
// ProducerState is Kafka's idempotent-producer bookkeeping (epochs, the
// last five batches' sequences and offsets) as a pure type the partition
// machine checks batches against. The Log keeps its own copy as of
// SyncedEnd, observed from every batch it stores, snapshots it at each
// Checkpoint in "<offset>.snapshot" files (the newest two are kept), and on
// recovery loads the newest good snapshot at or below the recovery point
// and replays batch headers from there; see producer_log.go.
//
// # Compaction
//
// StartClean and CleanStep run a compaction pass (cleanup.policy=compact)
// in bounded steps, as Kafka's LogCleaner does: CleanableOffsets and Due
// decide when one is due (min.cleanable.dirty.ratio, min/max.compaction.lag.ms),
// the pass keeps the latest record per key with its offset, removes
// tombstones after delete.retention.ms (KIP-534's delete horizon) and swaps
// each rewritten group of segments in crash-safely; see clean.go,
// clean_records.go and clean_swap.go.
//
// Offsets are assigned contiguously by Append, but AppendAssigned, TruncateTo,
// compaction and control batches leave gaps, so reads, indexes and lookups
// tolerate them: a read inside a gap returns the next batch.
package storage
