package driver

// Goal: the client matrix (issue 4, criterion 5): clients other than
// franz-go, each against a whole in-process node on a real listener,
// produce about 200 records to partition 0 and read them back by
// partition (never through a group: the broker has no group coordinator
// yet), values compared byte for byte and in order, offsets from 0.
//
//   - kcat (librdkafka, Debian `kcat`): -P with snappy, lz4 and without
//     compression, the stored batches checked to keep the producer's codec,
//     then -C -o beginning -e -p 0, on to the end of the partition.
//   - Sarama (IBM/sarama, its default Version and V2_1_0_0): a
//     SyncProducer with the manual partitioner and WaitForAll, then
//     ConsumePartition, idle at the end of the partition, then one more
//     record.
//   - kafka-go (segmentio): a Writer balanced onto partition 0, then a
//     Reader with Partition 0 and no GroupID, idle at the end of the
//     partition, then one more record.
//   - confluent-kafka-python (librdkafka, Debian `python3-confluent-kafka`):
//     testdata/clients/confluent_kafka_client.py, zstd, assign() not
//     subscribe(), on to the end of the partition.
//   - KafkaJS (npm `kafkajs`, pinned in testdata/clients/kafkajs): produce
//     only, half gzip (KafkaJS consumes only through groups); kgo reads
//     back.
//
// The external tools are required, not optional: a missing one fails its
// test and names the package .ci/run installs. Every external process runs
// under a deadline; librdkafka's protocol errors (PROTOERR) end it at once
// instead of letting it retry until the deadline.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// clientRecords is how many records each client produces and consumes.
const clientRecords = 200

// clientDeadline bounds each external process and each Go client's phase.
const clientDeadline = 60 * time.Second

// clientValues returns n distinct values of varied lengths (about 120 to
// 420 bytes), repetitive enough that even a batch of one compresses:
// librdkafka sends a batch uncompressed when its codec does not make it
// smaller. lineSafe values
// are printable ASCII plus UTF-8 (no '\n': kcat reads and prints one
// value per line); the others use every byte value.
func clientValues(prefix string, n int, lineSafe bool) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		v := []byte(fmt.Sprintf("%s-%04d-", prefix, i))
		if lineSafe {
			v = append(v, "héllo wörld ✓ "...)
		}
		for j := 0; j < 100+(i*37)%300; j++ {
			k := i + (j%17)*(j%17) // a period of 17 bytes: compressible
			c := byte(k % 256)
			if lineSafe {
				c = ' ' + byte(k%95)
			}
			v = append(v, c)
		}
		out[i] = v
	}
	return out
}

// clientCheckValues compares what a client read back with what was sent:
// same count, offsets 0..n-1, values byte for byte. After a client failed
// (complete false) what it read is compared as a prefix of want.
func clientCheckValues(t *testing.T, who string, offsets []int64, got, want [][]byte, complete bool) {
	t.Helper()
	if complete && len(got) != len(want) {
		t.Errorf("%s: read %d records, want %d", who, len(got), len(want))
	}
	if len(got) > len(want) {
		t.Errorf("%s: read %d records, more than the %d produced", who, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if offsets[i] != int64(i) {
			t.Errorf("%s: record %d at offset %d, want %d", who, i, offsets[i], i)
			return
		}
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("%s: record %d is %q, want %q", who, i, got[i], want[i])
			return
		}
	}
	if !complete {
		t.Logf("%s: the %d records read before the failure are right", who, len(got))
	}
}

// clientLines splits a client's output into its complete lines: a client
// stopped by clientRun may leave its last line cut short.
func clientLines(out []byte) [][]byte {
	lines := bytes.Split(out, []byte("\n"))
	return lines[:len(lines)-1] // the piece after the last '\n'
}

// clientStartNode starts a node and stops it in a cleanup, registered
// before (so run after) the cleanups closing the test's kgo clients: a
// client still connected would hold the node's graceful close for its
// whole linger (tcpnet's CloseLinger, 2s).
func clientStartNode(t *testing.T) *Node {
	n := startTestNode(t, t.TempDir())
	t.Cleanup(func() { stopNode(t, n) })
	return n
}

// clientCreateTopic creates a one-partition topic with kadm.
func clientCreateTopic(t *testing.T, ctx context.Context, n *Node, topic string) {
	t.Helper()
	if _, err := newAdmin(t, n).CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
}

