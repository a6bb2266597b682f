package main

// `takhin topic create|list|describe|delete|alter-config|add-partitions`:
// topics through kadm (CreateTopics, Metadata, ListOffsets, DescribeConfigs,
// DeleteTopics, IncrementalAlterConfigs, CreatePartitions). A command on
// several topics reports every one and exits 1 if any failed.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

const topicUsage = `usage: takhin topic <command> [flags]

commands:
  create TOPIC...          -p partitions, -r replication factor, -c key=value (repeatable)
  list                     topics with partition and replica counts (-i: internal ones too)
  describe TOPIC...        partitions (leader, replicas, ISR, log start, high watermark) and configs
  delete TOPIC...
  alter-config TOPIC...    --set key=value, --delete key (repeatable; IncrementalAlterConfigs)
  add-partitions TOPIC...  -n partitions to add

every command takes --brokers (env TAKHIN_BROKERS, default 127.0.0.1:9092),
--timeout and --format text|json.

` + cliExitCodes

func runTopic(args []string, stdout, stderr io.Writer) int {
	return subcommand("topic", topicUsage, map[string]func([]string, io.Writer, io.Writer) int{
		"create":         runTopicCreate,
		"list":           runTopicList,
		"describe":       runTopicDescribe,
		"delete":         runTopicDelete,
		"alter-config":   runTopicAlterConfig,
		"add-partitions": runTopicAddPartitions,
	}, args, stdout, stderr)
}

// topicResult is one topic's outcome in JSON output.
type topicResult struct {
	Topic             string     `json:"topic"`
	ID                string     `json:"id,omitempty"`
	Partitions        int32      `json:"partitions,omitempty"`
	ReplicationFactor int16      `json:"replication_factor,omitempty"`
	Error             *jsonError `json:"error,omitempty"`
}

func runTopicCreate(args []string, stdout, stderr io.Writer) int {
	c := newCLI("topic create", "TOPIC... [-p N] [-r N] [-c key=value]...", stdout, stderr).withFormat()
	partitions := c.fs.Int("p", -1, "partitions (-1: the broker's num.partitions)")
	replicas := c.fs.Int("r", -1, "replication factor (-1: the broker's default.replication.factor)")
	var configs listFlag
	c.fs.Var(&configs, "c", "a topic config key=value (repeatable)")
	topics, ok := c.parse(args, 1, -1, "one or more topics")
	if !ok {
		return c.exit
	}
	cfg := map[string]*string{}
	for _, kv := range configs {
		k, v, err := splitKV(kv)
		if err != nil {
			return c.usagef("-c %v", err)
		}
		cfg[k] = &v
	}
	return c.admin(func(ctx context.Context, adm *kadm.Client) int {
		resp, err := adm.CreateTopics(ctx, int32(*partitions), int16(*replicas), cfg, topics...)
		if err != nil {
			return c.fail(err)
		}
		var out []topicResult
		for _, r := range resp.Sorted() {
			res := topicResult{Topic: r.Topic, Error: toJSONError(r.Err, r.ErrMessage)}
			if r.Err == nil {
				res.ID, res.Partitions, res.ReplicationFactor = r.ID.String(), r.NumPartitions, r.ReplicationFactor
			}
			out = append(out, res)
		}
		return c.topicResults(out, "created")
	})
}

// topicResults prints per-topic outcomes (a table: TOPIC, ID when
// known, PARTITIONS and REPLICAS when known, STATUS) and returns 1 if any
// failed.
func (c *cli) topicResults(out []topicResult, verb string) int {
	code := exitOK
	for _, r := range out {
		if r.Error != nil {
			code = c.failf("%s: %s", r.Topic, r.Error.Message)
		}
	}
	if c.format == "json" {
		c.writeJSON(out)
		return code
	}
	t := newCLITable(c.stdout, "TOPIC", "STATUS")
	for _, r := range out {
		status := verb
		if r.Error != nil {
			status = r.Error.Message
		}
		t.row(r.Topic, status)
	}
	t.flush()
	return code
}

