package driver

// Goal: real Kafka clients (franz-go's kgo and kadm) against a real
// listener of a whole node (issue 4, criterion 1): produce with every
// codec and acks=all, consume back byte for byte in order; metadata and
// topic IDs; create, delete and recreate; list offsets; partitions added;
// and pipelined requests of mixed kinds on one connection answered in
// order (criterion 3).

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/broker"
	"github.com/takhin-io/takhin/broker/config"
	"github.com/takhin-io/takhin/driver/osfs"
	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/executor"
)

func startTestNode(t *testing.T, dir string) *Node {
	t.Helper()
	n, err := StartNode(testNodeConfig(t, osfs.New(dir)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func testBrokerConfig(t *testing.T) *config.Broker {
	cfg, err := config.LoadBroker(nil, map[string]string{"node.id": "1"})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func stopNode(t *testing.T, n *Node) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// recordsPerCodec is per codec and topic: the 100k (a few
// seconds each), fewer under -short.
func recordsPerCodec() int {
	if testing.Short() {
		return 2_000
	}
	return 100_000
}

func TestProduceConsumeEveryCodec(t *testing.T) {
	n := startTestNode(t, t.TempDir())
	defer stopNode(t, n)
	ctx := testCtx(t)
	codecs := map[string]kgo.CompressionCodec{
		"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
		"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
	}
	for _, name := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		t.Run(name, func(t *testing.T) {
			topic := "codec-" + name
			adm := newAdmin(t, n)
			if _, err := adm.CreateTopic(ctx, 3, 1, nil, topic); err != nil {
				t.Fatal(err)
			}
			produceAll(t, ctx, n, topic, codecs[name], recordsPerCodec())
			consumeAll(t, ctx, n, topic, recordsPerCodec())
		})
	}
}

func newAdmin(t *testing.T, n *Node) *kadm.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// produceAll sends count records (value "<partition-key>:<i>") with
// acks=all, round-robin over partitions, and waits for every ack.
func produceAll(t *testing.T, ctx context.Context, n *Node, topic string, codec kgo.CompressionCodec, count int) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.DefaultProduceTopic(topic),
		kgo.ProducerBatchCompression(codec), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	errs := make(chan error, 1)
	for i := 0; i < count; i++ {
		cl.Produce(ctx, &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprintf("value-%d", i))}, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		t.Fatalf("produce: %v", err)
	default:
	}
}

// consumeAll reads every record back and checks each partition is in
// order, contiguous from 0, with exactly the values sent.
func consumeAll(t *testing.T, ctx context.Context, n *Node, topic string, count int) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	next := map[int32]int64{}
	seen := make(map[string]bool, count)
	for len(seen) < count {
		fs := cl.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatalf("poll: %v", err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset != next[r.Partition] {
				t.Fatalf("partition %d: offset %d, want %d", r.Partition, r.Offset, next[r.Partition])
			}
			next[r.Partition]++
			if want := "value-" + string(r.Key); string(r.Value) != want || seen[string(r.Key)] {
				t.Fatalf("record %q=%q: duplicate or wrong value", r.Key, r.Value)
			}
			seen[string(r.Key)] = true
		})
	}
}

func TestTopicsMetadataAndOffsets(t *testing.T) {
	n := startTestNode(t, t.TempDir())
	defer stopNode(t, n)
	ctx := testCtx(t)
	adm := newAdmin(t, n)
	created, err := adm.CreateTopic(ctx, 2, 1, map[string]*string{"retention.ms": kadm.StringPtr("60000")}, "orders")
	if err != nil || created.ID == [16]byte{} {
		t.Fatalf("create: %+v %v", created, err)
	}
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "orders"); err == nil {
		t.Fatalf("creating an existing topic must fail")
	}
	if _, err := adm.CreateTopic(ctx, 1, 3, nil, "rf3"); err == nil {
		t.Fatalf("replication factor 3 on one node must fail")
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "bad/name"); err == nil {
		t.Fatalf("an invalid name must fail")
	}
	md, err := adm.Metadata(ctx, "orders")
	if err != nil || md.Topics["orders"].ID != created.ID || len(md.Topics["orders"].Partitions) != 2 {
		t.Fatalf("metadata: %+v %v", md.Topics["orders"], err)
	}
	produceAll(t, ctx, n, "orders", kgo.NoCompression(), 100)
	ends, err := adm.ListEndOffsets(ctx, "orders")
	if err != nil || ends["orders"][0].Offset+ends["orders"][1].Offset != 100 {
		t.Fatalf("end offsets: %+v %v", ends, err)
	}
	starts, err := adm.ListStartOffsets(ctx, "orders")
	if err != nil || starts["orders"][0].Offset != 0 {
		t.Fatalf("start offsets: %+v %v", starts, err)
	}
	if _, err := adm.CreatePartitions(ctx, 2, "orders"); err != nil {
		t.Fatalf("add partitions: %v", err)
	}
	md, _ = adm.Metadata(ctx, "orders")
	if len(md.Topics["orders"].Partitions) != 4 {
		t.Fatalf("after adding partitions: %d", len(md.Topics["orders"].Partitions))
	}
	if _, err := adm.DeleteTopics(ctx, "orders"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	recreated, err := adm.CreateTopic(ctx, 1, 1, nil, "orders")
	if err != nil || recreated.ID == created.ID {
		t.Fatalf("recreate: %+v %v (old id %v)", recreated, err, created.ID)
	}
	ends, _ = adm.ListEndOffsets(ctx, "orders")
	if ends["orders"][0].Offset != 0 {
		t.Fatalf("the recreated topic holds old records: end %d", ends["orders"][0].Offset)
	}
}