// clientStoredBatch is one batch as the broker serves it back.
type clientStoredBatch struct {
	base    int64
	records int32
	codec   string
}

var clientCodecNames = map[int16]string{0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}

// clientStoredBatches fetches partition 0 of topic raw (kmsg through a kgo
// client) from offset 0 to its high watermark and returns each batch's
// base offset, record count and codec, as its attributes say.
func clientStoredBatches(t *testing.T, ctx context.Context, n *Node, topic string) []clientStoredBatch {
	t.Helper()
	md, err := newAdmin(t, n).Metadata(ctx, topic)
	if err != nil || md.Topics[topic].Err != nil {
		t.Fatalf("metadata %s: %v %v", topic, err, md.Topics[topic].Err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []clientStoredBatch
	for offset := int64(0); ; {
		req := kmsg.NewPtrFetchRequest()
		req.ReplicaID, req.MaxWaitMillis, req.MaxBytes, req.SessionEpoch = -1, 0, 16<<20, -1
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = topic, md.Topics[topic].ID
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.LogStartOffset, rp.PartitionMaxBytes = 0, offset, -1, 16<<20
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("raw fetch: %v", err)
		}
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("raw fetch: answer %+v", resp)
		}
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != 0 {
			t.Fatalf("raw fetch at %d: error code %d", offset, p.ErrorCode)
		}
		if offset >= p.HighWatermark {
			return out
		}
		raw := p.RecordBatches
		if len(raw) == 0 {
			t.Fatalf("raw fetch at %d below the high watermark %d: no batches", offset, p.HighWatermark)
		}
		for len(raw) >= 12 {
			size := 12 + int(int32(binary.BigEndian.Uint32(raw[8:12])))
			if size > len(raw) {
				break // a partial batch at the end of the answer
			}
			var b kmsg.RecordBatch
			if err := b.ReadFrom(raw[:size]); err != nil {
				t.Fatalf("raw fetch at %d: %v", offset, err)
			}
			out = append(out, clientStoredBatch{base: b.FirstOffset, records: b.NumRecords, codec: clientCodecNames[b.Attributes&0x07]})
			offset = b.FirstOffset + int64(b.LastOffsetDelta) + 1
			raw = raw[size:]
		}
	}
}

// clientCheckStored checks that the stored batches cover offsets
// 0..count-1 and that codecOf(base offset) gives each batch's codec.
func clientCheckStored(t *testing.T, ctx context.Context, n *Node, topic string, count int, codecOf func(base int64) string) {
	t.Helper()
	batches := clientStoredBatches(t, ctx, n, topic)
	total := 0
	for _, b := range batches {
		if want := codecOf(b.base); b.codec != want {
			t.Errorf("stored batch at offset %d (%d records) is %q, produced as %q", b.base, b.records, b.codec, want)
		}
		total += int(b.records)
	}
	if total != count {
		t.Errorf("stored %d records in %d batches, want %d", total, len(batches), count)
	}
	t.Logf("%s: %d records stored in %d batches", topic, total, len(batches))
}

// clientRequire finds an executable on PATH, or fails naming the Debian
// package .ci/run installs.
func clientRequire(t *testing.T, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found on PATH (%v): .ci/run installs it with `%s`", name, err, install)
	}
	return path
}

// clientWatch is a process's stderr: kept whole, and the process is
// stopped at the first line holding one of the abort markers.
type clientWatch struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	markers []string
	abort   func()
	hit     string
}

func (w *clientWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.hit == "" {
		for _, m := range w.markers {
			if bytes.Contains(w.buf.Bytes(), []byte(m)) {
				w.hit = m
				w.abort()
				break
			}
		}
	}
	return len(p), nil
}

func (w *clientWatch) marker() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.hit
}

func (w *clientWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.buf.String()
	if len(s) > 4000 {
		s = s[:2000] + "\n[...]\n" + s[len(s)-2000:]
	}
	return s
}

