// Package controller is the metadata state machine over the metadata log
// (KRaft's role): cluster id, topics with their ids, partition counts,
// configs and producer-id blocks.
//
// The metadata log is a partition (__cluster_metadata-0) driven by a
// replication.Partition the controller owns, so that when Raft slides in
// under replication next round, the controller does not change. A change
// is acknowledged only once its record is durable.
//
// # Records
//
// Metadata records are the records of uncompressed Kafka v2 batches,
// built and parsed with kmsg (CRC32C as storage.ValidateBatch checks it).
// Each record's key is null; its value is JSON from a struct,
// {"type":T,"version":1,"data":{…}}: Bootstrap (meta.properties' role),
// TopicCreated, TopicDeleted, PartitionsAdded, ConfigsAltered and
// ProducerIDBlock. A record that does not decode, or does not apply to the
// state before it, is corruption: the controller fails (Ready.Failure),
// it never panics.
//
// # Driving it
//
// The executor opens the metadata log through storage recovery, reads all
// of it, and steps Loaded. The controller replays the records into an
// Image, refuses a log bootstrapped by another node id, and bootstraps an
// empty log (a Bootstrap record with a cluster id from its seeded Rand).
// From then on the executor carries out Ready.Persist, Reads and
// Background exactly as for any partition and steps their completions
// (replication.Written, Synced, ReadDone, BackgroundDone, Tick); the
// broker steps Propose and receives Ready.Published and Ready.Replies.
//
// The controller is a machine (STYLE rule 6): no I/O, no clock, no
// goroutines; now comes on every event.
package controller
