package broker

// What DescribeConfigs, AlterConfigs and IncrementalAlterConfigs share:
// the topic configs resolved over the image's dynamic broker configs, and
// the checks of a resource's type and name, with Kafka 4.0's codes and
// messages (ConfigHelper for describes, ConfigAdminManager and
// ConfigurationControlManager for alters).

import (
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/controller"
)

// dynamicTopics is the topic configs resolved over the current image's
// dynamic broker configs (this node's, then the cluster-wide default).
func (b *Broker) dynamicTopics() TopicConfigs {
	if b.image == nil {
		return b.cfg.Topics
	}
	node, cluster := b.image.BrokerConfigs(b.cfg.NodeID), b.image.BrokerConfigs(controller.ClusterDefault)
	if len(node) == 0 && len(cluster) == 0 {
		return b.cfg.Topics
	}
	return b.cfg.Topics.WithDynamic(node, cluster)
}

// configTarget is a checked config resource.
type configTarget struct {
	resource  controller.ConfigResource
	perBroker bool             // a broker resource naming this node
	topic     controller.Topic // a topic resource's topic
}

// resourceError is a refused resource: a Kafka code and message.
type resourceError struct {
	code int16
	msg  string
}

func refused(code int16, format string, args ...any) *resourceError {
	return &resourceError{code: code, msg: fmt.Sprintf(format, args...)}
}

// describeTarget checks a DescribeConfigs resource as Kafka's
// ConfigHelper does.
func (b *Broker) describeTarget(typ kmsg.ConfigResourceType, name string) (configTarget, *resourceError) {
	switch typ {
	case kmsg.ConfigResourceTypeTopic:
		return b.topicTarget(name, false)
	case kmsg.ConfigResourceTypeBroker:
		if name == "" {
			return configTarget{resource: controller.ConfigResource{Type: controller.ResourceBroker}}, nil
		}
		id, err := strconv.ParseInt(name, 10, 32)
		if err != nil {
			return configTarget{}, refused(kerr.InvalidRequest.Code, "Broker id must be an integer, but it is: %s", name)
		}
		if int32(id) != b.cfg.NodeID {
			return configTarget{}, refused(kerr.InvalidRequest.Code,
				"Unexpected broker id, expected %d or empty string, but received %s", b.cfg.NodeID, name)
		}
		return configTarget{resource: controller.ConfigResource{Type: controller.ResourceBroker, Name: name}, perBroker: true}, nil
	case kmsg.ConfigResourceTypeBrokerLogger:
		return configTarget{}, b.brokerLoggerRefusal(name)
	}
	return configTarget{}, refused(kerr.InvalidRequest.Code, "Unsupported resource type: %s", typ)
}

// alterTarget checks an alter's resource as ConfigAdminManager (brokers)
// and ConfigurationControlManager (topics) do. Internal topics are
// refused: their configs are the broker's.
func (b *Broker) alterTarget(typ kmsg.ConfigResourceType, name string, incremental bool) (configTarget, *resourceError) {
	switch {
	case typ == kmsg.ConfigResourceTypeTopic:
		if name == "" {
			return configTarget{}, refused(kerr.InvalidRequest.Code, "Default topic resources are not allowed.")
		}
		return b.topicTarget(name, true)
	case typ == kmsg.ConfigResourceTypeBroker:
		if name == "" {
			return configTarget{resource: controller.ConfigResource{Type: controller.ResourceBroker}}, nil
		}
		id, err := strconv.ParseInt(name, 10, 32)
		if err != nil {
			return configTarget{}, refused(kerr.InvalidRequest.Code, "Node id must be an integer, but it is: %s", name)
		}
		if int32(id) != b.cfg.NodeID {
			return configTarget{}, refused(kerr.InvalidRequest.Code, "Unexpected broker id, expected %d, but received %s", b.cfg.NodeID, name)
		}
		return configTarget{resource: controller.ConfigResource{Type: controller.ResourceBroker, Name: name}, perBroker: true}, nil
	case typ == kmsg.ConfigResourceTypeBrokerLogger && incremental:
		return configTarget{}, b.brokerLoggerRefusal(name)
	}
	return configTarget{}, refused(kerr.InvalidRequest.Code, "Unknown resource type %d", int8(typ))
}