// TestPipelinedRequestsInOrder writes several requests of different kinds
// on one connection before reading, and expects the answers in order.
func TestPipelinedRequestsInOrder(t *testing.T) {
	n := startTestNode(t, t.TempDir())
	defer stopNode(t, n)
	c, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	reqs := []kmsg.Request{kmsg.NewPtrApiVersionsRequest(), kmsg.NewPtrMetadataRequest(), kmsg.NewPtrListOffsetsRequest(), kmsg.NewPtrApiVersionsRequest(), kmsg.NewPtrMetadataRequest()}
	var out []byte
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("pipeline"))
	for i, r := range reqs {
		r.SetVersion(min(r.MaxVersion(), 3))
		// AppendRequest writes the size at dst[0] (kmsg v1.15.1), so
		// each request is formatted alone and then appended.
		out = append(out, f.AppendRequest(nil, r, int32(100+i))...)
	}
	if _, err := c.Write(out); err != nil {
		t.Fatal(err)
	}
	for i := range reqs {
		var size [4]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		body := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(c, body); err != nil {
			t.Fatal(err)
		}
		if corr := int32(binary.BigEndian.Uint32(body)); corr != int32(100+i) {
			t.Fatalf("answer %d has correlation id %d, want %d", i, corr, 100+i)
		}
	}
}

