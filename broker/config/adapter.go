package config

import (
	"github.com/takhin-io/takhin/broker"
	"github.com/takhin-io/takhin/controller"
)

// TopicConfigs adapts the table to the broker's broker.TopicConfigs: the
// broker sees only what the data path needs, resolved against this
// node's static broker config.
type TopicConfigs struct{ Broker *Broker }

var _ broker.TopicConfigs = TopicConfigs{}

func overridesMap(cs []controller.ConfigEntry) map[string]string {
	m := make(map[string]string, len(cs))
	for _, c := range cs {
		m[c.Name] = c.Value
	}
	return m
}

// Check validates configs given through the admin APIs.
func (t TopicConfigs) Check(configs []controller.ConfigEntry) error {
	return ValidateTopicConfigs(overridesMap(configs))
}

// Effective resolves a topic's overrides (see EffectiveTopic).
func (t TopicConfigs) Effective(overrides []controller.ConfigEntry) broker.TopicConfig {
	r := EffectiveTopic(t.Broker, overridesMap(overrides))
	return broker.TopicConfig{
		// max.message.bytes=0 refuses every batch (MESSAGE_TOO_LARGE), as
		// in Kafka; the validator takes a positive bound, and 1 refuses
		// the same batches, since no batch is shorter than its header.
		MaxMessageBytes: max(r.MaxMessageBytes, 1), LogAppendTime: r.LogAppendTime,
		TimestampBeforeMaxMs: r.TimestampBeforeMaxMs, TimestampAfterMaxMs: r.TimestampAfterMaxMs,
		Compacted: r.Compact, MinInsyncReplicas: r.MinInsyncReplicas,
		RetentionMs: r.RetentionMs, RetentionBytes: r.RetentionBytes,
		SegmentBytes: r.SegmentBytes, SegmentMs: r.SegmentMs, SegmentJitterMs: r.SegmentJitterMs,
		IndexIntervalBytes: r.IndexIntervalBytes,
		DeleteOff:          !r.Delete, CleanerOff: t.Broker != nil && !t.Broker.CleanerEnable,
		DeleteRetentionMs: r.DeleteRetentionMs, MinCompactionLagMs: r.MinCompactionLagMs,
		MaxCompactionLagMs: r.MaxCompactionLagMs, MinCleanableDirtyRatio: r.MinCleanableDirtyRatio,
		FlushMessages: r.FlushMessages,
	}
}

// Describe lists every described topic config with its value and source.
func (t TopicConfigs) Describe(overrides []controller.ConfigEntry) []broker.DescribedConfig {
	r := EffectiveTopic(t.Broker, overridesMap(overrides))
	var out []broker.DescribedConfig
	for _, e := range r.Entries() {
		if !e.Row.Described() {
			continue
		}
		d := broker.DescribedConfig{Name: e.Row.Name, Source: int8(e.Source), Default: e.IsDefault()}
		if !e.Value.IsNull() {
			s := e.Value.String()
			d.Value = &s
		}
		out = append(out, d)
	}
	return out
}
