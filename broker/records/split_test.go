package records

// Goal: framing a produce partition's Records as Kafka 4.0's
// ProduceRequest.validateRecords and ByteBufferLogInputStream do, each
// rule with a passing and a refused case and the exact Kafka code; Split
// for several batches.

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestProduceBatch(t *testing.T) {
	one := build(t, CodecNone, three())
	zstdBatch := build(t, CodecZstd, three())
	v1 := build(t, CodecNone, three(), func(b *kmsg.RecordBatch) { b.Magic = 1 })
	badMagic := build(t, CodecNone, three(), func(b *kmsg.RecordBatch) { b.Magic = 9 })
	shortLength := append([]byte(nil), one...)
	binary.BigEndian.PutUint32(shortLength[offsetBatchLength:], 13)
	for _, c := range []struct {
		name    string
		records []byte
		version int16
		want    *kerr.Error
	}{
		{"one batch", one, 9, nil},
		{"empty", nil, 9, kerr.InvalidRecord},
		{"under a header", one[:11], 9, kerr.InvalidRecord},
		{"partial batch only", one[:len(one)-1], 9, kerr.InvalidRecord},
		{"two batches", cat(one, one), 9, kerr.InvalidRecord},
		{"batch and a partial one", cat(one, one[:30]), 9, kerr.CorruptMessage},
		{"batch and a stray byte", cat(one, []byte{0}), 9, kerr.CorruptMessage},
		{"batch then a corrupt length", cat(one, shortLength), 9, kerr.CorruptMessage},
		{"magic 1", v1, 9, kerr.InvalidRecord},
		{"magic 9", badMagic, 9, kerr.CorruptMessage},
		{"magic 9, partial", badMagic[:20], 9, kerr.CorruptMessage},
		{"length below 14", shortLength, 9, kerr.CorruptMessage},
		{"zstd at v7", zstdBatch, 7, nil},
		{"zstd at v6", zstdBatch, 6, kerr.UnsupportedCompressionType},
		{"gzip at v3", build(t, CodecGzip, three()), 3, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ProduceBatch(c.records, c.version)
			wantCode(t, err, c.want)
			if err == nil && !bytes.Equal(got, c.records) {
				t.Fatal("ProduceBatch did not return the batch")
			}
		})
	}
}

func TestSplit(t *testing.T) {
	a, b := build(t, CodecNone, three()), build(t, CodecLz4, nRecords(5, 10))
	got, err := Split(cat(a, b, a))
	if err != nil || len(got) != 3 || !bytes.Equal(got[1], b) || !bytes.Equal(got[2], a) {
		t.Fatalf("split into %d batches, %v", len(got), err)
	}
	for _, g := range got {
		if _, err := Validate(g, DefaultConfig(), testNow); err != nil {
			t.Fatal(err)
		}
	}
	v0 := build(t, CodecNone, three(), func(b *kmsg.RecordBatch) { b.Magic = 0 })
	for _, c := range []struct {
		name    string
		records []byte
		want    *kerr.Error
	}{
		{"empty", nil, kerr.InvalidRecord},
		{"trailing partial batch", cat(a, b[:len(b)-1]), kerr.CorruptMessage},
		{"second batch magic 0", cat(a, v0), kerr.InvalidRecord},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Split(c.records)
			wantCode(t, err, c.want)
		})
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
