package records

// Goal: build the batches the tests feed the validator the way clients
// build them: records with kmsg's codec, compressed with the same
// libraries franz-go's kgo uses (stdlib gzip, klauspost snappy and zstd,
// pierrec lz4), snappy both bare and xerial-framed as the Java producer
// frames it. Nothing here is shared with the code under test beyond the
// header layout constants.

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/storage"
)

// testNow is the broker's clock in these tests: 2024-01-01T00:00:00Z.
const testNow int64 = 1704067200000

// codecSnappyXerial stands for snappy in the Java producer's framing; it
// is written to the batch as CodecSnappy.
const codecSnappyXerial Codec = 100

var allCodecs = []Codec{CodecNone, CodecGzip, CodecSnappy, codecSnappyXerial, CodecLz4, CodecZstd}

func codecName(c Codec) string {
	if c == codecSnappyXerial {
		return "snappy-xerial"
	}
	return c.String()
}

func wireCodec(c Codec) Codec {
	if c == codecSnappyXerial {
		return CodecSnappy
	}
	return c
}

// rec is a record with a key (nil for a null key) and value.
func rec(key, value string, headers ...kmsg.Header) kmsg.Record {
	r := kmsg.Record{Headers: headers}
	if key != "" {
		r.Key = []byte(key)
	}
	if value != "" {
		r.Value = []byte(value)
	}
	return r
}

// nRecords makes n records of about size bytes each, with keys, some null
// values and headers.
func nRecords(n, size int) []kmsg.Record {
	out := make([]kmsg.Record, n)
	for i := range out {
		value := bytes.Repeat([]byte{byte('a' + i%26)}, size)
		out[i] = kmsg.Record{Key: fmt.Appendf(nil, "key-%d", i), Value: value, TimestampDelta64: int64(i)}
		if i%7 == 3 {
			out[i].Value = nil
		}
		if i%5 == 1 {
			out[i].Headers = []kmsg.Header{{Key: "h", Value: []byte("v")}, {Key: "null", Value: nil}}
		}
	}
	return out
}

// encodeRecords encodes records with kmsg as given (offset deltas
// included), setting each one's Length.
func encodeRecords(recs []kmsg.Record) []byte {
	var out []byte
	for _, r := range recs {
		r.Length = 0
		r.Length = int32(len(r.AppendTo(nil)) - 1) // Length 0 took one varint byte
		out = r.AppendTo(out)
	}
	return out
}

// withDeltas numbers records 0, 1, …
func withDeltas(recs []kmsg.Record) []kmsg.Record {
	out := append([]kmsg.Record(nil), recs...)
	for i := range out {
		out[i].OffsetDelta = int32(i)
	}
	return out
}

// build makes a v2 batch as a non-idempotent client would: offset deltas
// 0..n-1, CreateTime testNow, compressed with codec; mods may change the
// header before the length and CRC are set.
func build(tb testing.TB, codec Codec, recs []kmsg.Record, mods ...func(*kmsg.RecordBatch)) []byte {
	tb.Helper()
	return buildRaw(tb, codec, encodeRecords(withDeltas(recs)), len(recs), mods...)
}

// buildRaw makes a batch around already encoded records.
func buildRaw(tb testing.TB, codec Codec, raw []byte, n int, mods ...func(*kmsg.RecordBatch)) []byte {
	tb.Helper()
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1, Magic: 2, Attributes: int16(wireCodec(codec)),
		LastOffsetDelta: int32(n - 1), FirstTimestamp: testNow, MaxTimestamp: testNow,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(n),
		Records: compress(tb, codec, raw),
	}
	for _, m := range mods {
		if m != nil {
			m(&b)
		}
	}
	return seal(b)
}

// seal sets Length and the CRC.
func seal(b kmsg.RecordBatch) []byte {
	b.Length = int32(storage.BatchHeaderSize - logOverhead + len(b.Records))
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[offsetCRC:], storage.BatchCRC(out))
	return out
}

// reseal recomputes the CRC after a test edits a batch.
func reseal(batch []byte) []byte {
	binary.BigEndian.PutUint32(batch[offsetCRC:], storage.BatchCRC(batch))
	return batch
}

