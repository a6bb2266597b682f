package driver

// Goal: the client matrix consumes through consumer groups (issue 6,
// criterion 3). Each client joins a group on a whole in-process node
// (startGroupNode: 200 ms initial rebalance delay, session timeouts from
// 1 s) as its only member, consumes every record of a three-partition
// topic (groupRecords, produced round-robin by kgo), commits, and leaves;
// then kadm's FetchOffsets must equal the end offsets on every partition.
// What a client read is compared as a set with what was produced: each
// value once, at the partition and offset its produce ack gave, and no
// (partition, offset) delivered twice within the client's run.
//
//   - kcat -G (librdkafka's balanced consumer, Debian `kcat`): -e exits
//     once every assigned partition reached its end; librdkafka commits
//     the offsets it stored for the records handed out when kcat closes.
//   - Sarama's ConsumerGroup (its default Version and V2_1_0_0): a
//     ConsumerGroupHandler marks each message, the session commits in
//     Cleanup.
//   - kafka-go's Reader with a GroupID (JoinGroup v1 without a member id,
//     OffsetCommit v2): FetchMessage, then CommitMessages.
//   - KafkaJS (npm `kafkajs`, testdata/clients/kafkajs/consume_group.js):
//     consumer.run's eachMessage, then commitOffsets and disconnect.
//   - confluent-kafka-python (testdata/clients/confluent_kafka_group.py):
//     subscribe(), poll, commit(), close().
//   - kadm: after a Sarama member consumed and left, ListGroups and
//     DescribeGroups show the group Empty with protocol type consumer,
//     FetchOffsets the commits, DeleteOffsets of one partition removes just
//     it, DeleteGroups removes the group (and refuses an unknown one with
//     GROUP_ID_NOT_FOUND and one with a live member with NON_EMPTY_GROUP).
//
// As in clients_test.go, missing tools fail naming their package, and
// every external process runs under clientDeadline.

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// groupRecords is how many records each group consumer reads, spread over
// groupPartitions partitions.
const (
	groupRecords    = 200
	groupPartitions = 3
)

// groupSessionTimeout is every client's session timeout: small, so that a
// member lost by a client bug shows up within the test, and above the
// node's 1 s minimum.
const groupSessionTimeout = 6 * time.Second

// groupRecord is one record as a group consumer delivered it.
type groupRecord struct {
	partition int32
	offset    int64
	value     []byte
}

// groupFixture is a group node and a topic holding groupRecords records.
type groupFixture struct {
	ctx    context.Context
	n      *Node
	adm    *kadm.Client
	topic  string
	values [][]byte
	// produced maps each value to where its produce ack put it.
	produced map[string]groupRecord
}

