package broker

import "github.com/takhin-io/takhin/controller"

// TopicConfigs resolves and validates topic configs. It is the config
// table's job (broker/config); the broker sees only this.
type TopicConfigs interface {
	// Check validates configs given to CreateTopics or an alter; an error's
	// text is the INVALID_CONFIG message.
	Check(configs []controller.ConfigEntry) error
	// Effective is what a topic with these overrides runs with.
	Effective(overrides []controller.ConfigEntry) TopicConfig
	// Describe lists every topic config with its value and source
	// (CreateTopics v5+ responses).
	Describe(overrides []controller.ConfigEntry) []DescribedConfig

	// WithDynamic is these configs resolved over the metadata image's
	// dynamic broker configs too: this node's (DYNAMIC_BROKER_CONFIG) over
	// the cluster-wide default (DYNAMIC_DEFAULT_BROKER_CONFIG) over the
	// static config. Entries that no longer validate are ignored.
	WithDynamic(node, cluster []controller.ConfigEntry) TopicConfigs
	// DescribeTopic is DescribeConfigs' answer for a topic: every topic
	// config with its value, source, synonyms (Kafka's order), type and
	// documentation.
	DescribeTopic(overrides []controller.ConfigEntry) []DescribedConfig
	// DescribeBroker is DescribeConfigs' answer for this node (perBroker)
	// or for the cluster-wide default (only its dynamic configs, as Kafka
	// answers the resource named "").
	DescribeBroker(perBroker bool) []DescribedConfig
	// PlanAlter turns an AlterConfigs or IncrementalAlterConfigs resource
	// into the controller's Set and Delete lists, validated as Kafka
	// validates them; a refusal carries Kafka's code and message.
	PlanAlter(a ConfigAlter) (set []controller.ConfigEntry, deleted []string, err *ConfigError)
}

// ConfigAlter is one resource of an alter request.
type ConfigAlter struct {
	// Broker: a broker resource (else a topic); PerBroker: it names this
	// node (else the cluster-wide default, "").
	Broker, PerBroker bool
	// Current is the resource's dynamic configs in the image now.
	Current []controller.ConfigEntry
	// Ops are the request's operations; Replace marks the legacy
	// AlterConfigs, whose configs (all SET) replace Current whole.
	Ops     []ConfigOp
	Replace bool
}

// ConfigOp is one config operation: kmsg's IncrementalAlterConfigOp
// (SET 0, DELETE 1, APPEND 2, SUBTRACT 3) on a name, with its value (nil
// only for DELETE).
type ConfigOp struct {
	Name  string
	Op    int8
	Value *string
}

// ConfigError is a refused alter: Kafka's error code and message.
type ConfigError struct {
	Code    int16
	Message string
}

// TopicConfig is what the data path needs of a topic's configs.
type TopicConfig struct {
	MaxMessageBytes      int32 // max.message.bytes
	LogAppendTime        bool  // message.timestamp.type=LogAppendTime
	TimestampBeforeMaxMs int64 // message.timestamp.before.max.ms
	TimestampAfterMaxMs  int64 // message.timestamp.after.max.ms
	Compacted            bool  // cleanup.policy has compact
	MinInsyncReplicas    int32 // min.insync.replicas

	// The log's: retention.ms, retention.bytes (-1: unlimited),
	// segment.bytes, segment.ms, segment.jitter.ms, index.interval.bytes.
	RetentionMs, RetentionBytes int64
	SegmentBytes, SegmentMs     int64
	SegmentJitterMs             int64
	IndexIntervalBytes          int64

	// DeleteOff: cleanup.policy has no delete, so retention.ms and
	// retention.bytes delete nothing. CleanerOff: log.cleaner.enable=false,
	// so a compacted topic is not compacted. The log cleaner's, for a
	// compacted topic: delete.retention.ms, min.compaction.lag.ms,
	// max.compaction.lag.ms, min.cleanable.dirty.ratio.
	DeleteOff, CleanerOff                  bool
	DeleteRetentionMs                      int64
	MinCompactionLagMs, MaxCompactionLagMs int64
	MinCleanableDirtyRatio                 float64
	// FlushMessages is flush.messages (0: none): the partition machine
	// answers an acks=1 produce once synced when it would leave that many
	// messages unsynced.
	FlushMessages int64
}

// DescribedConfig is one config as DescribeConfigs reports it.
type DescribedConfig struct {
	Name     string
	Value    *string
	ReadOnly bool
	Default  bool
	// Source is Kafka's ConfigSource: 1 topic, 2 dynamic for this node,
	// 3 dynamic cluster-wide default, 4 static broker, 5 default.
	Source    int8
	Sensitive bool
	// Synonyms (DescribeTopic, DescribeBroker): every value this config
	// could take, highest precedence first, as Kafka's include_synonyms.
	Synonyms []DescribedSynonym
	Type     int8   // Kafka's ConfigType (kmsg.ConfigType)
	Doc      string // one line
}

// DescribedSynonym is one synonym's value and source.
type DescribedSynonym struct {
	Name   string
	Value  string
	Source int8
}

// DefaultTopicConfig is Kafka 4.0's defaults.
func DefaultTopicConfig() TopicConfig {
	return TopicConfig{
		MaxMessageBytes: 1048588, TimestampBeforeMaxMs: 1<<63 - 1, TimestampAfterMaxMs: 3600000,
		MinInsyncReplicas: 1,
		RetentionMs:       7 * 24 * 3600 * 1000, RetentionBytes: -1,
		SegmentBytes: 1 << 30, SegmentMs: 7 * 24 * 3600 * 1000, IndexIntervalBytes: 4096,
	}
}
