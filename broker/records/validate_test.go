package records

// Goal: every validation rule of doc.go, one table row pair each: a near
// miss that passes and a batch that breaks exactly that rule, asserting
// the exact Kafka error code; plus what Info reports and the per-record
// error lists.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

type ruleCase struct {
	name  string
	batch func(tb testing.TB) []byte
	cfg   func(*Config)
	want  *kerr.Error // nil: accepted
}

// three is the records most cases use.
func three() []kmsg.Record {
	return []kmsg.Record{rec("a", "1"), rec("b", "2"), rec("c", "3")}
}

// threeBytes is the size of an uncompressed batch of three().
func threeBytes() int32 { return int32(61 + len(encodeRecords(withDeltas(three())))) }

func header(mod func(*kmsg.RecordBatch)) func(tb testing.TB) []byte {
	return func(tb testing.TB) []byte { return build(tb, CodecNone, three(), mod) }
}

func edit(mod func(b []byte) []byte) func(tb testing.TB) []byte {
	return func(tb testing.TB) []byte { return mod(build(tb, CodecNone, three())) }
}

// rawRecord encodes a record from its fields, as given, with a length
// prefix counting them: the way to write records kmsg would not.
func rawRecord(fields ...[]byte) []byte {
	body := bytes.Join(fields, nil)
	return append(kbin.AppendVarint(nil, int32(len(body))), body...)
}

func vi(v int32) []byte { return kbin.AppendVarint(nil, v) }
func vl(v int64) []byte { return kbin.AppendVarlong(nil, v) }

// records builds an uncompressed batch of n records from raw bytes.
func records(n int, raw ...[]byte) func(tb testing.TB) []byte {
	return func(tb testing.TB) []byte { return buildRaw(tb, CodecNone, bytes.Join(raw, nil), n) }
}

// good is a well-formed record with offset delta d, as raw bytes.
func good(d int32) []byte {
	return rawRecord([]byte{0}, vl(0), vi(d), vi(1), []byte("k"), vi(1), []byte("v"), vi(0))
}

func ts(delta int64) func(tb testing.TB) []byte {
	return func(tb testing.TB) []byte {
		r := rec("k", "v")
		r.TimestampDelta64 = delta
		return build(tb, CodecNone, []kmsg.Record{r}, func(b *kmsg.RecordBatch) { b.MaxTimestamp = testNow + delta })
	}
}

