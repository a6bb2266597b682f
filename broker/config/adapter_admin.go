package config

import (
	"github.com/takhin-io/takhin/broker"
	"github.com/takhin-io/takhin/controller"
)

// The admin half of the TopicConfigs adapter: dynamic broker configs,
// DescribeConfigs and the alters.

// WithDynamic layers the image's dynamic broker configs over t's broker
// config (see Broker.WithDynamic).
func (t TopicConfigs) WithDynamic(node, cluster []controller.ConfigEntry) broker.TopicConfigs {
	return TopicConfigs{Broker: t.Broker.WithDynamic(overridesMap(node), overridesMap(cluster))}
}

// DescribeTopic is DescribeConfigs' answer for a topic.
func (t TopicConfigs) DescribeTopic(overrides []controller.ConfigEntry) []broker.DescribedConfig {
	return describedOut(DescribeTopic(t.Broker, overridesMap(overrides)))
}

// DescribeBroker is DescribeConfigs' answer for this node or the
// cluster-wide default.
func (t TopicConfigs) DescribeBroker(perBroker bool) []broker.DescribedConfig {
	return describedOut(DescribeBroker(t.Broker, perBroker))
}

// PlanAlter resolves and validates one alter (see PlanAlter).
func (t TopicConfigs) PlanAlter(a broker.ConfigAlter) ([]controller.ConfigEntry, []string, *broker.ConfigError) {
	return PlanAlter(t.Broker, a)
}

func describedOut(ds []Described) []broker.DescribedConfig {
	out := make([]broker.DescribedConfig, 0, len(ds))
	for _, d := range ds {
		c := broker.DescribedConfig{
			Name: d.Row.Name, ReadOnly: d.ReadOnly, Default: d.Source == SourceDefault, Source: int8(d.Source),
			Type: int8(d.Row.Type), Doc: d.Row.Doc,
		}
		if !d.Value.IsNull() {
			s := d.Value.String()
			c.Value = &s
		}
		for _, s := range d.Synonyms {
			c.Synonyms = append(c.Synonyms, broker.DescribedSynonym{Name: s.Name, Value: s.Value, Source: int8(s.Source)})
		}
		out = append(out, c)
	}
	return out
}
