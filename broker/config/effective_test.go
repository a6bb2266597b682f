// These tests pin what a stored topic runs with when the broker's
// defaults change under its overrides: the overrides are kept (Kafka's
// LogConfig.fromProps never refuses them whole), so a topic's
// retention.ms=-1 or cleanup.policy=compact never silently becomes the
// broker's default and deletes its data; an override that no longer
// parses is dropped alone; and dynamic broker defaults that merely
// conflict with the static ones stay layered.
package config

import (
	"testing"

	"github.com/takhin-io/takhin/controller"
)

func TestEffectiveKeepsOverridesUnderChangedDefaults(t *testing.T) {
	// Kafka accepts this cluster-wide default: the topic's own
	// max.compaction.lag.ms is not checked against it (only a topic alter
	// checks the pair).
	b := mustBroker(t, nil).WithDynamic(nil, map[string]string{"log.cleaner.min.compaction.lag.ms": "7200000"})
	overrides := entries("cleanup.policy", "compact", "retention.ms", "-1", "max.compaction.lag.ms", "3600000")
	got := TopicConfigs{Broker: b}.Effective(overrides)
	if got.RetentionMs != -1 || !got.Compacted || !got.DeleteOff ||
		got.MinCompactionLagMs != 7200000 || got.MaxCompactionLagMs != 3600000 {
		t.Errorf("effective %+v: the topic's overrides were dropped", got)
	}
	d := described(t, DescribeTopic(b, overridesMap(overrides)), "retention.ms")
	if d.Value.String() != "-1" || d.Source != SourceTopic || len(d.Synonyms) == 0 || d.Synonyms[0].Source != SourceTopic {
		t.Errorf("described retention.ms %+v", d)
	}
	for _, c := range (TopicConfigs{Broker: b}).Describe(overrides) {
		if c.Name == "cleanup.policy" && (c.Value == nil || *c.Value != "compact") {
			t.Errorf("CreateTopics' describe of cleanup.policy %+v", c)
		}
	}
}

func TestEffectiveDropsOnlyTheOverrideThatNoLongerParses(t *testing.T) {
	b := mustBroker(t, nil)
	got := TopicConfigs{Broker: b}.Effective(entries("retention.ms", "-1", "segment.bytes", "10", "no.such", "1"))
	if got.RetentionMs != -1 || got.SegmentBytes != 1<<30 {
		t.Errorf("effective %+v", got)
	}
}

func TestDynamicDefaultsKeptWhenTheyConflictWithStatic(t *testing.T) {
	static := mustBroker(t, map[string]string{"log.cleaner.max.compaction.lag.ms": "1000"})
	a := TopicConfigs{Broker: static}.WithDynamic(nil, []controller.ConfigEntry{
		{Name: "log.cleaner.min.compaction.lag.ms", Value: "2000"}, {Name: "log.retention.ms", Value: "60000"},
	})
	if got := a.Effective(nil); got.RetentionMs != 60000 || got.MinCompactionLagMs != 2000 || got.MaxCompactionLagMs != 1000 {
		t.Errorf("effective %+v: the dynamic layer was dropped", got)
	}
}
