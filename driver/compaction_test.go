package driver

// Goal: cleanup.policy=compact end to end through the wire: a compacted
// topic is created (compact and compact,delete are accepted now that the
// log cleaner exists), a keyed produce is accepted and read back, and a
// produce of a record without a key is INVALID_RECORD, as Kafka's
// LogValidator answers for compacted topics.

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/takhin-io/takhin/broker"
	"github.com/takhin-io/takhin/broker/config"
	"github.com/takhin-io/takhin/controller"
)

func TestCompactedTopicRefusesKeylessRecords(t *testing.T) {
	n := clientStartNode(t)
	ctx := testCtx(t)
	adm := newAdmin(t, n)
	for topic, policy := range map[string]string{"compacted": "compact", "both": "compact,delete"} {
		resp, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": &policy}, topic)
		if err != nil || resp.Err != nil {
			t.Fatalf("create %s with cleanup.policy=%s: %v %v", topic, policy, err, resp.Err)
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.RecordRetries(0), kgo.DisableIdempotentWrite())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	for _, topic := range []string{"compacted", "both"} {
		keyed := &kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte("v")}
		if err := cl.ProduceSync(ctx, keyed).FirstErr(); err != nil {
			t.Fatalf("%s: keyed produce: %v", topic, err)
		}
		batch := idempotentBatch(-1, -1, -1, 1) // one keyless record
		if code := rawProduce(t, ctx, cl, topic, batch); code != kerr.InvalidRecord.Code {
			t.Fatalf("%s: keyless produce answered %v, want INVALID_RECORD", topic, kerr.ErrorForCode(code))
		}
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"compacted": {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cons.Close)
	fs := cons.PollRecords(ctx, 1)
	if err := fs.Err(); err != nil {
		t.Fatal(err)
	}
	if recs := fs.Records(); len(recs) != 1 || string(recs[0].Key) != "k" || recs[0].Offset != 0 {
		t.Fatalf("read back %v, want the keyed record at offset 0", recs)
	}
}

// TestPartitionStorageConfigs: what a partition's log is opened with. A
// compacted topic rolls by max.compaction.lag.ms when that is shorter
// than segment.ms (KIP-354: the active segment is never cleaned); a
// delete topic ignores the lag; segment.jitter.ms reaches the log; and
// the log keeps idle producers as long as the broker's
// producer.id.expiration.ms (the cleaner keeps each live producer's last
// batch by it).
func TestPartitionStorageConfigs(t *testing.T) {
	n := &Node{cfg: NodeConfig{Broker: broker.Config{Topics: config.TopicConfigs{Broker: testBrokerConfig(t)}},
		ProducerIDExpirationMs: 7 * 86_400_000}}
	for _, c := range []struct {
		configs                    []controller.ConfigEntry
		segmentMs, jitterMs, pidMs int64
	}{
		{nil, 7 * 86_400_000, 0, 7 * 86_400_000},
		{[]controller.ConfigEntry{{Name: "cleanup.policy", Value: "compact"}, {Name: "max.compaction.lag.ms", Value: "60000"}},
			60_000, 0, 7 * 86_400_000},
		{[]controller.ConfigEntry{{Name: "max.compaction.lag.ms", Value: "60000"}, {Name: "segment.jitter.ms", Value: "500"}},
			7 * 86_400_000, 500, 7 * 86_400_000},
		{[]controller.ConfigEntry{{Name: "cleanup.policy", Value: "compact"}, {Name: "max.compaction.lag.ms", Value: "60000"},
			{Name: "segment.ms", Value: "30000"}}, 30_000, 0, 7 * 86_400_000},
	} {
		sc, mc := n.partitionConfigs(nil, controller.Topic{Name: "t", Configs: c.configs}, 0)
		if sc.SegmentMs != c.segmentMs || sc.SegmentJitterMs != c.jitterMs || sc.ProducerIDExpirationMs != c.pidMs ||
			mc.ProducerIDExpirationMs != c.pidMs {
			t.Errorf("%v: segment.ms %d, jitter %d, producer expiry %d (machine %d); want %d, %d, %d",
				c.configs, sc.SegmentMs, sc.SegmentJitterMs, sc.ProducerIDExpirationMs, mc.ProducerIDExpirationMs,
				c.segmentMs, c.jitterMs, c.pidMs)
		}
	}
}
