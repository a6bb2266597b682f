package driver

// Goal: idempotent producers with Kafka's exact rules, end to end through
// the wire (issue 4, criterion 4): the same produce request sent twice
// lands once, with its original offsets; a sequence gap is
// OUT_OF_ORDER_SEQUENCE_NUMBER; a lower epoch INVALID_PRODUCER_EPOCH; an
// epoch bump is accepted at sequence 0 only; sequences wrap from 2^31-1 to
// 0; and a retry after a restart is still recognised as a duplicate.

import (
	"context"
	"math"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/storage"
)

// idempotentBatch builds an n-record batch of producer pid at epoch and
// base sequence seq, with its CRC recomputed.
func idempotentBatch(pid int64, epoch int16, seq int32, n int) []byte {
	records := make([]kmsg.Record, n)
	for i := range records {
		records[i].Value = []byte("v")
	}
	b := storage.EncodeBatch(records, 1)
	storage.SetProducer(b, pid, epoch, seq)
	return b
}

type rawProducer struct {
	t   *testing.T
	cl  *kgo.Client
	pid int64
}

func newRawProducer(t *testing.T, ctx context.Context, addr string) *rawProducer {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	init := kmsg.NewPtrInitProducerIDRequest()
	resp, err := init.RequestWith(ctx, cl)
	if err != nil || resp.ErrorCode != 0 {
		t.Fatalf("init producer id: %v %v", err, kerr.ErrorForCode(resp.ErrorCode))
	}
	return &rawProducer{t: t, cl: cl, pid: resp.ProducerID}
}

// send produces one batch with acks=all and returns its base offset and
// error code.
func (p *rawProducer) send(ctx context.Context, topic string, batch []byte) (int64, int16) {
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 10_000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = 0, batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, p.cl)
	if err != nil {
		p.t.Fatal(err)
	}
	out := resp.Topics[0].Partitions[0]
	return out.BaseOffset, out.ErrorCode
}

func TestIdempotentProducerRules(t *testing.T) {
	dir := t.TempDir()
	n := startTestNode(t, dir)
	ctx := testCtx(t)
	if _, err := newAdmin(t, n).CreateTopic(ctx, 1, 1, nil, "idem"); err != nil {
		t.Fatal(err)
	}
	p := newRawProducer(t, ctx, n.Addr())
	steps := []struct {
		name     string
		epoch    int16
		seq      int32
		records  int
		wantCode int16
		wantBase int64 // -2: don't care
	}{
		{"first batch", 0, 0, 2, 0, 0},
		{"the same batch again is a duplicate", 0, 0, 2, 0, 0},
		{"next sequence", 0, 2, 1, 0, 2},
		{"a gap", 0, 5, 1, kerr.OutOfOrderSequenceNumber.Code, -2},
		{"an older batch still cached", 0, 0, 2, 0, 0},
		{"epoch bump at a non-zero sequence", 1, 3, 1, kerr.OutOfOrderSequenceNumber.Code, -2},
		{"epoch bump at sequence 0", 1, 0, 1, 0, 3},
		{"the old epoch is fenced", 0, 3, 1, kerr.InvalidProducerEpoch.Code, -2},
	}
	for _, s := range steps {
		base, code := p.send(ctx, "idem", idempotentBatch(p.pid, s.epoch, s.seq, s.records))
		if code != s.wantCode || (s.wantBase != -2 && base != s.wantBase) {
			t.Fatalf("%s: base %d code %v, want base %d code %v", s.name, base, kerr.ErrorForCode(code), s.wantBase, kerr.ErrorForCode(s.wantCode))
		}
	}
	// A producer the partition has never seen is accepted at any sequence
	// (Kafka ≥ 2.5): start one near the end of the sequence space, and wrap.
	w := newRawProducer(t, ctx, n.Addr())
	for _, s := range []struct {
		seq      int32
		records  int
		wantBase int64
	}{{math.MaxInt32 - 1, 2, 4}, {0, 1, 6}, {0, 1, 6}} {
		if base, code := w.send(ctx, "idem", idempotentBatch(w.pid, 0, s.seq, s.records)); code != 0 || base != s.wantBase {
			t.Fatalf("wrap: sequence %d: base %d code %v, want %d", s.seq, base, kerr.ErrorForCode(code), s.wantBase)
		}
	}
	stopNode(t, n)

	// After a restart the producer state is rebuilt: a retry of the last
	// batch is still a duplicate, and the next sequence continues.
	n = startTestNode(t, dir)
	defer stopNode(t, n)
	p2 := &rawProducer{t: t, pid: p.pid}
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	p2.cl = cl
	if base, code := p2.send(ctx, "idem", idempotentBatch(w.pid, 0, 0, 1)); code != 0 || base != 6 {
		t.Fatalf("retry after restart: base %d code %v, want the original offset 6", base, kerr.ErrorForCode(code))
	}
	if base, code := p2.send(ctx, "idem", idempotentBatch(w.pid, 0, 1, 1)); code != 0 || base != 7 {
		t.Fatalf("next after restart: base %d code %v, want 7", base, kerr.ErrorForCode(code))
	}
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, "idem")
	if err != nil || ends["idem"][0].Offset != 8 {
		t.Fatalf("end offset %+v %v, want 8: something landed twice", ends, err)
	}
}
