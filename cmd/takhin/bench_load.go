package main

// The producing half of `takhin bench`: the record values, topic creation,
// produce for throughput and produce at a fixed rate for latency.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// workload is one produce (and maybe consume) run.
type workload struct {
	Topic             string `json:"topic"`
	Records           int    `json:"records"`
	RecordBytes       int    `json:"record_bytes"`
	Acks              string `json:"acks"` // "all" (idempotent) or "1" (idempotence off)
	Codec             string `json:"codec"`
	Partitions        int    `json:"partitions"`
	ReplicationFactor int    `json:"replication_factor"`
	MaxInflight       int    `json:"max_inflight"` // acks=1 only; acks=all uses kgo's idempotent 5
	Rate              int    `json:"rate,omitempty"`
	Latency           bool   `json:"latency,omitempty"`
}

// The client settings every run uses and the report states: linger 0 (a
// request goes out as soon as one is allowed: batches form only from
// back-pressure), kgo's buffer and batch limits.
const (
	idempotentInflight = 5         // kgo's fixed in-flight limit per broker with idempotence (Kafka ≥ 1.0)
	maxBufferedRecords = 50_000    // kgo's default MaxBufferedRecords, set explicitly
	batchBytesMax      = 1_000_012 // kgo's default ProducerBatchMaxBytes (Kafka's max.message.bytes)
)

// inflight is the produce requests the client keeps in flight per broker.
func (w workload) inflight() int {
	if w.Acks == "all" {
		return idempotentInflight
	}
	return w.MaxInflight
}

func (w workload) valueBytes() int64 { return int64(w.Records) * int64(w.RecordBytes) }

// Values: [0:8] the record's sequence number, then a window of fillerSource
// chosen by the sequence number, then the sequence number again. Every
// value is checked whole on consume. The filler is random capital letters,
// as kafka-producer-perf-test's, but a different window per record, so a
// batch is not one value repeated (which would flatter snappy).
const (
	valueBytesMin     = 16
	fillerSourceBytes = 8 << 20
)

var fillerSource = sync.OnceValue(func() []byte {
	src := make([]byte, fillerSourceBytes)
	x := uint64(0x9e3779b97f4a7c15) // xorshift64*: fixed, so runs are comparable
	for i := range src {
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		src[i] = 'A' + byte((x*0x2545f4914f6cdd1d)>>59)%26
	}
	return src
})

// fillerWindow is the middle of the value of seq (size bytes in all).
func fillerWindow(seq uint64, size int) []byte {
	src := fillerSource()
	middle := size - valueBytesMin
	off := int((seq * uint64(middle+1)) % uint64(len(src)-middle))
	return src[off : off+middle]
}

// valueMaker carves values out of 1 MiB slabs: one allocation per slab,
// not per record (the client holds each value until its callback).
type valueMaker struct {
	size int
	slab []byte
}

func (m *valueMaker) value(seq uint64) []byte {
	if len(m.slab) < m.size {
		m.slab = make([]byte, max(m.size, 1<<20))
	}
	v := m.slab[:m.size:m.size]
	m.slab = m.slab[m.size:]
	binary.BigEndian.PutUint64(v, seq)
	copy(v[8:], fillerWindow(seq, m.size))
	binary.BigEndian.PutUint64(v[m.size-8:], seq)
	return v
}

// checkValue returns the sequence number of v, or an error if v is not
// exactly the value produced for it.
func checkValue(v []byte, size int) (uint64, error) {
	if len(v) != size {
		return 0, fmt.Errorf("a value of %d bytes, want %d", len(v), size)
	}
	seq := binary.BigEndian.Uint64(v)
	if tail := binary.BigEndian.Uint64(v[size-8:]); tail != seq {
		return 0, fmt.Errorf("a value starts with sequence %d and ends with %d", seq, tail)
	}
	if string(v[8:size-8]) != string(fillerWindow(seq, size)) {
		return 0, fmt.Errorf("the value of sequence %d is corrupted", seq)
	}
	return seq, nil
}

// ensureTopic creates the topic, or accepts an existing one, and returns
// its partition count.
func ensureTopic(ctx context.Context, brokers []string, w workload) (int32, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	created, err := adm.CreateTopic(ctx, int32(w.Partitions), int16(w.ReplicationFactor), nil, w.Topic)
	if err == nil {
		return created.NumPartitions, nil
	}
	if !errors.Is(err, kerr.TopicAlreadyExists) {
		return 0, fmt.Errorf("create topic %s: %w", w.Topic, err)
	}
	md, err := adm.Metadata(ctx, w.Topic)
	if err != nil {
		return 0, fmt.Errorf("metadata of %s: %w", w.Topic, err)
	}
	t := md.Topics[w.Topic]
	if t.Err != nil || len(t.Partitions) == 0 {
		return 0, fmt.Errorf("metadata of %s: %v", w.Topic, t.Err)
	}
	return int32(len(t.Partitions)), nil
}