var batchRules = []ruleCase{
	{"valid", header(nil), nil, nil},
	{"one batch/exact", edit(func(b []byte) []byte { return b }), nil, nil},
	{"one batch/trailing byte", edit(func(b []byte) []byte { return append(b, 0) }), nil, kerr.CorruptMessage},
	{"one batch/truncated", edit(func(b []byte) []byte { return b[:len(b)-1] }), nil, kerr.CorruptMessage},
	{"magic/2", header(func(b *kmsg.RecordBatch) { b.Magic = 2 }), nil, nil},
	{"magic/1", header(func(b *kmsg.RecordBatch) { b.Magic = 1 }), nil, kerr.InvalidRecord},
	{"magic/0", header(func(b *kmsg.RecordBatch) { b.Magic = 0 }), nil, kerr.InvalidRecord},
	{"magic/3", header(func(b *kmsg.RecordBatch) { b.Magic = 3 }), nil, kerr.CorruptMessage},
	{"magic/-1", header(func(b *kmsg.RecordBatch) { b.Magic = -1 }), nil, kerr.CorruptMessage},
	{"base offset/0", header(func(b *kmsg.RecordBatch) { b.FirstOffset = 0 }), nil, nil},
	{"base offset/5", header(func(b *kmsg.RecordBatch) { b.FirstOffset = 5 }), nil, kerr.InvalidRecord},
	{"max.message.bytes/equal", header(nil), func(c *Config) { c.MaxMessageBytes = threeBytes() }, nil},
	{"max.message.bytes/above", header(nil), func(c *Config) { c.MaxMessageBytes = threeBytes() - 1 }, kerr.MessageTooLarge},
	{"crc/flipped", edit(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), nil, kerr.CorruptMessage},
	{"crc/epoch outside it", edit(func(b []byte) []byte { b[12] ^= 1; return b }), nil, nil},
	{"size/below header", edit(func(b []byte) []byte {
		b = b[:40]
		binary.BigEndian.PutUint32(b[offsetBatchLength:], 40-logOverhead)
		return b
	}), nil, kerr.CorruptMessage},
	{"size/length below 14", edit(func(b []byte) []byte {
		binary.BigEndian.PutUint32(b[offsetBatchLength:], 13)
		return b
	}), nil, kerr.CorruptMessage},
	{"codec/zstd", func(tb testing.TB) []byte { return build(tb, CodecZstd, three()) }, nil, nil},
	{"codec/5", header(func(b *kmsg.RecordBatch) { b.Attributes = 5 }), nil, kerr.CorruptMessage},
	{"codec/7", header(func(b *kmsg.RecordBatch) { b.Attributes = 7 }), nil, kerr.CorruptMessage},
	{"last offset delta/negative", header(func(b *kmsg.RecordBatch) { b.LastOffsetDelta = -1 }), nil, kerr.InvalidRecord},
	{"count/zero", header(func(b *kmsg.RecordBatch) { b.NumRecords, b.LastOffsetDelta = 0, -1 }), nil, kerr.InvalidRecord},
	{"count/negative", header(func(b *kmsg.RecordBatch) { b.NumRecords = -3 }), nil, kerr.InvalidRecord},
	{"count/not last delta + 1", header(func(b *kmsg.RecordBatch) { b.LastOffsetDelta = 1 }), nil, kerr.InvalidRecord},
	{"count/max int32 delta", header(func(b *kmsg.RecordBatch) { b.LastOffsetDelta = math.MaxInt32 }), nil, kerr.InvalidRecord},
	{"control/set", header(func(b *kmsg.RecordBatch) { b.Attributes |= 0x20 }), nil, kerr.InvalidRecord},
	{"producer/idempotent", header(func(b *kmsg.RecordBatch) { b.ProducerID, b.ProducerEpoch, b.FirstSequence = 7, 0, 0 }), nil, nil},
	{"producer/sequence negative", header(func(b *kmsg.RecordBatch) { b.ProducerID, b.ProducerEpoch, b.FirstSequence = 7, 0, -1 }), nil, kerr.InvalidRecord},
	{"producer/none with sequence 0 (sarama)", header(func(b *kmsg.RecordBatch) { b.FirstSequence = 0 }), nil, nil},
	{"producer/id below -1", header(func(b *kmsg.RecordBatch) { b.ProducerID, b.ProducerEpoch, b.FirstSequence = -2, 0, 0 }), nil, kerr.InvalidRecord},
	{"producer/epoch negative", header(func(b *kmsg.RecordBatch) { b.ProducerID, b.ProducerEpoch, b.FirstSequence = 7, -1, 0 }), nil, kerr.InvalidRecord},
	{"producer/transactional", header(func(b *kmsg.RecordBatch) {
		b.ProducerID, b.ProducerEpoch, b.FirstSequence, b.Attributes = 7, 0, 0, 0x10
	}), nil, nil},
	{"producer/transactional without id", header(func(b *kmsg.RecordBatch) { b.Attributes = 0x10 }), nil, kerr.InvalidRecord},
}

