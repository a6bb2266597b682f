package main

import (
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
