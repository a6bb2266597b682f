// These tests pin that a broker config the node does not act on is
// refused at start-up rather than accepted and ignored: a
// default.replication.factor above one (topics would get one replica
// where Kafka refuses to create them). delete.topic.enable=false is
// honoured (DeleteTopics refuses), so it loads.
package config

import (
	"errors"
	"strings"
	"testing"
)

func TestUnimplementedBrokerValuesRefused(t *testing.T) {
	for _, c := range []struct {
		name, value, msg string
	}{
		{"default.replication.factor", "3", "every topic has one replica"},
		{"default.replication.factor", "0", "every topic has one replica"},
		// 0 was read as Takhin's "no limit", "10 minutes" and "60 s".
		{"max.connections", "0", "no client connection is ever accepted"},
		{"connections.max.idle.ms", "0", "closed as soon as it is idle"},
		{"log.flush.offset.checkpoint.interval.ms", "0", "checkpointed once"},
	} {
		_, err := LoadBroker(nil, map[string]string{"node.id": "1", c.name: c.value})
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s=%s: %v, want ErrUnsupported containing %q", c.name, c.value, err, c.msg)
		}
	}
	if _, err := LoadBroker(nil, map[string]string{"node.id": "1", "delete.topic.enable": "true", "default.replication.factor": "1"}); err != nil {
		t.Errorf("the defaults, given explicitly: %v", err)
	}
	if b, err := LoadBroker(nil, map[string]string{"node.id": "1", "delete.topic.enable": "false"}); err != nil || b.DeleteTopicEnable {
		t.Errorf("delete.topic.enable=false: %v, DeleteTopicEnable %v", err, b != nil && b.DeleteTopicEnable)
	}
}
