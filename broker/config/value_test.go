// These tables pin ParseValue and CheckSupported: every type's parser,
// every validator's edges, Kafka's trimming and case rules, and the
// exact reason each refusal gives (the text clients see in INVALID_CONFIG).
package config

import (
	"errors"
	"strings"
	"testing"
)

func topicRow(t *testing.T, name string) Row {
	t.Helper()
	row, ok := Topics.Lookup(name)
	if !ok {
		t.Fatalf("no topic row %s", name)
	}
	return row
}

func brokerRow(t *testing.T, name string) Row {
	t.Helper()
	row, ok := Brokers.Lookup(name)
	if !ok {
		t.Fatalf("no broker row %s", name)
	}
	return row
}

func TestParseValue(t *testing.T) {
	cases := []struct {
		name, config, in string
		want             string // the value's string form, when valid
		why              string // a substring of the error, when invalid
	}{
		// segment.bytes: an int of at least 1 MiB.
		{name: "segment.bytes default", config: "segment.bytes", in: "1073741824", want: "1073741824"},
		{name: "segment.bytes minimum", config: "segment.bytes", in: "1048576", want: "1048576"},
		{name: "segment.bytes below 1 MiB", config: "segment.bytes", in: "1048575", why: "value must be at least 1048576"},
		{name: "segment.bytes Kafka 4.0 topic minimum", config: "segment.bytes", in: "14", why: "at least 1048576"},
		{name: "segment.bytes above int", config: "segment.bytes", in: "2147483648", why: "not a 32-bit integer (int)"},
		{name: "segment.bytes not a number", config: "segment.bytes", in: "1GB", why: "not a 32-bit integer"},
		{name: "segment.bytes empty", config: "segment.bytes", in: "", why: "not a 32-bit integer"},
		{name: "segment.bytes hex", config: "segment.bytes", in: "0x100000", why: "not a 32-bit integer"},
		{name: "trimmed like Kafka", config: "segment.bytes", in: " 2097152\t", want: "2097152"},
		{name: "plus sign", config: "segment.bytes", in: "+2097152", want: "2097152"},
		// retention.ms: a long of at least -1.
		{name: "retention.ms forever", config: "retention.ms", in: "-1", want: "-1"},
		{name: "retention.ms zero", config: "retention.ms", in: "0", want: "0"},
		{name: "retention.ms -2", config: "retention.ms", in: "-2", why: "value must be at least -1"},
		{name: "retention.ms long max", config: "retention.ms", in: longMax, want: longMax},
		{name: "retention.ms above long", config: "retention.ms", in: "9223372036854775808", why: "not a 64-bit integer (long)"},
		{name: "retention.ms fraction", config: "retention.ms", in: "1.5", why: "not a 64-bit integer"},
		// retention.bytes: any long.
		{name: "retention.bytes negative", config: "retention.bytes", in: "-100", want: "-100"},
		// cleanup.policy: a list of compact and delete.
		{name: "cleanup.policy delete", config: "cleanup.policy", in: "delete", want: "delete"},
		{name: "cleanup.policy both", config: "cleanup.policy", in: "compact,delete", want: "compact,delete"},
		{name: "cleanup.policy spaces", config: "cleanup.policy", in: " delete , compact ", want: "delete,compact"},
		{name: "cleanup.policy empty list", config: "cleanup.policy", in: "", want: ""},
		{name: "cleanup.policy unknown item", config: "cleanup.policy", in: "delete,purge", why: `"purge" is not one of [compact, delete]`},
		{name: "cleanup.policy empty item", config: "cleanup.policy", in: "delete,,compact", why: `"" is not one of`},
		{name: "cleanup.policy case-sensitive", config: "cleanup.policy", in: "Delete", why: `"Delete" is not one of`},
		// message.timestamp.type: an enumeration, case-sensitive as Kafka's ValidString.
		{name: "timestamp CreateTime", config: "message.timestamp.type", in: "CreateTime", want: "CreateTime"},
		{name: "timestamp LogAppendTime", config: "message.timestamp.type", in: "LogAppendTime", want: "LogAppendTime"},
		{name: "timestamp lower case", config: "message.timestamp.type", in: "logappendtime", why: "value must be one of [CreateTime, LogAppendTime]"},
		{name: "timestamp other", config: "message.timestamp.type", in: "NoTimestampType", why: "must be one of"},
		// compression.type: Kafka's six codecs.
		{name: "compression gzip is valid", config: "compression.type", in: "gzip", want: "gzip"},
		{name: "compression none", config: "compression.type", in: "none", why: "must be one of [uncompressed, zstd, lz4, snappy, gzip, producer]"},
		// Booleans: true or false, any case (Kafka's parser), nothing else.
		{name: "bool true", config: "preallocate", in: "true", want: "true"},
		{name: "bool false", config: "preallocate", in: "false", want: "false"},
		{name: "bool upper case", config: "preallocate", in: "TRUE", want: "true"},
		{name: "bool 1", config: "preallocate", in: "1", why: "expected true or false"},
		{name: "bool yes", config: "preallocate", in: "yes", why: "expected true or false"},
		{name: "bool t", config: "preallocate", in: "t", why: "expected true or false"},
		{name: "bool empty", config: "preallocate", in: "", why: "expected true or false"},
		// Doubles.
		{name: "ratio", config: "min.cleanable.dirty.ratio", in: "0.25", want: "0.25"},
		{name: "ratio one", config: "min.cleanable.dirty.ratio", in: "1", want: "1.0"},
		{name: "ratio above one", config: "min.cleanable.dirty.ratio", in: "1.01", why: "value must be between 0 and 1"},
		{name: "ratio NaN", config: "min.cleanable.dirty.ratio", in: "NaN", why: "not a finite number"},
		// Ranges with a special value.
		{name: "gzip level -1", config: "compression.gzip.level", in: "-1", want: "-1"},
		{name: "gzip level 9", config: "compression.gzip.level", in: "9", want: "9"},
		{name: "gzip level 0", config: "compression.gzip.level", in: "0", why: "between 1 and 9, or -1"},
		{name: "zstd level negative", config: "compression.zstd.level", in: "-131072", want: "-131072"},
		{name: "zstd level 23", config: "compression.zstd.level", in: "23", why: "between -131072 and 22"},
		// Other minimums.
		{name: "min.insync.replicas 0", config: "min.insync.replicas", in: "0", why: "at least 1"},
		{name: "segment.ms 0", config: "segment.ms", in: "0", why: "at least 1"},
		{name: "max.message.bytes 0", config: "max.message.bytes", in: "0", want: "0"},
		{name: "local.retention.ms -2", config: "local.retention.ms", in: "-2", want: "-2"},
		{name: "local.retention.ms -3", config: "local.retention.ms", in: "-3", why: "at least -2"},
		// Throttled replica lists.
		{name: "throttle wildcard", config: "leader.replication.throttled.replicas", in: "*", want: "*"},
		{name: "throttle pairs", config: "leader.replication.throttled.replicas", in: "0:1, 1:2", want: "0:1,1:2"},
		{name: "throttle empty", config: "follower.replication.throttled.replicas", in: "", want: ""},
		{name: "throttle bad pair", config: "follower.replication.throttled.replicas", in: "0:x", why: `"0:x" is not partitionId:brokerId`},
		{name: "throttle wildcard mixed", config: "follower.replication.throttled.replicas", in: "*,0:1", why: `"*" is not partitionId:brokerId`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := ParseValue(topicRow(t, c.config), c.in)
			if c.why != "" {
				if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), c.why) {
					t.Fatalf("ParseValue(%q) = %v, want an invalid value error containing %q", c.in, err, c.why)
				}
				if !strings.Contains(err.Error(), c.config) {
					t.Fatalf("error %q does not name %s", err, c.config)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.String() != c.want {
				t.Fatalf("ParseValue(%q) = %q, want %q", c.in, v.String(), c.want)
			}
		})
	}
}

