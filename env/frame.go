package env

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Kafka frames every request and response as a 4-byte big-endian signed
// size followed by that many bytes. The Framer below is the one piece of
// code that turns connection bytes into frames, shared by the production TCP
// adapter (driver/tcpnet) and the simulated network, so the simulator runs
// the code that malformed input reaches first.

// FrameHeaderBytes is the size of the frame prefix: a big-endian int32.
const FrameHeaderBytes = 4

// DefaultMaxFrameBytes is Kafka's socket.request.max.bytes default, 100 MiB.
const DefaultMaxFrameBytes int32 = 100 << 20

const (
	// bodyPreallocBytesMax: a frame up to this size gets its whole buffer
	// when its header is parsed; a larger one starts at this size (or at
	// what already arrived) and grows as bytes arrive, so a 4-byte header
	// declaring 100 MiB pins no more than this until the bytes come.
	bodyPreallocBytesMax = 64 << 10
	// bodyGrowth and bodyGrowthExtraMax: a growing body buffer holds at
	// most min(bodyGrowth × the bytes that arrived, twice them plus
	// bodyGrowthExtraMax). A frame of a few MiB gets its whole buffer once
	// a sixteenth of it is here (a 1 MiB produce costs one or two
	// allocations, not five doublings and copies), while a peer declaring
	// 100 MiB pins at most 2 bytes per byte it sent plus 4 MiB, as it
	// would with plain doubling.
	bodyGrowth         = 16
	bodyGrowthExtraMax = 4 << 20
	// pendingRetainBytes: an empty pending buffer keeps its capacity up to
	// this size for the next Feed; a larger one is released, so one burst
	// does not pin memory for the connection's life.
	pendingRetainBytes = 64 << 10
)

// Errors from Framer.Next. Both mean the stream can no longer be framed
// (the peer is not speaking Kafka, or is hostile): as Kafka does, the
// caller must close the connection. They are wrapped with the declared
// size; test them with errors.Is.
var (
	// ErrFrameTooLarge: the declared size exceeds maxFrameBytes (Kafka's
	// "Invalid receive (size = … larger than …)"; an HTTP "GET " on the
	// Kafka port declares 1195725856 bytes).
	ErrFrameTooLarge = errors.New("env: frame larger than the maximum")
	// ErrFrameNegative: the declared size is negative.
	ErrFrameNegative = errors.New("env: frame size is negative")
)

// Framer splits a byte stream into frames, incrementally: Feed it what a
// connection read, then call Next until it returns nil. It does no I/O and
// is not safe for concurrent use (one connection, one owner).
//
// Memory: Feed copies its input, so the caller may reuse its read buffer.
// The size limit is checked before anything is allocated for a frame, and a
// large frame's buffer grows with the bytes that arrive, never to the
// declared size up front. Once Next has returned nil, Buffered is at most
// maxFrameBytes+3.
type Framer struct {
	maxFrameBytes int32
	// pending holds fed bytes not yet framed: pending[start:]. While a
	// frame body is incomplete (inBody and len(body) < bodyBytes), pending
	// is empty: Feed writes straight into body.
	pending []byte
	start   int
	// body is the frame being filled, of declared size bodyBytes.
	body      []byte
	bodyBytes int
	inBody    bool
	// err is sticky: after a framing error every Feed is dropped.
	err error
}

// NewFramer returns a Framer that refuses frames over maxFrameBytes (pass
// DefaultMaxFrameBytes for Kafka's default). maxFrameBytes must be positive.
func NewFramer(maxFrameBytes int32) *Framer {
	if maxFrameBytes <= 0 {
		panic("env: NewFramer: maxFrameBytes must be positive")
	}
	return &Framer{maxFrameBytes: maxFrameBytes}
}

// Feed adds bytes read from the connection. It copies p. After Next has
// returned an error, Feed drops its input.
func (f *Framer) Feed(p []byte) {
	if f.err != nil || len(p) == 0 {
		return
	}
	if f.inBody {
		p = f.fillBody(p)
	}
	if len(p) > 0 {
		f.appendPending(p)
	}
}

// Next returns the next complete frame without its size prefix, or nil, nil
// when no complete frame is buffered. A zero-size frame is returned as an
// empty non-nil slice (the broker rejects it as a malformed request). The
// frame is newly allocated and owned by the caller.
//
// An error (ErrFrameTooLarge or ErrFrameNegative, wrapped) is returned only
// after every frame before the bad size prefix, and then on every call: the
// caller must close the connection.
func (f *Framer) Next() ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	if f.inBody {
		if len(f.body) < f.bodyBytes {
			return nil, nil
		}
		frame := f.body
		f.body, f.bodyBytes, f.inBody = nil, 0, false
		return frame, nil
	}
	rest := f.pending[f.start:]
	if len(rest) < FrameHeaderBytes {
		return nil, nil
	}
	size := int32(binary.BigEndian.Uint32(rest))
	if err := f.checkSize(size); err != nil {
		f.fail(err)
		return nil, err
	}
	rest = rest[FrameHeaderBytes:]
	if len(rest) >= int(size) {
		frame := make([]byte, size) // non-nil even when size is 0
		copy(frame, rest)
		f.consume(FrameHeaderBytes + int(size))
		return frame, nil
	}
	f.startBody(int(size), rest)
	f.consume(FrameHeaderBytes + len(rest))
	return nil, nil
}

