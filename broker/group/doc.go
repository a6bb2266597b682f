// Package group is Takhin's classic consumer-group coordinator, as Apache
// Kafka 4.0.1's GroupCoordinator runs it: the PreparingRebalance /
// CompletingRebalance / Stable / Empty / Dead state machine, member ids
// required on join from JoinGroup v4 (KIP-394), static membership with
// fencing (KIP-345), the initial rebalance delay, session and rebalance
// timeouts, pending-sync expiry, offset commits from members and from
// simple (non-member) consumers, and offsets.retention.minutes expiry.
//
// The state lives in __consumer_offsets, one shard per partition; a group
// belongs to partition abs(hashCode(groupID)) % N as Kafka computes it
// (PartitionFor). Records use Kafka's schemas (kmsg's OffsetCommitKey and
// Value, GroupMetadataKey and Value), so the log is readable by Kafka's
// tools. A shard replays its partition when the node starts
// (COORDINATOR_LOAD_IN_PROGRESS meanwhile); a record it cannot decode is
// corruption: the shard stops serving (NOT_COORDINATOR), never panics.
//
// The coordinator is deterministic and does no I/O: it runs on the broker
// machine's thread, is told the time on every call, and reaches its log
// through Host (appends with acks=all and reads of its partition, answered
// by callbacks). The broker's files for the group APIs translate kmsg
// requests into these calls.
package group
