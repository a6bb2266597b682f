package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
	"gopkg.in/yaml.v3"

	"github.com/takhin-io/takhin/internal/assert"
)

// Broker is the node's static broker config, resolved: the YAML file's
// values, overridden by flags, over Kafka's defaults. The typed fields are
// the broker configs the node honours; Entry and Entries describe every
// broker config, and TopicConfig resolves topic configs against it.
// Immutable once loaded.
type Broker struct {
	NodeID int32 // node.id
	// DataDir is log.dirs when set (one directory), else log.dir.
	DataDir string
	// Listeners is listeners; AdvertisedListeners is
	// advertised.listeners, or listeners when unset.
	Listeners, AdvertisedListeners string

	NumPartitions            int32 // num.partitions
	DefaultReplicationFactor int32 // default.replication.factor
	AutoCreateTopics         bool  // auto.create.topics.enable
	DeleteTopicEnable        bool  // delete.topic.enable

	RetentionCheckIntervalMs int64 // log.retention.check.interval.ms
	CleanerEnable            bool  // log.cleaner.enable: false, no partition compacts
	// RecoveryPointCheckpointIntervalMs is
	// log.flush.offset.checkpoint.interval.ms.
	RecoveryPointCheckpointIntervalMs int64

	SocketRequestMaxBytes int32 // socket.request.max.bytes
	QueuedMaxRequestBytes int64 // queued.max.request.bytes; ≤ 0: no limit
	MaxConnections        int32 // max.connections
	ConnectionsMaxIdleMs  int64 // connections.max.idle.ms
	MessageMaxBytes       int32 // message.max.bytes

	ProducerIDExpirationMs        int64 // producer.id.expiration.ms
	OffsetsTopicNumPartitions     int32 // offsets.topic.num.partitions
	OffsetsTopicReplicationFactor int16 // offsets.topic.replication.factor
	OffsetsTopicSegmentBytes      int32 // offsets.topic.segment.bytes
	OffsetsRetentionMs            int64 // offsets.retention.minutes, in ms
	OffsetsRetentionCheckMs       int64 // offsets.retention.check.interval.ms
	OffsetMetadataMaxBytes        int32 // offset.metadata.max.bytes
	GroupInitialRebalanceDelayMs  int32 // group.initial.rebalance.delay.ms
	GroupMinSessionTimeoutMs      int32 // group.min.session.timeout.ms
	GroupMaxSessionTimeoutMs      int32 // group.max.session.timeout.ms
	GroupMaxSize                  int32 // group.max.size

	// static holds the configs the file or flags set, by name.
	static map[string]Value
	// dynamicNode and dynamicCluster are the metadata image's dynamic
	// broker configs (this node's, then the cluster-wide default), above
	// static (see WithDynamic); nil in the static config itself.
	dynamicNode, dynamicCluster map[string]Value
}

// LoadBroker resolves the static broker config from a YAML file (a
// mapping of Kafka config names to scalar values; nil or empty for none)
// and flags (config name → value), flags winning. Unknown names, values
// that do not parse or are out of range, unsupported values and a missing
// node.id are errors naming the config; so are broker values that would
// give a topic config an invalid default (log.roll.ms=0).
func LoadBroker(fileYAML []byte, flags map[string]string) (*Broker, error) {
	file, lines, err := parseYAML(fileYAML)
	if err != nil {
		return nil, err
	}
	b := &Broker{static: map[string]Value{}}
	if err := b.set(file, "config file", lines); err != nil {
		return nil, err
	}
	if err := b.set(flags, "flags", nil); err != nil {
		return nil, err
	}
	for _, row := range Brokers.rows {
		if _, ok := b.static[row.Name]; row.Required && !ok {
			return nil, &Error{Kind: ErrMissing, Name: row.Name, Reason: "required broker config is not set"}
		}
	}
	b.fill()
	if _, err := TopicConfig(b, nil); err != nil {
		return nil, fmt.Errorf("%w (the default of every topic)", err)
	}
	return b, nil
}

// set parses and checks settings from origin (lines gives the YAML line
// of each name, if any, for errors). The static config may set internal
// knobs.
func (b *Broker) set(settings map[string]string, origin string, lines map[string]int) error {
	parsed, err := parseConfigs(Brokers, settings, false)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && lines[e.Name] != 0 {
			return fmt.Errorf("%w (%s, line %d)", err, origin, lines[e.Name])
		}
		return fmt.Errorf("%w (%s)", err, origin)
	}
	maps.Copy(b.static, parsed)
	return nil
}

// value returns a broker config's value and source: set dynamically for
// this node, else for the cluster, else statically, else its default
// (null when it has none).
func (b *Broker) value(name string) (Value, kmsg.ConfigSource) {
	if v, ok := b.dynamicNode[name]; ok {
		return v, SourceDynamicBroker
	}
	if v, ok := b.dynamicCluster[name]; ok {
		return v, SourceDynamicDefaultBroker
	}
	if v, ok := b.static[name]; ok {
		return v, SourceStaticBroker
	}
	row, ok := Brokers.Lookup(name)
	if !ok {
		assert.Failf("broker config %s has no row", name)
	}
	return defaultValue(row), SourceDefault
}