// TestRetentionDeletesOldSegments: retention runs for real, on the
// broker's clock: with segment.ms and retention.ms short, old segments go
// and the log start offset moves, while the newest records stay readable.
func TestRetentionDeletesOldSegments(t *testing.T) {
	dir := t.TempDir()
	n, err := StartNode(NodeConfig{
		FS: osfs.New(dir), KafkaAddr: "127.0.0.1:0", Rand: env.NewRand(1, "node"),
		Broker: broker.Config{
			NodeID: 1, MaxRequestBytes: env.DefaultMaxFrameBytes, NonDataRequestBytesMax: 1 << 20,
			QueuedRequestBytesMax: 100 << 20, NumPartitions: 1, ProducerIDBlock: 1000, FetchMaxWaitMsMax: 30_000,
			Topics: config.TopicConfigs{Broker: testBrokerConfig(t)},
		},
		RetentionCheckIntervalMs: 50,
		OnFatal:                  func(err error) { t.Errorf("fatal: %v", err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stopNode(t, n)
	ctx := testCtx(t)
	adm := newAdmin(t, n)
	short := kadm.StringPtr("100")
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"segment.ms": short, "retention.ms": short}, "short"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		produceAll(t, ctx, n, "short", kgo.NoCompression(), 10) // each batch rolls once segment.ms passed
		starts, err := adm.ListStartOffsets(ctx, "short")
		if err == nil && starts["short"][0].Offset > 0 {
			ends, _ := adm.ListEndOffsets(ctx, "short")
			if ends["short"][0].Offset <= starts["short"][0].Offset {
				t.Fatalf("retention deleted the active segment: start %d end %d", starts["short"][0].Offset, ends["short"][0].Offset)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("retention deleted nothing in 30s (start %+v %v)", starts, err)
		}
		time.Sleep(50 * time.Millisecond) // pacing the producer, not an assertion
	}
}

// TestListOffsetsByTimestampInsideCompressedBatches: offsetsForTimes finds
// the record, not its batch, whatever the codec.
func TestListOffsetsByTimestampInsideCompressedBatches(t *testing.T) {
	n := startTestNode(t, t.TempDir())
	defer stopNode(t, n)
	ctx := testCtx(t)
	adm := newAdmin(t, n)
	for name, codec := range map[string]kgo.CompressionCodec{"none": kgo.NoCompression(), "zstd": kgo.ZstdCompression()} {
		topic := "times-" + name
		if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
			t.Fatal(err)
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(codec),
			kgo.ProducerLinger(50*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
		var rs []*kgo.Record
		for i := 0; i < 10; i++ { // one batch: ten records a second apart
			rs = append(rs, &kgo.Record{Value: []byte{byte(i)}, Timestamp: base.Add(time.Duration(i) * time.Second)})
		}
		if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		cl.Close()
		got, err := adm.ListOffsetsAfterMilli(ctx, base.Add(4500*time.Millisecond).UnixMilli(), topic)
		if err != nil {
			t.Fatal(err)
		}
		if o := got[topic][0].Offset; o != 5 {
			t.Fatalf("%s: the first record at or after +4.5 s is offset %d, want 5", topic, o)
		}
	}
}

// The node recycles a fetch's read buffers and every response frame
// (internal/bufpool). Two consumers read three partitions from the start
// while a producer is still writing them (mostly from the in-memory tail),
// and four more once it is done (from disk, with recycled read buffers),
// so reads, responses and their recycling interleave; each consumer must
// see every record, in order, with exactly the bytes sent (a buffer
// recycled while still referenced would show up as a wrong value or a
// broken batch).
func TestConcurrentConsumersSeeExactBytes(t *testing.T) {
	n := startTestNode(t, t.TempDir())
	defer stopNode(t, n)
	ctx := testCtx(t)
	const topic = "recycled"
	if _, err := newAdmin(t, n).CreateTopic(ctx, 3, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	count := 50_000 // about 17 MB a partition, well past its tail
	if testing.Short() {
		count = 20_000
	}
	value := func(key string) []byte {
		return append([]byte("value-"+key+"-"), bytes.Repeat([]byte{key[len(key)-1]}, 1000)...)
	}
	done := make(chan error, 6)
	consume := func(c int) {
		go func() {
			cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.ConsumeTopics(topic),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if err != nil {
				done <- err
				return
			}
			defer cl.Close()
			next := map[int32]int64{}
			for seen := 0; seen < count; {
				fs := cl.PollFetches(ctx)
				if err := fs.Err(); err != nil {
					done <- fmt.Errorf("consumer %d: %w", c, err)
					return
				}
				var bad error
				fs.EachRecord(func(r *kgo.Record) {
					if bad == nil && (r.Offset != next[r.Partition] || !bytes.Equal(r.Value, value(string(r.Key)))) {
						bad = fmt.Errorf("consumer %d: partition %d offset %d (want %d): %d bytes %.20q",
							c, r.Partition, r.Offset, next[r.Partition], len(r.Value), r.Value)
					}
					next[r.Partition]++
					seen++
				})
				if bad != nil {
					done <- bad
					return
				}
			}
			done <- nil
		}()
	}
	consume(0)
	consume(1)
	// Uncompressed, so the partitions outgrow their 4 MiB in-memory tails
	// and the late consumers read from disk.
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := range count {
		key := fmt.Sprint(i)
		cl.Produce(ctx, &kgo.Record{Key: []byte(key), Value: value(key)}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for c := 2; c < 6; c++ {
		consume(c)
	}
	for range 6 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestLooksLikePartitionDir: the orphans a boot removes are partition
// directories and such directories being deleted, never other files of
// the data directory.
func TestLooksLikePartitionDir(t *testing.T) {
	for name, want := range map[string]bool{
		"t-0": true, "my.topic_x-12": true, "t-0" + executor.DeletingSuffix: true,
		"takhin.lock": false, "t": false, "-0": false, "t-": false, "t-x": false, "meta.properties": false,
	} {
		if got := looksLikePartitionDir(name); got != want {
			t.Errorf("looksLikePartitionDir(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestBootRemovesInterruptedDeletions: a topic deletion a crash cut short
// leaves either its directory renamed to <dir>-delete (after the rename
// was synced) or the directory itself, which no topic names any more. The
// next boot removes both, and leaves the live topic and the data
// directory's other files alone.
func TestBootRemovesInterruptedDeletions(t *testing.T) {
	dir := t.TempDir()
	n := startTestNode(t, dir)
	ctx := testCtx(t)
	if _, err := newAdmin(t, n).CreateTopic(ctx, 1, 1, nil, "keep"); err != nil {
		t.Fatal(err)
	}
	produceAll(t, ctx, n, "keep", kgo.NoCompression(), 100)
	stopNode(t, n)
	before := dirNames(t, dir)
	leftovers := []string{"gone-0" + executor.DeletingSuffix, "gone-1"}
	for _, name := range leftovers {
		if err := os.CopyFS(filepath.Join(dir, name), os.DirFS(filepath.Join(dir, "keep-0"))); err != nil {
			t.Fatal(err)
		}
	}

	n = startTestNode(t, dir)
	defer stopNode(t, n)
	deadline := time.Now().Add(30 * time.Second)
	for !slices.Equal(dirNames(t, dir), before) {
		if time.Now().After(deadline) {
			t.Fatalf("after the boot the data directory holds %v, want %v", dirNames(t, dir), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
	consumeAll(t, ctx, n, "keep", 100)
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
