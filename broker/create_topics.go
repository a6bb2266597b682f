package broker

// CreateTopics (key 19), versions 2-7, as Kafka 4.0.1.
//
// Names are validated as Kafka does (legal characters, length, '.'/'..',
// and no collision with an existing topic differing only by '.' vs '_').
// NumPartitions -1 means num.partitions; ReplicationFactor -1 or 1 is
// accepted, any other is INVALID_REPLICATION_FACTOR (one node). An explicit
// assignment must give every partition exactly this node, else
// INVALID_REPLICA_ASSIGNMENT. Configs are checked by the config table
// (INVALID_CONFIG with its message; a null value is INVALID_CONFIG too,
// as in Kafka). ValidateOnly checks without creating.
// v5+ responses carry the topic's configs, partition count and replication
// factor; v7 the topic ID. Duplicate names in one request get
// INVALID_REQUEST. Not implemented: CreateTopicPolicy; throttling.

import (
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/controller"
)

func handleCreateTopics(b *Broker, r *request) {
	req := r.kreq.(*kmsg.CreateTopicsRequest)
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	resp.Topics = make([]kmsg.CreateTopicsResponseTopic, len(req.Topics))
	seen := map[string]int{}
	for _, t := range req.Topics {
		seen[t.Topic]++
	}
	g := &gather{finish: func() { b.respond(r, resp) }}
	g.add()
	for i, t := range req.Topics {
		out := &resp.Topics[i]
		*out = kmsg.NewCreateTopicsResponseTopic()
		out.Topic = t.Topic
		if seen[t.Topic] > 1 {
			out.ErrorCode, out.ErrorMessage = kerr.InvalidRequest.Code, strp("the topic is named more than once in the request")
			continue
		}
		change, code, msg := b.checkCreateTopic(t, req.ValidateOnly)
		if code != 0 {
			out.ErrorCode, out.ErrorMessage = code, strp(msg)
			continue
		}
		g.add()
		b.propose(r, change, func(rep controller.Reply) {
			b.fillCreated(r.hdr.APIVersion, out, change, rep)
			g.doneOne()
		})
	}
	g.doneOne()
}

// checkCreateTopic validates one topic and returns the change to propose.
func (b *Broker) checkCreateTopic(t kmsg.CreateTopicsRequestTopic, validateOnly bool) (controller.CreateTopic, int16, string) {
	if msg, ok := validTopicName(t.Topic); !ok {
		return controller.CreateTopic{}, kerr.InvalidTopicException.Code, msg
	}
	if internalTopic(t.Topic) {
		return controller.CreateTopic{}, kerr.InvalidRequest.Code, "internal topics are created by the broker"
	}
	if b.image != nil {
		for _, other := range b.image.Topics() {
			if other.Name != t.Topic && collisionName(other.Name) == collisionName(t.Topic) {
				return controller.CreateTopic{}, kerr.InvalidTopicException.Code,
					"the name collides with topic " + other.Name + " ('.' and '_' collide)"
			}
		}
	}
	partitions := t.NumPartitions
	if len(t.ReplicaAssignment) > 0 {
		if t.NumPartitions != -1 || t.ReplicationFactor != -1 {
			return controller.CreateTopic{}, kerr.InvalidRequest.Code, "both a replica assignment and a partition count or replication factor"
		}
		for i, a := range t.ReplicaAssignment {
			if a.Partition != int32(i) || len(a.Replicas) != 1 || a.Replicas[0] != b.cfg.NodeID {
				return controller.CreateTopic{}, kerr.InvalidReplicaAssignment.Code, "every partition must be assigned to this single node, in order"
			}
		}
		partitions = int32(len(t.ReplicaAssignment))
	}
	if partitions == -1 {
		partitions = b.cfg.NumPartitions
	}
	if partitions <= 0 {
		return controller.CreateTopic{}, kerr.InvalidPartitions.Code, "the partition count must be positive"
	}
	if t.ReplicationFactor != -1 && t.ReplicationFactor != 1 && len(t.ReplicaAssignment) == 0 {
		return controller.CreateTopic{}, kerr.InvalidReplicationFactor.Code, "replication factor larger than the 1 available broker"
	}
	configs := make([]controller.ConfigEntry, 0, len(t.Configs))
	var nulls []string
	for _, c := range t.Configs {
		if c.Value == nil {
			nulls = append(nulls, c.Name)
			continue
		}
		configs = append(configs, controller.ConfigEntry{Name: c.Name, Value: *c.Value})
	}
	if len(nulls) > 0 {
		return controller.CreateTopic{}, kerr.InvalidConfig.Code, "Null value not supported for topic configs: " + strings.Join(nulls, ",")
	}
	if err := b.cfg.Topics.Check(configs); err != nil {
		return controller.CreateTopic{}, kerr.InvalidConfig.Code, err.Error()
	}
	return controller.CreateTopic{Name: t.Topic, Partitions: partitions, Configs: configs, ValidateOnly: validateOnly}, 0, ""
}

// fillCreated completes one topic's answer from the controller's reply.
func (b *Broker) fillCreated(version int16, out *kmsg.CreateTopicsResponseTopic, ch controller.CreateTopic, rep controller.Reply) {
	if rep.Err != nil {
		out.ErrorCode, out.ErrorMessage = controllerCode(rep.Err), strp(rep.Err.Error())
		return
	}
	out.TopicID = rep.TopicID
	if version < 5 {
		return
	}
	out.NumPartitions, out.ReplicationFactor = ch.Partitions, 1
	for _, c := range b.dynamicTopics().Describe(ch.Configs) {
		rc := kmsg.NewCreateTopicsResponseTopicConfig()
		rc.Name, rc.Value, rc.ReadOnly, rc.Source, rc.IsSensitive = c.Name, c.Value, c.ReadOnly, c.Source, c.Sensitive
		out.Configs = append(out.Configs, rc)
	}
}