// clientRun runs an external client with stdin under clientDeadline. It
// returns stdout, or an error carrying the exit status, whether the
// deadline or an abort marker ended it, and stderr.
func clientRun(ctx context.Context, dir string, env []string, stdin []byte, abortOn []string, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, clientDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Stdin, cmd.WaitDelay = dir, bytes.NewReader(stdin), 5*time.Second
	cmd.Env = append(os.Environ(), env...)
	var stdout bytes.Buffer
	stderr := &clientWatch{markers: abortOn, abort: cancel}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	start := time.Now()
	err := cmd.Run()
	switch {
	case stderr.marker() != "":
		err = fmt.Errorf("stopped at the first %q on stderr", stderr.marker())
	case ctx.Err() != nil:
		err = fmt.Errorf("still running after %v", clientDeadline)
	}
	if err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %w (after %v)\nstderr:\n%s", filepath.Base(name), strings.Join(args, " "), err, time.Since(start).Round(time.Millisecond), stderr)
	}
	return stdout.Bytes(), nil
}

// librdkafkaAbort are librdkafka's log lines that mean the broker's answer
// could not be parsed: the client would retry them until the deadline.
var librdkafkaAbort = []string{"PROTOERR"}

// clientAdvertises says whether the node's ApiVersions lists key.
func clientAdvertises(t *testing.T, ctx context.Context, n *Node, key int16) bool {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("api versions: %v", err)
	}
	for _, k := range resp.ApiKeys {
		if k.ApiKey == key {
			return true
		}
	}
	return false
}

// TestClientKcat: librdkafka through kcat, snappy, lz4 and uncompressed.
//
// librdkafka compresses with lz4 only for a broker that advertises
// FindCoordinator (key 10; its "LZ4" feature dates lz4 support by that
// API, rdkafka_feature.c), and otherwise sends the batch uncompressed
// without a word: so lz4 is expected stored as lz4 once the broker has
// groups, and uncompressed before.
func TestClientKcat(t *testing.T) {
	kcat := clientRequire(t, "kcat", "apt-get install -y kcat")
	n := clientStartNode(t)
	ctx := testCtx(t)
	for _, codec := range []string{"snappy", "lz4", "none"} {
		t.Run(codec, func(t *testing.T) {
			stored := codec
			if codec == "lz4" && !clientAdvertises(t, ctx, n, 10) {
				t.Logf("no FindCoordinator advertised: librdkafka sends lz4 uncompressed")
				stored = "none"
			}
			topic := "kcat-" + codec
			clientCreateTopic(t, ctx, n, topic)
			values := clientValues(topic, clientRecords, true)
			args := []string{"-P", "-b", n.Addr(), "-t", topic, "-p", "0", "-X", "acks=all"}
			if codec != "none" {
				args = append(args, "-z", codec)
			}
			if _, err := clientRun(ctx, "", nil, append(bytes.Join(values, []byte("\n")), '\n'), librdkafkaAbort, kcat, args...); err != nil {
				t.Fatalf("produce: %v", err)
			}
			clientCheckStored(t, ctx, n, topic, clientRecords, func(int64) string { return stored })

			// -e: on to the end of the partition, so kcat also parses
			// a fetch that returns nothing.
			out, err := clientRun(ctx, "", nil, nil, librdkafkaAbort, kcat, "-C", "-b", n.Addr(), "-t", topic, "-p", "0",
				"-o", "beginning", "-e", "-u", "-f", `%o:%s\n`)
			if err != nil {
				t.Errorf("consume: %v", err)
			}
			var offsets []int64
			var got [][]byte
			for _, line := range clientLines(out) {
				o, v, ok := bytes.Cut(line, []byte(":"))
				off, perr := strconv.ParseInt(string(o), 10, 64)
				if !ok || perr != nil {
					t.Fatalf("consume: line %q is not OFFSET:VALUE", line)
				}
				offsets, got = append(offsets, off), append(got, v)
			}
			clientCheckValues(t, "kcat -C", offsets, got, values, err == nil)
		})
	}
}

// clientTail produces one more record to partition 0 of topic with kgo,
// for a consumer that has caught up to read.
func clientTail(t *testing.T, ctx context.Context, n *Node, topic string, value []byte) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	r, err := cl.ProduceSync(ctx, &kgo.Record{Partition: 0, Value: value}).First()
	if err != nil || r.Offset != clientRecords {
		t.Fatalf("tail record: %+v %v, want offset %d", r, err, clientRecords)
	}
}

