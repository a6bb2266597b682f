// These tests pin config values an audit of every honoured config found
// not honoured as claimed: max.message.bytes=0 (Kafka refuses every
// batch; the node crashed on the first produce); flush.messages and
// log.flush.interval.messages (never read: acks=1 was answered before
// the fsync whatever they said).
package driver

import (
	"errors"
	"math"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/takhin-io/takhin/broker"
	"github.com/takhin-io/takhin/broker/config"
	"github.com/takhin-io/takhin/controller"
)

func TestMaxMessageBytesZeroRefusesEveryBatch(t *testing.T) {
	n := startConfigNode(t, t.TempDir())
	defer stopNode(t, n)
	ctx, adm := testCtx(t), newAdmin(t, n)
	zero := "0"
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"max.message.bytes": &zero}, "closed"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "open"); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.RecordRetries(2))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "closed", Value: []byte("x")}).FirstErr(); !errors.Is(err, kerr.MessageTooLarge) {
		t.Errorf("a 1-byte record to a topic with max.message.bytes=0: %v, want MESSAGE_TOO_LARGE", err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "open", Value: []byte("x")}).FirstErr(); err != nil {
		t.Errorf("the node still serves: %v", err)
	}
}

// TestFlushMessagesReachesThePartition: flush.messages, or its broker
// default log.flush.interval.messages (static or dynamic), is the
// partition machine's FlushMessages, so Reconfigure applies a change at
// once.
func TestFlushMessagesReachesThePartition(t *testing.T) {
	static, err := config.LoadBroker(nil, map[string]string{"node.id": "1", "log.flush.interval.messages": "100"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		broker  *config.Broker
		dynamic []controller.ConfigEntry
		topic   []controller.ConfigEntry
		want    int64
	}{
		{testBrokerConfig(t), nil, nil, math.MaxInt64},
		{testBrokerConfig(t), nil, []controller.ConfigEntry{{Name: "flush.messages", Value: "1"}}, 1},
		{static, nil, nil, 100},
		{static, nil, []controller.ConfigEntry{{Name: "flush.messages", Value: "7"}}, 7},
		{static, []controller.ConfigEntry{{Name: "log.flush.interval.messages", Value: "3"}}, nil, 3},
	} {
		topics := broker.TopicConfigs(config.TopicConfigs{Broker: c.broker})
		if c.dynamic != nil {
			topics = topics.WithDynamic(nil, c.dynamic)
		}
		n := &Node{cfg: NodeConfig{Broker: broker.Config{Topics: topics}}}
		if _, mc := n.partitionConfigs(nil, controller.Topic{Name: "t", Configs: c.topic}, 0); mc.FlushMessages != c.want {
			t.Errorf("topic %v, dynamic %v: FlushMessages %d, want %d", c.topic, c.dynamic, mc.FlushMessages, c.want)
		}
	}
}
