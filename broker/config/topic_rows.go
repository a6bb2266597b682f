package config

import "github.com/twmb/franz-go/pkg/kmsg"

// Short names for the row literals below.
const (
	typeBool   = kmsg.ConfigTypeBoolean
	typeString = kmsg.ConfigTypeString
	typeInt    = kmsg.ConfigTypeInt
	typeShort  = kmsg.ConfigTypeShort
	typeLong   = kmsg.ConfigTypeLong
	typeDouble = kmsg.ConfigTypeDouble
	typeList   = kmsg.ConfigTypeList

	longMax = "9223372036854775807"
	intMax  = "2147483647"

	msPerMinute = 60_000
	msPerHour   = 3_600_000
)

// same is a synonym in the topic config's own unit.
func same(name string) []Synonym { return []Synonym{{Name: name, Scale: 1}} }

// Notes shared by several rows.
const (
	noteCleanerBackoff = "checked every 15 s (log.cleaner.backoff.ms) per compacted partition"
	noteTiered         = "tiered storage only; remote.storage.enable=true is refused"
	noteThrottle       = "replication throttling; meaningful only in a cluster"
	noteRecompress     = "used only when the broker recompresses, which Takhin never does (compression.type=producer only)"
	noteFsyncBefore    = "group commit fsyncs whenever unsynced data exists, sooner than any flush interval (acks=all is answered after the fsync)"
	noteFlushMessages  = "an acks=1 produce that would leave this many messages unsynced, its own included, is answered after the fsync, as Kafka fsyncs in the append; acks=all always is"
)

