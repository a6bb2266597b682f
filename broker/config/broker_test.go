// These tests pin LoadBroker: the YAML file's shape (Kafka config names to
// scalars, ints as YAML ints or strings), errors that name the key and
// its line, flags overriding the file, the required node.id, and broker
// values checked against the topic defaults they feed.
package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestLoadBrokerDefaults(t *testing.T) {
	b, err := LoadBroker(nil, map[string]string{"node.id": "0"})
	if err != nil {
		t.Fatal(err)
	}
	want := Broker{NodeID: 0, DataDir: "./takhin-data", Listeners: "PLAINTEXT://127.0.0.1:9092", AdvertisedListeners: "PLAINTEXT://127.0.0.1:9092",
		NumPartitions: 1, DefaultReplicationFactor: 1, AutoCreateTopics: true, DeleteTopicEnable: true,
		RetentionCheckIntervalMs: 300000, CleanerEnable: true, RecoveryPointCheckpointIntervalMs: 60000, SocketRequestMaxBytes: 104857600,
		QueuedMaxRequestBytes: -1, MaxConnections: 1<<31 - 1, ConnectionsMaxIdleMs: 600000, MessageMaxBytes: 1048588,
		ProducerIDExpirationMs: 86400000, OffsetsTopicNumPartitions: 50, OffsetsTopicReplicationFactor: 3,
		OffsetsTopicSegmentBytes: 104857600, OffsetsRetentionMs: 7 * 24 * 3600 * 1000, OffsetsRetentionCheckMs: 600000,
		OffsetMetadataMaxBytes: 4096, GroupInitialRebalanceDelayMs: 3000, GroupMinSessionTimeoutMs: 6000,
		GroupMaxSessionTimeoutMs: 1800000, GroupMaxSize: 1<<31 - 1}
	got := *b
	got.static = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("defaults\n got %+v\nwant %+v", got, want)
	}
	for _, e := range b.Entries() {
		if !e.Row.Described() {
			t.Errorf("%s is listed", e.Row.Name)
		}
		if want := SourceDefault; e.Row.Name != "node.id" && e.Source != want {
			t.Errorf("%s from %v", e.Row.Name, e.Source)
		}
	}
	if e, _ := b.Entry("node.id"); e.Source != SourceStaticBroker || e.Value.Int() != 0 {
		t.Errorf("node.id entry %+v", e)
	}
	if e, _ := b.Entry("log.retention.ms"); !e.Value.IsNull() || e.Value.String() != "" {
		t.Errorf("unset log.retention.ms = %q", e.Value)
	}
}

func TestLoadBrokerYAML(t *testing.T) {
	file := strings.Join([]string{
		"# A Takhin node.",
		"node.id: 3",
		"log.dirs: /var/lib/takhin",
		`num.partitions: "6"`, // a string is fine where an int is due
		"auto.create.topics.enable: false",
		"log.retention.hours: 48",
		"advertised.listeners: PLAINTEXT://broker-3:9092",
		"log.cleaner.min.cleanable.ratio: 0.75",
		"offsets.topic.replication.factor: 1",
	}, "\n")
	b, err := LoadBroker([]byte(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.NodeID != 3 || b.DataDir != "/var/lib/takhin" || b.NumPartitions != 6 || b.AutoCreateTopics ||
		b.AdvertisedListeners != "PLAINTEXT://broker-3:9092" || b.Listeners != "PLAINTEXT://127.0.0.1:9092" || b.OffsetsTopicReplicationFactor != 1 {
		t.Fatalf("loaded %+v", b)
	}
	r, err := TopicConfig(b, nil)
	if err != nil || r.RetentionMs != 48*3_600_000 {
		t.Fatalf("retention.ms = %d, %v", r.RetentionMs, err)
	}
	if e, _ := b.Entry("log.cleaner.min.cleanable.ratio"); e.Value.Double() != 0.75 || e.Source != SourceStaticBroker {
		t.Fatalf("ratio entry %+v", e)
	}
}

func TestLoadBrokerFlagsOverrideFile(t *testing.T) {
	file := "node.id: 1\nnum.partitions: 3\nlog.retention.hours: 1\nlog.dir: /from/file"
	b, err := LoadBroker([]byte(file), map[string]string{"num.partitions": "9", "log.retention.ms": "500", "log.dir": "/from/flag"})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := TopicConfig(b, nil)
	if b.NumPartitions != 9 || b.DataDir != "/from/flag" || r.RetentionMs != 500 {
		t.Fatalf("partitions %d, dir %s, retention %d", b.NumPartitions, b.DataDir, r.RetentionMs)
	}
	// A flag that is wrong is an error even when the file is right.
	_, err = LoadBroker([]byte(file), map[string]string{"num.partitions": "0"})
	if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), "num.partitions") || !strings.Contains(err.Error(), "(flags)") {
		t.Fatalf("bad flag: %v", err)
	}
}

