package broker

// DescribeConfigs (key 32), versions 1-4: Kafka 4.0.1 (which removed v0,
// KIP-896) ∩ kmsg v1.15.1 (0-4).
//
// TOPIC: every topic config with its effective value and source
// (DYNAMIC_TOPIC_CONFIG for an override, DYNAMIC_BROKER_CONFIG /
// DYNAMIC_DEFAULT_BROKER_CONFIG / STATIC_BROKER_CONFIG for a broker
// synonym, DEFAULT_CONFIG), never read-only; an unknown topic is
// UNKNOWN_TOPIC_OR_PARTITION, an illegal name INVALID_TOPIC_EXCEPTION.
// BROKER: this node's id lists every broker config the table describes
// with its effective value, read-only unless dynamically updatable; ""
// lists only the cluster-wide dynamic defaults, as Kafka does; another id
// is INVALID_REQUEST ("Unexpected broker id, ..."). Synonyms (v1+
// IncludeSynonyms) follow Kafka's order: the topic override, then each
// broker synonym's dynamic-for-this-node, dynamic-default, static and
// default values. Documentation (v3+ IncludeDocumentation) is the table's
// one line; ConfigType (v3+) its type. ConfigNames filters (null or empty:
// all; unknown names are left out). Nothing is sensitive (Takhin has no
// password configs).
//
// Not implemented: BROKER_LOGGER (INVALID_REQUEST after Kafka's id
// checks: Takhin's loggers are not log4j's), CLIENT_METRICS and GROUP
// resources (INVALID_REQUEST "Unsupported resource type"); authorization.

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/controller"
)

func handleDescribeConfigs(b *Broker, r *request) {
	req := r.kreq.(*kmsg.DescribeConfigsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	topics := b.dynamicTopics()
	for _, res := range req.Resources {
		out := kmsg.NewDescribeConfigsResponseResource()
		out.ResourceType, out.ResourceName = res.ResourceType, res.ResourceName
		target, rerr := b.describeTarget(res.ResourceType, res.ResourceName)
		if rerr != nil {
			out.ErrorCode, out.ErrorMessage = rerr.code, strp(rerr.msg)
			resp.Resources = append(resp.Resources, out)
			continue
		}
		var described []DescribedConfig
		if target.resource.Type == controller.ResourceTopic {
			described = topics.DescribeTopic(target.topic.Configs)
		} else {
			described = topics.DescribeBroker(target.perBroker)
		}
		for _, d := range described {
			if len(res.ConfigNames) > 0 && !slices.Contains(res.ConfigNames, d.Name) {
				continue
			}
			out.Configs = append(out.Configs, describedConfig(d, req.IncludeSynonyms, req.IncludeDocumentation))
		}
		resp.Resources = append(resp.Resources, out)
	}
	b.respond(r, resp)
}

// describedConfig renders one config, with synonyms and documentation
// only when asked for.
func describedConfig(d DescribedConfig, synonyms, documentation bool) kmsg.DescribeConfigsResponseResourceConfig {
	c := kmsg.NewDescribeConfigsResponseResourceConfig()
	c.Name, c.Value, c.ReadOnly, c.IsDefault = d.Name, d.Value, d.ReadOnly, d.Default
	c.Source, c.IsSensitive, c.ConfigType = kmsg.ConfigSource(d.Source), d.Sensitive, kmsg.ConfigType(d.Type)
	if documentation {
		c.Documentation = strp(d.Doc)
	}
	if synonyms {
		for _, s := range d.Synonyms {
			cs := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
			cs.Name, cs.Value, cs.Source = s.Name, strp(s.Value), kmsg.ConfigSource(s.Source)
			c.ConfigSynonyms = append(c.ConfigSynonyms, cs)
		}
	}
	return c
}
