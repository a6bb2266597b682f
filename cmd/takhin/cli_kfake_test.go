package main

// Goal: the CLI commands whose Kafka APIs Takhin did not serve when they
// were written (consumer groups, DescribeConfigs, IncrementalAlterConfigs)
// work against a broker that has them: franz-go's in-memory kfake, with the
// commands run in-process through run (produce through produceFrom, to
// give it a stdin). JSON output is parsed and asserted field by field,
// tables by their rows. Waits poll with a deadline (STYLE rule 27).

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// cliKfake starts an in-memory cluster with topics seeded, closed at the
// end of the test, and returns its --brokers value.
func cliKfake(t *testing.T, partitions int32, topics ...string) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return strings.Join(c.ListenAddrs(), ",")
}

// cliInProcess runs `takhin args...` in this process, with stdin for
// produce, and returns stdout, stderr and the exit code.
func cliInProcess(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	var code int
	if args[0] == "produce" {
		code = produceFrom(strings.NewReader(stdin), args[1:], &out, &errOut)
	} else {
		code = run(args, &out, &errOut)
	}
	return out.String(), errOut.String(), code
}

// cliOK runs a command that must succeed and returns its stdout.
func cliOK(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, code := cliInProcess(t, stdin, args...)
	if code != exitOK {
		t.Fatalf("takhin %s: exit %d\nstderr: %s\nstdout: %s", strings.Join(args, " "), code, errOut, out)
	}
	return out
}