var recordRules = []ruleCase{
	{"count/matches records", records(2, good(0), good(1)), nil, nil},
	{"count/more than records", records(3, good(0), good(1)), nil, kerr.InvalidRecord},
	{"count/fewer than records", records(1, good(0), good(1)), nil, kerr.InvalidRecord},
	{"offset delta/skips", records(2, good(0), good(2)), nil, kerr.InvalidRecord},
	{"offset delta/starts at 1", records(2, good(1), good(2)), nil, kerr.InvalidRecord},
	{"length/past the data", records(1, append(vi(100), good(0)[1:]...)), nil, kerr.InvalidRecord},
	{"length/negative", records(1, vi(-5)), nil, kerr.InvalidRecord},
	{"length/malformed varint", records(1, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), nil, kerr.InvalidRecord},
	{"length/longer than fields", records(1,
		rawRecord([]byte{0}, vl(0), vi(0), vi(-1), vi(-1), vi(0), []byte{0})), nil, kerr.InvalidRecord},
	{"length/shorter than fields", records(1,
		rawRecord([]byte{0}, vl(0), vi(0), vi(-1), vi(5), []byte("ab"))), nil, kerr.InvalidRecord},
	{"key/negative length is null", records(1,
		rawRecord([]byte{0}, vl(0), vi(0), vi(-7), vi(-1), vi(0))), nil, nil},
	{"headers/null value", records(1,
		rawRecord([]byte{0}, vl(0), vi(0), vi(-1), vi(-1), vi(1), vi(1), []byte("h"), vi(-1))), nil, nil},
	{"headers/negative count", records(1,
		rawRecord([]byte{0}, vl(0), vi(0), vi(-1), vi(-1), vi(-1))), nil, kerr.InvalidRecord},
	{"headers/count past the data", records(1,
		rawRecord([]byte{0}, vl(0), vi(0), vi(-1), vi(-1), vi(1000))), nil, kerr.InvalidRecord},
	{"headers/null key", records(1,
		rawRecord([]byte{0}, vl(0), vi(0), vi(-1), vi(-1), vi(1), vi(-1), vi(-1))), nil, kerr.InvalidRecord},
	{"compacted/keys", header(nil), func(c *Config) { c.Compacted = true }, nil},
	{"compacted/null key", func(tb testing.TB) []byte {
		return build(tb, CodecNone, []kmsg.Record{rec("a", "1"), rec("", "2")})
	}, func(c *Config) { c.Compacted = true }, kerr.InvalidRecord},
	{"compacted/not: null key", func(tb testing.TB) []byte {
		return build(tb, CodecNone, []kmsg.Record{rec("", "2")})
	}, nil, nil},
	{"timestamp/after bound", ts(DefaultTimestampAfterMaxMs), nil, nil},
	{"timestamp/past after bound", ts(DefaultTimestampAfterMaxMs + 1), nil, kerr.InvalidTimestamp},
	{"timestamp/before bound", ts(-1000), func(c *Config) { c.TimestampBeforeMaxMs = 1000 }, nil},
	{"timestamp/past before bound", ts(-1001), func(c *Config) { c.TimestampBeforeMaxMs = 1000 }, kerr.InvalidTimestamp},
	{"timestamp/ancient, default before", ts(-testNow + 1), nil, nil},
	{"timestamp/none (-1)", ts(-testNow - 1), func(c *Config) { c.TimestampBeforeMaxMs = 0 }, nil},
	{"timestamp/LogAppendTime topic ignores it", ts(1 << 40), func(c *Config) { c.LogAppendTime = true }, nil},
	{"timestamp/LogAppendTime from producer", header(func(b *kmsg.RecordBatch) { b.Attributes |= attrLogAppendTime }),
		func(c *Config) { c.LogAppendTime = true }, kerr.InvalidTimestamp},
	{"timestamp/LogAppendTime from producer, CreateTime topic", header(func(b *kmsg.RecordBatch) { b.Attributes |= attrLogAppendTime }),
		nil, nil},
	{"timestamp/LogAppendTime from producer, no timestamp", header(func(b *kmsg.RecordBatch) {
		b.Attributes |= attrLogAppendTime
		b.MaxTimestamp = -1
	}), nil, kerr.InvalidTimestamp},
}

func TestValidateRules(t *testing.T) {
	for _, group := range [][]ruleCase{batchRules, recordRules} {
		for _, c := range group {
			t.Run(c.name, func(t *testing.T) {
				cfg := DefaultConfig()
				if c.cfg != nil {
					c.cfg(&cfg)
				}
				_, err := Validate(c.batch(t), cfg, testNow)
				wantCode(t, err, c.want)
			})
		}
	}
}

