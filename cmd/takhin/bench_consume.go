package main

// The consuming half of `takhin bench`: read every partition from its
// start with a direct assignment (no group), check every value, and stop
// when every sequence number has been seen once.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// consumeStallTimeout: a consume that gets no record for this long fails.
const consumeStallTimeout = 20 * time.Second

// consumeResult is one consume run. Verified means: exactly the records
// produced, each once, each value intact, and (idempotent runs) in produce
// order within each partition; and no partition holds more than was read.
type consumeResult struct {
	Records       int     `json:"records"`
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	Verified      bool    `json:"verified"`
	Reordered     int     `json:"reordered,omitempty"` // non-idempotent runs may reorder on retries
	// ReadableAfterMs is how long after the last ack every record was
	// below the high watermark (an acks=1 ack may come before the fsync
	// that makes the record readable on Takhin).
	ReadableAfterMs float64 `json:"readable_after_ms"`
	// CPU is what the bench and the broker used while consuming.
	CPU *cpuUsage `json:"cpu,omitempty"`
}

// endOffsets is each partition's end offset (its high watermark).
func endOffsets(ctx context.Context, brokers []string, topic string) (map[int32]int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out, nil
}

// waitReadable waits until the topic's end offsets (the high watermarks)
// have moved by w.Records in all since from, so consume measures reading,
// not the flush lag of acks=1 (reported apart as ReadableAfterMs).
func waitReadable(ctx context.Context, brokers []string, w workload, from map[int32]int64) (time.Duration, error) {
	start := time.Now()
	for {
		ends, err := endOffsets(ctx, brokers, w.Topic)
		var moved int64
		for p, end := range ends {
			moved += end - from[p]
		}
		switch {
		case err == nil && moved >= int64(w.Records):
			return time.Since(start), nil
		case time.Since(start) > consumeStallTimeout:
			return 0, fmt.Errorf("verify: %d of %d records readable after %s (last error: %v)", moved, w.Records, consumeStallTimeout, err)
		case ctx.Err() != nil:
			return 0, ctx.Err()
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// verifier checks consumed records against what produce sent.
type verifier struct {
	w       workload
	seen    []bool
	count   int
	lastSeq map[int32]int64 // per partition, -1 before the first record
	lastOff map[int32]int64
	reorder int
	err     error
}

// newVerifier expects w.Records records after the offsets from.
func newVerifier(w workload, from map[int32]int64) *verifier {
	v := &verifier{w: w, seen: make([]bool, w.Records), lastSeq: map[int32]int64{}, lastOff: map[int32]int64{}}
	for p, o := range from {
		v.lastOff[p] = o - 1
	}
	return v
}

func (v *verifier) record(r *kgo.Record) {
	if v.err != nil {
		return
	}
	seq, err := checkValue(r.Value, v.w.RecordBytes)
	switch {
	case err != nil:
		v.err = fmt.Errorf("partition %d offset %d: %w", r.Partition, r.Offset, err)
		return
	case seq >= uint64(len(v.seen)):
		v.err = fmt.Errorf("partition %d offset %d: sequence %d, only %d were produced", r.Partition, r.Offset, seq, len(v.seen))
		return
	case v.seen[seq]:
		v.err = fmt.Errorf("partition %d offset %d: sequence %d read twice (a duplicate)", r.Partition, r.Offset, seq)
		return
	}
	if last, ok := v.lastSeq[r.Partition]; ok && int64(seq) < last {
		v.reorder++
		if v.w.Acks == "all" {
			v.err = fmt.Errorf("partition %d offset %d: sequence %d after %d (idempotent produce must keep order)", r.Partition, r.Offset, seq, last)
			return
		}
	}
	v.seen[seq] = true
	v.count++
	v.lastSeq[r.Partition], v.lastOff[r.Partition] = int64(seq), r.Offset
}

// consumeAndVerify reads back w.Topic's w.Partitions partitions from the
// start. Throughput runs from the client's creation to the last record.
func consumeAndVerify(ctx context.Context, brokers []string, w workload, from map[int32]int64, meter cpuMeter) (consumeResult, error) {
	parts := map[int32]kgo.Offset{}
	for p := range int32(w.Partitions) {
		parts[p] = kgo.NewOffset().At(from[p])
	}
	waited, err := waitReadable(ctx, brokers, w, from)
	if err != nil {
		return consumeResult{}, err
	}
	start, cpuStart := time.Now(), meter.read()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{w.Topic: parts}))
	if err != nil {
		return consumeResult{}, err
	}
	defer cl.Close()
	v := newVerifier(w, from)
	err = pollAll(ctx, cl, v)
	res := consumeResult{Records: v.count, Seconds: time.Since(start).Seconds(), Reordered: v.reorder,
		ReadableAfterMs: float64(waited) / 1e6, CPU: meter.since(cpuStart)}
	res.RecordsPerSec = float64(v.count) / res.Seconds
	res.MBPerSec = float64(int64(v.count)*int64(w.RecordBytes)) / 1e6 / res.Seconds
	if err == nil {
		err = checkNothingMore(ctx, cl, w.Topic, v)
	}
	res.Verified = err == nil
	return res, err
}

// pollAll polls until every sequence number is seen, a value is wrong, or
// nothing arrives for consumeStallTimeout.
func pollAll(ctx context.Context, cl *kgo.Client, v *verifier) error {
	for v.count < v.w.Records {
		pollCtx, cancel := context.WithTimeout(ctx, consumeStallTimeout)
		fetches := cl.PollFetches(pollCtx)
		cancel()
		var fetchErr error
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) && fetchErr == nil {
				fetchErr = fmt.Errorf("fetch %s[%d]: %w", topic, p, err)
			}
		})
		if fetchErr != nil {
			return fetchErr
		}
		before := v.count
		fetches.EachRecord(v.record)
		if v.err != nil {
			return fmt.Errorf("verify: %w", v.err)
		}
		if v.count == before && (pollCtx.Err() != nil || ctx.Err() != nil) {
			return fmt.Errorf("verify: stalled at %d of %d records", v.count, v.w.Records)
		}
	}
	return nil
}

// checkNothingMore compares each partition's end offset with the last
// offset read: anything beyond is a record that was not produced once.
func checkNothingMore(ctx context.Context, cl *kgo.Client, topic string, v *verifier) error {
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return fmt.Errorf("verify: end offsets: %w", err)
	}
	var bad error
	ends.Each(func(o kadm.ListedOffset) {
		last, ok := v.lastOff[o.Partition]
		if !ok {
			last = -1
		}
		switch {
		case bad != nil:
		case o.Err != nil:
			bad = fmt.Errorf("verify: end offset of partition %d: %w", o.Partition, o.Err)
		case o.Offset > last+1:
			bad = fmt.Errorf("verify: partition %d ends at %d but its last expected record is at %d", o.Partition, o.Offset, last)
		}
	})
	return bad
}
