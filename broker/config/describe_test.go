// These tests pin what DescribeConfigs reports and what the data path
// runs with once dynamic broker configs exist: a topic config's source
// and synonyms in Kafka's order (override, then each broker synonym's
// dynamic-for-this-node, dynamic-default, static and default values), a
// broker's read-only flags and synonym chains, the cluster-wide default
// resource listing only its own configs, and WithDynamic's layering and
// its tolerance of entries that no longer validate.
package config

import (
	"reflect"
	"testing"

	"github.com/takhin-io/takhin/controller"
)

func described(t *testing.T, ds []Described, name string) Described {
	t.Helper()
	for _, d := range ds {
		if d.Row.Name == name {
			return d
		}
	}
	t.Fatalf("%s not described", name)
	return Described{}
}

func TestDescribeTopicSourcesAndSynonyms(t *testing.T) {
	b := mustBroker(t, map[string]string{"log.retention.ms": "3600000"})
	ds := DescribeTopic(b, map[string]string{"retention.ms": "1000"})
	d := described(t, ds, "retention.ms")
	want := []SynonymEntry{
		{Name: "retention.ms", Value: "1000", Source: SourceTopic},
		{Name: "log.retention.ms", Value: "3600000", Source: SourceStaticBroker},
		{Name: "log.retention.hours", Value: "168", Source: SourceDefault},
	}
	if d.Value.String() != "1000" || d.Source != SourceTopic || d.ReadOnly || !reflect.DeepEqual(d.Synonyms, want) {
		t.Errorf("retention.ms %s from %v, synonyms %+v", d.Value, d.Source, d.Synonyms)
	}
	d = described(t, ds, "segment.bytes")
	if d.Value.String() != "1073741824" || d.Source != SourceDefault ||
		!reflect.DeepEqual(d.Synonyms, []SynonymEntry{{Name: "log.segment.bytes", Value: "1073741824", Source: SourceDefault}}) {
		t.Errorf("segment.bytes %s from %v, synonyms %+v", d.Value, d.Source, d.Synonyms)
	}
	if d = described(t, ds, "remote.storage.enable"); d.Source != SourceDefault || len(d.Synonyms) != 0 {
		t.Errorf("remote.storage.enable from %v, synonyms %+v", d.Source, d.Synonyms)
	}
	for _, d := range ds {
		if !d.Row.Described() {
			t.Errorf("%s is described", d.Row.Name)
		}
	}
}

func TestDynamicBrokerConfigsLayer(t *testing.T) {
	static := mustBroker(t, map[string]string{"message.max.bytes": "2000000"})
	b := static.WithDynamic(map[string]string{"message.max.bytes": "4000000"}, map[string]string{
		"message.max.bytes": "3000000", "log.retention.ms": "60000",
		"node.id": "7", "log.retention.hours": "1", "min.insync.replicas": "zero", // not dynamic, not dynamic, invalid: ignored
	})
	d := described(t, DescribeTopic(b, nil), "max.message.bytes")
	want := []SynonymEntry{
		{Name: "message.max.bytes", Value: "4000000", Source: SourceDynamicBroker},
		{Name: "message.max.bytes", Value: "3000000", Source: SourceDynamicDefaultBroker},
		{Name: "message.max.bytes", Value: "2000000", Source: SourceStaticBroker},
		{Name: "message.max.bytes", Value: "1048588", Source: SourceDefault},
	}
	if d.Value.String() != "4000000" || d.Source != SourceDynamicBroker || !reflect.DeepEqual(d.Synonyms, want) {
		t.Errorf("max.message.bytes %s from %v, synonyms %+v", d.Value, d.Source, d.Synonyms)
	}
	got := TopicConfigs{Broker: b}.Effective(nil)
	if got.MaxMessageBytes != 4000000 || got.RetentionMs != 60000 || got.MinInsyncReplicas != 1 {
		t.Errorf("effective %+v", got)
	}
	if b.NodeID != 1 || static.dynamicCluster != nil {
		t.Errorf("node.id %d, static layers %v", b.NodeID, static.dynamicCluster)
	}
	// The adapter's form, as the broker calls it with the image's lists.
	a := TopicConfigs{Broker: static}.WithDynamic(nil, []controller.ConfigEntry{{Name: "min.insync.replicas", Value: "2"}})
	if got := a.Effective(nil); got.MinInsyncReplicas != 2 || got.MaxMessageBytes != 2000000 {
		t.Errorf("adapter effective %+v", got)
	}
}

func TestDescribeBroker(t *testing.T) {
	static := mustBroker(t, map[string]string{"log.retention.hours": "24"})
	b := static.WithDynamic(map[string]string{"log.retention.ms": "60000"}, map[string]string{"log.retention.ms": "120000", "num.io.threads": "4"})
	ds := DescribeBroker(b, true)
	if d := described(t, ds, "node.id"); !d.ReadOnly || d.Value.String() != "1" || d.Source != SourceStaticBroker {
		t.Errorf("node.id %+v", d)
	}
	d := described(t, ds, "log.retention.ms")
	want := []SynonymEntry{
		{Name: "log.retention.ms", Value: "60000", Source: SourceDynamicBroker},
		{Name: "log.retention.ms", Value: "120000", Source: SourceDynamicDefaultBroker},
		{Name: "log.retention.hours", Value: "24", Source: SourceStaticBroker},
		{Name: "log.retention.hours", Value: "168", Source: SourceDefault},
	}
	if d.ReadOnly || d.Value.String() != "60000" || d.Source != SourceDynamicBroker || !reflect.DeepEqual(d.Synonyms, want) {
		t.Errorf("log.retention.ms %+v", d)
	}
	d = described(t, ds, "log.retention.hours")
	if !d.ReadOnly || d.Source != SourceStaticBroker || len(d.Synonyms) != 2 || d.Synonyms[0].Name != "log.retention.hours" {
		t.Errorf("log.retention.hours %+v", d)
	}
	cluster := DescribeBroker(b, false)
	if len(cluster) != 2 || cluster[0].Row.Name != "log.retention.ms" || cluster[1].Row.Name != "num.io.threads" {
		t.Fatalf("cluster default lists %+v", cluster)
	}
	if d := cluster[0]; d.Value.String() != "120000" || d.Source != SourceDynamicDefaultBroker || d.Synonyms[0].Value != "120000" {
		t.Errorf("cluster log.retention.ms %+v", d)
	}
	if len(DescribeBroker(static, false)) != 0 {
		t.Error("a cluster without dynamic defaults lists some")
	}
}