// groupSetup starts a group node (stopped in a cleanup registered before,
// so run after, those closing the test's kgo clients), creates topic with
// groupPartitions partitions and produces groupRecords distinct values to
// it round-robin, gzip (the one codec KafkaJS reads without a plugin).
// lineSafe values suit kcat's one value per line. The group coordinator is
// left cold: each client's first FindCoordinator creates __consumer_offsets
// and is answered COORDINATOR_NOT_AVAILABLE, as by Kafka, and must retry.
func groupSetup(t *testing.T, topic string, lineSafe bool) *groupFixture {
	t.Helper()
	ctx := testCtx(t)
	n := startGroupNode(t, t.TempDir())
	t.Cleanup(func() { stopNode(t, n) })
	f := &groupFixture{ctx: ctx, n: n, adm: newAdmin(t, n), topic: topic,
		values: clientValues(topic, groupRecords, lineSafe), produced: map[string]groupRecord{}}
	createTopic(t, ctx, f.adm, topic, groupPartitions)
	cl := mustClient(t, kgo.SeedBrokers(n.Addr()), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.ProducerBatchCompression(kgo.GzipCompression()))
	records := make([]*kgo.Record, len(f.values))
	for i, v := range f.values {
		records[i] = &kgo.Record{Value: v}
	}
	if err := cl.ProduceSync(ctx, records...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	for _, r := range records {
		f.produced[string(r.Value)] = groupRecord{partition: r.Partition, offset: r.Offset, value: r.Value}
	}
	cl.Close()
	return f
}

// check compares what a group consumer read with what was produced: no
// (partition, offset) twice, every record at the partition and offset its
// ack gave, and (complete) every record read.
func (f *groupFixture) check(t *testing.T, who string, got []groupRecord, complete bool) {
	t.Helper()
	seen := map[[2]int64]bool{}
	for _, r := range got {
		at := [2]int64{int64(r.partition), r.offset}
		if seen[at] {
			t.Errorf("%s: partition %d offset %d delivered twice", who, r.partition, r.offset)
			continue
		}
		seen[at] = true
		want, ok := f.produced[string(r.value)]
		switch {
		case !ok:
			t.Errorf("%s: partition %d offset %d holds %q, never produced", who, r.partition, r.offset, r.value)
		case want.partition != r.partition || want.offset != r.offset:
			t.Errorf("%s: value %q read at partition %d offset %d, produced at %d/%d",
				who, r.value[:min(len(r.value), 20)], r.partition, r.offset, want.partition, want.offset)
		}
	}
	if complete && len(seen) != len(f.produced) {
		t.Errorf("%s: read %d distinct records, want %d", who, len(seen), len(f.produced))
	}
}

// checkCommitted checks with kadm that group's committed offsets are the
// end offsets of every partition of the topic, and nothing else.
func (f *groupFixture) checkCommitted(t *testing.T, group string) {
	t.Helper()
	ends, err := f.adm.ListEndOffsets(f.ctx, f.topic)
	if err != nil || ends.Error() != nil {
		t.Fatalf("end offsets: %v %v", err, ends.Error())
	}
	committed, err := f.adm.FetchOffsets(f.ctx, group)
	if err != nil || committed.Error() != nil {
		t.Fatalf("fetch offsets of %s: %v %v", group, err, committed.Error())
	}
	var total int64
	for p := int32(0); p < groupPartitions; p++ {
		end, _ := ends.Lookup(f.topic, p)
		c, ok := committed.Lookup(f.topic, p)
		if !ok || c.At != end.Offset {
			t.Errorf("group %s partition %d: committed %+v (found %v), want the end offset %d", group, p, c.Offset, ok, end.Offset)
		}
		total += end.Offset
	}
	if total != groupRecords {
		t.Errorf("end offsets sum to %d, want %d", total, groupRecords)
	}
	if n := len(committed[f.topic]); len(committed) != 1 || n != groupPartitions {
		t.Errorf("group %s: committed offsets for %d topics and %d partitions, want 1 and %d: %+v",
			group, len(committed), n, groupPartitions, committed)
	}
}

// groupParse reads an external consumer's "PARTITION OFFSET VALUE" lines;
// decode turns the VALUE field into the value.
func groupParse(t *testing.T, out []byte, decode func([]byte) ([]byte, error)) []groupRecord {
	t.Helper()
	var got []groupRecord
	for _, line := range clientLines(out) {
		p, rest, ok1 := bytes.Cut(line, []byte(" "))
		o, v, ok2 := bytes.Cut(rest, []byte(" "))
		partition, err1 := strconv.ParseInt(string(p), 10, 32)
		offset, err2 := strconv.ParseInt(string(o), 10, 64)
		value, err3 := decode(v)
		if !ok1 || !ok2 || err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("consume: line %q is not PARTITION OFFSET VALUE", line)
		}
		got = append(got, groupRecord{partition: int32(partition), offset: offset, value: value})
	}
	return got
}

func groupRaw(v []byte) ([]byte, error) { return v, nil }

func groupHex(v []byte) ([]byte, error) { return hex.DecodeString(string(v)) }

// TestClientGroupKcat: kcat -G, librdkafka's balanced consumer, reads the
// topic to its end (-e: every assigned partition at its end) and commits
// on close (librdkafka's automatic offset store and auto-commit; kcat 1.7.1
// was seen to commit on close even with -X enable.auto.commit=false, so the
// -X only states the intent).
func TestClientGroupKcat(t *testing.T) {
	kcat := clientRequire(t, "kcat", "apt-get install -y kcat")
	f := groupSetup(t, "kcat-group", true)
	const group = "kcat-g"
	start := time.Now()
	out, err := clientRun(f.ctx, "", nil, nil, librdkafkaAbort, kcat, "-b", f.n.Addr(), "-G", group,
		"-X", fmt.Sprintf("session.timeout.ms=%d", groupSessionTimeout.Milliseconds()),
		"-X", "heartbeat.interval.ms=500", "-X", "auto.offset.reset=earliest", "-X", "enable.auto.commit=true",
		"-e", "-u", "-q", "-f", `%p %o %s\n`, f.topic)
	if err != nil {
		t.Errorf("kcat -G: %v", err)
	}
	t.Logf("kcat -G consumed and closed in %v", time.Since(start).Round(time.Millisecond))
	f.check(t, "kcat -G", groupParse(t, out, groupRaw), err == nil)
	f.checkCommitted(t, group)
}

