package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/broker"
	"github.com/takhin-io/takhin/controller"
)

// PlanAlter resolves one resource of an AlterConfigs or
// IncrementalAlterConfigs request into the controller's Set and Delete
// lists (see broker.TopicConfigs.PlanAlter), as Kafka 4.0 does:
//
//   - a name given twice, or a null value outside DELETE, is
//     INVALID_REQUEST (ConfigAdminManager's preprocessing);
//   - APPEND and SUBTRACT apply only to LIST configs (else INVALID_CONFIG),
//     starting from the resource's own value or the config's default, and
//     leave a list without duplicates added or every copy subtracted, as
//     ConfigurationControlManager does;
//   - the legacy AlterConfigs replaces the resource's configs whole;
//   - a topic's resulting configs are validated together (LogConfig):
//     every refusal is INVALID_CONFIG, an unknown name "Unknown topic
//     config name: x";
//   - a broker's set configs must be dynamic and valid, and every refusal
//     is INVALID_REQUEST, as Kafka answers its broker-side validation
//     (ConfigAdminManager, KAFKA-13609: "Cannot update these configs
//     dynamically: Set(x)"). Unlike Kafka, which stores broker config
//     names it does not know, Takhin refuses them.
//
// Names deleted but never set are dropped, and so are values set to what
// they already are: an alter that changes nothing proposes nothing.
func PlanAlter(b *Broker, a broker.ConfigAlter) ([]controller.ConfigEntry, []string, *broker.ConfigError) {
	if err := checkOps(a.Ops); err != nil {
		return nil, nil, err
	}
	current := make(map[string]string, len(a.Current))
	for _, c := range a.Current {
		current[c.Name] = c.Value
	}
	table := Topics
	if a.Broker {
		table = Brokers
	}
	next, err := applyOps(table, current, a.Ops, a.Replace)
	if err != nil {
		return nil, nil, err
	}
	set, deleted := diffConfigs(current, next)
	if a.Broker {
		err = checkBrokerAlter(b, a.PerBroker, set, next)
	} else {
		err = checkTopicAlter(b, set, next)
	}
	if err != nil {
		return nil, nil, err
	}
	return set, deleted, nil
}

