package driver

// Goal: consumer groups through real clients (issue 6): kgo group
// consumers over several partitions, eager and cooperative-sticky, with
// members joining, leaving and being cut off; static members; committed
// offsets surviving restarts; kadm's group APIs returning what was done.

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/broker/group"
	"github.com/takhin-io/takhin/driver/osfs"
)

// groupNodeConfig is a node whose groups rebalance quickly: a short
// initial delay and session timeouts from 1 s.
func groupNodeConfig(t *testing.T, dir string) NodeConfig {
	cfg := testNodeConfig(t, osfs.New(dir))
	cfg.Broker.Groups = group.DefaultConfig()
	cfg.Broker.Groups.InitialRebalanceDelayMs, cfg.Broker.Groups.MinSessionTimeoutMs = 200, 1000
	cfg.Broker.OffsetsPartitions, cfg.Broker.OffsetsSegmentBytes = 5, 1<<20
	return cfg
}

func startGroupNode(t *testing.T, dir string) *Node {
	t.Helper()
	n, err := StartNode(groupNodeConfig(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// produceN writes n records "v-i" round-robin over a topic's partitions
// and waits for every ack.
func produceN(t *testing.T, ctx context.Context, addr, topic string, n int) {
	produceRange(t, ctx, addr, topic, 0, n)
}

// produceRange writes values v-from … v-(to-1) round-robin.
func produceRange(t *testing.T, ctx context.Context, addr, topic string, from, to int) {
	t.Helper()
	cl := mustClient(t, kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	for i := from; i < to; i++ {
		cl.Produce(ctx, &kgo.Record{Topic: topic, Value: []byte(fmt.Sprintf("v-%d", i))}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func createTopic(t *testing.T, ctx context.Context, adm *kadm.Client, topic string, partitions int32) {
	t.Helper()
	resp, err := adm.CreateTopics(ctx, partitions, 1, nil, topic)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestGroupConsumeCommitDescribe(t *testing.T) {
	ctx := testCtx(t)
	n := startGroupNode(t, t.TempDir())
	defer stopNode(t, n)
	addr := n.Addr()
	adm := kadm.NewClient(mustClient(t, kgo.SeedBrokers(addr)))
	defer adm.Close()
	createTopic(t, ctx, adm, "orders", 3)
	produceN(t, ctx, addr, "orders", 300)

	cl := mustClient(t, kgo.SeedBrokers(addr), kgo.ConsumerGroup("g1"), kgo.ConsumeTopics("orders"),
		kgo.DisableAutoCommit(), kgo.SessionTimeout(6*time.Second))
	seen := map[string]bool{}
	for len(seen) < 300 {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("poll: %v", err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if seen[string(r.Value)] {
				t.Errorf("record %s consumed twice", r.Value)
			}
			seen[string(r.Value)] = true
		})
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	described, err := adm.DescribeGroups(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	d := described["g1"]
	if d.Err != nil || d.State != "Stable" || len(d.Members) != 1 || d.Protocol != "cooperative-sticky" && d.Protocol != "range" {
		t.Fatalf("describe: %+v", d)
	}
	offsets, err := adm.FetchOffsets(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	offsets.Each(func(o kadm.OffsetResponse) { total += o.At })
	if total != 300 {
		t.Fatalf("committed offsets sum to %d, want 300: %+v", total, offsets)
	}
	cl.Close() // leaves the group
	listed, err := adm.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := listed["g1"]; !ok || g.State != "Empty" {
		t.Fatalf("list after leave: %+v", listed)
	}
	deleted, err := adm.DeleteGroups(ctx, "g1")
	if err != nil || deleted["g1"].Err != nil {
		t.Fatalf("delete: %v %+v", err, deleted)
	}
	offsets, err = adm.FetchOffsets(ctx, "g1")
	if err != nil || len(offsets) != 0 {
		t.Fatalf("offsets after delete: %v %+v", err, offsets)
	}
}

func mustClient(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// TestOffsetsTopicIsReadOnly: __consumer_offsets, once a group created it,
// is listed as internal and refuses produce, new partitions and deletion
// (by name and by id).
func TestOffsetsTopicIsReadOnly(t *testing.T) {
	ctx := testCtx(t)
	n := startGroupNode(t, t.TempDir())
	defer stopNode(t, n)
	addr := n.Addr()
	adm := kadm.NewClient(mustClient(t, kgo.SeedBrokers(addr)))
	createTopic(t, ctx, adm, "data", 1)
	os := kadm.Offsets{}
	os.AddOffset("data", 0, 0, -1)
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var resp kadm.OffsetResponses
		if resp, err = adm.CommitOffsets(ctx, "creator", os); err == nil {
			err = resp.Error()
		}
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	md, err := adm.Metadata(ctx, "__consumer_offsets")
	if err != nil {
		t.Fatal(err)
	}
	td := md.Topics["__consumer_offsets"]
	if !td.IsInternal || len(td.Partitions) != 5 {
		t.Fatalf("__consumer_offsets: internal %v, %d partitions", td.IsInternal, len(td.Partitions))
	}
	cl := mustClient(t, kgo.SeedBrokers(addr), kgo.RecordRetries(1))
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "__consumer_offsets", Value: []byte("x")}).FirstErr(); !errors.Is(err, kerr.InvalidTopicException) {
		t.Errorf("produce to __consumer_offsets: %v", err)
	}
	if resp, err := adm.CreatePartitions(ctx, 2, "__consumer_offsets"); err == nil && resp.Error() == nil {
		t.Errorf("partitions added to __consumer_offsets")
	}
	if resp, err := adm.DeleteTopics(ctx, "__consumer_offsets"); err == nil && resp.Error() == nil {
		t.Errorf("__consumer_offsets deleted by name")
	}
	byID := kmsg.NewPtrDeleteTopicsRequest()
	dt := kmsg.NewDeleteTopicsRequestTopic()
	dt.TopicID = td.ID
	byID.Topics = append(byID.Topics, dt)
	if resp, err := byID.RequestWith(ctx, cl); err != nil || resp.Topics[0].ErrorCode == 0 {
		t.Errorf("__consumer_offsets deleted by id: %v", err)
	}
	if md, err := adm.Metadata(ctx, "__consumer_offsets"); err != nil || md.Topics["__consumer_offsets"].Err != nil {
		t.Errorf("__consumer_offsets is gone: %v %v", err, md.Topics["__consumer_offsets"].Err)
	}
}

// TestGroupCountGauge: the group-count gauges follow the coordinator.
func TestGroupCountGauge(t *testing.T) {
	ctx := testCtx(t)
	cfg := groupNodeConfig(t, t.TempDir())
	cfg.Metrics = NewMetrics()
	n, err := StartNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer stopNode(t, n)
	admin, err := ServeAdmin("127.0.0.1:0", cfg.Metrics, n.Ready, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	adm := kadm.NewClient(mustClient(t, kgo.SeedBrokers(n.Addr())))
	createTopic(t, ctx, adm, "data", 1)
	os := kadm.Offsets{}
	os.AddOffset("data", 0, 3, -1)
	for _, g := range []string{"one", "two"} {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			resp, err := adm.CommitOffsets(ctx, g, os)
			if err == nil && resp.Error() == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("commit %s: %v", g, err)
			}
		}
	}
	series := `kafka_coordinator_group_metadata_manager_num_groups{state="Empty"}`
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := adm.ListGroups(ctx); err != nil { // wakes the broker, which samples the counts
			t.Fatal(err)
		}
		s := scrape(t, "http://"+admin.Addr()+"/metrics")
		if s[series] == 2 && s[`kafka_coordinator_group_metadata_manager_num_groups{state="Stable"}`] == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want 2", series, s[series])
		}
		time.Sleep(100 * time.Millisecond)
	}
}
