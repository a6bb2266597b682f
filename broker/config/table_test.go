// These tests hold the tables to their own rules: Kafka 4.0's topic
// configs all present, every synonym a broker row of a type its scale can
// convert, broker defaults that agree with the topic defaults they stand
// in for, and a broker synonym classified like its topic config.
package config

import (
	"slices"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafka40TopicConfigs is LogConfig's topic config list in Apache Kafka
// 4.0 (its docs' "Topic-Level Configs").
var kafka40TopicConfigs = []string{
	"cleanup.policy", "compression.gzip.level", "compression.lz4.level", "compression.type",
	"compression.zstd.level", "delete.retention.ms", "file.delete.delay.ms", "flush.messages", "flush.ms",
	"follower.replication.throttled.replicas", "index.interval.bytes", "leader.replication.throttled.replicas",
	"local.retention.bytes", "local.retention.ms", "max.compaction.lag.ms", "max.message.bytes",
	"message.downconversion.enable", "message.timestamp.after.max.ms", "message.timestamp.before.max.ms",
	"message.timestamp.type", "min.cleanable.dirty.ratio", "min.compaction.lag.ms", "min.insync.replicas",
	"preallocate", "remote.log.copy.disable", "remote.log.delete.on.disable", "remote.storage.enable",
	"retention.bytes", "retention.ms", "segment.bytes", "segment.index.bytes", "segment.jitter.ms",
	"segment.ms", "unclean.leader.election.enable",
}

func TestTopicTableIsKafka40(t *testing.T) {
	var described []string
	for _, r := range Topics.Rows() {
		if r.Described() {
			described = append(described, r.Name)
		}
	}
	want := slices.Sorted(slices.Values(kafka40TopicConfigs))
	if !slices.Equal(described, want) {
		t.Fatalf("described topic configs:\n got %q\nwant %q", described, want)
	}
}

func TestSynonymsAreBrokerRows(t *testing.T) {
	for _, r := range Topics.Rows() {
		for _, syn := range r.Synonyms {
			b, ok := Brokers.Lookup(syn.Name)
			switch {
			case !ok:
				t.Errorf("%s: synonym %s is not a broker row", r.Name, syn.Name)
			case syn.Scale < 1:
				t.Errorf("%s: synonym %s has scale %d", r.Name, syn.Name, syn.Scale)
			case syn.Scale > 1 && (b.Type != kmsg.ConfigTypeInt || r.Type != kmsg.ConfigTypeLong):
				t.Errorf("%s: a scaled synonym must be an int feeding a long, %s is %v", r.Name, syn.Name, b.Type)
			case syn.Scale == 1 && !syn.ClampNegative && b.Type != r.Type:
				t.Errorf("%s is %v but its synonym %s is %v", r.Name, r.Type, syn.Name, b.Type)
			case b.Takhin != r.Takhin || b.Internal != r.Internal:
				t.Errorf("%s is %v but its synonym %s is %v", r.Name, r.Takhin, syn.Name, b.Takhin)
			}
		}
	}
}

// Kafka derives each topic default from its broker synonyms; the tables
// state both, so they must agree: the first synonym with a default,
// converted, is the topic default.
func TestBrokerDefaultsAgreeWithTopicDefaults(t *testing.T) {
	for _, r := range Topics.Rows() {
		for _, syn := range r.Synonyms {
			b, _ := Brokers.Lookup(syn.Name)
			if b.NoDefault {
				continue
			}
			got := b.Default
			if syn.Scale > 1 {
				n, _ := strconv.ParseInt(b.Default, 10, 64)
				got = strconv.FormatInt(n*syn.Scale, 10)
			}
			if got != r.Default {
				t.Errorf("%s: default %q, but %s gives %q", r.Name, r.Default, syn.Name, got)
			}
			break
		}
	}
}

func TestRowsAreComplete(t *testing.T) {
	for _, table := range []*Table{Topics, Brokers} {
		for _, r := range table.Rows() {
			if r.Note == "" {
				t.Errorf("%s %s has no note", r.Scope, r.Name)
			}
			if r.Removed && r.Takhin != Unsupported {
				t.Errorf("%s is removed but %v", r.Name, r.Takhin)
			}
			if !r.Described() && r.Synonyms != nil && !r.Internal {
				t.Errorf("%s is not described but has synonyms", r.Name)
			}
		}
	}
	if _, ok := Topics.Lookup("log.retention.ms"); ok {
		t.Error("a broker config is in the topic table")
	}
	if Topics.Scope() != ScopeTopic || Brokers.Scope() != ScopeBroker {
		t.Error("table scopes")
	}
}