// TestClientGroupSarama: Sarama's ConsumerGroup at its default Version
// (V2_8_0_0: JoinGroup v7 with KIP-394's member-id round trip,
// OffsetCommit v8, OffsetFetch v7) and at V2_1_0_0 (JoinGroup v3,
// OffsetCommit v6, OffsetFetch v5).
func TestClientGroupSarama(t *testing.T) {
	for _, v := range []struct {
		name    string
		version sarama.KafkaVersion
	}{{"default", sarama.NewConfig().Version}, {"V2_1_0_0", sarama.V2_1_0_0}} {
		t.Run(v.name, func(t *testing.T) {
			f := groupSetup(t, "sarama-group", false)
			const group = "sarama-g"
			got, err := groupSaramaConsume(f, group, v.version)
			if err != nil {
				t.Errorf("sarama consumer group: %v", err)
			}
			f.check(t, "sarama ConsumerGroup", got, err == nil)
			f.checkCommitted(t, group)
		})
	}
}

// groupSaramaHandler collects the records of every claim, marks each, and
// cancels the session's context once it holds want records.
type groupSaramaHandler struct {
	mu   sync.Mutex
	got  []groupRecord
	want int
	stop context.CancelFunc
}

func (h *groupSaramaHandler) Setup(sarama.ConsumerGroupSession) error { return nil }

// Cleanup commits the marked offsets before the session ends (Sarama
// would also flush them when closing its offset manager).
func (h *groupSaramaHandler) Cleanup(s sarama.ConsumerGroupSession) error {
	s.Commit()
	return nil
}

func (h *groupSaramaHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			s.MarkMessage(m, "")
			h.mu.Lock()
			h.got = append(h.got, groupRecord{partition: m.Partition, offset: m.Offset, value: m.Value})
			if len(h.got) == h.want {
				h.stop()
			}
			h.mu.Unlock()
		case <-s.Context().Done():
			return nil
		}
	}
}

// groupSaramaConsume consumes groupRecords records through a Sarama
// ConsumerGroup, then closes it (LeaveGroup).
func groupSaramaConsume(f *groupFixture, group string, version sarama.KafkaVersion) ([]groupRecord, error) {
	cfg := sarama.NewConfig()
	cfg.Version, cfg.ClientID = version, "takhin-sarama"
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Group.Session.Timeout = groupSessionTimeout
	cfg.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
	cfg.Consumer.Group.Rebalance.Timeout = 10 * time.Second
	cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	cfg.Consumer.Return.Errors = true
	cfg.Metadata.Retry.Max = 1
	cg, err := sarama.NewConsumerGroup([]string{f.n.Addr()}, group, cfg)
	if err != nil {
		return nil, err
	}
	var errs, groupErrs []error
	drained := make(chan struct{})
	go func() { // Return.Errors: the group's errors come here
		defer close(drained)
		for err := range cg.Errors() {
			groupErrs = append(groupErrs, err)
		}
	}()
	ctx, cancel := context.WithTimeout(f.ctx, clientDeadline)
	defer cancel()
	h := &groupSaramaHandler{want: groupRecords, stop: cancel}
	for ctx.Err() == nil { // Consume returns at each rebalance
		if err := cg.Consume(ctx, []string{f.topic}, h); err != nil {
			errs = append(errs, fmt.Errorf("consume: %w", err))
			break
		}
	}
	if err := cg.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close: %w", err))
	}
	<-drained
	errs = append(errs, groupErrs...)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.got) < groupRecords {
		errs = append(errs, fmt.Errorf("%d of %d records in %v", len(h.got), groupRecords, clientDeadline))
	}
	return h.got, errors.Join(errs...)
}

