// These tests pin that a broker config the node does not act on is
// refused at start-up rather than accepted and ignored:
// delete.topic.enable=false (DeleteTopics would still delete) and a
// default.replication.factor above one (topics would get one replica
// where Kafka refuses to create them).
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
		{"delete.topic.enable", "false", "TOPIC_DELETION_DISABLED) is not implemented yet"},
		{"default.replication.factor", "3", "every topic has one replica"},
		{"default.replication.factor", "0", "every topic has one replica"},
	} {
		_, err := LoadBroker(nil, map[string]string{"node.id": "1", c.name: c.value})
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s=%s: %v, want ErrUnsupported containing %q", c.name, c.value, err, c.msg)
		}
	}
	if _, err := LoadBroker(nil, map[string]string{"node.id": "1", "delete.topic.enable": "true", "default.replication.factor": "1"}); err != nil {
		t.Errorf("the defaults, given explicitly: %v", err)
	}
}
