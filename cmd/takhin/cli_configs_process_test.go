package main

// Goal: the CLI's config commands against a real `takhin serve` process
// (cli_kfake_test.go runs them against kfake): `topic alter-config` sets
// and deletes topic overrides, `cluster config set|get` changes and reads
// the cluster-wide and per-node dynamic broker configs, Kafka's refusals
// reach the user with exit 1 naming the code (INVALID_CONFIG for a topic
// value Takhin does not support, INVALID_REQUEST for a read-only broker
// config), and every change survives SIGTERM and a restart over the same
// data directory, since it is a record of the metadata log.

import (
	"strings"
	"syscall"
	"testing"
)

// cliConfigOf describes topic as JSON and returns one of its configs.
func cliConfigOf(t *testing.T, b, topic, key string) configEntry {
	t.Helper()
	d := cliDescribe(t, b, topic)
	for _, c := range d.Configs {
		if c.Key == key {
			return c
		}
	}
	t.Fatalf("topic %s: no config %s (configs error %+v)", topic, key, d.ConfigsError)
	return configEntry{}
}

// cliBrokerConfig reads one config of node 1 with `cluster config get`.
func cliBrokerConfig(t *testing.T, b, key string) configEntry {
	t.Helper()
	var bc brokerConfigs
	cliExecJSON(t, &bc, "", "cluster", "config", "get", key, "--brokers", b)
	if bc.Broker != 1 || len(bc.Configs) != 1 {
		t.Fatalf("cluster config get %s: %+v", key, bc)
	}
	return bc.Configs[0]
}

func TestCLIConfigsAgainstTakhin(t *testing.T) {
	dir := t.TempDir()
	srv := procServe(t, dir)
	b := srv.addr
	cliExecOK(t, "", "topic", "create", "logs", "--brokers", b)
	cliExecOK(t, "", "topic", "alter-config", "logs", "--set", "retention.ms=1234", "--set", "segment.ms=600000", "--brokers", b)
	cliExecOK(t, "", "topic", "alter-config", "logs", "--delete", "segment.ms", "--brokers", b)
	if c := cliConfigOf(t, b, "logs", "retention.ms"); c.Value != "1234" || c.Source != "DYNAMIC_TOPIC_CONFIG" {
		t.Errorf("retention.ms after --set: %+v", c)
	}
	if c := cliConfigOf(t, b, "logs", "segment.ms"); c.Value != "604800000" || c.Source != "DEFAULT_CONFIG" {
		t.Errorf("segment.ms after --delete: %+v", c)
	}
	_, errOut, code := cliExec(t, "", "topic", "alter-config", "logs", "--set", "compression.type=gzip", "--brokers", b)
	if code != exitKafka || !strings.Contains(errOut, "INVALID_CONFIG (40)") || !strings.Contains(errOut, "not supported by Takhin") {
		t.Errorf("alter-config compression.type=gzip: exit %d, want 1 naming INVALID_CONFIG (40): %s", code, errOut)
	}

	cliExecOK(t, "", "cluster", "config", "set", "log.retention.ms=99000", "--brokers", b)
	cliExecOK(t, "", "cluster", "config", "set", "message.max.bytes=2000000", "--broker", "1", "--brokers", b)
	if c := cliBrokerConfig(t, b, "log.retention.ms"); c.Value != "99000" || c.Source != "DYNAMIC_DEFAULT_BROKER_CONFIG" {
		t.Errorf("log.retention.ms after a cluster-wide set: %+v", c)
	}
	if c := cliConfigOf(t, b, "logs", "max.message.bytes"); c.Value != "2000000" || c.Source != "DYNAMIC_BROKER_CONFIG" {
		t.Errorf("max.message.bytes after a set on node 1: %+v", c)
	}
	_, errOut, code = cliExec(t, "", "cluster", "config", "set", "node.id=5", "--broker", "1", "--brokers", b)
	if code != exitKafka || !strings.Contains(errOut, "INVALID_REQUEST (42)") || !strings.Contains(errOut, "Cannot update these configs dynamically") {
		t.Errorf("cluster config set node.id: exit %d, want 1 naming INVALID_REQUEST (42): %s", code, errOut)
	}
	if _, errOut, code = cliExec(t, "", "cluster", "config", "get", "no.such.key", "--brokers", b); code != exitKafka || !strings.Contains(errOut, "no.such.key") {
		t.Errorf("cluster config get no.such.key: exit %d, want 1 naming it: %s", code, errOut)
	}

	srv.signal(syscall.SIGTERM)
	if code := srv.waitExit(procExitWithin); code != 0 {
		t.Fatalf("SIGTERM: exit %d", code)
	}
	b = procServe(t, dir).addr
	if c := cliConfigOf(t, b, "logs", "retention.ms"); c.Value != "1234" || c.Source != "DYNAMIC_TOPIC_CONFIG" {
		t.Errorf("retention.ms after a restart: %+v", c)
	}
	if c := cliBrokerConfig(t, b, "log.retention.ms"); c.Value != "99000" || c.Source != "DYNAMIC_DEFAULT_BROKER_CONFIG" {
		t.Errorf("log.retention.ms after a restart: %+v", c)
	}
	if c := cliBrokerConfig(t, b, "message.max.bytes"); c.Value != "2000000" || c.Source != "DYNAMIC_BROKER_CONFIG" {
		t.Errorf("message.max.bytes after a restart: %+v", c)
	}
}
