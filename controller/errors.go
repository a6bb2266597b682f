package controller

import "errors"

// Errors carried on replies to proposers. The broker maps each to the Kafka
// error code named in its comment (STYLE rule 19: codes only at the edge).
var (
	// ErrNotReady: the metadata log is not loaded yet. NOT_CONTROLLER
	// (retriable: clients refresh metadata and retry).
	ErrNotReady = errors.New("controller: metadata log not loaded")
	// ErrBusy: too many proposals are queued. THROTTLING_QUOTA_EXCEEDED
	// (retriable; CreateTopics/CreatePartitions/DeleteTopics v6+), or
	// REQUEST_TIMED_OUT for APIs without it.
	ErrBusy = errors.New("controller: too many queued proposals")
	// ErrStorage: the metadata write failed (disk full); nothing was
	// applied. KAFKA_STORAGE_ERROR (retriable).
	ErrStorage = errors.New("controller: metadata write failed")
	// ErrFailed: the controller has fail-stopped; the process restarts
	// through recovery. UNKNOWN_SERVER_ERROR.
	ErrFailed = errors.New("controller: failed")

	// ErrTopicExists: a topic of that name exists. TOPIC_ALREADY_EXISTS.
	ErrTopicExists = errors.New("controller: topic already exists")
	// ErrUnknownTopic: no topic of that name. UNKNOWN_TOPIC_OR_PARTITION.
	ErrUnknownTopic = errors.New("controller: unknown topic")
	// ErrUnknownTopicID: no topic of that id. UNKNOWN_TOPIC_ID.
	ErrUnknownTopicID = errors.New("controller: unknown topic id")
	// ErrInvalidTopic: a name no topic may have (the broker checks the
	// legal characters first; this is only a sanity check).
	// INVALID_TOPIC_EXCEPTION.
	ErrInvalidTopic = errors.New("controller: invalid topic name")
	// ErrInvalidPartitions: a partition count below one, above the
	// limit, or not growing. INVALID_PARTITIONS.
	ErrInvalidPartitions = errors.New("controller: invalid partition count")
	// ErrInvalidConfig: an empty or duplicated config name, or one both
	// set and deleted. INVALID_CONFIG.
	ErrInvalidConfig = errors.New("controller: invalid config")
	// ErrInvalidRequest: a malformed change (an unknown resource type, a
	// broker resource that is not a node id, a non-positive count).
	// INVALID_REQUEST.
	ErrInvalidRequest = errors.New("controller: invalid request")
	// ErrTooLarge: the change's record would exceed Config.RecordBytesMax.
	// POLICY_VIOLATION.
	ErrTooLarge = errors.New("controller: change too large")
	// ErrProducerIDsExhausted: the int64 producer-id space is used up.
	// UNKNOWN_SERVER_ERROR, as Kafka's ProducerIdControlManager answers.
	ErrProducerIDsExhausted = errors.New("controller: producer ids exhausted")
)

// Errors carried by a Failure: the node stops (or refuses to start).
var (
	// ErrCorrupt: the metadata log holds a record that does not decode or
	// does not apply (a second Bootstrap, a topic created twice, an
	// overlapping producer-id block, a prefix deleted without snapshot).
	ErrCorrupt = errors.New("controller: corrupt metadata log")
	// ErrNodeIDMismatch: the metadata log was bootstrapped by another
	// node id than the configured one (Kafka refuses to start when
	// meta.properties disagrees with node.id).
	ErrNodeIDMismatch = errors.New("controller: node id mismatch")
)
