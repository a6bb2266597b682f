package storage

// Goal: measure one cleaning pass on the real disk: 64 MiB of keyed,
// lz4-compressed batches (100 records of 1 KiB values per batch, 10,000
// keys, so most records are superseded), in 8 MiB segments; the pass maps
// the dirty section, rewrites every segment and swaps each group in, with
// its fsyncs and directory syncs. MB/s counts the bytes read.
//
//	go test -run XXX -bench Clean -benchtime 5x ./storage/

import (
	"fmt"
	"testing"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/storage/compression"
)

func BenchmarkCleanPass(b *testing.B) {
	const (
		logBytes   = 64 << 20
		valueBytes = 1 << 10
		perBatch   = 100
		keys       = 10_000
	)
	// Values drawn from a pool of random bytes: lz4 barely compresses them,
	// so the log's bytes are about the records' bytes.
	pool := make([]byte, 1<<20)
	rng := env.NewRand(1, "bench")
	for i := range pool {
		pool[i] = byte(rng.IntN(256))
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		fs := tempFS(b)
		cfg := Config{SegmentBytes: 8 << 20, SegmentMs: 1 << 40, IndexIntervalBytes: 4096}
		l, err := Open(fs, "bench-0", cfg, 0)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for l.SizeBytes() < logBytes {
			recs := make([]kv, perBatch)
			for j := range recs {
				recs[j] = kv{key: []byte(fmt.Sprintf("key-%05d", (n*7919)%keys)), value: pool[(n*131)%(len(pool)-valueBytes):][:valueBytes], ts: int64(n)}
				n++
			}
			if _, err := l.Append(keyedBatch(b, recs, compression.CodecLz4, -1, 0, 0, false), AppendOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		if err := l.Sync(); err != nil {
			b.Fatal(err)
		}
		read := l.SizeBytes()
		b.SetBytes(read)
		b.StartTimer()
		c := cleanAll(b, l, CleanPolicy{HighWatermark: l.EndOffset(), NowMs: 1}, 16<<20)
		b.StopTimer()
		b.ReportMetric(float64(c.Stats.BytesWritten)/float64(1<<20), "MiB-written")
		b.ReportMetric(float64(c.Stats.SegmentsCleaned), "segments")
		l.Close()
	}
}