func refuse(code int16, format string, args ...any) *broker.ConfigError {
	return &broker.ConfigError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// checkOps refuses duplicate names, null values outside DELETE and
// unknown operations.
func checkOps(ops []broker.ConfigOp) *broker.ConfigError {
	seen := make(map[string]bool, len(ops))
	var nulls []string
	for _, op := range ops {
		if seen[op.Name] {
			return refuse(kerr.InvalidRequest.Code, "Error due to duplicate config keys")
		}
		seen[op.Name] = true
		if op.Op < int8(kmsg.IncrementalAlterConfigOpSet) || op.Op > int8(kmsg.IncrementalAlterConfigOpSubtract) {
			return refuse(kerr.InvalidRequest.Code, "Unknown alter config operation type %d", op.Op)
		}
		if op.Op != int8(kmsg.IncrementalAlterConfigOpDelete) && op.Value == nil {
			nulls = append(nulls, op.Name)
		}
	}
	if len(nulls) > 0 {
		return refuse(kerr.InvalidRequest.Code, "Null value not supported for : %s", strings.Join(nulls, ", "))
	}
	return nil
}

// applyOps returns the resource's configs after ops.
func applyOps(t *Table, current map[string]string, ops []broker.ConfigOp, replace bool) (map[string]string, *broker.ConfigError) {
	next := maps.Clone(current)
	if replace {
		next = make(map[string]string, len(ops))
	}
	for _, op := range ops {
		switch kmsg.IncrementalAlterConfigOp(op.Op) {
		case kmsg.IncrementalAlterConfigOpSet:
			next[op.Name] = *op.Value
		case kmsg.IncrementalAlterConfigOpDelete:
			delete(next, op.Name)
		default: // APPEND, SUBTRACT
			row, ok := t.Lookup(op.Name)
			if !ok || row.Type != kmsg.ConfigTypeList {
				return nil, refuse(kerr.InvalidConfig.Code, "Can't %s to key %s because its type is not LIST.",
					opName(op.Op), op.Name)
			}
			next[op.Name] = appendOrSubtract(row, next, *op.Value, op.Op == int8(kmsg.IncrementalAlterConfigOpAppend))
		}
	}
	return next, nil
}

func opName(op int8) string {
	if op == int8(kmsg.IncrementalAlterConfigOpAppend) {
		return "APPEND"
	}
	return "SUBTRACT"
}

// appendOrSubtract is Kafka's list arithmetic: the resource's own value,
// or else the config's default, split on commas; APPEND adds the items
// not there yet, SUBTRACT removes every copy of the given items.
func appendOrSubtract(row Row, configs map[string]string, value string, appending bool) string {
	base, ok := configs[row.Name]
	if !ok && !row.NoDefault {
		base = row.Default
	}
	items, given := splitList(base), splitList(value)
	if appending {
		for _, item := range given {
			if !slices.Contains(items, item) {
				items = append(items, item)
			}
		}
	} else {
		items = slices.DeleteFunc(items, func(item string) bool { return slices.Contains(given, item) })
	}
	return strings.Join(items, ",")
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// diffConfigs returns what turns current into next: the set (added or
// changed) and the deleted names, both sorted.
func diffConfigs(current, next map[string]string) ([]controller.ConfigEntry, []string) {
	var set []controller.ConfigEntry
	for _, name := range slices.Sorted(maps.Keys(next)) {
		if old, ok := current[name]; !ok || old != next[name] {
			set = append(set, controller.ConfigEntry{Name: name, Value: next[name]})
		}
	}
	var deleted []string
	for _, name := range slices.Sorted(maps.Keys(current)) {
		if _, ok := next[name]; !ok {
			deleted = append(deleted, name)
		}
	}
	return set, deleted
}

// checkTopicAlter validates a topic's resulting configs (next) as
// LogConfig.validate does, first naming an unknown config being set.
func checkTopicAlter(b *Broker, set []controller.ConfigEntry, next map[string]string) *broker.ConfigError {
	for _, c := range set {
		if _, ok := Topics.Lookup(c.Name); !ok {
			return refuse(kerr.InvalidConfig.Code, "Unknown topic config name: %s", c.Name)
		}
	}
	if err := ValidateTopicConfigs(next); err != nil {
		return refuse(kerr.InvalidConfig.Code, "%s", err.Error())
	}
	if _, err := TopicConfig(b, next); err != nil {
		return refuse(kerr.InvalidConfig.Code, "%s", err.Error())
	}
	return nil
}

// checkBrokerAlter validates a broker resource's set configs: known,
// dynamic, valid and supported, and still resolving every topic default
// once layered where they go (this node's layer when perBroker, else the
// cluster-wide default's). Every refusal is INVALID_REQUEST, as Kafka's.
func checkBrokerAlter(b *Broker, perBroker bool, set []controller.ConfigEntry, next map[string]string) *broker.ConfigError {
	var static []string
	for _, c := range set {
		row, ok := Brokers.Lookup(c.Name)
		if !ok || !row.Described() {
			return refuse(kerr.InvalidRequest.Code, "Unknown broker config name: %s", c.Name)
		}
		if !Dynamic(c.Name) {
			static = append(static, c.Name)
		}
	}
	if len(static) > 0 {
		return refuse(kerr.InvalidRequest.Code, "Cannot update these configs dynamically: Set(%s)", strings.Join(static, ", "))
	}
	values := make(map[string]string, len(set))
	for _, c := range set {
		values[c.Name] = c.Value
	}
	if _, err := parseConfigs(Brokers, values, true); err != nil {
		return refuse(kerr.InvalidRequest.Code, "%s", err.Error())
	}
	nb := *b
	if perBroker {
		nb.dynamicNode = parseDynamic(next)
	} else {
		nb.dynamicCluster = parseDynamic(next)
	}
	nb.fill()
	if _, err := TopicConfig(&nb, nil); err != nil {
		return refuse(kerr.InvalidRequest.Code, "%s (the default of every topic)", err.Error())
	}
	return nil
}
