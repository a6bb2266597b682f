// These tests pin resolution: a topic override beats the static broker
// config, which beats the defaults; broker synonyms apply in Kafka's order
// (ms over minutes over hours) converted to the topic's unit; every entry
// reports Kafka's source and synonyms; and the admin validation path
// refuses unknown, unsupported and internal configs with a message naming
// them.
package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// loadBroker loads a static config from YAML plus node.id=1.
func loadBroker(t *testing.T, file string) *Broker {
	t.Helper()
	b, err := LoadBroker([]byte(file), map[string]string{"node.id": "1"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRetentionSynonymPrecedence(t *testing.T) {
	cases := []struct {
		name, file string
		overrides  map[string]string
		want       int64
		source     kmsg.ConfigSource
	}{
		{name: "defaults", want: 7 * 24 * 3_600_000, source: SourceDefault},
		{name: "hours", file: "log.retention.hours: 24", want: 24 * 3_600_000, source: SourceStaticBroker},
		{name: "minutes beat hours", file: "log.retention.hours: 24\nlog.retention.minutes: 30", want: 30 * 60_000, source: SourceStaticBroker},
		{name: "ms beat minutes and hours", file: "log.retention.hours: 24\nlog.retention.minutes: 30\nlog.retention.ms: 1234",
			want: 1234, source: SourceStaticBroker},
		{name: "ms beat hours", file: "log.retention.hours: 24\nlog.retention.ms: 1234", want: 1234, source: SourceStaticBroker},
		{name: "negative hours mean unlimited", file: "log.retention.hours: -5", want: -1, source: SourceStaticBroker},
		{name: "negative ms mean unlimited", file: "log.retention.ms: -7", want: -1, source: SourceStaticBroker},
		{name: "topic override beats all", file: "log.retention.hours: 24\nlog.retention.ms: 1234",
			overrides: map[string]string{"retention.ms": "5000"}, want: 5000, source: SourceTopic},
		{name: "topic override of -1", file: "log.retention.ms: 1234",
			overrides: map[string]string{"retention.ms": "-1"}, want: -1, source: SourceTopic},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := TopicConfig(loadBroker(t, c.file), c.overrides)
			if err != nil {
				t.Fatal(err)
			}
			e, _ := r.Entry("retention.ms")
			if r.RetentionMs != c.want || e.Value.Int() != c.want || e.Source != c.source {
				t.Fatalf("retention.ms = %d (%d) from %v, want %d from %v", r.RetentionMs, e.Value.Int(), e.Source, c.want, c.source)
			}
		})
	}
}

func TestSynonymsListed(t *testing.T) {
	b := loadBroker(t, "log.retention.minutes: 30")
	r, err := TopicConfig(b, map[string]string{"retention.ms": "5000"})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := r.Entry("retention.ms")
	want := []SynonymEntry{
		{Name: "retention.ms", Value: "5000", Source: SourceTopic},
		{Name: "log.retention.minutes", Value: "30", Source: SourceStaticBroker},
		{Name: "log.retention.hours", Value: "168", Source: SourceDefault},
	}
	if len(e.Synonyms) != len(want) {
		t.Fatalf("synonyms %+v, want %+v", e.Synonyms, want)
	}
	for i := range want {
		if e.Synonyms[i] != want[i] {
			t.Fatalf("synonym %d = %+v, want %+v", i, e.Synonyms[i], want[i])
		}
	}
	// The broker's own entry lists the whole chain.
	be, ok := b.Entry("log.retention.hours")
	if !ok || be.Source != SourceDefault || len(be.Synonyms) != 2 || be.Synonyms[0].Name != "log.retention.minutes" {
		t.Fatalf("broker entry %+v", be)
	}
}

func TestTopicConfigTypedValues(t *testing.T) {
	b := loadBroker(t, strings.Join([]string{
		"log.segment.bytes: 2097152",
		"log.roll.hours: 2",
		"log.roll.jitter.ms: 100",
		"message.max.bytes: 5000",
		"log.message.timestamp.type: LogAppendTime",
		"log.index.interval.bytes: 100",
		"min.insync.replicas: 2",
		"log.flush.interval.messages: 1",
	}, "\n"))
	r, err := TopicConfig(b, map[string]string{"message.timestamp.after.max.ms": "10", "cleanup.policy": ""})
	if err != nil {
		t.Fatal(err)
	}
	want := Resolved{RetentionMs: 604800000, RetentionBytes: -1, SegmentBytes: 2097152, SegmentMs: 2 * 3_600_000,
		SegmentJitterMs: 100, IndexIntervalBytes: 100, MaxMessageBytes: 5000, LogAppendTime: true,
		TimestampBeforeMaxMs: 1<<63 - 1, TimestampAfterMaxMs: 10, MinInsyncReplicas: 2,
		DeleteRetentionMs: 86_400_000, MaxCompactionLagMs: 1<<63 - 1, MinCleanableDirtyRatio: 0.5, FlushMessages: 1}
	got := r
	got.entries = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("resolved\n got %+v\nwant %+v", got, want)
	}
	def, _ := TopicConfig(loadBroker(t, ""), nil)
	if !def.Delete || def.Compact || def.SegmentBytes != 1<<30 || def.MaxMessageBytes != 1048588 || def.TimestampAfterMaxMs != 3_600_000 {
		t.Fatalf("defaults %+v", def)
	}
	for _, e := range def.Entries() {
		if e.Source != SourceDefault || (len(e.Synonyms) > 0 && e.Synonyms[0].Source != SourceDefault) {
			t.Errorf("%s from %v with synonyms %+v on a default broker", e.Row.Name, e.Source, e.Synonyms)
		}
	}
}

