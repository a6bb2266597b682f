// This test pins the synonyms DescribeConfigs lists for the cluster-wide
// default broker resource (named ""): only the cluster-wide dynamic
// values, as Kafka's ConfigHelper.createBrokerConfigEntry filters them
// when the resource is not a broker's, never the static config or the
// defaults below them.
package config

import (
	"reflect"
	"testing"
)

func TestDescribeClusterDefaultListsOnlyItsSynonyms(t *testing.T) {
	static := mustBroker(t, map[string]string{"log.retention.ms": "86400000"})
	b := static.WithDynamic(map[string]string{"log.retention.ms": "60000"}, map[string]string{"log.retention.ms": "120000"})
	d := described(t, DescribeBroker(b, false), "log.retention.ms")
	want := []SynonymEntry{{Name: "log.retention.ms", Value: "120000", Source: SourceDynamicDefaultBroker}}
	if d.Value.String() != "120000" || d.Source != SourceDynamicDefaultBroker || !reflect.DeepEqual(d.Synonyms, want) {
		t.Errorf("cluster default log.retention.ms %s from %v, synonyms %+v", d.Value, d.Source, d.Synonyms)
	}
	// This node's answer still lists every layer.
	if d := described(t, DescribeBroker(b, true), "log.retention.ms"); len(d.Synonyms) != 4 {
		t.Errorf("node log.retention.ms synonyms %+v", d.Synonyms)
	}
}
