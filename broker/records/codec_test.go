package records

// Goal: every codec round-trips — batches of many records (keys, null
// keys, null values, headers) compressed as clients compress them pass,
// with the Info a whole-buffer kmsg decode agrees with, on one reused
// Validator; and a damaged codec stream is CORRUPT_MESSAGE, not a panic,
// a hang or INVALID_RECORD.

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestCodecRoundTrip(t *testing.T) {
	big := DefaultConfig()
	big.MaxMessageBytes = 1 << 30
	v := NewValidator(DefaultMaxUncompressedBytes)
	for _, codec := range allCodecs {
		for _, shape := range []struct {
			name    string
			n, size int
		}{{"one", 1, 0}, {"small records", 2000, 10}, {"large records", 40, 100 << 10}} {
			t.Run(codecName(codec)+"/"+shape.name, func(t *testing.T) {
				recs := nRecords(shape.n, shape.size)
				recs[0].Key = nil // a null key
				batch := build(t, codec, recs, func(b *kmsg.RecordBatch) {
					b.MaxTimestamp = testNow + int64(shape.n-1)
				})
				cfg := DefaultConfig()
				cfg.MaxMessageBytes = int32(len(batch))
				info, err := Validate(batch, cfg, testNow)
				if err != nil {
					t.Fatal(err)
				}
				if again, err := v.Validate(batch, big, testNow); err != nil || again != info {
					t.Fatalf("reused validator: %+v, %v", again, err)
				}
				checkAgainstKmsg(t, batch, info, recs)
			})
		}
	}
}

// checkAgainstKmsg decodes batch with kmsg and the libraries' whole-buffer
// APIs, and compares with what the validator reported.
func checkAgainstKmsg(t *testing.T, batch []byte, info Info, want []kmsg.Record) {
	t.Helper()
	got, err := kmsgRecords(batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || int(info.RecordCount) != len(want) || int(info.LastOffsetDelta) != len(want)-1 {
		t.Fatalf("%d records decoded, info %+v, want %d", len(got), info, len(want))
	}
	size := int64(61)
	for i, r := range got {
		w := want[i]
		if r.OffsetDelta != int32(i) || !bytes.Equal(r.Key, w.Key) || (r.Key == nil) != (w.Key == nil) ||
			!bytes.Equal(r.Value, w.Value) || (r.Value == nil) != (w.Value == nil) || len(r.Headers) != len(w.Headers) {
			t.Fatalf("record %d decoded as %+v", i, r)
		}
		size += int64(r.Length) + int64(len(binary.AppendVarint(nil, int64(r.Length))))
	}
	if info.UncompressedBytes != size || info.Codec != Codec(batch[offsetAttributes+1]&attrCodecMask) {
		t.Fatalf("info %+v, uncompressed %d", info, size)
	}
}

func TestCodecCorruptStream(t *testing.T) {
	raw := encodeRecords(withDeltas(nRecords(200, 50)))
	for _, codec := range allCodecs[1:] {
		body := compress(t, codec, raw)
		cases := map[string][]byte{
			"truncated":      body[:len(body)*2/3],
			"garbage":        bytes.Repeat([]byte{0x5a}, len(body)),
			"empty":          nil,
			"flipped middle": flip(body, len(body)/2),
		}
		if codec != codecSnappyXerial && codec != CodecSnappy {
			// gzip, lz4 (with a content checksum) and zstd (with its
			// frame checksum) guard their trailer; flip inside it.
			cases["flipped trailer"] = flip(body, len(body)-2)
		}
		for name, bad := range cases {
			t.Run(codecName(codec)+"/"+name, func(t *testing.T) {
				batch := buildRaw(t, CodecNone, bad, 200, func(b *kmsg.RecordBatch) { b.Attributes = int16(wireCodec(codec)) })
				_, err := Validate(batch, DefaultConfig(), testNow)
				if err == nil {
					t.Fatal("accepted a damaged stream")
				}
				// A flip may land in a literal and decode to bytes that
				// are not records: INVALID_RECORD is then right too.
				var e *Error
				if !asError(err, &e) || (e.Kafka != kerr.CorruptMessage && e.Kafka != kerr.InvalidRecord) {
					t.Fatalf("got %v", err)
				}
			})
		}
	}
}

// TestCodecStreamFailureIsCorrupt pins the code for a stream the codec
// itself refuses (as opposed to one that decodes to non-records).
func TestCodecStreamFailureIsCorrupt(t *testing.T) {
	raw := encodeRecords(withDeltas(nRecords(20, 10)))
	for _, codec := range allCodecs[1:] {
		body := compress(t, codec, raw)
		bad := bytes.Repeat([]byte{0xfe}, 64)
		if codec == codecSnappyXerial {
			bad = append(body[:xerialHeaderBytes:xerialHeaderBytes], 0, 0, 0, 9, 1, 2) // chunk past the end
		}
		t.Run(codecName(codec), func(t *testing.T) {
			batch := buildRaw(t, CodecNone, bad, 20, func(b *kmsg.RecordBatch) { b.Attributes = int16(wireCodec(codec)) })
			_, err := Validate(batch, DefaultConfig(), testNow)
			wantCode(t, err, kerr.CorruptMessage)
		})
	}
}

// TestSnappyStrict: a block using s2's extensions decodes with s2 (and
// kgo) but not with standard snappy decoders (Java, librdkafka), so it
// is refused rather than stored for them to choke on.
func TestSnappyStrict(t *testing.T) {
	raw := encodeRecords(withDeltas(nRecords(50, 300)))
	block := s2.EncodeBetter(nil, raw)
	if _, err := s2.Decode(nil, block); err != nil {
		t.Fatal(err)
	}
	batch := buildRaw(t, CodecNone, block, 50, func(b *kmsg.RecordBatch) { b.Attributes = int16(CodecSnappy) })
	_, err := Validate(batch, DefaultConfig(), testNow)
	wantCode(t, err, kerr.CorruptMessage)
}

func flip(b []byte, at int) []byte {
	out := append([]byte(nil), b...)
	out[at] ^= 0xff
	return out
}

func asError(err error, e **Error) bool {
	v, ok := err.(*Error)
	*e = v
	return ok
}