func TestInternalSegmentBytes(t *testing.T) {
	// From a topic override (the metadata image, e.g. a test harness).
	r, err := TopicConfig(loadBroker(t, ""), map[string]string{"internal.segment.bytes": "1024"})
	if err != nil || r.SegmentBytes != 1024 {
		t.Fatalf("SegmentBytes = %d, %v", r.SegmentBytes, err)
	}
	// From the static broker config, for every topic.
	r, err = TopicConfig(loadBroker(t, "internal.segment.bytes: 512"), nil)
	if err != nil || r.SegmentBytes != 512 {
		t.Fatalf("SegmentBytes = %d, %v", r.SegmentBytes, err)
	}
	e, _ := r.Entry("internal.segment.bytes")
	if e.Row.Described() || e.Source != SourceStaticBroker {
		t.Fatalf("internal entry %+v", e)
	}
	// Refused through the admin APIs, topic or broker.
	err = ValidateTopicConfigs(map[string]string{"internal.segment.bytes": "1024"})
	if !errors.Is(err, ErrInternal) || !strings.Contains(err.Error(), "internal.segment.bytes") {
		t.Fatalf("admin topic path: %v", err)
	}
	if err := ValidateBrokerConfigs(map[string]string{"internal.segment.bytes": "1024"}); !errors.Is(err, ErrInternal) {
		t.Fatalf("admin broker path: %v", err)
	}
}

func TestValidateTopicConfigs(t *testing.T) {
	cases := []struct {
		name    string
		configs map[string]string
		kind    error  // nil: valid
		msg     string // substring of the error
	}{
		{name: "none", configs: nil},
		{name: "valid", configs: map[string]string{"retention.ms": "-1", "segment.bytes": "1048576", "cleanup.policy": "delete"}},
		{name: "trivially satisfied", configs: map[string]string{"flush.messages": "1", "preallocate": "true", "segment.index.bytes": "4096"}},
		{name: "unknown names all named", configs: map[string]string{"retention.ms": "1", "retention.msec": "1", "foo": "x"},
			kind: ErrUnknown, msg: "unknown topic config name: foo, retention.msec"},
		{name: "broker name on a topic", configs: map[string]string{"log.retention.ms": "1"}, kind: ErrUnknown, msg: "log.retention.ms"},
		{name: "segment.bytes too small", configs: map[string]string{"segment.bytes": "1000"},
			kind: ErrInvalidValue, msg: `invalid value "1000" for configuration segment.bytes: value must be at least 1048576`},
		{name: "bad type", configs: map[string]string{"retention.bytes": "lots"}, kind: ErrInvalidValue, msg: "retention.bytes"},
		{name: "compaction", configs: map[string]string{"cleanup.policy": "compact", "delete.retention.ms": "10", "min.cleanable.dirty.ratio": "0.1"}},
		{name: "compaction and deletion", configs: map[string]string{"cleanup.policy": "compact,delete"}},
		{name: "compression refused", configs: map[string]string{"compression.type": "zstd"},
			kind: ErrUnsupported, msg: "compression.type=zstd is not supported by Takhin: only the default (producer)"},
		{name: "compression default", configs: map[string]string{"compression.type": "producer"}},
		{name: "tiered refused", configs: map[string]string{"remote.storage.enable": "true"}, kind: ErrUnsupported, msg: "tiered storage"},
		{name: "removed config", configs: map[string]string{"message.format.version": "2.8"},
			kind: ErrUnsupported, msg: "removed in Apache Kafka 4.0"},
		{name: "compaction lags crossed", configs: map[string]string{"min.compaction.lag.ms": "10", "max.compaction.lag.ms": "5"},
			kind: ErrInvalidValue, msg: "must not exceed max.compaction.lag.ms (5)"},
		{name: "first problem by name", configs: map[string]string{"segment.ms": "0", "retention.ms": "-2"},
			kind: ErrInvalidValue, msg: "retention.ms"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateTopicConfigs(c.configs)
			if c.kind == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("ValidateTopicConfigs = %v, want %v containing %q", err, c.kind, c.msg)
			}
		})
	}
}

func TestTopicConfigRefusesBadOverrides(t *testing.T) {
	b := loadBroker(t, "")
	for _, overrides := range []map[string]string{
		{"nope": "1"},
		{"segment.bytes": "10"},
		{"cleanup.policy": "purge"},
		{"min.compaction.lag.ms": "10", "max.compaction.lag.ms": "5"},
	} {
		if _, err := TopicConfig(b, overrides); err == nil {
			t.Errorf("TopicConfig(%v) accepted", overrides)
		}
	}
	if _, ok := (Resolved{}).Entry("retention.ms"); ok {
		t.Error("the zero Resolved has entries")
	}
}
