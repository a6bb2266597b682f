package main

// Goal: the client CLI as users run it: the built `takhin` binary against
// a `takhin serve` process, in human and JSON formats. Topics are created,
// listed, described, grown and deleted; records go through produce and
// come back through consume with their keys and headers (and consume's
// JSON output can be produced again); and the exit codes scripts rely on
// hold: 1 for a Kafka error (naming the code), 2 for a usage error, 3
// when nothing listens. A group consumes, is described, moved and
// deleted. Config commands run against kfake (cli_kfake_test.go) until
// Takhin serves DescribeConfigs and IncrementalAlterConfigs. Every wait
// is a poll with a deadline (STYLE rule 27).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const cliExecWithin = 60 * time.Second // one CLI command, -race included

// cliExec runs the built `takhin args...` with stdin and returns its
// stdout, stderr and exit code.
func cliExec(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliExecWithin)
	defer cancel()
	cmd := exec.CommandContext(ctx, procBinary(t), args...)
	cmd.Dir = t.TempDir()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("takhin %s did not exit within %s", strings.Join(args, " "), cliExecWithin)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("takhin %s: %v", strings.Join(args, " "), err)
	}
	if strings.Contains(errOut.String(), "WARNING: DATA RACE") {
		t.Errorf("the race detector reported in takhin %s:\n%s", strings.Join(args, " "), errOut.String())
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// cliExecOK runs a command that must exit 0 and returns its stdout.
func cliExecOK(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, code := cliExec(t, stdin, args...)
	if code != exitOK {
		t.Fatalf("takhin %s: exit %d\nstderr: %s\nstdout: %s", strings.Join(args, " "), code, errOut, out)
	}
	return out
}

// cliExecJSON runs a command with --format json that must exit 0 and
// decodes its stdout into v.
func cliExecJSON(t *testing.T, v any, stdin string, args ...string) {
	t.Helper()
	out := cliExecOK(t, stdin, append(args, "--format", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("takhin %s --format json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// cliRows splits a table into rows of fields, header first.
func cliRows(table string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimSpace(table), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			rows = append(rows, strings.Fields(line))
		}
	}
	return rows
}

// cliHasRow reports whether table has a row whose fields start with want.
func cliHasRow(table string, want ...string) bool {
	for _, row := range cliRows(table) {
		if len(row) >= len(want) && strings.Join(row[:len(want)], " ") == strings.Join(want, " ") {
			return true
		}
	}
	return false
}

// cliDescribe describes one topic as JSON.
func cliDescribe(t *testing.T, b, topic string) topicDescription {
	t.Helper()
	var ds []topicDescription
	cliExecJSON(t, &ds, "", "topic", "describe", topic, "--brokers", b)
	if len(ds) != 1 || ds[0].Topic != topic {
		t.Fatalf("topic describe %s: %+v", topic, ds)
	}
	return ds[0]
}

func TestCLITopicsAgainstTakhin(t *testing.T) {
	srv := procServe(t, t.TempDir())
	b := srv.addr
	if out := cliExecOK(t, "", "topic", "create", "orders", "-p", "2", "--brokers", b); !cliHasRow(out, "orders", "created") {
		t.Fatalf("create orders: no 'orders created' row:\n%s", out)
	}
	var created []topicResult
	cliExecJSON(t, &created, "", "topic", "create", "events", "--brokers", b, "-p", "1", "-c", "retention.ms=60000")
	if len(created) != 1 || created[0].Topic != "events" || created[0].Partitions != 1 ||
		created[0].ReplicationFactor != 1 || created[0].ID == "" || created[0].Error != nil {
		t.Fatalf("create events --format json: %+v", created)
	}
	_, errOut, code := cliExec(t, "", "topic", "create", "orders", "--brokers", b)
	if code != exitKafka || !strings.Contains(errOut, "TOPIC_ALREADY_EXISTS (36)") {
		t.Errorf("create orders twice: exit %d, want 1 naming TOPIC_ALREADY_EXISTS (36): %s", code, errOut)
	}

	list := cliExecOK(t, "", "topic", "list", "--brokers", b)
	if !cliHasRow(list, "TOPIC", "PARTITIONS", "REPLICAS") || !cliHasRow(list, "events", "1", "1") || !cliHasRow(list, "orders", "2", "1") {
		t.Errorf("topic list:\n%s", list)
	}
	var listed []topicSummary
	cliExecJSON(t, &listed, "", "topic", "list", "--brokers", b)
	if len(listed) != 2 || listed[0].Topic != "events" || listed[1].Topic != "orders" || listed[1].Partitions != 2 {
		t.Errorf("topic list --format json: %+v", listed)
	}

	cliExecOK(t, "a\nb\nc\n", "produce", "orders", "--brokers", b, "-q")
	cliCheckDescribe(t, b)

	if out := cliExecOK(t, "", "topic", "add-partitions", "orders", "-n", "1", "--brokers", b); !cliHasRow(out, "orders", "added") {
		t.Errorf("add-partitions: %s", out)
	}
	procWaitFor(t, 10*time.Second, "orders to have 3 partitions", func() bool {
		return len(cliDescribe(t, b, "orders").Partitions) == 3
	})

	var deleted []topicResult
	cliExecJSON(t, &deleted, "", "topic", "delete", "events", "--brokers", b)
	if len(deleted) != 1 || deleted[0].Topic != "events" || deleted[0].Error != nil {
		t.Fatalf("topic delete events: %+v", deleted)
	}
	procWaitFor(t, 10*time.Second, "events to leave the topic list", func() bool {
		return !cliHasRow(cliExecOK(t, "", "topic", "list", "--brokers", b), "events")
	})
}

// cliCheckDescribe checks `topic describe orders` (2 partitions, 3
// records) in JSON and as tables.
func cliCheckDescribe(t *testing.T, b string) {
	t.Helper()
	d := cliDescribe(t, b, "orders")
	hw := int64(0)
	for i, p := range d.Partitions {
		hw += p.HighWatermark
		if p.Partition != int32(i) || p.Leader != 1 || p.LogStartOffset != 0 || len(p.Replicas) != 1 || p.Error != nil {
			t.Errorf("partition %d: %+v", i, p)
		}
	}
	if len(d.Partitions) != 2 || hw != 3 || d.ID == "" || d.ReplicationFactor != 1 {
		t.Errorf("describe orders: %d partitions, high watermarks summing to %d (want 2 and 3): %+v", len(d.Partitions), hw, d)
	}
	if (d.Configs == nil) == (d.ConfigsError == nil) {
		t.Errorf("describe orders: want configs or the reason there are none: %+v", d)
	}
	table := cliExecOK(t, "", "topic", "describe", "orders", "--brokers", b)
	for _, want := range [][]string{{"TOPIC", "orders"}, {"PARTITIONS", "2"},
		{"PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "LOG-START", "HIGH-WATERMARK"}, {"0", "1"}, {"1", "1"}} {
		if !cliHasRow(table, want...) {
			t.Errorf("the describe table has no row %v:\n%s", want, table)
		}
	}
}

func TestCLIProduceConsumeAgainstTakhin(t *testing.T) {
	srv := procServe(t, t.TempDir())
	b := srv.addr
	cliExecOK(t, "", "topic", "create", "rt", "-p", "1", "--brokers", b)
	out := cliExecOK(t, "k1|v1\nk2|v2\nk3|v3\n", "produce", "rt", "--key-delim", "|", "-H", "h1=x", "-H", "h2=y", "--brokers", b)
	if !strings.Contains(out, "produced 3 records to rt") || !cliHasRow(out, "0", "3", "0", "2") {
		t.Fatalf("produce summary:\n%s", out)
	}
	var sum struct {
		Records, Failed int
		Partitions      []partitionTally
	}
	cliExecJSON(t, &sum, `{"key":"k4","value":"v4","headers":[{"key":"j","value":"1"}]}`+"\n"+`{"value":"v5"}`+"\n",
		"produce", "rt", "--brokers", b)
	if sum.Records != 2 || sum.Failed != 0 || len(sum.Partitions) != 1 || sum.Partitions[0].FirstOffset != 3 || sum.Partitions[0].LastOffset != 4 {
		t.Fatalf("produce --format json summary: %+v", sum)
	}

	recs := cliConsumeJSON(t, b, "rt", "-n", "5")
	want := []string{"k1=v1 h1=x,h2=y", "k2=v2 h1=x,h2=y", "k3=v3 h1=x,h2=y", "k4=v4 j=1", "<nil>=v5 "}
	for i, r := range recs {
		if got := cliRecordString(r); r.Offset != int64(i) || r.Topic != "rt" || got != want[i] {
			t.Errorf("record %d: offset %d %q, want %q", i, r.Offset, got, want[i])
		}
	}
	tmpl := cliExecOK(t, "", "consume", "rt", "-n", "2", "--format", `%t %p/%o %k=%v [%h]\t%%`, "--brokers", b)
	if tmpl != "rt 0/0 k1=v1 [h1=x,h2=y]\t%\nrt 0/1 k2=v2 [h1=x,h2=y]\t%\n" {
		t.Errorf("consume --format template:\n%q", tmpl)
	}
	for _, tc := range []struct {
		offset string
		lines  int
	}{{"start", 5}, {"3", 2}, {"end", 0}} {
		out := cliExecOK(t, "", "consume", "rt", "--offset", tc.offset, "--exit-at-end", "--brokers", b)
		if n := strings.Count(out, "\n"); n != tc.lines {
			t.Errorf("consume --offset %s --exit-at-end: %d lines, want %d:\n%s", tc.offset, n, tc.lines, out)
		}
	}

	// consume's JSON is produce's JSON input: copy the topic.
	cliExecOK(t, "", "topic", "create", "copy", "-p", "1", "--brokers", b)
	jsonLines := cliExecOK(t, "", "consume", "rt", "--exit-at-end", "--format", "json", "--brokers", b)
	cliExecOK(t, jsonLines, "produce", "copy", "--format", "json", "--brokers", b, "-q")
	for i, r := range cliConsumeJSON(t, b, "copy", "-n", "5") {
		if got := cliRecordString(r); got != want[i] {
			t.Errorf("copied record %d: %q, want %q", i, got, want[i])
		}
	}
}

// cliConsumeJSON consumes with --format json and parses every line.
func cliConsumeJSON(t *testing.T, b, topic string, args ...string) []jsonRecord {
	t.Helper()
	out := cliExecOK(t, "", append([]string{"consume", topic, "--format", "json", "--brokers", b}, args...)...)
	var recs []jsonRecord
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r jsonRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("consume --format json: line %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// cliRecordString is "key=value headers" with <nil> for a missing key.
func cliRecordString(r jsonRecord) string {
	key := "<nil>"
	if r.Key != nil {
		key = *r.Key
	}
	var hs []string
	for _, h := range r.Headers {
		hs = append(hs, h.Key+"="+h.Value)
	}
	value := "<nil>"
	if r.Value != nil {
		value = *r.Value
	}
	return fmt.Sprintf("%s=%s %s", key, value, strings.Join(hs, ","))
}

func TestCLIExitCodes(t *testing.T) {
	srv := procServe(t, t.TempDir())
	b := srv.addr
	nobody := fmt.Sprintf("127.0.0.1:%d", procFreePort(t))
	for _, tc := range []struct {
		name, stdin string
		args        []string
		code        int
		stderr      string
	}{
		{"describe an unknown topic", "", []string{"topic", "describe", "nosuch", "--brokers", b}, exitKafka, "UNKNOWN_TOPIC_OR_PARTITION (3)"},
		{"produce to an unknown topic", "x\n", []string{"produce", "nosuch", "--brokers", b}, exitKafka, "UNKNOWN_TOPIC_OR_PARTITION (3)"},
		{"consume an unknown topic", "", []string{"consume", "nosuch", "--brokers", b}, exitKafka, "UNKNOWN_TOPIC_OR_PARTITION (3)"},
		{"delete an unknown topic", "", []string{"topic", "delete", "nosuch", "--brokers", b}, exitKafka, "UNKNOWN_TOPIC_OR_PARTITION (3)"},
		{"a bad flag", "", []string{"topic", "list", "--bogus", "--brokers", b}, exitUsage, "-bogus"},
		{"a missing argument", "", []string{"topic", "create", "--brokers", b}, exitUsage, "one or more topics"},
		{"a bad --format", "", []string{"topic", "list", "--format", "xml", "--brokers", b}, exitUsage, "--format"},
		{"a bad --offset", "", []string{"consume", "t", "--offset", "middle", "--brokers", b}, exitUsage, "--offset"},
		{"an unknown command", "", []string{"topic", "frob"}, exitUsage, `unknown command "frob"`},
		{"nothing listening", "", []string{"topic", "list", "--brokers", nobody}, exitConnect, "could not connect"},
		{"nothing listening, produce", "x\n", []string{"produce", "t", "--brokers", nobody}, exitConnect, "could not connect"},
		{"help", "", []string{"topic", "help"}, exitOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := cliExec(t, tc.stdin, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.stderr) {
				t.Errorf("takhin %s: exit %d, want %d with %q on stderr\nstderr: %s\nstdout: %s",
					strings.Join(tc.args, " "), code, tc.code, tc.stderr, errOut, out)
			}
		})
	}
}

// TestCLIGroupsAgainstTakhin runs the group commands against Takhin's
// group coordinator (kfake covers them too, with a live member, in
// cli_kfake_test.go): a group consumes 3 of 4 records and commits them,
// is described with its lag, is moved back to the start, and deleted.
func TestCLIGroupsAgainstTakhin(t *testing.T) {
	// Kafka's 3 s initial rebalance delay would hold each group consume.
	cfg := filepath.Join(t.TempDir(), "takhin.yaml")
	if err := os.WriteFile(cfg, []byte("group.initial.rebalance.delay.ms: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := procServe(t, t.TempDir(), "--config", cfg)
	b := srv.addr
	cliExecOK(t, "", "topic", "create", "gt", "-p", "1", "--brokers", b)
	cliExecOK(t, "a\nb\nc\nd\n", "produce", "gt", "--brokers", b, "-q")
	if out := cliExecOK(t, "", "consume", "gt", "--group", "g1", "-n", "3", "--brokers", b, "-q"); out != "a\nb\nc\n" {
		t.Fatalf("consume --group g1 -n 3: %q", out)
	}
	describe := func() groupDescription {
		var ds []groupDescription
		cliExecJSON(t, &ds, "", "group", "describe", "g1", "--brokers", b)
		if len(ds) != 1 || len(ds[0].Offsets) != 1 || ds[0].Error != nil {
			t.Fatalf("group describe g1: %+v", ds)
		}
		return ds[0]
	}
	if d := describe(); d.State != "Empty" || d.Offsets[0].Committed != 3 || d.Offsets[0].LogEnd != 4 || d.TotalLag != 1 {
		t.Fatalf("after consuming 3 of 4: %+v", d)
	}
	if out := cliExecOK(t, "", "group", "list", "--brokers", b); !cliHasRow(out, "g1", "Empty", "consumer") {
		t.Errorf("group list:\n%s", out)
	}
	if out := cliExecOK(t, "", "group", "seek", "g1", "--topic", "gt", "--to", "start", "--brokers", b); !cliHasRow(out, "gt", "0", "3", "0", "OK") {
		t.Errorf("group seek --to start:\n%s", out)
	}
	if d := describe(); d.Offsets[0].Committed != 0 || d.TotalLag != 4 {
		t.Errorf("after seeking to the start: %+v", d)
	}
	if out := cliExecOK(t, "", "consume", "gt", "--group", "g1", "-n", "1", "--brokers", b, "-q"); out != "a\n" {
		t.Errorf("consume after the seek: %q, want the first record", out)
	}
	cliExecOK(t, "", "group", "delete", "g1", "--brokers", b)
	var groups []groupSummary
	cliExecJSON(t, &groups, "", "group", "list", "--brokers", b)
	if len(groups) != 0 {
		t.Errorf("group list after delete: %+v", groups)
	}
}