// topicSummary is one row of `topic list`.
type topicSummary struct {
	Topic             string `json:"topic"`
	ID                string `json:"id"`
	Partitions        int    `json:"partitions"`
	ReplicationFactor int    `json:"replication_factor"`
	Internal          bool   `json:"internal"`
}

func runTopicList(args []string, stdout, stderr io.Writer) int {
	c := newCLI("topic list", "[-i]", stdout, stderr).withFormat()
	internal := c.fs.Bool("i", false, "include internal topics")
	if _, ok := c.parse(args, 0, 0, "no arguments"); !ok {
		return c.exit
	}
	return c.admin(func(ctx context.Context, adm *kadm.Client) int {
		md, err := adm.Metadata(ctx)
		if err != nil {
			return c.fail(err)
		}
		out := []topicSummary{}
		for _, d := range md.Topics.Sorted() {
			if d.Err != nil || (d.IsInternal && !*internal) {
				continue
			}
			out = append(out, topicSummary{d.Topic, d.ID.String(), len(d.Partitions), d.Partitions.NumReplicas(), d.IsInternal})
		}
		if c.format == "json" {
			c.writeJSON(out)
			return exitOK
		}
		t := newCLITable(c.stdout, "TOPIC", "PARTITIONS", "REPLICAS")
		for _, s := range out {
			t.row(s.Topic, s.Partitions, s.ReplicationFactor)
		}
		t.flush()
		return exitOK
	})
}

func runTopicDelete(args []string, stdout, stderr io.Writer) int {
	c := newCLI("topic delete", "TOPIC...", stdout, stderr).withFormat()
	topics, ok := c.parse(args, 1, -1, "one or more topics")
	if !ok {
		return c.exit
	}
	return c.admin(func(ctx context.Context, adm *kadm.Client) int {
		resp, err := adm.DeleteTopics(ctx, topics...)
		if err != nil {
			return c.fail(err)
		}
		var out []topicResult
		for _, r := range resp.Sorted() {
			out = append(out, topicResult{Topic: r.Topic, ID: idOrEmpty(r.ID), Error: toJSONError(r.Err, r.ErrMessage)})
		}
		return c.topicResults(out, "deleted")
	})
}

func idOrEmpty(id kadm.TopicID) string {
	if id == (kadm.TopicID{}) {
		return ""
	}
	return id.String()
}

func runTopicAlterConfig(args []string, stdout, stderr io.Writer) int {
	c := newCLI("topic alter-config", "TOPIC... [--set key=value]... [--delete key]...", stdout, stderr).withFormat()
	var set, del listFlag
	c.fs.Var(&set, "set", "set a config key=value (repeatable)")
	c.fs.Var(&del, "delete", "remove a config override, back to the default (repeatable)")
	topics, ok := c.parse(args, 1, -1, "one or more topics")
	if !ok {
		return c.exit
	}
	alters, err := alterConfigs(set, del)
	if err != nil {
		return c.usagef("%v", err)
	}
	return c.admin(func(ctx context.Context, adm *kadm.Client) int {
		resp, err := adm.AlterTopicConfigs(ctx, alters, topics...)
		if err != nil {
			return c.fail(err)
		}
		var out []topicResult
		for _, r := range resp {
			out = append(out, topicResult{Topic: r.Name, Error: toJSONError(r.Err, r.ErrMessage)})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Topic < out[j].Topic })
		return c.topicResults(out, "altered")
	})
}

// alterConfigs turns --set k=v and --delete k into incremental
// operations; at least one is required.
func alterConfigs(set, del []string) ([]kadm.AlterConfig, error) {
	var alters []kadm.AlterConfig
	for _, kv := range set {
		k, v, err := splitKV(kv)
		if err != nil {
			return nil, err
		}
		alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: &v})
	}
	for _, k := range del {
		alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
	}
	if len(alters) == 0 {
		return nil, errNothingToAlter
	}
	return alters, nil
}

