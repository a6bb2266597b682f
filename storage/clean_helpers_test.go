package storage

import (
	"encoding/binary"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/storage/compression"
)

// Helpers for the cleaner's tests: batches of real keyed records, with a
// codec and producer fields, and a reader that decodes what the log holds.

// tb is what the helpers need of *testing.T and *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// kv is one record: a nil key is a keyless record, a nil value a
// tombstone.
type kv struct {
	key, value []byte
	ts         int64
}

// testEncoders is shared by the tests' batches (zstd's encoder is costly
// to build); tests of this package do not run in parallel.
var testEncoders compression.Encoders

// keyedBatch builds a v2 batch of recs (offset deltas 0, 1, …; timestamps
// relative to recs[0].ts) compressed with codec, for producer pid (-1 for
// none) at epoch and base sequence seq; control marks a control batch.
func keyedBatch(tb tb, recs []kv, codec compression.Codec, pid int64, epoch int16, seq int32, control bool) []byte {
	var body []byte
	base := recs[0].ts
	maxTs := base
	for i, r := range recs {
		rec := kmsg.Record{Key: r.key, Value: r.value, OffsetDelta: int32(i), TimestampDelta64: r.ts - base}
		enc := rec.AppendTo(nil)[1:]
		rec.Length = int32(len(enc))
		body = rec.AppendTo(body)
		maxTs = max(maxTs, r.ts)
	}
	compressed, err := testEncoders.Encode(nil, codec, body)
	if err != nil {
		tb.Fatal(err)
	}
	attrs := int16(codec)
	if control {
		attrs |= attrControl
	}
	if pid < 0 {
		epoch, seq = -1, -1
	}
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1, Magic: 2, Attributes: attrs,
		LastOffsetDelta: int32(len(recs) - 1), FirstTimestamp: base, MaxTimestamp: maxTs,
		ProducerID: pid, ProducerEpoch: epoch, FirstSequence: seq,
		NumRecords: int32(len(recs)), Records: compressed,
	}
	b.Length = int32(BatchHeaderSize - batchLengthBase + len(compressed))
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[offCRC:], BatchCRC(out))
	return out
}

// readRecord is a record as read back: its offset and timestamp resolved.
type readRecord struct {
	offset     Offset
	key, value []byte
	ts         int64
}

// decodeBatchRecords decodes every record of a valid batch, resolving
// offsets and timestamps as a consumer does (base + delta).
func decodeBatchRecords(tb tb, b []byte) []readRecord {
	tb.Helper()
	h := DecodeBatchHeader(b)
	var dec compression.Decoders
	raw, err := dec.DecodeAll(nil, compression.Codec(h.Attributes&attrCompression), b[BatchHeaderSize:], 1<<30)
	if err != nil {
		tb.Fatalf("batch %d: decompress: %v", h.BaseOffset, err)
	}
	var out []readRecord
	for i := int32(0); i < h.RecordCount; i++ {
		length, used := binary.Varint(raw)
		if used <= 0 || int(length) > len(raw)-used {
			tb.Fatalf("batch %d: record %d: bad length", h.BaseOffset, i)
		}
		var r kmsg.Record
		if err := r.ReadFrom(raw[:used+int(length)]); err != nil {
			tb.Fatalf("batch %d: record %d: %v", h.BaseOffset, i, err)
		}
		if r.OffsetDelta > h.LastOffsetDelta {
			tb.Fatalf("batch %d: record offset delta %d past the last %d", h.BaseOffset, r.OffsetDelta, h.LastOffsetDelta)
		}
		out = append(out, readRecord{offset: h.BaseOffset + Offset(r.OffsetDelta), key: r.Key, value: r.Value,
			ts: h.BaseTimestamp + r.TimestampDelta64})
		raw = raw[used+int(length):]
	}
	if len(raw) != 0 {
		tb.Fatalf("batch %d: %d bytes after the records", h.BaseOffset, len(raw))
	}
	return out
}

// readBatches reads every batch of the log, each copied.
func readBatches(tb tb, l *Log) [][]byte {
	tb.Helper()
	var out [][]byte
	for from := l.StartOffset(); from < l.EndOffset(); {
		r, err := l.Read(from, 1<<20, l.EndOffset())
		if err != nil {
			tb.Fatalf("read %d: %v", from, err)
		}
		if len(r.Batches) == 0 {
			break // a gap up to the end
		}
		for b := r.Batches; len(b) > 0; {
			h, err := ValidateBatch(b[:DecodeBatchHeader(b).Size()])
			if err != nil {
				tb.Fatalf("read served an invalid batch: %v", err)
			}
			out = append(out, append([]byte(nil), b[:h.Size()]...))
			b = b[h.Size():]
		}
		from = r.Next
	}
	return out
}

// cleanAll runs a whole pass in steps of budget bytes.
func cleanAll(tb tb, l *Log, p CleanPolicy, budget int64) *CleanPass {
	tb.Helper()
	c, err := l.StartClean(p)
	if err != nil {
		tb.Fatalf("start clean: %v", err)
	}
	for steps := 0; ; steps++ {
		done, err := l.CleanStep(c, budget)
		if err != nil {
			tb.Fatalf("clean step %d: %v", steps, err)
		}
		if done {
			return c
		}
		if steps > 100000 {
			tb.Fatalf("the pass does not end")
		}
	}
}
