package main

// `takhin cluster info` (Metadata: cluster id, controller, brokers) and
// `takhin cluster config get|set` (broker configs through DescribeConfigs
// and IncrementalAlterConfigs).

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
)

const clusterUsage = `usage: takhin cluster <command> [flags]

commands:
  info                       cluster id, controller and brokers
  config get [KEY...]        a broker's configs (--broker ID; default: the lowest broker id)
  config set KEY=VALUE...    alter broker configs: every broker's dynamic default, or one broker's
                             with --broker ID; --delete KEY (repeatable) removes an override

every command takes --brokers (env TAKHIN_BROKERS, default 127.0.0.1:9092),
--timeout and --format text|json.

` + cliExitCodes

func runCluster(args []string, stdout, stderr io.Writer) int {
	return subcommand("cluster", clusterUsage, map[string]func([]string, io.Writer, io.Writer) int{
		"info":   runClusterInfo,
		"config": runClusterConfig,
	}, args, stdout, stderr)
}

func runClusterConfig(args []string, stdout, stderr io.Writer) int {
	return subcommand("cluster config", clusterUsage, map[string]func([]string, io.Writer, io.Writer) int{
		"get": runClusterConfigGet,
		"set": runClusterConfigSet,
	}, args, stdout, stderr)
}

// clusterInfo is `cluster info`'s output.
type clusterInfo struct {
	ClusterID  string          `json:"cluster_id"`
	Controller int32           `json:"controller"` // -1 when unknown
	Brokers    []clusterBroker `json:"brokers"`
}

type clusterBroker struct {
	NodeID int32  `json:"node_id"`
	Host   string `json:"host"`
	Port   int32  `json:"port"`
	Rack   string `json:"rack,omitempty"`
}

func runClusterInfo(args []string, stdout, stderr io.Writer) int {
	c := newCLI("cluster info", "", stdout, stderr).withFormat()
	if _, ok := c.parse(args, 0, 0, "no arguments"); !ok {
		return c.exit
	}
	return c.admin(func(ctx context.Context, adm *kadm.Client) int {
		md, err := adm.BrokerMetadata(ctx)
		if err != nil {
			return c.fail(err)
		}
		info := clusterInfo{ClusterID: md.Cluster, Controller: md.Controller, Brokers: []clusterBroker{}}
		for _, b := range md.Brokers {
			bi := clusterBroker{NodeID: b.NodeID, Host: b.Host, Port: b.Port}
			if b.Rack != nil {
				bi.Rack = *b.Rack
			}
			info.Brokers = append(info.Brokers, bi)
		}
		slices.SortFunc(info.Brokers, func(a, b clusterBroker) int { return int(a.NodeID) - int(b.NodeID) })
		if c.format == "json" {
			c.writeJSON(info)
			return exitOK
		}
		t := newCLITable(c.stdout)
		t.row("CLUSTER", info.ClusterID)
		t.row("CONTROLLER", info.Controller)
		t.flush()
		fmt.Fprintln(c.stdout)
		t = newCLITable(c.stdout, "ID", "HOST", "PORT", "RACK")
		for _, b := range info.Brokers {
			t.row(b.NodeID, b.Host, b.Port, dashIfEmpty(b.Rack))
		}
		t.flush()
		return exitOK
	})
}

// brokerConfigs is `cluster config get`'s output.
type brokerConfigs struct {
	Broker  int32         `json:"broker"`
	Configs []configEntry `json:"configs"`
}

func runClusterConfigGet(args []string, stdout, stderr io.Writer) int {
	c := newCLI("cluster config get", "[KEY...] [--broker ID]", stdout, stderr).withFormat()
	broker := c.fs.Int("broker", -1, "the broker whose configs to show (-1: the lowest broker id)")
	keys, ok := c.parse(args, 0, -1, "config keys")
	if !ok {
		return c.exit
	}
	return c.admin(func(ctx context.Context, adm *kadm.Client) int {
		id := int32(*broker)
		if id < 0 {
			md, err := adm.BrokerMetadata(ctx)
			if err != nil {
				return c.fail(err)
			}
			if len(md.Brokers) == 0 {
				return c.failf("the cluster lists no broker")
			}
			id = slices.Min(md.Brokers.NodeIDs())
		}
		rcs, err := adm.DescribeBrokerConfigs(ctx, id)
		if err != nil {
			return c.fail(err)
		}
		rc, err := rcs.On(strconv.Itoa(int(id)), nil)
		if err == nil {
			err = rc.Err
		}
		if err != nil {
			return c.failf("broker %d: %s", id, statusText(err, rc.ErrMessage))
		}
		out := brokerConfigs{Broker: id, Configs: filterConfigs(configEntries(rc.Configs), keys)}
		if len(out.Configs) < len(keys) {
			return c.failf("broker %d has no config named %v", id, missingKeys(out.Configs, keys))
		}
		if c.format == "json" {
			c.writeJSON(out)
		} else {
			printConfigs(c.stdout, out.Configs)
		}
		return exitOK
	})
}

// filterConfigs keeps the configs named in keys (all when keys is empty).
func filterConfigs(cs []configEntry, keys []string) []configEntry {
	if len(keys) == 0 {
		return cs
	}
	var out []configEntry
	for _, cfg := range cs {
		if slices.Contains(keys, cfg.Key) {
			out = append(out, cfg)
		}
	}
	return out
}

func missingKeys(cs []configEntry, keys []string) []string {
	var missing []string
	for _, k := range keys {
		if !slices.ContainsFunc(cs, func(cfg configEntry) bool { return cfg.Key == k }) {
			missing = append(missing, k)
		}
	}
	return missing
}

// alterResult is `cluster config set`'s output.
type alterResult struct {
	Resource string     `json:"resource"` // the broker id, or "" for the cluster-wide default
	Error    *jsonError `json:"error,omitempty"`
}

func runClusterConfigSet(args []string, stdout, stderr io.Writer) int {
	c := newCLI("cluster config set", "KEY=VALUE... [--delete KEY]... [--broker ID]", stdout, stderr).withFormat()
	broker := c.fs.Int("broker", -1, "alter this broker only (-1: the cluster-wide default of every broker)")
	var del listFlag
	c.fs.Var(&del, "delete", "remove an override (repeatable)")
	set, ok := c.parse(args, 0, -1, "key=value pairs")
	if !ok {
		return c.exit
	}
	alters, err := alterConfigs(set, del)
	if err != nil {
		return c.usagef("%v", err)
	}
	var brokers []int32
	if *broker >= 0 {
		brokers = append(brokers, int32(*broker))
	}
	return c.admin(func(ctx context.Context, adm *kadm.Client) int {
		resp, err := adm.AlterBrokerConfigs(ctx, alters, brokers...)
		if err != nil {
			return c.fail(err)
		}
		code := exitOK
		out := []alterResult{}
		for _, r := range resp {
			if r.Err != nil {
				code = c.failf("broker %q: %s", r.Name, statusText(r.Err, r.ErrMessage))
			}
			out = append(out, alterResult{r.Name, toJSONError(r.Err, r.ErrMessage)})
		}
		if c.format == "json" {
			c.writeJSON(out)
			return code
		}
		t := newCLITable(c.stdout, "BROKER", "STATUS")
		for _, r := range resp {
			t.row(dashIfEmpty(r.Name), statusText(r.Err, r.ErrMessage))
		}
		t.flush()
		return code
	})
}