// Buffered is the number of bytes fed and not yet returned by Next (a
// partial frame, or frames not yet taken), for back-pressure accounting.
// After an error it is 0.
func (f *Framer) Buffered() int {
	return len(f.pending) - f.start + len(f.body)
}

// AppendFrame appends payload with its size prefix to dst. A payload over
// math.MaxInt32 bytes cannot be framed: that is a caller bug.
func AppendFrame(dst, payload []byte) []byte {
	return append(AppendFrameHeader(dst, len(payload)), payload...)
}

// AppendFrameHeader appends the size prefix of a payloadBytes-byte frame,
// for writers that send the payload without copying it (a vectored write).
// payloadBytes must be in [0, math.MaxInt32].
func AppendFrameHeader(dst []byte, payloadBytes int) []byte {
	if payloadBytes < 0 || payloadBytes > math.MaxInt32 {
		panic("env: AppendFrameHeader: size outside [0, math.MaxInt32]")
	}
	return binary.BigEndian.AppendUint32(dst, uint32(payloadBytes))
}

func (f *Framer) checkSize(size int32) error {
	if size < 0 {
		return fmt.Errorf("%w: declared %d bytes", ErrFrameNegative, size)
	}
	if size > f.maxFrameBytes {
		return fmt.Errorf("%w: declared %d bytes, max %d", ErrFrameTooLarge, size, f.maxFrameBytes)
	}
	return nil
}

// fail makes err sticky and releases every buffer.
func (f *Framer) fail(err error) {
	f.err = err
	f.pending, f.start = nil, 0
	f.body, f.bodyBytes, f.inBody = nil, 0, false
}

// startBody begins a frame of size bytes whose first bytes are in rest
// (fewer than size).
func (f *Framer) startBody(size int, rest []byte) {
	f.body, f.bodyBytes, f.inBody = nil, size, true
	f.reserve(len(rest))
	f.body = append(f.body, rest...)
}

// reserve makes room in the body for n more bytes. The buffer holds the
// whole frame if it is at most bodyPreallocBytesMax, otherwise at most
// max(bodyPreallocBytesMax, min(bodyGrowth × want, 2 × want +
// bodyGrowthExtraMax)) for the want bytes it will then hold, and never
// more than the declared size, so a frame costs O(size) copying and a peer
// pins memory only in proportion to what it sent.
func (f *Framer) reserve(n int) {
	if cap(f.body)-len(f.body) >= n {
		return
	}
	want := len(f.body) + n
	grow := min(bodyGrowth*want, 2*want+bodyGrowthExtraMax)
	grown := make([]byte, len(f.body), min(f.bodyBytes, max(want, bodyPreallocBytesMax, grow)))
	copy(grown, f.body)
	f.body = grown
}

// fillBody moves the head of p into the frame being filled and returns the
// rest of p.
func (f *Framer) fillBody(p []byte) []byte {
	n := min(f.bodyBytes-len(f.body), len(p))
	if n == 0 {
		return p
	}
	if len(f.pending) != f.start {
		panic("env: Framer: bytes pending while a frame body is incomplete")
	}
	f.reserve(n)
	f.body = append(f.body, p[:n]...)
	return p[n:]
}

// BodySpace returns room at the end of an incomplete frame body, for a
// reader to read into directly instead of copying through Feed (a large
// produce then crosses memory once). It is nil when no body is incomplete
// (or after an error); it never reaches past the frame, so bytes read into
// it are this frame's. Report what was read with BodyFilled before any
// other call.
func (f *Framer) BodySpace() []byte {
	if f.err != nil || !f.inBody || len(f.body) >= f.bodyBytes {
		return nil
	}
	f.reserve(1)
	return f.body[len(f.body):cap(f.body)]
}

// BodyFilled records that the first n bytes of the last BodySpace were
// read into.
func (f *Framer) BodyFilled(n int) {
	if n < 0 || len(f.body)+n > cap(f.body) || !f.inBody {
		panic("env: Framer.BodyFilled: more than BodySpace offered")
	}
	f.body = f.body[:len(f.body)+n]
}

// appendPending copies p after the unframed bytes. It first moves those
// bytes to the front when at least half the buffer is consumed, and
// reallocates a buffer more than twice (and pendingRetainBytes) larger than
// needed, so capacity tracks what is buffered.
func (f *Framer) appendPending(p []byte) {
	rest := f.pending[f.start:]
	need := len(rest) + len(p)
	switch {
	case cap(f.pending) > max(pendingRetainBytes, 2*need):
		shrunk := make([]byte, len(rest), need)
		copy(shrunk, rest)
		f.pending, f.start = shrunk, 0
	case f.start > 0 && f.start >= len(rest):
		f.pending, f.start = f.pending[:copy(f.pending, rest)], 0
	}
	f.pending = append(f.pending, p...)
}

// consume drops n framed bytes from the front of pending.
func (f *Framer) consume(n int) {
	f.start += n
	if f.start < len(f.pending) {
		return
	}
	f.pending, f.start = f.pending[:0], 0
	if cap(f.pending) > pendingRetainBytes {
		f.pending = nil
	}
}