func TestParseValueTyped(t *testing.T) {
	v, err := ParseValue(topicRow(t, "cleanup.policy"), "compact, delete")
	if err != nil || len(v.List()) != 2 || v.List()[0] != "compact" || v.List()[1] != "delete" {
		t.Fatalf("cleanup.policy list = %q, %v", v.List(), err)
	}
	v, err = ParseValue(topicRow(t, "retention.ms"), "-1")
	if err != nil || v.Int() != -1 || v.IsNull() {
		t.Fatalf("retention.ms = %d, %v", v.Int(), err)
	}
	v, err = ParseValue(topicRow(t, "preallocate"), "True")
	if err != nil || !v.Bool() {
		t.Fatalf("preallocate = %v, %v", v.Bool(), err)
	}
	v, err = ParseValue(brokerRow(t, "offsets.topic.replication.factor"), "32767")
	if err != nil || v.Int() != 32767 {
		t.Fatalf("short = %d, %v", v.Int(), err)
	}
	if _, err := ParseValue(brokerRow(t, "offsets.topic.replication.factor"), "32768"); !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("short overflow: %v", err)
	}
	if !(Value{}).IsNull() {
		t.Fatal("the zero Value is not null")
	}
}

func TestCheckSupported(t *testing.T) {
	cases := []struct {
		name, config, in string
		why              string // a substring of the ErrUnsupported error; "" when supported
	}{
		{name: "compression producer", config: "compression.type", in: "producer"},
		{name: "compression gzip", config: "compression.type", in: "gzip", why: "only the default (producer) is supported yet"},
		{name: "compression uncompressed", config: "compression.type", in: "uncompressed", why: "recompression is not implemented"},
		{name: "remote storage off", config: "remote.storage.enable", in: "false"},
		{name: "remote storage on", config: "remote.storage.enable", in: "true", why: "tiered storage is not implemented"},
		{name: "unclean election false", config: "unclean.leader.election.enable", in: "FALSE"},
		{name: "unclean election true", config: "unclean.leader.election.enable", in: "true", why: "Raft elects only up-to-date replicas"},
		{name: "cleanup delete", config: "cleanup.policy", in: "delete"},
		{name: "cleanup none", config: "cleanup.policy", in: ""},
		{name: "cleanup compact", config: "cleanup.policy", in: "compact"},
		{name: "cleanup both", config: "cleanup.policy", in: "delete,compact"},
		{name: "message.format.version", config: "message.format.version", in: "3.0-IV1", why: "removed in Apache Kafka 4.0"},
		{name: "timestamp difference", config: "message.timestamp.difference.max.ms", in: "1000", why: "use message.timestamp.before.max.ms"},
		{name: "trivially satisfied", config: "flush.messages", in: "1"},
		{name: "honoured", config: "segment.bytes", in: "2097152"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			row := topicRow(t, c.config)
			v, err := ParseValue(row, c.in)
			if err != nil {
				t.Fatal(err)
			}
			err = CheckSupported(row, v)
			if c.why == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), c.why) ||
				!strings.Contains(err.Error(), "not supported by Takhin") {
				t.Fatalf("CheckSupported(%s=%q) = %v, want ErrUnsupported containing %q", c.config, c.in, err, c.why)
			}
		})
	}
}

