package simbug

// The broken variants, each a one-line change in the code it names.
const (
	// AckBeforeFsync: the partition answers acks=all once the batch is
	// written, before its fsync (replication).
	AckBeforeFsync = "ack-before-fsync"
	// FetchPastHighWatermark: fetches serve written but unsynced data
	// (replication).
	FetchPastHighWatermark = "fetch-past-hw"
	// ProducerStateLost: a restarted partition forgets its idempotent
	// producers (replication).
	ProducerStateLost = "producer-state-lost"
	// SkipDirSync: the log syncs new segment files but not their
	// directory (storage).
	SkipDirSync = "skip-dir-sync"
	// RecoverySkipsCRC: recovery (and the scans that locate a batch)
	// accept batches whose CRC does not match (storage).
	RecoverySkipsCRC = "recovery-skips-crc"
	// CommitBeforeDurable: the group coordinator acknowledges an offset
	// commit before its batch is durable (broker/group).
	CommitBeforeDurable = "commit-before-durable"
	// SharedAssignment: SyncGroup hands every member the leader's
	// assignment (broker/group).
	SharedAssignment = "shared-assignment"
	// RetentionIgnoresTime: retention's time rule deletes segments
	// whatever their timestamps, as if every one were past retention.ms
	// (storage).
	RetentionIgnoresTime = "retention-ignores-time"
	// DeleteSkipsCommitsInFlight: DeleteGroups tombstones only the
	// offsets in memory, not the partitions of commits still in flight
	// (broker/group; the bug 89f410a fixed).
	DeleteSkipsCommitsInFlight = "delete-skips-commits-in-flight"
)

// All lists every variant, for the search.
var All = []string{AckBeforeFsync, FetchPastHighWatermark, ProducerStateLost, SkipDirSync, RecoverySkipsCRC,
	CommitBeforeDurable, SharedAssignment, RetentionIgnoresTime, DeleteSkipsCommitsInFlight}