// TestClientGroupKafkaGo: kafka-go's Reader with a GroupID (JoinGroup v1
// without a member id, SyncGroup v0, OffsetCommit v2): FetchMessage for
// every record, CommitMessages, Close (LeaveGroup). It retries errors on
// its own, so its error log must hold nothing but the cold coordinator's
// COORDINATOR_NOT_AVAILABLE.
func TestClientGroupKafkaGo(t *testing.T) {
	f := groupSetup(t, "kafka-go-group", false)
	const group = "kafka-go-g"
	var log clientLog
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: []string{f.n.Addr()}, GroupID: group, Topic: f.topic, MinBytes: 1, MaxBytes: 1 << 20,
		MaxWait: 100 * time.Millisecond, StartOffset: kafka.FirstOffset, SessionTimeout: groupSessionTimeout,
		HeartbeatInterval: 500 * time.Millisecond, RebalanceTimeout: 10 * time.Second,
		JoinGroupBackoff: 200 * time.Millisecond, MaxAttempts: 2, ErrorLogger: kafka.LoggerFunc(log.printf),
	})
	ctx, cancel := context.WithTimeout(f.ctx, clientDeadline)
	defer cancel()
	var msgs []kafka.Message
	var got []groupRecord
	for len(got) < groupRecords {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			_ = r.Close()
			t.Fatalf("fetch after %d records: %v\nlog:\n%s", len(got), err, &log)
		}
		msgs = append(msgs, m)
		got = append(got, groupRecord{partition: int32(m.Partition), offset: m.Offset, value: m.Value})
	}
	if err := r.CommitMessages(ctx, msgs...); err != nil {
		t.Errorf("commit: %v\nlog:\n%s", err, &log)
	}
	if err := r.Close(); err != nil {
		t.Errorf("reader close: %v", err)
	}
	if lines := groupUnexpected(&log); len(lines) > 0 {
		t.Errorf("kafka-go Reader logged errors:\n%s", strings.Join(lines, "\n"))
	}
	f.check(t, "kafka-go Reader (GroupID)", got, true)
	f.checkCommitted(t, group)
}