var errNothingToAlter = errors.New("give at least one --set key=value or --delete key")

func runTopicAddPartitions(args []string, stdout, stderr io.Writer) int {
	c := newCLI("topic add-partitions", "TOPIC... -n N", stdout, stderr).withFormat()
	add := c.fs.Int("n", 0, "partitions to add to each topic")
	topics, ok := c.parse(args, 1, -1, "one or more topics")
	if !ok {
		return c.exit
	}
	if *add <= 0 {
		return c.usagef("-n must be positive")
	}
	return c.admin(func(ctx context.Context, adm *kadm.Client) int {
		resp, err := adm.CreatePartitions(ctx, *add, topics...)
		if err != nil {
			return c.fail(err)
		}
		var out []topicResult
		for _, r := range resp.Sorted() {
			out = append(out, topicResult{Topic: r.Topic, Error: toJSONError(r.Err, r.ErrMessage)})
		}
		return c.topicResults(out, "added "+strconv.Itoa(*add)+" partition(s)")
	})
}

// unknownTopics returns the topics md does not have, for commands that
// must fail fast rather than let kgo wait for a topic to appear.
func unknownTopics(md kadm.Metadata, topics ...string) []string {
	var missing []string
	for _, t := range topics {
		if d, ok := md.Topics[t]; !ok || d.Err == kerr.UnknownTopicOrPartition {
			missing = append(missing, t)
		}
	}
	return missing
}

// topicDescription is one topic in `topic describe`.
type topicDescription struct {
	Topic             string            `json:"topic"`
	ID                string            `json:"id"`
	Internal          bool              `json:"internal"`
	ReplicationFactor int               `json:"replication_factor"`
	Partitions        []partitionDetail `json:"partitions"`
	Configs           []configEntry     `json:"configs"`                 // null when they could not be described
	ConfigsError      *jsonError        `json:"configs_error,omitempty"` // why configs is null
}

type partitionDetail struct {
	Partition      int32      `json:"partition"`
	Leader         int32      `json:"leader"`
	LeaderEpoch    int32      `json:"leader_epoch"`
	Replicas       []int32    `json:"replicas"`
	ISR            []int32    `json:"isr"`
	LogStartOffset int64      `json:"log_start_offset"` // -1 when ListOffsets failed
	HighWatermark  int64      `json:"high_watermark"`   // -1 when ListOffsets failed
	Error          *jsonError `json:"error,omitempty"`
}

// configEntry is one config of a topic or a broker.
type configEntry struct {
	Key       string `json:"key"`
	Value     string `json:"value"`
	Source    string `json:"source"` // Kafka's ConfigSource name, e.g. DEFAULT_CONFIG
	Sensitive bool   `json:"sensitive"`
}

func runTopicDescribe(args []string, stdout, stderr io.Writer) int {
	c := newCLI("topic describe", "TOPIC...", stdout, stderr).withFormat()
	topics, ok := c.parse(args, 1, -1, "one or more topics")
	if !ok {
		return c.exit
	}
	return c.admin(func(ctx context.Context, adm *kadm.Client) int {
		md, err := adm.Metadata(ctx, topics...)
		if err != nil {
			return c.fail(err)
		}
		code := exitOK
		for _, t := range unknownTopics(md, topics...) {
			code = c.failf("%s: %s", t, errText(kerr.UnknownTopicOrPartition))
		}
		if code != exitOK {
			return code
		}
		starts, err := adm.ListStartOffsets(ctx, topics...)
		if err != nil {
			return c.fail(err)
		}
		ends, err := adm.ListEndOffsets(ctx, topics...)
		if err != nil {
			return c.fail(err)
		}
		configs, configsErr := adm.DescribeTopicConfigs(ctx, topics...)
		var out []topicDescription
		for _, t := range topics {
			d := describeTopic(md.Topics[t], starts, ends)
			d.Configs, d.ConfigsError = topicConfigs(configs, configsErr, t)
			if d.ConfigsError != nil {
				fmt.Fprintf(c.stderr, "takhin topic describe: %s: configs: %s\n", t, d.ConfigsError.Message)
			}
			out = append(out, d)
		}
		c.printDescriptions(out)
		return exitOK
	})
}

