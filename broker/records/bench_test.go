package records

// Goal: the cost of validating a produce batch: 1 MiB of 1 KiB records,
// uncompressed and with each codec, on a reused Validator (steady state).
// MB/s counts the uncompressed batch, so codecs compare on the data they
// carry.
//
//	go test ./broker/records -run '^$' -bench BenchmarkValidate -benchmem

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// benchRecords is 1 MiB of 1 KiB records shaped like log lines: a fixed
// skeleton with random fields, so they compress about as real data does.
func benchRecords() []kmsg.Record {
	rng := rand.New(rand.NewPCG(1, 2))
	const words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu "
	recs := make([]kmsg.Record, 1024)
	for i := range recs {
		value := fmt.Appendf(nil, `{"ts":%d,"host":"node-%02d","level":"info","user":%d,"msg":"`,
			testNow+int64(i), rng.IntN(50), rng.Uint64())
		for len(value) < 1024-2 {
			if rng.IntN(4) == 0 {
				value = fmt.Appendf(value, "%x ", rng.Uint32())
			} else {
				start := rng.IntN(len(words) - 8)
				value = append(value, words[start:start+8]...)
			}
		}
		value = append(value[:1024-2], '"', '}')
		recs[i] = kmsg.Record{Key: fmt.Appendf(nil, "user-%d", rng.IntN(10000)), Value: value, TimestampDelta64: int64(i)}
	}
	return recs
}

func BenchmarkValidate(b *testing.B) {
	recs := benchRecords()
	raw := len(encodeRecords(withDeltas(recs)))
	cfg := DefaultConfig()
	cfg.MaxMessageBytes = 2 << 20
	for _, codec := range allCodecs {
		batch := build(b, codec, recs, func(rb *kmsg.RecordBatch) { rb.MaxTimestamp = testNow + 1023 })
		b.Run(codecName(codec), func(b *testing.B) {
			v := NewValidator(DefaultMaxUncompressedBytes)
			if _, err := v.Validate(batch, cfg, testNow); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(raw))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Validate(batch, cfg, testNow); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(raw)/float64(len(batch)), "ratio")
		})
	}
}

// BenchmarkValidateSmall is the produce benchmark's shape: 100-byte values
// with no key, as kgo batches them (about 3,300 per 330 KiB batch),
// uncompressed, so the per-record walk dominates, not the bytes.
func BenchmarkValidateSmall(b *testing.B) {
	recs := make([]kmsg.Record, 3300)
	for i := range recs {
		recs[i] = kmsg.Record{Value: make([]byte, 100), TimestampDelta64: int64(i / 1000)}
	}
	raw := len(encodeRecords(withDeltas(recs)))
	batch := build(b, CodecNone, recs, func(rb *kmsg.RecordBatch) { rb.MaxTimestamp = testNow + 3 })
	v := NewValidator(DefaultMaxUncompressedBytes)
	if _, err := v.Validate(batch, DefaultConfig(), testNow); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(raw))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Validate(batch, DefaultConfig(), testNow); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(recs)), "ns/record")
}