func compress(tb testing.TB, codec Codec, raw []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch codec {
	case CodecNone:
		return raw
	case CodecSnappy:
		return snappy.Encode(nil, raw)
	case codecSnappyXerial:
		return xerialFrame(raw, 32<<10)
	case CodecGzip:
		w = gzip.NewWriter(&buf)
	case CodecLz4:
		w = lz4.NewWriter(&buf)
	case CodecZstd:
		zw, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
		if err != nil {
			tb.Fatal(err)
		}
		w = zw
	default:
		tb.Fatalf("no compressor for %v", codec)
	}
	if _, err := w.Write(raw); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// xerialFrame frames raw as the Java producer's SnappyOutputStream does.
func xerialFrame(raw []byte, chunk int) []byte {
	out := append([]byte(nil), xerialMagic...)
	out = binary.BigEndian.AppendUint32(out, 1) // version
	out = binary.BigEndian.AppendUint32(out, 1) // compatible version
	for len(raw) > 0 {
		n := min(chunk, len(raw))
		block := snappy.Encode(nil, raw[:n])
		out = binary.BigEndian.AppendUint32(out, uint32(len(block)))
		out = append(out, block...)
		raw = raw[n:]
	}
	return out
}

// decompressAll undoes compress with the libraries' plain whole-buffer
// APIs: the reference the tests compare the validator's streaming with.
func decompressAll(codec Codec, body []byte) ([]byte, error) {
	var r io.Reader
	switch codec {
	case CodecNone:
		return body, nil
	case CodecSnappy:
		if bytes.HasPrefix(body, xerialMagic) && len(body) >= xerialHeaderBytes {
			return unframeXerial(body[xerialHeaderBytes:])
		}
		return snappy.Decode(nil, body)
	case CodecGzip:
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		r = zr
	case CodecLz4:
		r = lz4.NewReader(bytes.NewReader(body))
	case CodecZstd:
		zr, err := zstd.NewReader(bytes.NewReader(body), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	default:
		return nil, errors.New("unknown codec")
	}
	return io.ReadAll(r)
}

func unframeXerial(b []byte) ([]byte, error) {
	var out []byte
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, errors.New("short xerial chunk header")
		}
		n := int(binary.BigEndian.Uint32(b))
		if n < 0 || n > len(b)-4 {
			return nil, errors.New("xerial chunk past the end")
		}
		block, err := snappy.Decode(nil, b[4:4+n])
		if err != nil {
			return nil, err
		}
		out, b = append(out, block...), b[4+n:]
	}
	return out, nil
}

// kmsgRecords decodes a batch's records with kmsg's record codec, as kgo
// does: the reference parse the validator is checked against.
func kmsgRecords(batch []byte) ([]kmsg.Record, error) {
	h := storage.DecodeBatchHeader(batch)
	raw, err := decompressAll(Codec(h.Attributes&attrCodecMask), batch[storage.BatchHeaderSize:])
	if err != nil {
		return nil, err
	}
	var out []kmsg.Record
	for len(raw) > 0 {
		length, used := binary.Varint(raw)
		if used <= 0 || length < 0 || length > int64(len(raw)-used) {
			return nil, fmt.Errorf("record %d: bad length", len(out))
		}
		var r kmsg.Record
		if err := r.ReadFrom(raw[:used+int(length)]); err != nil {
			return nil, fmt.Errorf("record %d: %w", len(out), err)
		}
		out, raw = append(out, r), raw[used+int(length):]
	}
	return out, nil
}

// wantCode asserts err is an *Error with Kafka error want (nil: no error).
func wantCode(tb testing.TB, err error, want *kerr.Error) {
	tb.Helper()
	if want == nil {
		if err != nil {
			tb.Fatalf("refused: %v", err)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		tb.Fatalf("got %v, want an *Error with %s", err, want.Message)
	}
	if e.Kafka != want || !errors.Is(err, want) || e.Code() != want.Code {
		tb.Fatalf("got %s (%v), want %s", e.Kafka.Message, err, want.Message)
	}
}
