package driver

// Goal: issue 7's record and log APIs through kadm against a real node:
// DeleteRecords moves the log start durably (reads below it are
// OFFSET_OUT_OF_RANGE; -1 is the high watermark; above it is refused; the
// move survives a restart), DescribeProducers lists the idempotent
// producer, DescribeLogDirs reports real sizes and the volume's bytes, and
// a retention.ms change applies to a running partition without a restart.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/driver/osfs"
)

func startRecordsNode(t *testing.T, dir string) *Node {
	t.Helper()
	cfg := testNodeConfig(t, osfs.New(dir))
	cfg.Broker.LogDir = dir
	cfg.RetentionCheckIntervalMs = 50
	n, err := StartNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func earliest(t *testing.T, ctx context.Context, adm *kadm.Client, topic string) int64 {
	t.Helper()
	lo, err := adm.ListStartOffsets(ctx, topic)
	if err != nil || lo.Error() != nil {
		t.Fatalf("list start offsets: %v %v", err, lo.Error())
	}
	o, _ := lo.Lookup(topic, 0)
	return o.Offset
}

func TestDeleteRecordsDescribeProducersAndLogDirs(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	n := startRecordsNode(t, dir)
	adm := kadm.NewClient(mustClient(t, kgo.SeedBrokers(n.Addr())))
	createTopic(t, ctx, adm, "r", 1)
	cl := mustClient(t, kgo.SeedBrokers(n.Addr()))
	for i := 0; i < 100; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "r", Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	producers, err := adm.DescribeProducers(ctx, kadm.TopicsSet{"r": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	var active []kadm.DescribedProducer
	producers.EachProducer(func(p kadm.DescribedProducer) { active = append(active, p) })
	if len(active) != 1 || active[0].LastSequence != 99 || active[0].ProducerID < 0 {
		t.Fatalf("producers: %+v", active)
	}
	dirs, err := adm.DescribeBrokerLogDirs(ctx, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	ld := dirs[dir]
	if p, ok := ld.Topics["r"][0]; ld.Err != nil || !ok || p.Size <= 0 || ld.TotalBytes <= 0 || ld.UsableBytes <= 0 {
		t.Fatalf("log dirs: %+v", dirs)
	}

	del := func(offset int64) kadm.DeleteRecordsResponse {
		os := kadm.Offsets{}
		os.AddOffset("r", 0, offset, -1)
		resp, err := adm.DeleteRecords(ctx, os)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := resp.Lookup("r", 0)
		return r
	}
	if r := del(40); r.Err != nil || r.LowWatermark != 40 {
		t.Fatalf("delete to 40: %+v", r)
	}
	if got := earliest(t, ctx, adm, "r"); got != 40 {
		t.Fatalf("log start %d after deleting to 40", got)
	}
	fetchAt := kmsg.NewPtrFetchRequest()
	md, err := adm.ListTopics(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic, ft.TopicID = "r", md["r"].ID
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.FetchOffset, fp.PartitionMaxBytes = 10, 1<<20
	ft.Partitions = append(ft.Partitions, fp)
	fetchAt.Topics, fetchAt.MaxBytes = append(fetchAt.Topics, ft), 1<<20
	fr, err := fetchAt.RequestWith(ctx, cl)
	if err != nil || fr.Topics[0].Partitions[0].ErrorCode != kerr.OffsetOutOfRange.Code {
		t.Fatalf("fetch below the new log start: %v %+v", err, fr)
	}
	if r := del(101); !errors.Is(r.Err, kerr.OffsetOutOfRange) {
		t.Fatalf("delete above the high watermark: %+v", r)
	}
	if r := del(-1); r.Err != nil || r.LowWatermark != 100 {
		t.Fatalf("delete to the high watermark: %+v", r)
	}
	stopNode(t, n)
	n = startRecordsNode(t, dir)
	defer stopNode(t, n)
	adm = kadm.NewClient(mustClient(t, kgo.SeedBrokers(n.Addr())))
	if got := earliest(t, ctx, adm, "r"); got != 100 {
		t.Fatalf("log start %d after a restart, want 100 (durable)", got)
	}
}

// TestRetentionChangeAppliesLive: old records in rolled segments stay
// under the default retention, and go once retention.ms is lowered,
// without a restart.
func TestRetentionChangeAppliesLive(t *testing.T) {
	ctx := testCtx(t)
	n := startRecordsNode(t, t.TempDir())
	defer stopNode(t, n)
	adm := kadm.NewClient(mustClient(t, kgo.SeedBrokers(n.Addr())))
	segmentMs := "100"
	resp, err := adm.CreateTopics(ctx, 1, 1, map[string]*string{"segment.ms": &segmentMs}, "old")
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	cl := mustClient(t, kgo.SeedBrokers(n.Addr()))
	base := time.Now().Add(-time.Hour)
	for i := 0; i < 10; i++ { // each record 200 ms after the last: a segment each
		r := &kgo.Record{Topic: "old", Value: []byte("v"), Timestamp: base.Add(time.Duration(i) * 200 * time.Millisecond)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if got := earliest(t, ctx, adm, "old"); got != 0 {
		t.Fatalf("deleted under the default retention: start %d", got)
	}
	retention := "60000"
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: &retention}}, "old"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for earliest(t, ctx, adm, "old") < 9 {
		if time.Now().After(deadline) {
			t.Fatalf("retention.ms=60000 did not apply to the running partition: start %d", earliest(t, ctx, adm, "old"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