// topicRows are Kafka 4.0's topic configs (LogConfig), with three more:
// the two topic configs Kafka 4.0 removed, recognised to refuse them with
// a reason, and internal.segment.bytes, the test-only knob Kafka 4.1
// added.
var topicRows = []Row{
	{Name: "cleanup.policy", Scope: ScopeTopic, Type: typeList, Default: "delete",
		Valid: listOf("compact", "delete"), Takhin: Honoured,
		Synonyms: same("log.cleanup.policy"),
		Doc:      "What happens to old segments: delete them by retention, compact them by key, or both (an empty list keeps everything).",
		Note: "delete: retention.ms and retention.bytes delete old segments; compact: the log cleaner keeps the latest record of each key " +
			"(offsets kept, keyless produce refused with INVALID_RECORD); compact,delete runs both, one at a time"},
	{Name: "compression.gzip.level", Scope: ScopeTopic, Type: typeInt, Default: "-1",
		Valid: betweenOr(1, 9, -1), Takhin: TriviallySatisfied, Synonyms: same("compression.gzip.level"),
		Doc: "The gzip level the broker uses when compression.type is gzip.", Note: noteRecompress},
	{Name: "compression.lz4.level", Scope: ScopeTopic, Type: typeInt, Default: "9",
		Valid: between(1, 17), Takhin: TriviallySatisfied, Synonyms: same("compression.lz4.level"),
		Doc: "The lz4 level the broker uses when compression.type is lz4.", Note: noteRecompress},
	{Name: "compression.type", Scope: ScopeTopic, Type: typeString, Default: "producer",
		Valid:  oneOf("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
		Takhin: Unsupported, Synonyms: same("compression.type"),
		Doc:  "The codec batches are stored with; producer keeps whatever the producer used.",
		Note: "batches are stored as the producer compressed them; recompression is not implemented"},
	{Name: "compression.zstd.level", Scope: ScopeTopic, Type: typeInt, Default: "3",
		Valid: between(-131072, 22), Takhin: TriviallySatisfied, Synonyms: same("compression.zstd.level"),
		Doc: "The zstd level the broker uses when compression.type is zstd.", Note: noteRecompress},
	{Name: "delete.retention.ms", Scope: ScopeTopic, Type: typeLong, Default: "86400000",
		Valid: atLeast(0), Takhin: Honoured, Synonyms: same("log.cleaner.delete.retention.ms"),
		Doc: "How long a compacted topic keeps tombstones.",
		Note: "a tombstone survives at least this long after the clean pass that first kept it (KIP-534's delete horizon, stamped in its batch), " +
			"then goes at the next pass"},
	{Name: "file.delete.delay.ms", Scope: ScopeTopic, Type: typeLong, Default: "60000",
		Valid: atLeast(0), Takhin: TriviallySatisfied, Synonyms: same("log.segment.delete.delay.ms"),
		Doc:  "How long a deleted segment's files linger before removal.",
		Note: "Takhin removes a segment's files once the new log start offset is checkpointed; no reader can still need them"},
	{Name: "flush.messages", Scope: ScopeTopic, Type: typeLong, Default: longMax,
		Valid: atLeast(1), Takhin: Honoured, Synonyms: same("log.flush.interval.messages"),
		Doc: "Force an fsync after this many messages.", Note: noteFlushMessages},
	{Name: "flush.ms", Scope: ScopeTopic, Type: typeLong, Default: longMax,
		Valid: atLeast(0), Takhin: TriviallySatisfied,
		Synonyms: []Synonym{{Name: "log.flush.interval.ms", Scale: 1}, {Name: "log.flush.scheduler.interval.ms", Scale: 1}},
		Doc:      "Force an fsync after this long.", Note: noteFsyncBefore},
	{Name: "follower.replication.throttled.replicas", Scope: ScopeTopic, Type: typeList, Default: "",
		Valid: throttledReplicas(), Takhin: TriviallySatisfied,
		Doc: "Replicas whose replication is throttled on the follower side.", Note: noteThrottle},
	{Name: "index.interval.bytes", Scope: ScopeTopic, Type: typeInt, Default: "4096",
		Valid: atLeast(0), Takhin: Honoured, Synonyms: same("log.index.interval.bytes"),
		Doc:  "Bytes of log between two entries of the sparse offset index.",
		Note: "the spacing of the offset and time index entries"},
	{Name: "leader.replication.throttled.replicas", Scope: ScopeTopic, Type: typeList, Default: "",
		Valid: throttledReplicas(), Takhin: TriviallySatisfied,
		Doc: "Replicas whose replication is throttled on the leader side.", Note: noteThrottle},
	{Name: "local.retention.bytes", Scope: ScopeTopic, Type: typeLong, Default: "-2",
		Valid: atLeast(-2), Takhin: TriviallySatisfied, Synonyms: same("log.local.retention.bytes"),
		Doc: "With tiered storage, the local part's size limit (-2: retention.bytes).", Note: noteTiered},
	{Name: "local.retention.ms", Scope: ScopeTopic, Type: typeLong, Default: "-2",
		Valid: atLeast(-2), Takhin: TriviallySatisfied, Synonyms: same("log.local.retention.ms"),
		Doc: "With tiered storage, the local part's time limit (-2: retention.ms).", Note: noteTiered},
	{Name: "max.compaction.lag.ms", Scope: ScopeTopic, Type: typeLong, Default: longMax,
		Valid: atLeast(1), Takhin: Honoured, Synonyms: same("log.cleaner.max.compaction.lag.ms"),
		Doc:  "The longest a record may stay uncompacted.",
		Note: "a dirty segment whose first batch is older makes a clean pass due whatever the dirty ratio; " + noteCleanerBackoff},
	{Name: "max.message.bytes", Scope: ScopeTopic, Type: typeInt, Default: "1048588",
		Valid: atLeast(0), Takhin: Honoured, Synonyms: same("message.max.bytes"),
		Doc:  "The largest record batch the topic accepts, after compression.",
		Note: "a larger batch gets MESSAGE_TOO_LARGE"},
	{Name: "message.downconversion.enable", Scope: ScopeTopic, Type: typeBool, Default: "true",
		Takhin: TriviallySatisfied, Synonyms: same("log.message.downconversion.enable"),
		Doc:  "Whether old fetch versions may get converted batches; a no-op since Kafka 4.0.",
		Note: "a no-op in Kafka 4.0 too: no fetch version that needs conversion is served"},
	{Name: "message.timestamp.after.max.ms", Scope: ScopeTopic, Type: typeLong, Default: "3600000",
		Valid: atLeast(0), Takhin: Honoured, Synonyms: same("log.message.timestamp.after.max.ms"),
		Doc:  "How far in the future (of the broker's clock) a CreateTime timestamp may be.",
		Note: "a batch beyond it gets INVALID_TIMESTAMP"},
	{Name: "message.timestamp.before.max.ms", Scope: ScopeTopic, Type: typeLong, Default: longMax,
		Valid: atLeast(0), Takhin: Honoured, Synonyms: same("log.message.timestamp.before.max.ms"),
		Doc:  "How far in the past (of the broker's clock) a CreateTime timestamp may be.",
		Note: "a batch beyond it gets INVALID_TIMESTAMP"},
	{Name: "message.timestamp.type", Scope: ScopeTopic, Type: typeString, Default: "CreateTime",
		Valid: oneOf("CreateTime", "LogAppendTime"), Takhin: Honoured, Synonyms: same("log.message.timestamp.type"),
		Doc:  "Whether records keep the producer's timestamp or get the broker's append time.",
		Note: "LogAppendTime rewrites the batch's timestamp and CRC on append"},
	{Name: "min.cleanable.dirty.ratio", Scope: ScopeTopic, Type: typeDouble, Default: "0.5",
		Valid: ratio(), Takhin: Honoured, Synonyms: same("log.cleaner.min.cleanable.ratio"),
		Doc:  "The share of uncompacted log that triggers a compaction.",
		Note: "a clean pass runs when dirty bytes / (cleaned + dirty bytes) exceeds it; " + noteCleanerBackoff},
	{Name: "min.compaction.lag.ms", Scope: ScopeTopic, Type: typeLong, Default: "0",
		Valid: atLeast(0), Takhin: Honoured, Synonyms: same("log.cleaner.min.compaction.lag.ms"),
		Doc:  "The least time a record stays uncompacted.",
		Note: "a segment holding a batch whose timestamp is younger, and every segment after it, is not compacted"},
	{Name: "min.insync.replicas", Scope: ScopeTopic, Type: typeInt, Default: "1",
		Valid: atLeast(1), Takhin: Honoured, Synonyms: same("min.insync.replicas"),
		Doc:  "The replicas that must hold a batch before an acks=all produce succeeds.",
		Note: "more than the live replicas: acks=all produce gets NOT_ENOUGH_REPLICAS"},
	{Name: "preallocate", Scope: ScopeTopic, Type: typeBool, Default: "false",
		Takhin: TriviallySatisfied, Synonyms: same("log.preallocate"),
		Doc:  "Whether a new segment file is preallocated to segment.bytes.",
		Note: "segments grow by appends; preallocation would only change file sizes, never data"},
	{Name: "remote.log.copy.disable", Scope: ScopeTopic, Type: typeBool, Default: "false",
		Takhin: TriviallySatisfied, Doc: "With tiered storage, stop copying segments to remote storage.", Note: noteTiered},
	{Name: "remote.log.delete.on.disable", Scope: ScopeTopic, Type: typeBool, Default: "false",
		Takhin: TriviallySatisfied, Doc: "With tiered storage, delete remote data when it is disabled.", Note: noteTiered},
	{Name: "remote.storage.enable", Scope: ScopeTopic, Type: typeBool, Default: "false",
		Takhin: Unsupported, Doc: "Whether the topic uses tiered storage.",
		Note: "tiered storage is not implemented"},
	{Name: "retention.bytes", Scope: ScopeTopic, Type: typeLong, Default: "-1",
		Takhin: Honoured, Synonyms: same("log.retention.bytes"),
		Doc:  "The size a partition may reach before its oldest segments are deleted (negative: no limit).",
		Note: "whole segments are deleted, oldest first, as in Kafka"},
	{Name: "retention.ms", Scope: ScopeTopic, Type: typeLong, Default: "604800000",
		Valid: atLeast(-1), Takhin: Honoured,
		Synonyms: []Synonym{
			{Name: "log.retention.ms", Scale: 1, ClampNegative: true},
			{Name: "log.retention.minutes", Scale: msPerMinute, ClampNegative: true},
			{Name: "log.retention.hours", Scale: msPerHour, ClampNegative: true},
		},
		Doc:  "How long a segment is kept after its newest timestamp (-1: forever).",
		Note: "whole segments are deleted, oldest first, as in Kafka"},
	{Name: "segment.bytes", Scope: ScopeTopic, Type: typeInt, Default: "1073741824",
		Valid: atLeast(1 << 20), Takhin: Honoured, Synonyms: same("log.segment.bytes"),
		Doc:  "The size at which the active segment rolls.",
		Note: "at least 1 MiB, as Kafka 4.1 enforces (4.0 checked only log.segment.bytes); tests use internal.segment.bytes"},
	{Name: "segment.index.bytes", Scope: ScopeTopic, Type: typeInt, Default: "10485760",
		Valid: atLeast(4), Takhin: TriviallySatisfied, Synonyms: same("log.index.size.max.bytes"),
		Doc:  "The size of a segment's preallocated offset index file.",
		Note: "Takhin's indexes are in memory and written whole; they never fill, so they never force a roll"},
	{Name: "segment.jitter.ms", Scope: ScopeTopic, Type: typeLong, Default: "0",
		Valid: atLeast(0), Takhin: Honoured,
		Synonyms: []Synonym{{Name: "log.roll.jitter.ms", Scale: 1}, {Name: "log.roll.jitter.hours", Scale: msPerHour}},
		Doc:      "The most a segment's time-based roll is brought forward at random.",
		Note:     "subtracted from segment.ms per segment; spread by a hash of the partition's directory and the segment's base offset, where Kafka draws it at random"},
	{Name: "segment.ms", Scope: ScopeTopic, Type: typeLong, Default: "604800000",
		Valid: atLeast(1), Takhin: Honoured,
		Synonyms: []Synonym{{Name: "log.roll.ms", Scale: 1}, {Name: "log.roll.hours", Scale: msPerHour}},
		Doc:      "The age at which the active segment rolls even if not full.",
		Note:     "age is measured on batch timestamps, as Kafka's shouldRoll does"},
	{Name: "unclean.leader.election.enable", Scope: ScopeTopic, Type: typeBool, Default: "false",
		Takhin: Unsupported, Synonyms: same("unclean.leader.election.enable"),
		Doc:  "Whether a replica that is not in sync may become leader, losing data.",
		Note: "Raft elects only up-to-date replicas; false is what Takhin always does"},

	// Removed in Kafka 4.0.
	{Name: "message.format.version", Scope: ScopeTopic, Type: typeString, NoDefault: true, Removed: true,
		Takhin: Unsupported, Doc: "The on-disk record format version.",
		Note: "records are always the v2 format"},
	{Name: "message.timestamp.difference.max.ms", Scope: ScopeTopic, Type: typeLong, NoDefault: true, Removed: true,
		Takhin: Unsupported, Doc: "The allowed distance of a timestamp from the broker's clock.",
		Note: "use message.timestamp.before.max.ms and message.timestamp.after.max.ms"},

	// Internal (test-only) knobs.
	{Name: "internal.segment.bytes", Scope: ScopeTopic, Type: typeInt, NoDefault: true, Internal: true,
		Valid: atLeast(1), Takhin: Honoured, Synonyms: same("internal.segment.bytes"),
		Doc:  "Overrides segment.bytes below its 1 MiB minimum, for tests.",
		Note: "test-only; the static config may set it, the admin APIs refuse it"},
}