func describeTopic(td kadm.TopicDetail, starts, ends kadm.ListedOffsets) topicDescription {
	d := topicDescription{Topic: td.Topic, ID: td.ID.String(), Internal: td.IsInternal,
		ReplicationFactor: td.Partitions.NumReplicas(), Partitions: []partitionDetail{}}
	for _, p := range td.Partitions.Sorted() {
		pd := partitionDetail{Partition: p.Partition, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch,
			Replicas: p.Replicas, ISR: p.ISR, LogStartOffset: -1, HighWatermark: -1, Error: toJSONError(p.Err, "")}
		if o, ok := starts.Lookup(td.Topic, p.Partition); ok && o.Err == nil {
			pd.LogStartOffset = o.Offset
		}
		if o, ok := ends.Lookup(td.Topic, p.Partition); ok && o.Err == nil {
			pd.HighWatermark = o.Offset
		} else if ok && pd.Error == nil {
			pd.Error = toJSONError(o.Err, "ListOffsets")
		}
		d.Partitions = append(d.Partitions, pd)
	}
	return d
}

// topicConfigs picks topic's configs from a DescribeConfigs answer; a
// broker without DescribeConfigs still gets its partitions described.
func topicConfigs(rcs kadm.ResourceConfigs, err error, topic string) ([]configEntry, *jsonError) {
	if err != nil {
		return nil, toJSONError(err, "")
	}
	rc, err := rcs.On(topic, nil)
	if err == nil {
		err = rc.Err
	}
	if err != nil {
		return nil, toJSONError(err, rc.ErrMessage)
	}
	return configEntries(rc.Configs), nil
}

func configEntries(cs []kadm.Config) []configEntry {
	out := make([]configEntry, 0, len(cs))
	for _, cfg := range cs {
		out = append(out, configEntry{Key: cfg.Key, Value: cfg.MaybeValue(), Source: cfg.Source.String(), Sensitive: cfg.Sensitive})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func (c *cli) printDescriptions(out []topicDescription) {
	if c.format == "json" {
		c.writeJSON(out)
		return
	}
	for i, d := range out {
		if i > 0 {
			fmt.Fprintln(c.stdout)
		}
		t := newCLITable(c.stdout)
		t.row("TOPIC", d.Topic)
		t.row("ID", d.ID)
		t.row("PARTITIONS", len(d.Partitions))
		t.row("REPLICAS", d.ReplicationFactor)
		t.row("INTERNAL", d.Internal)
		t.flush()
		fmt.Fprintln(c.stdout)
		t = newCLITable(c.stdout, "PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "LOG-START", "HIGH-WATERMARK", "ERROR")
		for _, p := range d.Partitions {
			t.row(p.Partition, p.Leader, p.LeaderEpoch, int32List(p.Replicas), int32List(p.ISR),
				p.LogStartOffset, p.HighWatermark, errCell(p.Error))
		}
		t.flush()
		if d.Configs != nil {
			fmt.Fprintln(c.stdout)
			printConfigs(c.stdout, d.Configs)
		}
	}
}

func printConfigs(w io.Writer, cs []configEntry) {
	t := newCLITable(w, "CONFIG", "VALUE", "SOURCE")
	for _, cfg := range cs {
		t.row(cfg.Key, cfg.Value, cfg.Source)
	}
	t.flush()
}

func errCell(e *jsonError) string {
	if e == nil {
		return "-"
	}
	return e.Name
}