func TestLoadBrokerErrors(t *testing.T) {
	cases := []struct {
		name, file string
		flags      map[string]string
		kind       error
		msg        string // substring of the error
	}{
		{name: "unknown key", file: "node.id: 1\nlog.retention.hour: 1\nfoo.bar: 2", kind: ErrUnknown,
			msg: "unknown broker config name: foo.bar, log.retention.hour (config file)"},
		{name: "topic name in broker file", file: "node.id: 1\nretention.ms: 1", kind: ErrUnknown, msg: "retention.ms"},
		{name: "unknown flag", file: "node.id: 1", flags: map[string]string{"nope": "1"}, kind: ErrUnknown, msg: "nope (flags)"},
		{name: "wrong type", file: "node.id: 1\nlog.retention.hours: a day", kind: ErrInvalidValue,
			msg: `invalid value "a day" for configuration log.retention.hours: not a 32-bit integer (int) (config file, line 2)`},
		{name: "float for an int", file: "node.id: 1\nnum.partitions: 1.5", kind: ErrInvalidValue, msg: "num.partitions"},
		{name: "yes is not a boolean", file: "node.id: 1\ndelete.topic.enable: yes", kind: ErrInvalidValue,
			msg: "delete.topic.enable: expected true or false"},
		{name: "out of range", file: "node.id: 1\nlog.segment.bytes: 1024", kind: ErrInvalidValue, msg: "at least 1048576 (config file, line 2)"},
		{name: "negative node id", file: "node.id: -1", kind: ErrInvalidValue, msg: "node.id"},
		{name: "missing node id", file: "num.partitions: 1", kind: ErrMissing, msg: "required broker config is not set: node.id"},
		{name: "unsupported", file: "node.id: 1\ncompression.type: gzip", kind: ErrUnsupported, msg: "compression.type=gzip"},
		{name: "removed", file: "node.id: 1\nlog.message.format.version: 3.0", kind: ErrUnsupported, msg: "removed in Apache Kafka 4.0"},
		{name: "two data dirs", file: "node.id: 1\nlog.dirs: /a,/b", kind: ErrUnsupported, msg: "one directory"},
		{name: "bad topic default", file: "node.id: 1\nlog.roll.ms: 0", kind: ErrInvalidValue,
			msg: `invalid value "0" for configuration log.roll.ms: as segment.ms (0): value must be at least 1`},
		{name: "list value", file: "node.id: 1\nlog.dirs: [/a, /b]", kind: ErrFile, msg: "line 2: log.dirs must have a scalar value"},
		{name: "mapping value", file: "node.id: 1\nlog:\n  dirs: /a", kind: ErrFile, msg: "log must have a scalar value"},
		{name: "null value", file: "node.id: 1\nlog.dirs:", kind: ErrFile, msg: "log.dirs has no value"},
		{name: "duplicate key", file: "node.id: 1\nnode.id: 2", kind: ErrFile, msg: "node.id is set twice (first on line 1)"},
		{name: "not a mapping", file: "- node.id", kind: ErrFile, msg: "must be a mapping"},
		{name: "bad YAML", file: "node.id: [1", kind: ErrFile},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := LoadBroker([]byte(c.file), c.flags)
			if b != nil || !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("LoadBroker = %v, want %v containing %q", err, c.kind, c.msg)
			}
		})
	}
}

func TestLoadBrokerEmptyFile(t *testing.T) {
	for _, file := range []string{"", "# only a comment\n", "---\n"} {
		if _, err := LoadBroker([]byte(file), map[string]string{"node.id": "1"}); err != nil {
			t.Errorf("file %q: %v", file, err)
		}
	}
}

func TestLoadBrokerInternalKnob(t *testing.T) {
	b, err := LoadBroker([]byte("node.id: 1\ninternal.segment.bytes: 4096"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range b.Entries() {
		if e.Row.Name == "internal.segment.bytes" {
			t.Fatal("the internal knob is described")
		}
	}
	if e, ok := b.Entry("internal.segment.bytes"); !ok || e.Value.Int() != 4096 {
		t.Fatalf("internal entry %+v", e)
	}
}

// TestLongIntervalsDoNotOverflowDeadlines: a long interval the node turns
// into a monotonic deadline (now + ms × 10⁶) may be Kafka's
// Long.MAX_VALUE; it is capped so that the deadline lies in the future
// (log.retention.check.interval.ms=9223372036854775807 overflowed into a
// deadline already past, so each partition checked retention on every
// tick). Described values are unchanged.
func TestLongIntervalsDoNotOverflowDeadlines(t *testing.T) {
	long := "9223372036854775807"
	b, err := LoadBroker(nil, map[string]string{"node.id": "1", "log.retention.check.interval.ms": long,
		"offsets.retention.check.interval.ms": long, "connections.max.idle.ms": long})
	if err != nil {
		t.Fatal(err)
	}
	const uptimeNs = 10 * 365 * 86_400_000 * 1_000_000 // ten years of monotonic clock
	for name, ms := range map[string]int64{"log.retention.check.interval.ms": b.RetentionCheckIntervalMs,
		"offsets.retention.check.interval.ms": b.OffsetsRetentionCheckMs, "connections.max.idle.ms": b.ConnectionsMaxIdleMs} {
		if deadline := uptimeNs + ms*1_000_000; ms < 365*86_400_000 || deadline <= uptimeNs {
			t.Errorf("%s=%s: %d ms, deadline %d", name, long, ms, deadline)
		}
		if e, _ := b.Entry(name); e.Value.String() != long {
			t.Errorf("%s described as %s", name, e.Value.String())
		}
	}
	if b, _ := LoadBroker(nil, map[string]string{"node.id": "1", "connections.max.idle.ms": "-1"}); b.ConnectionsMaxIdleMs != -1 {
		t.Errorf("connections.max.idle.ms=-1 (never) became %d", b.ConnectionsMaxIdleMs)
	}
}