// clientTailValue is the record produced after a consumer caught up.
var clientTailValue = []byte("tail: produced once the consumer had caught up")

// TestClientSarama: Sarama at its default Version (V2_8_0_0 in v1.61,
// Fetch v12, flexible), and pinned at V2_1_0_0, a common setting in the
// wild (Produce v7, Fetch v10). Either way it sends ApiVersions (v3)
// first (Config.ApiVersionsRequest, on by default) and caps each request
// at the broker's advertised range. After the records, the consumer idles
// at the end of the partition (two fetches that return nothing, counted
// with Sarama's own request meter) and then reads one more record produced
// meanwhile.
func TestClientSarama(t *testing.T) {
	for _, v := range []struct {
		name    string
		version sarama.KafkaVersion
	}{{"default", sarama.NewConfig().Version}, {"V2_1_0_0", sarama.V2_1_0_0}} {
		t.Run(v.name, func(t *testing.T) { clientSarama(t, v.version) })
	}
}

func clientSarama(t *testing.T, version sarama.KafkaVersion) {
	n := clientStartNode(t)
	ctx := testCtx(t)
	const topic = "sarama"
	clientCreateTopic(t, ctx, n, topic)
	values := clientValues(topic, clientRecords, false)

	cfg := sarama.NewConfig()
	cfg.Version = version
	cfg.ClientID = "takhin-sarama"
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Retry.Max = 1
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	cfg.Metadata.Retry.Max = 1
	t.Logf("sarama version %v", cfg.Version)

	producer, err := sarama.NewSyncProducer([]string{n.Addr()}, cfg)
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	for i, v := range values {
		p, off, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: 0, Value: sarama.ByteEncoder(v)})
		if err != nil || p != 0 || off != int64(i) {
			_ = producer.Close()
			t.Fatalf("send %d: partition %d offset %d, %v", i, p, off, err)
		}
	}
	if err := producer.Close(); err != nil {
		t.Errorf("producer close: %v", err)
	}
	clientCheckStored(t, ctx, n, topic, clientRecords, func(int64) string { return "none" })

	consumer, err := sarama.NewConsumer([]string{n.Addr()}, cfg)
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer func() {
		if err := consumer.Close(); err != nil {
			t.Errorf("consumer close: %v", err)
		}
	}()
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatalf("consume partition: %v", err)
	}
	defer pc.AsyncClose()
	fetches := func() int64 { // Fetch requests sent, Sarama's meter
		m, _ := cfg.MetricRegistry.Get("protocol-requests-rate-1").(interface{ Count() int64 })
		if m == nil {
			return 0
		}
		return m.Count()
	}
	deadline := time.NewTimer(clientDeadline)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var offsets []int64
	var got [][]byte
	idleFrom, tailed := int64(-1), false
	for len(got) < len(values)+1 {
		if len(got) == len(values) && idleFrom < 0 {
			idleFrom = fetches()
		}
		if idleFrom >= 0 && !tailed && fetches() >= idleFrom+2 {
			clientTail(t, ctx, n, topic, clientTailValue)
			tailed = true
		}
		select {
		case m := <-pc.Messages():
			if len(got) == len(values) && !tailed {
				t.Fatalf("a record at offset %d past the %d produced", m.Offset, len(values))
			}
			offsets, got = append(offsets, m.Offset), append(got, m.Value)
		case err := <-pc.Errors():
			where := "reading the records"
			if idleFrom >= 0 {
				where = "idle at the end of the partition"
			}
			t.Fatalf("consume, %s, after %d records: %v", where, len(got), err)
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("consume: %d of %d records (tail produced: %v) in %v", len(got), len(values)+1, tailed, clientDeadline)
		}
	}
	clientCheckValues(t, "sarama ConsumePartition", offsets, got, append(values, clientTailValue), true)
}

// clientLog collects a Go client's log lines for a failure message (a
// client may log after its test returned, so never through t.Logf).
type clientLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *clientLog) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *clientLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

func (l *clientLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) > 20 {
		return strings.Join(l.lines[:10], "\n") + "\n[...]\n" + strings.Join(l.lines[len(l.lines)-10:], "\n")
	}
	return strings.Join(l.lines, "\n")
}