// TestClientGroupKafkaJS: KafkaJS (installed by npm ci from the lock file
// into a temporary directory, as TestClientKafkaJS does) runs
// consume_group.js.
func TestClientGroupKafkaJS(t *testing.T) {
	node := clientRequire(t, "node", "apt-get install -y nodejs npm")
	npm := clientRequire(t, "npm", "apt-get install -y nodejs npm")
	dir := t.TempDir()
	for _, name := range []string{"package.json", "package-lock.json", "consume_group.js"} {
		b, err := os.ReadFile(filepath.Join("testdata", "clients", "kafkajs", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := groupSetup(t, "kafkajs-group", false)
	if _, err := clientRun(f.ctx, dir, nil, nil, nil, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"); err != nil {
		t.Fatalf("installing kafkajs (needs the npm registry, or kafkajs 2.2.4 in npm's cache): %v", err)
	}
	const group = "kafkajs-g"
	start := time.Now()
	out, err := clientRun(f.ctx, dir, nil, nil, nil, node, "consume_group.js", f.n.Addr(), f.topic, group, strconv.Itoa(groupRecords))
	if err != nil {
		t.Errorf("consume_group.js: %v", err)
	}
	t.Logf("KafkaJS consumed, committed and left in %v", time.Since(start).Round(time.Millisecond))
	f.check(t, "KafkaJS consumer.run", groupParse(t, out, groupHex), err == nil)
	f.checkCommitted(t, group)
}

// TestClientGroupConfluentPython: confluent-kafka-python's Consumer with
// subscribe(), poll, a synchronous commit() and close().
func TestClientGroupConfluentPython(t *testing.T) {
	f := groupSetup(t, "confluent-python-group", false)
	python := clientPython(t, f.ctx)
	script, err := filepath.Abs(filepath.Join("testdata", "clients", "confluent_kafka_group.py"))
	if err != nil {
		t.Fatal(err)
	}
	const group = "confluent-python-g"
	start := time.Now()
	out, err := clientRun(f.ctx, "", nil, nil, librdkafkaAbort, python, script, f.n.Addr(), f.topic, group, strconv.Itoa(groupRecords))
	if err != nil {
		t.Errorf("%v", err)
	}
	t.Logf("confluent-kafka-python consumed, committed and closed in %v", time.Since(start).Round(time.Millisecond))
	f.check(t, "confluent-kafka-python subscribe/poll", groupParse(t, out, groupHex), err == nil)
	f.checkCommitted(t, group)
}

// TestClientGroupAdmin: kadm's group APIs against a group a Sarama member
// consumed in and left, and one with a live kgo member.
func TestClientGroupAdmin(t *testing.T) {
	f := groupSetup(t, "admin-group", false)
	const group = "admin-g"
	got, err := groupSaramaConsume(f, group, sarama.NewConfig().Version)
	if err != nil {
		t.Fatalf("sarama consumer group: %v", err)
	}
	f.check(t, "sarama ConsumerGroup", got, true)

	listed := groupList(t, f)
	if g, ok := listed[group]; !ok || g.State != "Empty" || g.ProtocolType != "consumer" {
		t.Errorf("ListGroups after the member left: %+v, want %s Empty with protocol type consumer", listed, group)
	}
	described, err := f.adm.DescribeGroups(f.ctx, group)
	if d := described[group]; err != nil || d.Err != nil || d.State != "Empty" || d.ProtocolType != "consumer" || len(d.Members) != 0 {
		t.Errorf("DescribeGroups after the member left: %v %+v", err, d)
	}
	f.checkCommitted(t, group)

	deleted, err := f.adm.DeleteOffsets(f.ctx, group, kadm.TopicsSet{f.topic: {0: {}}})
	if err != nil || deleted.Error() != nil {
		t.Fatalf("DeleteOffsets of partition 0: %v %v", err, deleted.Error())
	}
	committed, err := f.adm.FetchOffsets(f.ctx, group)
	if err != nil || committed.Error() != nil {
		t.Fatalf("FetchOffsets: %v %v", err, committed.Error())
	}
	_, has0 := committed.Lookup(f.topic, 0)
	if has0 || len(committed[f.topic]) != groupPartitions-1 {
		t.Errorf("FetchOffsets after DeleteOffsets of partition 0: %+v, want partitions 1 and 2 only", committed)
	}

	groupCheckDeleteRefused(t, f)
	if resp, err := f.adm.DeleteGroups(f.ctx, group); err != nil || resp[group].Err != nil {
		t.Fatalf("DeleteGroups %s: %v %+v", group, err, resp)
	}
	if _, ok := groupList(t, f)[group]; ok {
		t.Errorf("ListGroups still lists %s after DeleteGroups", group)
	}
	committed, err = f.adm.FetchOffsets(f.ctx, group)
	if err != nil || len(committed) != 0 {
		t.Errorf("FetchOffsets after DeleteGroups: %v %+v", err, committed)
	}
}

// groupCheckDeleteRefused: DeleteGroups of an unknown group answers
// GROUP_ID_NOT_FOUND, and of a group with a live member NON_EMPTY_GROUP.
func groupCheckDeleteRefused(t *testing.T, f *groupFixture) {
	t.Helper()
	resp, err := f.adm.DeleteGroups(f.ctx, "no-such-group")
	if err != nil || !errors.Is(resp["no-such-group"].Err, kerr.GroupIDNotFound) {
		t.Errorf("DeleteGroups of an unknown group: %v %+v, want GROUP_ID_NOT_FOUND", err, resp)
	}
	const live = "live-g"
	assigned := make(chan struct{})
	var once sync.Once
	cl := mustClient(t, kgo.SeedBrokers(f.n.Addr()), kgo.ConsumerGroup(live), kgo.ConsumeTopics(f.topic),
		kgo.SessionTimeout(groupSessionTimeout), kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) {
			once.Do(func() { close(assigned) })
		}))
	select {
	case <-assigned:
	case <-time.After(clientDeadline):
		t.Fatalf("kgo member of %s: no assignment in %v", live, clientDeadline)
	}
	resp, err = f.adm.DeleteGroups(f.ctx, live)
	if err != nil || !errors.Is(resp[live].Err, kerr.NonEmptyGroup) {
		t.Errorf("DeleteGroups of %s with a live member: %v %+v, want NON_EMPTY_GROUP", live, err, resp)
	}
	if g, ok := groupList(t, f)[live]; !ok || g.State != "Stable" {
		t.Errorf("ListGroups with a live member of %s: %+v, want it Stable", live, g)
	}
	cl.Close()
}

// groupUnexpected returns a kafka-go log's lines other than those of a
// retried COORDINATOR_NOT_AVAILABLE (code 15), the cold coordinator's
// answer to the first FindCoordinator.
func groupUnexpected(log *clientLog) []string {
	log.mu.Lock()
	defer log.mu.Unlock()
	var out []string
	for _, line := range log.lines {
		if !strings.Contains(line, "[15] Group Coordinator Not Available") {
			out = append(out, line)
		}
	}
	return out
}

func groupList(t *testing.T, f *groupFixture) kadm.ListedGroups {
	t.Helper()
	listed, err := f.adm.ListGroups(f.ctx)
	if err != nil {
		t.Fatalf("ListGroups: %v", err)
	}
	return listed
}
