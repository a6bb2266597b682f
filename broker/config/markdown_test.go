// This test keeps CONFIGS.md, the README's "Configs" section, equal to
// what the tables render. After changing a row, regenerate it with
//
//	go test ./broker/config -run TestConfigsMarkdown -update
//
// and review the diff.
package config

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite CONFIGS.md from the tables")

func TestConfigsMarkdown(t *testing.T) {
	got := Markdown()
	if *update {
		if err := os.WriteFile("CONFIGS.md", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("CONFIGS.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Fatal("CONFIGS.md is out of date: run go test ./broker/config -run TestConfigsMarkdown -update and review the diff")
	}
}

func TestMarkdownRows(t *testing.T) {
	md := Markdown()
	for _, line := range []string{
		"| `segment.bytes` | topic | int | `1073741824` | [1048576,...] | Honoured |",
		"| `compression.type` | topic | string | `producer` | [uncompressed, zstd, lz4, snappy, gzip, producer] | Unsupported | only the default:",
		"| `message.format.version` | topic | string | null |  | Unsupported (removed in Kafka 4.0) |",
		"| `internal.segment.bytes` | topic | int | null | [1,...] | Honoured (internal) |",
		"| `node.id` | broker | int | (required) | [0,...] | Honoured |",
		"| `log.dir` | broker | string | `./takhin-data` (Kafka: `/tmp/kafka-logs`) |",
		"| `leader.replication.throttled.replicas` | topic | list | \"\" |",
	} {
		if !strings.Contains(md, line) {
			t.Errorf("Markdown lacks %q", line)
		}
	}
	if n := strings.Count(md, "\n| `"); n != len(Topics.Rows())+len(Brokers.Rows()) {
		t.Errorf("%d table rows, want %d", n, len(Topics.Rows())+len(Brokers.Rows()))
	}
}