// TestClientKafkaGo: segmentio/kafka-go, a Writer onto partition 0 and a
// Reader of partition 0 without a GroupID. After the records, the Reader
// idles at the end of the partition (two fetches, counted by its Stats)
// and then reads one more record produced meanwhile; it retries errors
// on its own, so its error log must stay empty.
func TestClientKafkaGo(t *testing.T) {
	n := clientStartNode(t)
	ctx := testCtx(t)
	const topic = "kafka-go"
	clientCreateTopic(t, ctx, n, topic)
	values := clientValues(topic, clientRecords, false)
	var log clientLog

	// Its own Transport, whose pooled connections are closed after the
	// writer (kafka-go's DefaultTransport keeps them open, shared by
	// every Writer of the process).
	transport := &kafka.Transport{}
	defer transport.CloseIdleConnections()
	w := &kafka.Writer{
		Addr: kafka.TCP(n.Addr()), Topic: topic, RequiredAcks: kafka.RequireAll, Transport: transport,
		Balancer:  kafka.BalancerFunc(func(kafka.Message, ...int) int { return 0 }),
		BatchSize: 50, BatchTimeout: 10 * time.Millisecond, MaxAttempts: 2,
		ErrorLogger: kafka.LoggerFunc(log.printf),
	}
	msgs := make([]kafka.Message, len(values))
	for i, v := range values {
		msgs[i] = kafka.Message{Value: v}
	}
	wctx, cancel := context.WithTimeout(ctx, clientDeadline)
	defer cancel()
	if err := w.WriteMessages(wctx, msgs...); err != nil {
		_ = w.Close()
		t.Fatalf("write: %v\nlog:\n%s", err, &log)
	}
	if err := w.Close(); err != nil {
		t.Errorf("writer close: %v", err)
	}
	if log.len() > 0 {
		t.Errorf("kafka-go Writer logged errors:\n%s", &log)
	}
	clientCheckStored(t, ctx, n, topic, clientRecords, func(int64) string { return "none" })

	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: []string{n.Addr()}, Topic: topic, Partition: 0, MinBytes: 1, MaxBytes: 1 << 20,
		MaxWait: 100 * time.Millisecond, MaxAttempts: 2, ErrorLogger: kafka.LoggerFunc(log.printf),
	})
	defer func() {
		if err := r.Close(); err != nil {
			t.Errorf("reader close: %v", err)
		}
	}()
	if err := r.SetOffset(kafka.FirstOffset); err != nil {
		t.Fatal(err)
	}
	var offsets []int64
	var got [][]byte
	read := func() {
		m, err := r.ReadMessage(wctx)
		if err != nil {
			t.Fatalf("read after %d records: %v\nlog:\n%s", len(got), err, &log)
		}
		if m.Partition != 0 {
			t.Fatalf("read a record of partition %d", m.Partition)
		}
		offsets, got = append(offsets, m.Offset), append(got, m.Value)
	}
	for len(got) < len(values) {
		read()
	}
	// Idle: Stats hands out the fetches counted since its last call.
	r.Stats()
	var idle int64
	for idle < 2 && log.len() == 0 && wctx.Err() == nil {
		time.Sleep(10 * time.Millisecond) // polling the Reader's count, with wctx's deadline
		idle += r.Stats().Fetches
	}
	if log.len() > 0 {
		t.Errorf("kafka-go Reader, idle at the end of the partition, logged errors:\n%s", &log)
	}
	clientTail(t, ctx, n, topic, clientTailValue)
	read()
	clientCheckValues(t, "kafka-go Reader", offsets, got, append(values, clientTailValue), true)
}

// clientPython finds a python3 that imports confluent_kafka: the one on
// PATH, else Debian's /usr/bin/python3 (where python3-confluent-kafka
// installs the module, when PATH leads to another interpreter).
func clientPython(t *testing.T, ctx context.Context) string {
	t.Helper()
	var tried []string
	for _, name := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(name)
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		if _, err := clientRun(ctx, "", nil, nil, nil, path, "-c", "import confluent_kafka"); err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", path, err))
			continue
		}
		return path
	}
	t.Fatalf("no python3 with the confluent_kafka module: .ci/run installs it with `apt-get install -y python3-confluent-kafka`\n%s", strings.Join(tried, "\n"))
	return ""
}

