package config

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Described is one config as DescribeConfigs reports it.
type Described struct {
	Row      Row
	Value    Value // null: no value (Kafka's null)
	Source   kmsg.ConfigSource
	ReadOnly bool
	// Synonyms are every value the config could take, highest precedence
	// first (Kafka's include_synonyms).
	Synonyms []SynonymEntry
}

// layer is one source of broker values, in Kafka's precedence.
type layer struct {
	source kmsg.ConfigSource
	values func(name string) (Value, bool)
}

// layers are b's sources of broker values, highest precedence first:
// this node's dynamic configs (only when perBroker), the cluster-wide
// dynamic default, the static config, the table's defaults.
func (b *Broker) layers(perBroker bool) []layer {
	lookup := func(m map[string]Value) func(string) (Value, bool) {
		return func(name string) (Value, bool) { v, ok := m[name]; return v, ok }
	}
	var out []layer
	if perBroker {
		out = append(out, layer{SourceDynamicBroker, lookup(b.dynamicNode)})
	}
	return append(out,
		layer{SourceDynamicDefaultBroker, lookup(b.dynamicCluster)},
		layer{SourceStaticBroker, lookup(b.static)},
		layer{SourceDefault, func(name string) (Value, bool) {
			row, _ := Brokers.Lookup(name)
			v := defaultValue(row)
			return v, !v.IsNull()
		}})
}

// brokerSynonyms lists, layer by layer and within a layer in names'
// order, every broker value of names: Kafka's configSynonyms.
func (b *Broker) brokerSynonyms(names []string, perBroker bool) []SynonymEntry {
	var out []SynonymEntry
	for _, l := range b.layers(perBroker) {
		for _, name := range names {
			if v, ok := l.values(name); ok {
				out = append(out, SynonymEntry{Name: name, Value: v.String(), Source: l.source})
			}
		}
	}
	return out
}

// DescribeTopic lists every described topic config of a topic with these
// overrides, resolved against b (its dynamic layers included): the value,
// its source, and as synonyms the override then every broker synonym's
// value in Kafka's order (dynamic for this node, dynamic default, static,
// default). The overrides resolve as EffectiveTopic resolves them.
func DescribeTopic(b *Broker, overrides map[string]string) []Described {
	r := EffectiveTopic(b, overrides)
	var out []Described
	for _, e := range r.Entries() {
		if !e.Row.Described() {
			continue
		}
		d := Described{Row: e.Row, Value: e.Value, Source: e.Source}
		if e.Source == SourceTopic {
			d.Synonyms = append(d.Synonyms, SynonymEntry{Name: e.Row.Name, Value: e.Value.String(), Source: SourceTopic})
		}
		names := make([]string, len(e.Row.Synonyms))
		for i, s := range e.Row.Synonyms {
			names[i] = s.Name
		}
		d.Synonyms = append(d.Synonyms, b.brokerSynonyms(names, true)...)
		out = append(out, d)
	}
	return out
}

// DescribeBroker lists the broker configs of this node (perBroker: every
// described config with its effective value) or of the cluster-wide
// default (only the configs set there, as Kafka answers the resource
// named ""). Synonyms follow Kafka's brokerConfigSynonyms chains
// (log.retention.{ms,minutes,hours} and the like), starting at the
// config itself; without perBroker, only the cluster-wide dynamic values
// are listed, as Kafka's createBrokerConfigEntry filters them.
func DescribeBroker(b *Broker, perBroker bool) []Described {
	var out []Described
	for _, row := range Brokers.rows {
		if !row.Described() {
			continue
		}
		d := Described{Row: row, ReadOnly: !Dynamic(row.Name), Source: SourceDefault}
		if perBroker {
			d.Value, _ = b.value(row.Name)
		} else {
			v, ok := b.dynamicCluster[row.Name]
			if !ok {
				continue
			}
			d.Value = v
		}
		syns := b.brokerSynonyms(brokerChain(row.Name), perBroker)
		if !perBroker {
			syns = slices.DeleteFunc(syns, func(s SynonymEntry) bool { return s.Source != SourceDynamicDefaultBroker })
		}
		if i := slices.IndexFunc(syns, func(s SynonymEntry) bool { return s.Name == row.Name }); i >= 0 {
			d.Synonyms = syns[i:]
			d.Source = d.Synonyms[0].Source
		}
		out = append(out, d)
	}
	return out
}

// brokerChain is Kafka's DynamicBrokerConfig.brokerConfigSynonyms: the
// broker configs that stand in for one another, highest precedence
// first.
func brokerChain(name string) []string {
	chains := [][]string{
		{"log.roll.ms", "log.roll.hours"},
		{"log.roll.jitter.ms", "log.roll.jitter.hours"},
		{"log.retention.ms", "log.retention.minutes", "log.retention.hours"},
	}
	for _, c := range chains {
		if slices.Contains(c, name) {
			return c
		}
	}
	if name == "log.flush.interval.ms" {
		return []string{"log.flush.interval.ms", "log.flush.scheduler.interval.ms"}
	}
	return []string{name}
}
