package compression

import (
	"bytes"
	"compress/gzip"
	"fmt"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// How each codec is written, as the clients write it:
//
//   - gzip: compress/gzip at its default level (the Java producer's
//     GZIPOutputStream).
//   - snappy: one bare snappy block, as librdkafka and franz-go write it;
//     Java consumers read it as well as the xerial framing.
//   - lz4: pierrec/lz4/v4's frame writer (standard LZ4 frames, as Kafka's
//     KafkaLZ4BlockOutputStream writes), synchronous.
//   - zstd: klauspost's encoder with concurrency 1, whole-buffer (EncodeAll):
//     no goroutines.
//
// Each output is deterministic for its input, which the simulator's trace
// hash relies on.

// Encoders holds one reusable encoder per codec. Not safe for concurrent
// use.
type Encoders struct {
	buf  bytes.Buffer
	gzip *gzip.Writer
	lz4  *lz4.Writer
	zstd *zstd.Encoder
}

// Encode appends raw, compressed with codec, to dst.
func (e *Encoders) Encode(dst []byte, codec Codec, raw []byte) ([]byte, error) {
	switch codec {
	case CodecNone:
		return append(dst, raw...), nil
	case CodecSnappy:
		return append(dst, snappy.Encode(nil, raw)...), nil
	case CodecZstd:
		if e.zstd == nil {
			enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
			if err != nil {
				return dst, err
			}
			e.zstd = enc
		}
		return e.zstd.EncodeAll(raw, dst), nil
	case CodecGzip, CodecLz4:
		return e.stream(dst, codec, raw)
	}
	return dst, fmt.Errorf("compression: cannot encode codec %d", codec)
}

// stream runs the codecs that only have a streaming writer.
func (e *Encoders) stream(dst []byte, codec Codec, raw []byte) ([]byte, error) {
	e.buf.Reset()
	var w interface {
		Write([]byte) (int, error)
		Close() error
	}
	if codec == CodecGzip {
		if e.gzip == nil {
			e.gzip = gzip.NewWriter(&e.buf)
		}
		e.gzip.Reset(&e.buf)
		w = e.gzip
	} else {
		if e.lz4 == nil {
			e.lz4 = lz4.NewWriter(&e.buf)
		}
		e.lz4.Reset(&e.buf)
		w = e.lz4
	}
	if _, err := w.Write(raw); err != nil {
		return dst, err
	}
	if err := w.Close(); err != nil {
		return dst, err
	}
	return append(dst, e.buf.Bytes()...), nil
}
