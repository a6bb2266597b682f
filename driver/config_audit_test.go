// These tests pin config values an audit of every honoured config found
// not honoured as claimed: max.message.bytes=0 (Kafka refuses every
// batch; the node crashed on the first produce).
package driver

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
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
