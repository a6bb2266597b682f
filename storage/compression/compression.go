// Package compression holds Kafka's record-batch codecs (gzip, snappy, lz4,
// zstd): bounded streaming decoders, as broker/records validates produce
// batches with them, and encoders, as the log cleaner re-encodes the
// batches it filters. It is a leaf: storage and broker/records import it,
// it imports neither. Nothing here starts a goroutine (zstd and lz4 run
// with concurrency 1), so the simulator's runs stay deterministic.
package compression

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Codec is a batch's compression, the low three bits of its attributes.
type Codec int8

// The codecs Kafka defines; ids 5 to 7 are undefined.
const (
	CodecNone Codec = iota
	CodecGzip
	CodecSnappy
	CodecLz4
	CodecZstd
)

// AttrMask masks the codec bits of a batch's attributes.
const AttrMask = 0x07

func (c Codec) String() string {
	switch c {
	case CodecNone:
		return "none"
	case CodecGzip:
		return "gzip"
	case CodecSnappy:
		return "snappy"
	case CodecLz4:
		return "lz4"
	case CodecZstd:
		return "zstd"
	}
	return "unknown"
}

// How each codec is read, as franz-go's kgo reads it (pkg/kgo/compression.go)
// but as a stream and bounded:
//
//   - gzip: compress/gzip, concatenated members allowed (as Java's
//     GZIPInputStream).
//   - snappy: Kafka carries raw snappy blocks, either bare (librdkafka, kgo)
//     or in xerial framing (the Java producer's SnappyOutputStream: the
//     16-byte header "\x82SNAPPY\x00", version, compatible version, then
//     chunks of a big-endian int32 length and one raw block). Neither
//     klauspost package reads this framing: snappy.NewReader and s2.Reader
//     read Google's framing format ("sNaPpY" stream identifier), which
//     Kafka does not use. So the framing is walked here and each block goes
//     to snappy.DecodeStrict, the standard-snappy block decoder: kgo uses
//     s2.Decode, which also accepts s2's extensions, but a batch stored here
//     is served to Java and librdkafka consumers, whose reference decoders
//     refuse them. A bare block is decoded whole (the format has no
//     streaming), after its declared length is checked against the bound;
//     xerial chunks are decoded one at a time.
//   - lz4: pierrec/lz4/v4's frame reader (Kafka's KafkaLZ4BlockOutputStream
//     writes standard LZ4 frames), synchronous (concurrency 1).
//   - zstd: klauspost's streaming decoder with concurrency 1 (no
//     goroutines), low memory, and its window and memory bounded by
//     the caller's bound: the decoder allocates the declared window
//     up front, so a tiny frame may not declare a huge one.

// ErrTooLarge marks decompressed data beyond the caller's bound.
var ErrTooLarge = errors.New("records: decompressed records exceed the bound")

// XerialMagic opens a xerial-framed snappy stream.
var XerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

// XerialHeaderBytes is the size of the xerial framing header.
const XerialHeaderBytes = 16

// Decoders holds one reusable decoder per codec; a validating or cleaning
// loop owns one. Not safe for concurrent use.
type Decoders struct {
	src    bytes.Reader
	gzip   gzip.Reader
	lz4    *lz4.Reader
	zstd   *zstd.Decoder
	xerial xerialReader
	snappy []byte // a bare snappy block's output, reused
}

// Open starts decompressing data (a batch's records) for codec, bounded
// at limit decompressed bytes. It returns either a stream, or, for a bare
// snappy block, the whole output.
func (d *Decoders) Open(codec Codec, data []byte, limit int64) (io.Reader, []byte, error) {
	d.src.Reset(data)
	switch codec {
	case CodecGzip:
		if err := d.gzip.Reset(&d.src); err != nil {
			return nil, nil, err
		}
		return &d.gzip, nil, nil
	case CodecSnappy:
		if len(data) >= XerialHeaderBytes && bytes.HasPrefix(data, XerialMagic) {
			d.xerial.reset(data[XerialHeaderBytes:], limit)
			return &d.xerial, nil, nil
		}
		out, err := decodeSnappy(d.snappy, data, limit)
		d.snappy = out
		return nil, out, err
	case CodecLz4:
		if d.lz4 == nil {
			d.lz4 = lz4.NewReader(nil)
		}
		d.lz4.Reset(&d.src)
		return d.lz4, nil, nil
	case CodecZstd:
		if err := d.openZstd(limit); err != nil {
			return nil, nil, err
		}
		return d.zstd, nil, nil
	}
	return nil, data, nil
}