func TestBrokerLimits(t *testing.T) {
	cases := []struct {
		config, in string
		why        string // ErrUnsupported reason substring; "" when supported
	}{
		{config: "listeners", in: "PLAINTEXT://:9092"},
		{config: "listeners", in: "PLAINTEXT://[::1]:9093"},
		{config: "listeners", in: "SSL://:9093", why: "only PLAINTEXT is implemented"},
		{config: "listeners", in: "PLAINTEXT://:9092,INTERNAL://:9093", why: "exactly one listener"},
		{config: "log.dirs", in: "/data/a"},
		{config: "log.dirs", in: "/data/a,/data/b", why: "one directory"},
		{config: "max.connections.per.ip", in: "10", why: "per-address limits are not implemented"},
		{config: "log.cleanup.policy", in: "compact"},
	}
	for _, c := range cases {
		t.Run(c.config+"="+c.in, func(t *testing.T) {
			row := brokerRow(t, c.config)
			v, err := ParseValue(row, c.in)
			if err != nil {
				t.Fatal(err)
			}
			err = CheckSupported(row, v)
			if (c.why == "") != (err == nil) || (err != nil && (!errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), c.why))) {
				t.Fatalf("CheckSupported = %v, want %q", err, c.why)
			}
		})
	}
	for _, bad := range []string{"PLAINTEXT", "://:9092", "PLAINTEXT://host", "PLAINTEXT://:port", "PLAINTEXT://:70000"} {
		if _, err := ParseValue(brokerRow(t, "listeners"), bad); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("listeners=%q: %v, want ErrInvalidValue", bad, err)
		}
	}
}
