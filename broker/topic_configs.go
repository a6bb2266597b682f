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
	// (CreateTopics v5+ responses, DescribeConfigs).
	Describe(overrides []controller.ConfigEntry) []DescribedConfig
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
}

// DescribedConfig is one config as DescribeConfigs reports it.
type DescribedConfig struct {
	Name      string
	Value     *string
	ReadOnly  bool
	Default   bool
	Source    int8 // Kafka's ConfigSource: 1 topic, 4 static broker, 5 default
	Sensitive bool
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
