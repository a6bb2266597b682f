package driver

// Goal: ListOffsets by timestamp against a real node answers as Kafka's
// UnifiedLog does after a DeleteRecords cut a batch in two: the first
// record at or after the log start whose timestamp reaches the target
// (FileRecords.searchForTimestamp skips the records below its starting
// offset), never an offset below the log start, which a consumer seeking
// to it would be refused with OFFSET_OUT_OF_RANGE.

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/storage"
)

// timedBatch is one uncompressed v2 batch, no producer, whose i-th record
// has the CreateTime base+deltas[i].
func timedBatch(base int64, deltas []int64) []byte {
	var body []byte
	maxTs := base
	for i, d := range deltas {
		r := kmsg.Record{OffsetDelta: int32(i), TimestampDelta64: d, Value: []byte("v")}
		r.Length = int32(len(r.AppendTo(nil)) - 1) // Length 0 took one varint byte
		body = r.AppendTo(body)
		maxTs = max(maxTs, base+d)
	}
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(len(deltas) - 1),
		FirstTimestamp: base, MaxTimestamp: maxTs, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: int32(len(deltas)), Records: body,
	}
	b.Length = int32(storage.BatchHeaderSize - 12 + len(body)) // the length counts from the leader epoch on
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[17:], storage.BatchCRC(out)) // the CRC sits after base, length, epoch, magic
	return out
}

// produceRaw appends batch to partition 0 of topic with acks=all.
func produceRaw(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, batch []byte) {
	t.Helper()
	if err := kerr.ErrorForCode(rawProduce(t, ctx, cl, topic, batch)); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// rawProduce sends batch, as it is, to partition 0 of topic with
// acks=all, so no client-side check hides the broker's answer, and
// returns the partition's error code.
func rawProduce(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, batch []byte) int16 {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 10_000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0].ErrorCode
}

func TestListOffsetsByTimeSkipsRecordsBelowLogStart(t *testing.T) {
	ctx := testCtx(t)
	n := startRecordsNode(t, t.TempDir())
	defer stopNode(t, n)
	cl := mustClient(t, kgo.SeedBrokers(n.Addr()))
	adm := kadm.NewClient(cl)
	createTopic(t, ctx, adm, "ts", 1)
	base := time.Now().Add(-time.Minute).UnixMilli()
	produceRaw(t, ctx, cl, "ts", timedBatch(base, []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}))
	os := kadm.Offsets{}
	os.AddOffset("ts", 0, 5, -1)
	if resp, err := adm.DeleteRecords(ctx, os); err != nil || resp.Error() != nil {
		t.Fatalf("delete records to 5: %v %v", err, resp.Error())
	}
	for _, c := range []struct {
		name          string
		ts            int64
		offset, stamp int64
	}{
		{"before every record", base - 1000, 5, base + 5},
		{"a record below the log start", base + 2, 5, base + 5},
		{"a record above the log start", base + 7, 7, base + 7},
	} {
		listed, err := adm.ListOffsetsAfterMilli(ctx, c.ts, "ts")
		if err != nil || listed.Error() != nil {
			t.Fatalf("%s: %v %v", c.name, err, listed.Error())
		}
		o, _ := listed.Lookup("ts", 0)
		if o.Offset != c.offset || o.Timestamp != c.stamp {
			t.Errorf("%s: offset %d at %d, want %d at %d (log start 5)", c.name, o.Offset, o.Timestamp, c.offset, c.stamp)
		}
	}
	// Out of order: in the cut batch only offset 1, below the start,
	// reaches base+20; the answer lies in the next batch (offset 10).
	createTopic(t, ctx, adm, "ts2", 1)
	produceRaw(t, ctx, cl, "ts2", timedBatch(base, []int64{0, 50, 1, 2, 3, 4, 5, 6, 7, 8}))
	produceRaw(t, ctx, cl, "ts2", timedBatch(base+60, []int64{0, 1}))
	os = kadm.Offsets{}
	os.AddOffset("ts2", 0, 5, -1)
	if resp, err := adm.DeleteRecords(ctx, os); err != nil || resp.Error() != nil {
		t.Fatalf("delete records to 5: %v %v", err, resp.Error())
	}
	listed, err := adm.ListOffsetsAfterMilli(ctx, base+20, "ts2")
	if err != nil || listed.Error() != nil {
		t.Fatal(err, listed.Error())
	}
	if o, _ := listed.Lookup("ts2", 0); o.Offset != 10 {
		t.Errorf("out of order: offset %d, want 10", o.Offset)
	}
}