// cliJSON runs a command that must succeed with --format json and
// decodes its stdout into v.
func cliJSON(t *testing.T, v any, stdin string, args ...string) {
	t.Helper()
	out := cliOK(t, stdin, append(args, "--format", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("takhin %s: the JSON does not parse: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// cliGroupState describes one group and returns it.
func cliGroupState(t *testing.T, brokers, group string) groupDescription {
	t.Helper()
	var ds []groupDescription
	cliJSON(t, &ds, "", "group", "describe", group, "--brokers", brokers)
	if len(ds) != 1 || ds[0].Group != group {
		t.Fatalf("group describe %s: %+v", group, ds)
	}
	return ds[0]
}

func TestCLIGroupsAgainstKfake(t *testing.T) {
	b := cliKfake(t, 2, "orders")
	cliOK(t, "a\nb\nc\nd\ne\nf\n", "produce", "orders", "--brokers", b, "-q", "--partition", "0")
	cliOK(t, "g\nh\n", "produce", "orders", "--brokers", b, "-q", "--partition", "1")

	// A group consumer reads 4 records of partition 0 and 1 and commits
	// exactly what it printed.
	out := cliOK(t, "", "consume", "orders", "--group", "g1", "-n", "4", "--brokers", b, "-q", "--format", "%p:%o:%v")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 4 {
		t.Fatalf("consume -n 4 printed %d lines:\n%s", len(lines), out)
	}

	var groups []groupSummary
	cliJSON(t, &groups, "", "group", "list", "--brokers", b)
	if len(groups) != 1 || groups[0].Group != "g1" || groups[0].State != "Empty" || groups[0].ProtocolType != "consumer" {
		t.Fatalf("group list: %+v", groups)
	}
	d := cliGroupState(t, b, "g1")
	committed, lag := int64(0), int64(0)
	for _, o := range d.Offsets {
		committed += max(o.Committed, 0) // -1: no commit
		lag += o.Lag
		if o.Topic != "orders" || o.LogEnd != map[int32]int64{0: 6, 1: 2}[o.Partition] {
			t.Errorf("offset row %+v", o)
		}
	}
	if d.State != "Empty" || committed != 4 || lag != 4 || d.TotalLag != 4 {
		t.Fatalf("after consuming 4 of 8: state %s, committed %d, lag %d (total %d); %+v", d.State, committed, lag, d.TotalLag, d)
	}
	table := cliOK(t, "", "group", "describe", "g1", "--brokers", b)
	for _, want := range []string{"STATE        Empty", "TOTAL-LAG    4", "TOPIC   PARTITION  COMMITTED  LOG-END  LAG"} {
		if !strings.Contains(table, want) {
			t.Errorf("group describe table lacks %q:\n%s", want, table)
		}
	}

	cliGroupSeek(t, b)

	var deleted []groupResult
	cliJSON(t, &deleted, "", "group", "delete", "g1", "--brokers", b)
	if len(deleted) != 1 || deleted[0].Group != "g1" || deleted[0].Error != nil {
		t.Fatalf("group delete: %+v", deleted)
	}
	cliJSON(t, &groups, "", "group", "list", "--brokers", b)
	if len(groups) != 0 {
		t.Fatalf("group list after delete: %+v", groups)
	}
}

// cliGroupSeek moves g1 to the start, to offset 3 (and 3 clamped to 2
// on the two-record partition), past the end, and to a timestamp.
func cliGroupSeek(t *testing.T, b string) {
	t.Helper()
	seek := func(to string) map[int32]seekedOffset {
		var out []seekedOffset
		cliJSON(t, &out, "", "group", "seek", "g1", "--topic", "orders", "--to", to, "--brokers", b)
		m := map[int32]seekedOffset{}
		for _, s := range out {
			m[s.Partition] = s
		}
		if len(m) != 2 {
			t.Fatalf("seek --to %s: %+v", to, out)
		}
		return m
	}
	if m := seek("start"); m[0].To != 0 || m[1].To != 0 || max(m[0].From, 0)+max(m[1].From, 0) != 4 {
		t.Errorf("seek --to start: %+v", m)
	}
	if m := seek("3"); m[0].To != 3 || m[1].To != 2 || m[0].From != 0 {
		t.Errorf("seek --to 3 (partition 1 ends at 2): %+v", m)
	}
	if m := seek("@" + strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)); m[0].To != 6 || m[1].To != 2 {
		t.Errorf("seek --to a timestamp after every record: want the ends, got %+v", m)
	}
	if m := seek("@0"); m[0].To != 0 || m[1].To != 0 {
		t.Errorf("seek --to @0: want the starts, got %+v", m)
	}
	d := cliGroupState(t, b, "g1")
	if d.TotalLag != 8 {
		t.Errorf("after seeking to the start, the lag is %d, want 8: %+v", d.TotalLag, d)
	}
	_, errOut, code := cliInProcess(t, "", "group", "seek", "g1", "--topic", "orders", "--to", "middle", "--brokers", b)
	if code != exitUsage || !strings.Contains(errOut, "--to") {
		t.Errorf("seek --to middle: exit %d, want 2 naming --to: %s", code, errOut)
	}
}

// TestCLIGroupSeekRefusesActiveGroup seeks a group that has a live
// member: refused with exit 1 and the group's state, as Kafka's tool
// does; once the member leaves, the seek goes through.
func TestCLIGroupSeekRefusesActiveGroup(t *testing.T) {
	b := cliKfake(t, 1, "events")
	cliOK(t, "x\ny\n", "produce", "events", "--brokers", b, "-q")
	cl, err := kgo.NewClient(kgo.SeedBrokers(b), kgo.ConsumerGroup("live"), kgo.ConsumeTopics("events"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			cl.PollFetches(ctx)
		}
	}()
	procWaitFor(t, 20*time.Second, "the group to be Stable", func() bool {
		out, _, code := cliInProcess(t, "", "group", "describe", "live", "--brokers", b, "--format", "json")
		return code == exitOK && strings.Contains(out, `"state": "Stable"`)
	})
	_, errOut, code := cliInProcess(t, "", "group", "seek", "live", "--topic", "events", "--to", "start", "--brokers", b)
	if code != exitKafka || !strings.Contains(errOut, "Stable") {
		t.Fatalf("seek on a Stable group: exit %d, want 1 naming the state: %s", code, errOut)
	}
	cancel()
	cl.Close() // leaves the group
	procWaitFor(t, 20*time.Second, "the group to be Empty", func() bool {
		out, _, code := cliInProcess(t, "", "group", "describe", "live", "--brokers", b, "--format", "json")
		return code == exitOK && strings.Contains(out, `"state": "Empty"`)
	})
	cliOK(t, "", "group", "seek", "live", "--topic", "events", "--to", "end", "--brokers", b)
}

func TestCLIConfigsAgainstKfake(t *testing.T) {
	b := cliKfake(t, 1, "logs")
	value := func(key string) configEntry {
		var ds []topicDescription
		cliJSON(t, &ds, "", "topic", "describe", "logs", "--brokers", b)
		if len(ds) != 1 || ds[0].ConfigsError != nil || len(ds[0].Configs) == 0 {
			t.Fatalf("topic describe: %+v", ds)
		}
		for _, c := range ds[0].Configs {
			if c.Key == key {
				return c
			}
		}
		return configEntry{}
	}
	cliOK(t, "", "topic", "alter-config", "logs", "--set", "retention.ms=1234", "--brokers", b)
	if c := value("retention.ms"); c.Value != "1234" || c.Source != "DYNAMIC_TOPIC_CONFIG" {
		t.Fatalf("after --set retention.ms=1234: %+v", c)
	}
	cliOK(t, "", "topic", "alter-config", "logs", "--delete", "retention.ms", "--brokers", b)
	if c := value("retention.ms"); c.Value == "1234" || c.Source == "DYNAMIC_TOPIC_CONFIG" {
		t.Fatalf("after --delete retention.ms: %+v", c)
	}
	table := cliOK(t, "", "topic", "describe", "logs", "--brokers", b)
	if !strings.Contains(table, "CONFIG") || !strings.Contains(table, "retention.ms") {
		t.Errorf("the describe table has no configs:\n%s", table)
	}
	_, _, code := cliInProcess(t, "", "topic", "alter-config", "logs", "--brokers", b)
	if code != exitUsage {
		t.Errorf("alter-config without --set or --delete: exit %d, want 2", code)
	}

	cliOK(t, "", "cluster", "config", "set", "log.retention.ms=99000", "--broker", "0", "--brokers", b)
	var bc brokerConfigs
	cliJSON(t, &bc, "", "cluster", "config", "get", "log.retention.ms", "--brokers", b)
	if len(bc.Configs) != 1 || bc.Configs[0].Value != "99000" {
		t.Fatalf("cluster config get log.retention.ms: %+v", bc)
	}
	_, errOut, code := cliInProcess(t, "", "cluster", "config", "get", "no.such.key", "--brokers", b)
	if code != exitKafka || !strings.Contains(errOut, "no.such.key") {
		t.Errorf("cluster config get no.such.key: exit %d, want 1 naming it: %s", code, errOut)
	}
}

func TestCLIClusterInfoAgainstKfake(t *testing.T) {
	b := cliKfake(t, 1, "t")
	var info clusterInfo
	cliJSON(t, &info, "", "cluster", "info", "--brokers", b)
	if info.ClusterID == "" || len(info.Brokers) != 1 || info.Controller != info.Brokers[0].NodeID ||
		info.Brokers[0].Host+":"+strconv.FormatInt(int64(info.Brokers[0].Port), 10) != b {
		t.Fatalf("cluster info: %+v (brokers %s)", info, b)
	}
}