func TestValidateRecordErrors(t *testing.T) {
	future := rec("f", "late")
	future.TimestampDelta64 = 2 * DefaultTimestampAfterMaxMs
	batch := build(t, CodecNone, []kmsg.Record{rec("a", "1"), rec("", "2"), future, rec("", "3")})
	cfg := DefaultConfig()
	cfg.Compacted = true

	_, err := Validate(batch, cfg, testNow)
	wantCode(t, err, kerr.InvalidTimestamp) // a timestamp fault makes the batch INVALID_TIMESTAMP
	var e *Error
	errors.As(err, &e)
	var got []int32
	for _, r := range e.Records {
		got = append(got, r.Index)
	}
	if want := []int32{1, 2, 3}; !equal(got, want) {
		t.Fatalf("record errors at %v, want %v (%v)", got, want, e.Records)
	}
	if produce := e.ProduceRecordErrors(); len(produce) != 3 || produce[1].RelativeOffset != 2 || *produce[1].ErrorMessage == "" {
		t.Fatalf("produce record errors %+v", produce)
	}

	// One fault per record, the key's first (Kafka's order): a null-keyed
	// future record is a key fault, and without a timestamp fault the
	// batch is INVALID_RECORD.
	future.Key = nil
	batch = build(t, CodecNone, []kmsg.Record{future, rec("b", "2")})
	_, err = Validate(batch, cfg, testNow)
	wantCode(t, err, kerr.InvalidRecord)
	if errors.As(err, &e); len(e.Records) != 1 || e.Records[0].Index != 0 {
		t.Fatalf("record errors %v", e.Records)
	}
}

func TestValidateRecordErrorsAreBounded(t *testing.T) {
	recs := make([]kmsg.Record, 1000)
	cfg := DefaultConfig()
	cfg.Compacted = true
	_, err := Validate(build(t, CodecNone, recs), cfg, testNow)
	var e *Error
	if !errors.As(err, &e) || len(e.Records) != recordErrorsMax || e.Records[recordErrorsMax-1].Index != recordErrorsMax-1 {
		t.Fatalf("got %v", err)
	}
}

func equal(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestValidateInfo(t *testing.T) {
	recs := nRecords(10, 20)
	recs[4].TimestampDelta64 = 500 // the maximum, first at delta 4
	recs[6].TimestampDelta64 = 500
	batch := build(t, CodecGzip, recs, func(b *kmsg.RecordBatch) {
		b.ProducerID, b.ProducerEpoch, b.FirstSequence, b.Attributes = 9, 2, 40, b.Attributes|0x10
		b.MaxTimestamp = testNow + 500
	})
	info, err := Validate(batch, DefaultConfig(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := Info{
		Codec: CodecGzip, RecordCount: 10, LastOffsetDelta: 9,
		MaxTimestamp: testNow + 500, OffsetDeltaOfMaxTimestamp: 4,
		ProducerID: 9, ProducerEpoch: 2, BaseSequence: 40, Transactional: true,
		UncompressedBytes: int64(61 + len(encodeRecords(withDeltas(recs)))),
	}
	if info != want {
		t.Fatalf("info\n%+v, want\n%+v", info, want)
	}

	cfg := DefaultConfig()
	cfg.LogAppendTime = true
	if info, _ := Validate(batch, cfg, testNow+7); info.MaxTimestamp != testNow+7 || info.OffsetDeltaOfMaxTimestamp != 9 {
		t.Fatalf("LogAppendTime info %+v", info)
	}
}

func TestSetCreateTime(t *testing.T) {
	r := rec("k", "v")
	r.TimestampDelta64 = 30
	for _, c := range []struct {
		name    string
		mod     func(*kmsg.RecordBatch)
		rewrite bool
	}{
		{"header right", func(b *kmsg.RecordBatch) { b.MaxTimestamp = testNow + 30 }, false},
		{"max timestamp stale", func(b *kmsg.RecordBatch) { b.MaxTimestamp = testNow }, true},
		{"LogAppendTime type", func(b *kmsg.RecordBatch) {
			b.MaxTimestamp, b.Attributes = testNow+30, attrLogAppendTime
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			batch := build(t, CodecNone, []kmsg.Record{r}, c.mod)
			info, err := Validate(batch, DefaultConfig(), testNow)
			if err != nil || info.RewriteMaxTimestamp != c.rewrite {
				t.Fatalf("rewrite %v, err %v", info.RewriteMaxTimestamp, err)
			}
			before := append([]byte(nil), batch...)
			SetCreateTime(batch, info)
			if again, err := Validate(batch, DefaultConfig(), testNow); err != nil || again.RewriteMaxTimestamp {
				t.Fatalf("after SetCreateTime: %+v, %v", again, err)
			}
			if !c.rewrite && !bytes.Equal(before, batch) {
				t.Fatal("SetCreateTime changed a batch that needed nothing")
			}
		})
	}
}
