package main

import (
	"io"
	"testing"

	"go.uber.org/zap"

	"github.com/takhin-io/takhin/broker"
	"github.com/takhin-io/takhin/broker/config"
)

// TestQueuedMaxRequestBytesZeroIsUnlimited: Kafka's SocketServer bounds
// queued request bytes only when queued.max.request.bytes is above 0, so
// 0, like -1, means no limit (it made broker.New's positive-limit
// assertion fail at start-up).
func TestQueuedMaxRequestBytesZeroIsUnlimited(t *testing.T) {
	for _, c := range []struct {
		value string
		want  int
	}{{"-1", 1 << 40}, {"0", 1 << 40}, {"-5", 1 << 40}, {"1048576", 1 << 20}} {
		cfg, err := config.LoadBroker(nil, map[string]string{"node.id": "1", "queued.max.request.bytes": c.value})
		if err != nil {
			t.Fatal(err)
		}
		bc := brokerConfig(cfg, t.TempDir())
		if bc.QueuedRequestBytesMax != c.want {
			t.Errorf("queued.max.request.bytes=%s: QueuedRequestBytesMax %d, want %d", c.value, bc.QueuedRequestBytesMax, c.want)
		}
		broker.New(bc, zap.NewNop()) // asserts positive limits
	}
}

// TestDefaultLogDirIsTheDataDir: with no --data-dir, log.dirs or log.dir,
// the node keeps its data in ./takhin-data, and log.dir's default (what
// DescribeConfigs reports) says so (it said /tmp/takhin-logs).
func TestDefaultLogDirIsTheDataDir(t *testing.T) {
	f, ok := parseServe(nil, io.Discard)
	if !ok {
		t.Fatal("parseServe")
	}
	cfg, dir, err := loadConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := cfg.Entry("log.dir"); e.Value.Str() != dir || !e.IsDefault() || cfg.DataDir != dir {
		t.Errorf("data in %s; log.dir %s (default %v), DataDir %s", dir, e.Value.Str(), e.IsDefault(), cfg.DataDir)
	}
}
