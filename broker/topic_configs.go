package broker

import (
	"fmt"
	"strconv"

	"github.com/takhin-io/takhin/controller"
)

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

// BasicTopicConfigs implements TopicConfigs with Kafka's defaults and the
// overrides the data path honours, until the config table (broker/config)
// takes over. Unknown names are refused, as Kafka refuses them.
type BasicTopicConfigs struct{ Defaults TopicConfig }

var basicTopicConfigNames = map[string]func(*TopicConfig, int64){
	"retention.ms":                    func(c *TopicConfig, v int64) { c.RetentionMs = v },
	"retention.bytes":                 func(c *TopicConfig, v int64) { c.RetentionBytes = v },
	"segment.bytes":                   func(c *TopicConfig, v int64) { c.SegmentBytes = v },
	"segment.ms":                      func(c *TopicConfig, v int64) { c.SegmentMs = v },
	"max.message.bytes":               func(c *TopicConfig, v int64) { c.MaxMessageBytes = int32(v) },
	"min.insync.replicas":             func(c *TopicConfig, v int64) { c.MinInsyncReplicas = int32(v) },
	"message.timestamp.before.max.ms": func(c *TopicConfig, v int64) { c.TimestampBeforeMaxMs = v },
	"message.timestamp.after.max.ms":  func(c *TopicConfig, v int64) { c.TimestampAfterMaxMs = v },
}

// Check accepts the honoured names with integer values, and
// message.timestamp.type and cleanup.policy=delete.
func (BasicTopicConfigs) Check(configs []controller.ConfigEntry) error {
	for _, c := range configs {
		switch c.Name {
		case "message.timestamp.type":
			if c.Value != "CreateTime" && c.Value != "LogAppendTime" {
				return fmt.Errorf("invalid value %q for message.timestamp.type", c.Value)
			}
			continue
		case "cleanup.policy":
			if c.Value != "delete" {
				return fmt.Errorf("cleanup.policy %q is not supported yet", c.Value)
			}
			continue
		}
		if _, ok := basicTopicConfigNames[c.Name]; !ok {
			return fmt.Errorf("unknown topic config %q", c.Name)
		}
		if _, err := strconv.ParseInt(c.Value, 10, 64); err != nil {
			return fmt.Errorf("invalid value %q for %s: not an integer", c.Value, c.Name)
		}
	}
	return nil
}

// Effective applies the overrides to the defaults.
func (t BasicTopicConfigs) Effective(overrides []controller.ConfigEntry) TopicConfig {
	c := t.Defaults
	for _, o := range overrides {
		if set, ok := basicTopicConfigNames[o.Name]; ok {
			if v, err := strconv.ParseInt(o.Value, 10, 64); err == nil {
				set(&c, v)
			}
		}
		if o.Name == "message.timestamp.type" {
			c.LogAppendTime = o.Value == "LogAppendTime"
		}
	}
	return c
}

// Describe lists the overrides as topic configs.
func (BasicTopicConfigs) Describe(overrides []controller.ConfigEntry) []DescribedConfig {
	out := make([]DescribedConfig, 0, len(overrides))
	for _, o := range overrides {
		out = append(out, DescribedConfig{Name: o.Name, Value: strp(o.Value), Source: 1})
	}
	return out
}