// topicTarget checks a topic resource: a legal name of an existing topic
// (and, for an alter, not an internal one).
func (b *Broker) topicTarget(name string, alter bool) (configTarget, *resourceError) {
	if msg, ok := validTopicName(name); !ok {
		return configTarget{}, refused(kerr.InvalidTopicException.Code, "%s", msg)
	}
	t, ok := b.topic(name)
	if !ok {
		return configTarget{}, refused(kerr.UnknownTopicOrPartition.Code, "The topic '%s' does not exist.", name)
	}
	if alter && internalTopic(name) {
		return configTarget{}, refused(kerr.InvalidRequest.Code,
			"the configs of internal topic %s are the broker's (offsets.topic.*); they cannot be altered", name)
	}
	return configTarget{resource: controller.ConfigResource{Type: controller.ResourceTopic, Name: name}, topic: t}, nil
}

// brokerLoggerRefusal checks a BROKER_LOGGER resource's name as Kafka
// does, then refuses it: Takhin's logging is not log4j, and its level is
// set at start-up (takhin serve --log-level), not through Kafka's API.
func (b *Broker) brokerLoggerRefusal(name string) *resourceError {
	if name == "" {
		return refused(kerr.InvalidRequest.Code, "Broker id must not be empty")
	}
	if id, err := strconv.ParseInt(name, 10, 32); err != nil || int32(id) != b.cfg.NodeID {
		return refused(kerr.InvalidRequest.Code, "Unexpected broker id, expected %d but received %s", b.cfg.NodeID, name)
	}
	return refused(kerr.InvalidRequest.Code, "BROKER_LOGGER resources are not supported by Takhin: its loggers are not log4j's")
}

// currentConfigs is a checked resource's dynamic configs in the image.
func (b *Broker) currentConfigs(t configTarget) []controller.ConfigEntry {
	switch {
	case t.resource.Type == controller.ResourceTopic:
		return t.topic.Configs
	case b.image == nil:
		return nil
	case t.perBroker:
		return b.image.BrokerConfigs(b.cfg.NodeID)
	}
	return b.image.BrokerConfigs(controller.ClusterDefault)
}

// alterResource is one resource of either alter API, in one shape.
type alterResource struct {
	typ  kmsg.ConfigResourceType
	name string
	ops  []ConfigOp
}

// alterResources checks, plans and proposes each resource of an alter
// request, calling answer with each resource's code and message (nil on
// success) and finish once all are answered. A resource named twice is
// refused both times, as Kafka does. A change is answered after the
// controller has synced it; validateOnly checks everything and writes
// nothing.
func (b *Broker) alterResources(r *request, rs []alterResource, incremental, validateOnly bool,
	answer func(i int, code int16, msg *string), finish func()) {
	type key struct {
		typ  kmsg.ConfigResourceType
		name string
	}
	seen := map[key]int{}
	for _, res := range rs {
		seen[key{res.typ, res.name}]++
	}
	g := &gather{finish: finish}
	g.add()
	for i, res := range rs {
		if seen[key{res.typ, res.name}] > 1 {
			answer(i, kerr.InvalidRequest.Code, strp("Each resource must appear at most once."))
			continue
		}
		change, rerr := b.planAlter(res, incremental, validateOnly)
		if rerr != nil {
			answer(i, rerr.code, strp(rerr.msg))
			continue
		}
		g.add()
		b.propose(r, change, func(rep controller.Reply) {
			if rep.Err != nil {
				answer(i, controllerCode(rep.Err), strp(rep.Err.Error()))
			} else {
				answer(i, 0, nil)
			}
			g.doneOne()
		})
	}
	g.doneOne()
}

// planAlter turns one resource into the controller's change.
func (b *Broker) planAlter(res alterResource, incremental, validateOnly bool) (controller.AlterConfigs, *resourceError) {
	target, rerr := b.alterTarget(res.typ, res.name, incremental)
	if rerr != nil {
		return controller.AlterConfigs{}, rerr
	}
	set, deleted, cerr := b.dynamicTopics().PlanAlter(ConfigAlter{
		Broker: target.resource.Type == controller.ResourceBroker, PerBroker: target.perBroker,
		Current: b.currentConfigs(target), Ops: res.ops, Replace: !incremental,
	})
	if cerr != nil {
		return controller.AlterConfigs{}, refused(cerr.Code, "%s", cerr.Message)
	}
	return controller.AlterConfigs{Resource: target.resource, Set: set, Delete: deleted, ValidateOnly: validateOnly}, nil
}
