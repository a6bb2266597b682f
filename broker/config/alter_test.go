// These tests pin PlanAlter, the alters' resolution and validation as
// Kafka 4.0 answers them: each op's effect on the Set and Delete lists
// (SET, DELETE, APPEND and SUBTRACT from the resource's value or the
// default, the legacy full replacement, unchanged values dropped), and
// each refusal's code and message (duplicates and nulls INVALID_REQUEST;
// APPEND on a non-list, unknown topic configs, invalid and unsupported
// topic values INVALID_CONFIG; every broker refusal INVALID_REQUEST).
package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/broker"
	"github.com/takhin-io/takhin/controller"
)

func op(kind kmsg.IncrementalAlterConfigOp, name string, value ...string) broker.ConfigOp {
	o := broker.ConfigOp{Name: name, Op: int8(kind)}
	if len(value) > 0 {
		o.Value = &value[0]
	}
	return o
}

func entries(kv ...string) []controller.ConfigEntry {
	var out []controller.ConfigEntry
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, controller.ConfigEntry{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

const (
	opSet      = kmsg.IncrementalAlterConfigOpSet
	opDelete   = kmsg.IncrementalAlterConfigOpDelete
	opAppend   = kmsg.IncrementalAlterConfigOpAppend
	opSubtract = kmsg.IncrementalAlterConfigOpSubtract
)

func TestPlanAlterResolves(t *testing.T) {
	b := mustBroker(t, nil)
	cases := []struct {
		name    string
		alter   broker.ConfigAlter
		set     []controller.ConfigEntry
		deleted []string
	}{
		{"set and delete", broker.ConfigAlter{Current: entries("retention.ms", "1000", "segment.ms", "5000"),
			Ops: []broker.ConfigOp{op(opSet, "retention.ms", "2000"), op(opDelete, "segment.ms")}},
			entries("retention.ms", "2000"), []string{"segment.ms"}},
		{"delete of an unset name changes nothing", broker.ConfigAlter{Ops: []broker.ConfigOp{op(opDelete, "retention.ms"), op(opDelete, "no.such")}},
			nil, nil},
		{"an unchanged value is dropped", broker.ConfigAlter{Current: entries("retention.ms", "1000"),
			Ops: []broker.ConfigOp{op(opSet, "retention.ms", "1000")}}, nil, nil},
		{"append starts from the default", broker.ConfigAlter{
			Ops: []broker.ConfigOp{op(opAppend, "leader.replication.throttled.replicas", "0:1,1:1")}},
			entries("leader.replication.throttled.replicas", "0:1,1:1"), nil},
		{"append adds only what is missing", broker.ConfigAlter{Current: entries("leader.replication.throttled.replicas", "0:1"),
			Ops: []broker.ConfigOp{op(opAppend, "leader.replication.throttled.replicas", "0:1,2:1")}},
			entries("leader.replication.throttled.replicas", "0:1,2:1"), nil},
		{"subtract from the resource's value", broker.ConfigAlter{Current: entries("follower.replication.throttled.replicas", "0:1,1:1,2:1"),
			Ops: []broker.ConfigOp{op(opSubtract, "follower.replication.throttled.replicas", "1:1,9:9")}},
			entries("follower.replication.throttled.replicas", "0:1,2:1"), nil},
		{"subtract from the default delete", broker.ConfigAlter{
			Ops: []broker.ConfigOp{op(opSubtract, "cleanup.policy", "delete")}},
			entries("cleanup.policy", ""), nil},
		{"legacy replace deletes what is not given", broker.ConfigAlter{Replace: true,
			Current: entries("retention.ms", "1000", "segment.ms", "5000"),
			Ops:     []broker.ConfigOp{op(opSet, "retention.bytes", "100"), op(opSet, "retention.ms", "1000")}},
			entries("retention.bytes", "100"), []string{"segment.ms"}},
		{"broker cluster-wide", broker.ConfigAlter{Broker: true,
			Ops: []broker.ConfigOp{op(opSet, "log.retention.ms", "60000"), op(opSet, "message.max.bytes", "2000000")}},
			entries("log.retention.ms", "60000", "message.max.bytes", "2000000"), nil},
		{"broker append to a list", broker.ConfigAlter{Broker: true, PerBroker: true,
			Ops: []broker.ConfigOp{op(opAppend, "log.cleanup.policy", "delete")}}, entries("log.cleanup.policy", "delete"), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gotSet, gotDeleted, err := PlanAlter(b, c.alter)
			if err != nil {
				t.Fatalf("refused: %+v", err)
			}
			if !reflect.DeepEqual(gotSet, c.set) || !reflect.DeepEqual(gotDeleted, c.deleted) {
				t.Fatalf("set %v deleted %v, want %v %v", gotSet, gotDeleted, c.set, c.deleted)
			}
		})
	}
}

func TestPlanAlterRefuses(t *testing.T) {
	b := mustBroker(t, nil)
	topic := func(ops ...broker.ConfigOp) broker.ConfigAlter { return broker.ConfigAlter{Ops: ops} }
	brokerAlter := func(ops ...broker.ConfigOp) broker.ConfigAlter {
		return broker.ConfigAlter{Broker: true, PerBroker: true, Ops: ops}
	}
	invalidConfig, invalidRequest := kerr.InvalidConfig.Code, kerr.InvalidRequest.Code
	cases := []struct {
		name  string
		alter broker.ConfigAlter
		code  int16
		msg   string
	}{
		{"duplicate key", topic(op(opSet, "retention.ms", "1"), op(opDelete, "retention.ms")), invalidRequest, "Error due to duplicate config keys"},
		{"null value", topic(op(opSet, "retention.ms"), op(opSet, "segment.ms")), invalidRequest, "Null value not supported for : retention.ms, segment.ms"},
		{"unknown op", topic(broker.ConfigOp{Name: "retention.ms", Op: 9, Value: new(string)}), invalidRequest, "Unknown alter config operation type 9"},
		{"append to a non-list", topic(op(opAppend, "retention.ms", "1")), invalidConfig, "Can't APPEND to key retention.ms because its type is not LIST."},
		{"subtract from an unknown", topic(op(opSubtract, "no.such", "1")), invalidConfig, "Can't SUBTRACT to key no.such because its type is not LIST."},
		{"unknown topic config", topic(op(opSet, "no.such", "1")), invalidConfig, "Unknown topic config name: no.such"},
		{"invalid value", topic(op(opSet, "retention.ms", "soon")), invalidConfig, `invalid value "soon" for configuration retention.ms`},
		{"out of range", topic(op(opSet, "min.insync.replicas", "0")), invalidConfig, "value must be at least 1"},
		{"unsupported value", topic(op(opSet, "compression.type", "gzip")), invalidConfig, "compression.type=gzip is not supported by Takhin"},
		{"internal knob", topic(op(opSet, "internal.segment.bytes", "1024")), invalidConfig, "internal (test-only)"},
		{"contradicting lags", topic(op(opSet, "min.compaction.lag.ms", "10"), op(opSet, "max.compaction.lag.ms", "5")), invalidConfig, "must not exceed max.compaction.lag.ms"},
		{"read-only broker config", brokerAlter(op(opSet, "node.id", "2"), op(opSet, "log.dirs", "/x")), invalidRequest,
			"Cannot update these configs dynamically: Set(log.dirs, node.id)"},
		{"non-primary synonym", brokerAlter(op(opSet, "log.retention.hours", "1")), invalidRequest,
			"Cannot update these configs dynamically: Set(log.retention.hours)"},
		{"unknown broker config", brokerAlter(op(opSet, "no.such", "1")), invalidRequest, "Unknown broker config name: no.such"},
		{"internal broker knob", brokerAlter(op(opSet, "internal.segment.bytes", "1")), invalidRequest, "Unknown broker config name: internal.segment.bytes"},
		{"invalid broker value", brokerAlter(op(opSet, "message.max.bytes", "big")), invalidRequest, `invalid value "big" for configuration message.max.bytes`},
		{"unsupported broker value", brokerAlter(op(opSet, "compression.type", "zstd")), invalidRequest, "compression.type=zstd is not supported by Takhin"},
		{"an invalid topic default", brokerAlter(op(opSet, "log.cleaner.min.compaction.lag.ms", "9223372036854775807"),
			op(opSet, "log.cleaner.max.compaction.lag.ms", "1")), invalidRequest, "must not exceed max.compaction.lag.ms"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, d, err := PlanAlter(b, c.alter)
			if err == nil {
				t.Fatalf("accepted: set %v deleted %v", s, d)
			}
			if err.Code != c.code || !strings.Contains(err.Message, c.msg) {
				t.Fatalf("refused with %d %q, want %d containing %q", err.Code, err.Message, c.code, c.msg)
			}
		})
	}
}

func TestDynamicBrokerConfigsAreBrokerRows(t *testing.T) {
	for i, name := range dynamicBrokerConfigs {
		row, ok := Brokers.Lookup(name)
		switch {
		case !ok:
			t.Errorf("dynamic %s is not a broker row", name)
		case !row.Described():
			t.Errorf("dynamic %s is internal or removed", name)
		case i > 0 && dynamicBrokerConfigs[i-1] >= name:
			t.Errorf("dynamicBrokerConfigs not sorted at %s", name)
		}
	}
	// Every topic config's primary broker synonym is dynamic in Kafka
	// (DynamicLogConfig.ReconfigurableConfigs), its other synonyms not.
	for _, r := range Topics.Rows() {
		for i, s := range r.Synonyms {
			if r.Described() && Dynamic(s.Name) != (i == 0) {
				t.Errorf("%s: synonym %s dynamic=%v", r.Name, s.Name, Dynamic(s.Name))
			}
		}
	}
}

func mustBroker(t *testing.T, flags map[string]string) *Broker {
	t.Helper()
	all := map[string]string{"node.id": "1"}
	for k, v := range flags {
		all[k] = v
	}
	b, err := LoadBroker(nil, all)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