func producerOptions(brokers []string, w workload) []kgo.Opt {
	codec := kgo.NoCompression()
	if w.Codec == "snappy" {
		codec = kgo.SnappyCompression()
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(w.Topic), kgo.ProducerLinger(0),
		kgo.ProducerBatchCompression(codec), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.MaxBufferedRecords(maxBufferedRecords), kgo.ProducerBatchMaxBytes(batchBytesMax),
	}
	if w.Acks == "1" {
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(),
			kgo.MaxProduceRequestsInflightPerBroker(w.MaxInflight))
	}
	return opts
}

// produceResult is one produce run. MB is 10^6 bytes of record values.
type produceResult struct {
	Records       int            `json:"records"`
	Seconds       float64        `json:"seconds"`
	RecordsPerSec float64        `json:"records_per_sec"`
	MBPerSec      float64        `json:"mb_per_sec"`
	Inflight      int            `json:"inflight"`
	Idempotent    bool           `json:"idempotent"`
	Errors        int64          `json:"errors"`
	Latency       *latencyResult `json:"latency,omitempty"`
	// CPU is what the bench and the broker used while producing.
	CPU *cpuUsage `json:"cpu,omitempty"`
}

// latencyResult is per-record produce latency, Produce call to callback.
type latencyResult struct {
	Rate    int     `json:"rate"`
	Samples int     `json:"samples"`
	P50Ms   float64 `json:"p50_ms"`
	P99Ms   float64 `json:"p99_ms"`
	P999Ms  float64 `json:"p999_ms"`
	MaxMs   float64 `json:"max_ms"`
}

// producer counts callbacks; with latency it keeps each record's send time
// (nanoseconds since start, by sequence number) and its latency.
type producer struct {
	start    time.Time
	sentNs   []int64
	latency  []time.Duration
	errors   atomic.Int64
	firstErr atomic.Pointer[error]
}

func (p *producer) done(r *kgo.Record, err error) {
	if err != nil {
		p.errors.Add(1)
		p.firstErr.CompareAndSwap(nil, &err)
		return
	}
	if p.latency != nil {
		seq := binary.BigEndian.Uint64(r.Value)
		p.latency[seq] = time.Since(p.start) - time.Duration(p.sentNs[seq])
	}
}

// produce sends w.Records records (sequence numbers 0..N-1) and waits for
// every callback. Throughput runs from the first Produce call to Flush.
func produce(ctx context.Context, brokers []string, w workload, meter cpuMeter) (produceResult, error) {
	res := produceResult{Records: w.Records, Inflight: w.inflight(), Idempotent: w.Acks == "all"}
	cl, err := kgo.NewClient(producerOptions(brokers, w)...)
	if err != nil {
		return res, err
	}
	defer cl.Close()
	p := &producer{}
	if w.Latency {
		p.sentNs, p.latency = make([]int64, w.Records), make([]time.Duration, w.Records)
	}
	values := valueMaker{size: w.RecordBytes}
	send := func(seq int) {
		r := &kgo.Record{Value: values.value(uint64(seq))}
		if p.sentNs != nil {
			p.sentNs[seq] = int64(time.Since(p.start))
		}
		cl.Produce(ctx, r, p.done)
	}
	p.start = time.Now()
	cpuStart := meter.read()
	if w.Rate > 0 {
		paced(ctx, w.Records, w.Rate, send)
	} else {
		for seq := 0; seq < w.Records && ctx.Err() == nil; seq++ {
			send(seq)
		}
	}
	flushErr := cl.Flush(ctx)
	res.Seconds = time.Since(p.start).Seconds()
	res.CPU = meter.since(cpuStart)
	res.RecordsPerSec = float64(w.Records) / res.Seconds
	res.MBPerSec = float64(w.valueBytes()) / 1e6 / res.Seconds
	res.Errors = p.errors.Load()
	if p.latency != nil && res.Errors == 0 && flushErr == nil {
		res.Latency = percentiles(p.latency, w.Rate)
	}
	return res, produceError(res, p, flushErr)
}

func produceError(res produceResult, p *producer, flushErr error) error {
	if first := p.firstErr.Load(); first != nil {
		return fmt.Errorf("produce: %d of %d records failed, the first with: %w", res.Errors, res.Records, *first)
	}
	if flushErr != nil {
		return fmt.Errorf("produce: flush: %w", flushErr)
	}
	return nil
}

// paced calls send for 0..n-1 at rate per second: every wake-up (about
// every 100 µs) it sends whatever is due by then, so bursts are tiny.
func paced(ctx context.Context, n, rate int, send func(int)) {
	start := time.Now()
	next := 0
	for next < n && ctx.Err() == nil {
		due := min(int(time.Since(start).Seconds()*float64(rate))+1, n)
		for ; next < due; next++ {
			send(next)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// percentiles sorts the samples (fine at a few hundred thousand).
func percentiles(samples []time.Duration, rate int) *latencyResult {
	s := slices.Clone(samples)
	slices.Sort(s)
	at := func(q float64) float64 {
		i := min(int(q*float64(len(s))+0.999999)-1, len(s)-1)
		return float64(s[max(i, 0)]) / 1e6
	}
	return &latencyResult{Rate: rate, Samples: len(s), P50Ms: at(0.50), P99Ms: at(0.99), P999Ms: at(0.999), MaxMs: at(1)}
}