// TestClientConfluentPython: confluent-kafka-python (librdkafka) with zstd,
// produce, then assign() and poll up to the end of the partition.
func TestClientConfluentPython(t *testing.T) {
	ctx := testCtx(t)
	python := clientPython(t, ctx)
	n := clientStartNode(t)
	const topic = "confluent-python"
	clientCreateTopic(t, ctx, n, topic)
	values := clientValues(topic, clientRecords, false)
	var stdin bytes.Buffer
	for _, v := range values {
		stdin.WriteString(hex.EncodeToString(v) + "\n")
	}
	script, err := filepath.Abs(filepath.Join("testdata", "clients", "confluent_kafka_client.py"))
	if err != nil {
		t.Fatal(err)
	}
	out, runErr := clientRun(ctx, "", nil, stdin.Bytes(), librdkafkaAbort, python, script, n.Addr(), topic, "zstd")
	if runErr != nil {
		t.Errorf("%v", runErr)
	}
	clientCheckStored(t, ctx, n, topic, clientRecords, func(int64) string { return "zstd" })
	var offsets []int64
	var got [][]byte
	for _, line := range clientLines(out) {
		o, h, ok := bytes.Cut(line, []byte(" "))
		off, err1 := strconv.ParseInt(string(o), 10, 64)
		v, err2 := hex.DecodeString(string(h))
		if !ok || err1 != nil || err2 != nil {
			t.Fatalf("consume: line %q is not OFFSET HEX", line)
		}
		offsets, got = append(offsets, off), append(got, v)
	}
	clientCheckValues(t, "confluent-kafka-python assign/poll", offsets, got, values, runErr == nil)
}

// TestClientKafkaJS: KafkaJS produces (half uncompressed, half gzip, in
// sends of 50); kgo reads partition 0 back. KafkaJS is installed with npm
// ci from testdata/clients/kafkajs's lock file into a temporary directory,
// so the repository never holds node_modules.
func TestClientKafkaJS(t *testing.T) {
	node := clientRequire(t, "node", "apt-get install -y nodejs npm")
	npm := clientRequire(t, "npm", "apt-get install -y nodejs npm")
	ctx := testCtx(t)
	dir := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json", "produce.js"} {
		b, err := os.ReadFile(filepath.Join("testdata", "clients", "kafkajs", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := clientRun(ctx, dir, nil, nil, nil, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"); err != nil {
		t.Fatalf("installing kafkajs (needs the npm registry, or kafkajs 2.2.4 in npm's cache): %v", err)
	}

	n := clientStartNode(t)
	const topic = "kafkajs"
	clientCreateTopic(t, ctx, n, topic)
	values := clientValues(topic, clientRecords, false)
	var stdin bytes.Buffer
	for _, v := range values {
		stdin.WriteString(hex.EncodeToString(v) + "\n")
	}
	out, err := clientRun(ctx, dir, []string{"KAFKAJS_NO_PARTITIONER_WARNING=1"}, stdin.Bytes(), nil, node, "produce.js", n.Addr(), topic)
	if err != nil {
		t.Fatalf("produce: %v", err)
	}
	// Each send is one batch: "sent CODEC BASEOFFSET COUNT".
	codecAt := map[int64]string{}
	next := int64(0)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var codec string
		var base, count int64
		if _, err := fmt.Sscanf(line, "sent %s %d %d", &codec, &base, &count); err != nil {
			t.Fatalf("produce: line %q: %v", line, err)
		}
		if base != next {
			t.Errorf("send of %d %s records answered base offset %d, want %d", count, codec, base, next)
		}
		codecAt[base], next = codec, base+count
	}
	clientCheckStored(t, ctx, n, topic, clientRecords, func(base int64) string { return codecAt[base] })

	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, clientDeadline)
	defer cancel()
	var offsets []int64
	var got [][]byte
	for len(got) < len(values) {
		fs := cl.PollFetches(pctx)
		if err := fs.Err(); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("kgo read %d of %d records in %v", len(got), len(values), clientDeadline)
			}
			t.Fatalf("kgo poll: %v", err)
		}
		fs.EachRecord(func(r *kgo.Record) { offsets, got = append(offsets, r.Offset), append(got, r.Value) })
	}
	clientCheckValues(t, "KafkaJS, read back by kgo", offsets, got, values, true)
}