// fill sets the typed fields.
func (b *Broker) fill() {
	get := func(name string) Value { v, _ := b.value(name); return v }
	b.NodeID = int32(get("node.id").Int())
	b.DataDir = get("log.dir").Str()
	if dirs := get("log.dirs"); !dirs.IsNull() {
		b.DataDir = dirs.Str()
	}
	b.Listeners = get("listeners").Str()
	b.AdvertisedListeners = b.Listeners
	if adv := get("advertised.listeners"); !adv.IsNull() {
		b.AdvertisedListeners = adv.Str()
	}
	b.NumPartitions = int32(get("num.partitions").Int())
	b.DefaultReplicationFactor = int32(get("default.replication.factor").Int())
	b.AutoCreateTopics = get("auto.create.topics.enable").Bool()
	b.DeleteTopicEnable = get("delete.topic.enable").Bool()
	b.RetentionCheckIntervalMs = intervalMs(get("log.retention.check.interval.ms").Int())
	b.CleanerEnable = get("log.cleaner.enable").Bool()
	b.RecoveryPointCheckpointIntervalMs = get("log.flush.offset.checkpoint.interval.ms").Int()
	b.SocketRequestMaxBytes = int32(get("socket.request.max.bytes").Int())
	b.QueuedMaxRequestBytes = get("queued.max.request.bytes").Int()
	b.MaxConnections = int32(get("max.connections").Int())
	b.ConnectionsMaxIdleMs = intervalMs(get("connections.max.idle.ms").Int())
	b.MessageMaxBytes = int32(get("message.max.bytes").Int())
	b.ProducerIDExpirationMs = get("producer.id.expiration.ms").Int()
	b.OffsetsTopicNumPartitions = int32(get("offsets.topic.num.partitions").Int())
	b.OffsetsTopicReplicationFactor = int16(get("offsets.topic.replication.factor").Int())
	b.OffsetsTopicSegmentBytes = int32(get("offsets.topic.segment.bytes").Int())
	b.OffsetsRetentionMs = get("offsets.retention.minutes").Int() * 60_000
	b.OffsetsRetentionCheckMs = intervalMs(get("offsets.retention.check.interval.ms").Int())
	b.OffsetMetadataMaxBytes = int32(get("offset.metadata.max.bytes").Int())
	b.GroupInitialRebalanceDelayMs = int32(get("group.initial.rebalance.delay.ms").Int())
	b.GroupMinSessionTimeoutMs = int32(get("group.min.session.timeout.ms").Int())
	b.GroupMaxSessionTimeoutMs = int32(get("group.max.session.timeout.ms").Int())
	b.GroupMaxSize = int32(get("group.max.size").Int())
}

// maxIntervalMs caps the long interval configs the node turns into
// monotonic nanosecond deadlines (now + interval × 10⁶), so that Kafka's
// Long.MAX_VALUE ("never") cannot overflow into a deadline already past:
// a century is never.
const maxIntervalMs = 100 * 365 * 86_400_000

// intervalMs caps a positive interval at maxIntervalMs (negative values
// keep their meaning).
func intervalMs(ms int64) int64 { return min(ms, maxIntervalMs) }

// Entry describes one broker config: its value, its source and, for a
// broker synonym of a topic config, the whole synonym chain it belongs to
// (log.retention.ms, .minutes, .hours), as Kafka lists them.
func (b *Broker) Entry(name string) (Entry, bool) {
	row, ok := Brokers.Lookup(name)
	if !ok {
		return Entry{}, false
	}
	v, source := b.value(name)
	e := Entry{Row: row, Value: v, Source: source}
	for _, syn := range chainOf(name) {
		sv, ss := b.value(syn.Name)
		if !sv.IsNull() {
			e.Synonyms = append(e.Synonyms, SynonymEntry{Name: syn.Name, Value: sv.String(), Source: ss})
		}
	}
	return e, true
}

// Entries describes every broker config DescribeConfigs lists, by name.
func (b *Broker) Entries() []Entry {
	var out []Entry
	for _, row := range Brokers.rows {
		if row.Described() {
			e, _ := b.Entry(row.Name)
			out = append(out, e)
		}
	}
	return out
}

// chainOf returns the synonym chain holding a broker config, or just the
// config itself.
func chainOf(name string) []Synonym {
	for _, row := range Topics.rows {
		if slices.ContainsFunc(row.Synonyms, func(s Synonym) bool { return s.Name == name }) {
			return row.Synonyms
		}
	}
	return []Synonym{{Name: name, Scale: 1}}
}

// parseYAML reads the static config file: a mapping of config names to
// scalars. lines gives each name's line for error messages.
func parseYAML(file []byte) (settings map[string]string, lines map[string]int, err error) {
	settings, lines = map[string]string{}, map[string]int{}
	var doc yaml.Node
	if err := yaml.Unmarshal(file, &doc); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrFile, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
		return settings, lines, nil // empty, only comments, or a bare "---"
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("%w: line %d: the file must be a mapping of Kafka config names to values", ErrFile, root.Line)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, value := root.Content[i], root.Content[i+1]
		if key.Kind != yaml.ScalarNode {
			return nil, nil, fmt.Errorf("%w: line %d: a key must be a config name", ErrFile, key.Line)
		}
		name := key.Value
		switch {
		case lines[name] != 0:
			return nil, nil, fmt.Errorf("%w: line %d: %s is set twice (first on line %d)", ErrFile, key.Line, name, lines[name])
		case value.Kind != yaml.ScalarNode:
			return nil, nil, fmt.Errorf("%w: line %d: %s must have a scalar value (write lists comma-separated)", ErrFile, key.Line, name)
		case value.Tag == "!!null":
			return nil, nil, fmt.Errorf("%w: line %d: %s has no value", ErrFile, key.Line, name)
		}
		settings[name], lines[name] = value.Value, key.Line
	}
	return settings, lines, nil
}
