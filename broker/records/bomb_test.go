package records

// Goal: decompression bombs — small batches of well-formed records that
// expand far past the Validator's bound — are refused as
// MESSAGE_TOO_LARGE with memory bounded by the bound and the codec's own
// buffers, never by the expanded size: the records are read as a stream
// and reading stops one byte past the bound. Also the shortcuts: a record
// or a bare snappy block declaring a huge length, a zstd frame declaring a
// huge window, are refused before anything is allocated for them.

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	bombBound      = 1 << 20   // the Validator's bound in these tests
	bombExpanded   = 128 << 20 // what the bombs decompress to
	bombRecordSize = 64 << 10
	// bombAllocMax is what a refusal may allocate: the bound, lz4's
	// largest block (4 MiB, the format's maximum), the codecs' state.
	// Far below bombExpanded.
	bombAllocMax = 12 << 20
)

// bombBody compresses records of zeros, offset deltas 0, 1, …, until
// bombExpanded bytes, without holding them: it returns the compressed
// body and the record count.
func bombBody(tb testing.TB, codec Codec) ([]byte, int) {
	tb.Helper()
	var buf bytes.Buffer
	w := bombWriter(tb, codec, &buf)
	value := make([]byte, bombRecordSize)
	var encoded []byte
	n := 0
	for written := 0; written < bombExpanded; n++ {
		r := kmsg.Record{Key: []byte("k"), Value: value, OffsetDelta: int32(n)}
		encoded = encodeRecords([]kmsg.Record{r})
		if _, err := w.Write(encoded); err != nil {
			tb.Fatal(err)
		}
		written += len(encoded)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes(), n
}

func bombWriter(tb testing.TB, codec Codec, buf *bytes.Buffer) io.WriteCloser {
	switch codec {
	case CodecGzip:
		return gzip.NewWriter(buf)
	case CodecLz4:
		return lz4.NewWriter(buf)
	case CodecZstd:
		// A small window, so the frame passes the window check and only
		// the streamed bound stops it.
		w, err := zstd.NewWriter(buf, zstd.WithWindowSize(64<<10), zstd.WithEncoderConcurrency(1))
		if err != nil {
			tb.Fatal(err)
		}
		return w
	case codecSnappyXerial:
		buf.Write(xerialFrame(nil, 1)) // the header only
		return &xerialWriter{dst: buf}
	}
	tb.Fatalf("no bomb writer for %v", codec)
	return nil
}

// xerialWriter frames each Write as xerial chunks.
type xerialWriter struct{ dst *bytes.Buffer }

func (w *xerialWriter) Write(p []byte) (int, error) {
	for rest := p; len(rest) > 0; {
		n := min(len(rest), 32<<10)
		block := snappy.Encode(nil, rest[:n])
		w.dst.Write(binary.BigEndian.AppendUint32(nil, uint32(len(block))))
		w.dst.Write(block)
		rest = rest[n:]
	}
	return len(p), nil
}

func (*xerialWriter) Close() error { return nil }

// bombConfig lets batches of any size in: snappy's ratio is about 20, so
// its bomb is no small batch.
func bombConfig() Config {
	cfg := DefaultConfig()
	cfg.MaxMessageBytes = 1 << 30
	return cfg
}

// wantBound asserts err is the decompression bound's refusal.
func wantBound(tb testing.TB, err error) {
	tb.Helper()
	wantCode(tb, err, kerr.MessageTooLarge)
	if e := err.(*Error); !strings.Contains(e.Message, "bound") {
		tb.Fatalf("refused by something else than the bound: %v", err)
	}
}

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestDecompressionBomb(t *testing.T) {
	for _, codec := range []Codec{CodecGzip, CodecLz4, CodecZstd, codecSnappyXerial} {
		t.Run(codecName(codec), func(t *testing.T) {
			body, n := bombBody(t, codec)
			batch := buildRaw(t, CodecNone, body, n, func(b *kmsg.RecordBatch) { b.Attributes = int16(wireCodec(codec)) })
			var err error
			bytes := allocated(func() { _, err = NewValidator(bombBound).Validate(batch, bombConfig(), testNow) })
			wantBound(t, err)
			t.Logf("%d-byte batch expanding to %d MiB: refused after allocating %.1f MiB", len(batch), bombExpanded>>20, float64(bytes)/(1<<20))
			if bytes > bombAllocMax {
				t.Fatalf("allocated %d bytes, more than %d", bytes, bombAllocMax)
			}

			// The same records within the bound pass: the bound, not the
			// codec, refused the bomb.
			if _, err := NewValidator(bombExpanded+1<<20).Validate(batch, bombConfig(), testNow); err != nil {
				t.Fatalf("within the bound: %v", err)
			}
		})
	}
}

func TestDecompressionBombShortcuts(t *testing.T) {
	// A bare snappy block declaring 1 GiB, and a record declaring 100 MiB
	// inside a gzip stream: refused from the declared length.
	snappyBomb := append(binary.AppendUvarint(nil, 1<<30), 0, 0, 0, 0)
	hugeRecord := compress(t, CodecGzip, append(vi(100<<20), 0, 0, 0))
	// A zstd frame with an 8 MiB window (the encoder's default) over a
	// 1 MiB bound: refused at the frame header, before the window is
	// allocated.
	wideWindow := compress(t, CodecZstd, bytes.Repeat([]byte{1}, 16<<20))
	for _, c := range []struct {
		name  string
		codec Codec
		body  []byte
	}{
		{"snappy declared length", CodecSnappy, snappyBomb},
		{"record declared length", CodecGzip, hugeRecord},
		{"zstd window", CodecZstd, wideWindow},
	} {
		t.Run(c.name, func(t *testing.T) {
			batch := buildRaw(t, CodecNone, c.body, 1, func(b *kmsg.RecordBatch) { b.Attributes = int16(c.codec) })
			var err error
			bytes := allocated(func() { _, err = NewValidator(bombBound).Validate(batch, bombConfig(), testNow) })
			wantBound(t, err)
			if bytes > 2<<20 {
				t.Fatalf("allocated %d bytes", bytes)
			}
		})
	}
}