// openZstd builds the zstd decoder at its first use, its window and memory
// bounded by that first limit: a Decoders serves one bound.
func (d *Decoders) openZstd(limit int64) error {
	if d.zstd == nil {
		window := uint64(max(limit, zstd.MinWindowSize))
		dec, err := zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxMemory(window),
			zstd.WithDecoderMaxWindow(window),
			zstd.WithDecodeBuffersBelow(0),
		)
		if err != nil {
			return err
		}
		d.zstd = dec
	}
	return d.zstd.Reset(&d.src)
}

// decodeSnappy decodes one bare snappy block into dst's room, refusing a
// declared length over limit before allocating for it.
func decodeSnappy(dst, block []byte, limit int64) ([]byte, error) {
	n, err := snappy.DecodedLen(block)
	if err != nil {
		return dst[:0], err
	}
	if int64(n) > limit {
		return dst[:0], ErrTooLarge
	}
	out, err := snappy.DecodeStrict(dst[:0], block)
	if err != nil {
		return dst[:0], err
	}
	return out, nil
}

// IsTooLarge reports a decompression error that is the bound, not
// corruption. zstd's ErrWindowSizeExceeded is mostly a frame declaring a
// window over the bound (rarely a corrupt block's reference).
func IsTooLarge(err error) bool {
	return errors.Is(err, ErrTooLarge) || errors.Is(err, zstd.ErrDecoderSizeExceeded) ||
		errors.Is(err, zstd.ErrWindowSizeExceeded)
}

// xerialReader streams a xerial-framed snappy body (after its header) one
// chunk at a time: memory is one decoded chunk, whatever the batch.
type xerialReader struct {
	src    []byte // chunks not yet decoded
	chunk  []byte // the decoded chunk being read
	pos    int    // unread start in chunk
	budget int64  // decoded bytes still allowed
}

var errXerialFraming = errors.New("records: malformed xerial snappy framing")

func (x *xerialReader) reset(src []byte, budget int64) {
	x.src, x.chunk, x.pos, x.budget = src, x.chunk[:0], 0, budget
}

func (x *xerialReader) Read(p []byte) (int, error) {
	for x.pos == len(x.chunk) {
		if len(x.src) == 0 {
			return 0, io.EOF
		}
		if err := x.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, x.chunk[x.pos:])
	x.pos += n
	return n, nil
}

func (x *xerialReader) next() error {
	if len(x.src) < 4 {
		return errXerialFraming
	}
	size := int32(binary.BigEndian.Uint32(x.src))
	x.src = x.src[4:]
	if size < 0 || int(size) > len(x.src) {
		return errXerialFraming
	}
	out, err := decodeSnappy(x.chunk, x.src[:size], x.budget)
	x.chunk, x.pos = out, 0
	if err != nil {
		return err
	}
	x.budget -= int64(len(out))
	x.src = x.src[size:]
	return nil
}

// Release drops the buffers the decoders grew past keepMax bytes (a bare
// snappy block's output, a xerial chunk) and lets go of the last input,
// so one huge batch does not pin its memory.
func (d *Decoders) Release(keepMax int) {
	if cap(d.snappy) > keepMax {
		d.snappy = nil
	}
	if cap(d.xerial.chunk) > keepMax {
		d.xerial.chunk = nil
	}
	d.xerial.src = nil
	d.src.Reset(nil)
}

// DecodeAll decompresses data whole into dst's room, refusing output past
// limit bytes (an error wrapping ErrTooLarge, or zstd's size errors: see
// IsTooLarge). CodecNone returns data itself.
func (d *Decoders) DecodeAll(dst []byte, codec Codec, data []byte, limit int64) ([]byte, error) {
	if codec == CodecNone {
		return data, nil
	}
	stream, whole, err := d.Open(codec, data, limit)
	if err != nil {
		return dst[:0], err
	}
	if stream == nil {
		return append(dst[:0], whole...), nil
	}
	out := dst[:0]
	for {
		if len(out) == cap(out) {
			out = append(out, 0)[:len(out)]
		}
		room := out[len(out):cap(out)]
		if allowed := limit + 1 - int64(len(out)); int64(len(room)) > allowed {
			room = room[:allowed]
		}
		n, err := stream.Read(room)
		out = out[:len(out)+n]
		if int64(len(out)) > limit {
			return out[:0], ErrTooLarge
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out[:0], err
		}
		if n == 0 && len(room) > 0 {
			return out[:0], io.ErrNoProgress
		}
	}
}
