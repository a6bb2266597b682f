// These tests pin the shared Framer to Kafka's framing: payloads come back
// whole and in order however the bytes are split, the size limit is
// enforced before any allocation for the frame, negative and oversized
// prefixes are sticky errors reported after the frames before them, and
// memory stays bounded by what was declared valid plus the last Feed. They
// are internal tests so the fuzz target can bound the buffers' capacity,
// not only Buffered.
package env

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// fataler is what drain needs of *testing.T and *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// drain calls Next until it returns nil or an error.
func drain(t fataler, f *Framer) ([][]byte, error) {
	t.Helper()
	var frames [][]byte
	for {
		frame, err := f.Next()
		if err != nil {
			if frame != nil {
				t.Fatalf("Next returned a frame with error %v", err)
			}
			return frames, err
		}
		if frame == nil {
			return frames, nil
		}
		frames = append(frames, frame)
	}
}

func encode(payloads ...[]byte) []byte {
	var stream []byte
	for _, p := range payloads {
		stream = AppendFrame(stream, p)
	}
	return stream
}

func header(size int32) []byte {
	return []byte{byte(uint32(size) >> 24), byte(uint32(size) >> 16), byte(uint32(size) >> 8), byte(uint32(size))}
}

func TestFramerTable(t *testing.T) {
	const limit = 8
	tests := []struct {
		name    string
		stream  []byte
		want    [][]byte
		wantErr error
	}{
		{"empty input", nil, nil, nil},
		{"one frame", encode([]byte("abc")), [][]byte{[]byte("abc")}, nil},
		{"several frames", encode([]byte("a"), []byte("bc"), []byte("def")), [][]byte{[]byte("a"), []byte("bc"), []byte("def")}, nil},
		{"zero-size frame", encode([]byte{}), [][]byte{{}}, nil},
		{"zero between frames", encode([]byte("a"), nil, []byte("b")), [][]byte{[]byte("a"), {}, []byte("b")}, nil},
		{"max exactly", encode(bytes.Repeat([]byte("x"), limit)), [][]byte{bytes.Repeat([]byte("x"), limit)}, nil},
		{"max+1", header(limit + 1), nil, ErrFrameTooLarge},
		{"max+1 after a frame", append(encode([]byte("ok")), header(limit+1)...), [][]byte{[]byte("ok")}, ErrFrameTooLarge},
		{"MaxInt32", header(math.MaxInt32), nil, ErrFrameTooLarge},
		{"HTTP on the Kafka port", []byte("GET / HTTP/1.1\r\n"), nil, ErrFrameTooLarge},
		{"negative", header(-1), nil, ErrFrameNegative},
		{"MinInt32 after a frame", append(encode([]byte("ok")), header(math.MinInt32)...), [][]byte{[]byte("ok")}, ErrFrameNegative},
		{"partial header", []byte{0, 0, 0}, nil, nil},
		{"partial body", []byte{0, 0, 0, 5, 'a', 'b'}, nil, nil},
		{"frames then garbage header is refused once reached", append(encode([]byte("a")), 0xff, 0, 0, 0, 'z'), [][]byte{[]byte("a")}, ErrFrameNegative},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// At every split point, and byte by byte.
			for split := 0; split <= len(tc.stream); split++ {
				f := NewFramer(limit)
				f.Feed(tc.stream[:split])
				got, err := drain(t, f)
				if err == nil {
					f.Feed(tc.stream[split:])
					var more [][]byte
					more, err = drain(t, f)
					got = append(got, more...)
				}
				checkFrames(t, got, err, tc.want, tc.wantErr)
			}
			f := NewFramer(limit)
			var got [][]byte
			var err error
			for i := 0; i < len(tc.stream) && err == nil; i++ {
				f.Feed(tc.stream[i : i+1])
				var more [][]byte
				more, err = drain(t, f)
				got = append(got, more...)
			}
			checkFrames(t, got, err, tc.want, tc.wantErr)
		})
	}
}

func checkFrames(t *testing.T, got [][]byte, err error, want [][]byte, wantErr error) {
	t.Helper()
	if !errors.Is(err, wantErr) || (err == nil) != (wantErr == nil) {
		t.Fatalf("error %v, want %v", err, wantErr)
	}
	if !slices.EqualFunc(got, want, bytes.Equal) {
		t.Fatalf("frames %q, want %q", got, want)
	}
	for i, frame := range got {
		if frame == nil {
			t.Fatalf("frame %d is nil: an empty frame must be non-nil", i)
		}
	}
}

func TestFramerErrorIsSticky(t *testing.T) {
	f := NewFramer(4)
	f.Feed(append(header(5), "hello"...))
	_, err := f.Next()
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("got %v, want ErrFrameTooLarge", err)
	}
	f.Feed(encode([]byte("ok")))
	if frame, again := f.Next(); frame != nil || !errors.Is(again, ErrFrameTooLarge) {
		t.Fatalf("after the error Next = %q, %v; want nil, ErrFrameTooLarge", frame, again)
	}
	if f.Buffered() != 0 {
		t.Fatalf("Buffered() = %d after an error, want 0", f.Buffered())
	}
}

func TestFramerBuffered(t *testing.T) {
	f := NewFramer(100)
	stream := encode([]byte("abcdef"), []byte("gh"))
	f.Feed(stream[:7]) // header + "abc"
	if got := f.Buffered(); got != 7 {
		t.Fatalf("Buffered() = %d, want 7 (nothing framed yet)", got)
	}
	if frame, err := f.Next(); frame != nil || err != nil {
		t.Fatalf("Next = %q, %v on a partial frame", frame, err)
	}
	if got := f.Buffered(); got != 3 {
		t.Fatalf("Buffered() = %d, want 3 (the partial body)", got)
	}
	f.Feed(stream[7:])
	if got := f.Buffered(); got != 3+len(stream)-7 {
		t.Fatalf("Buffered() = %d, want %d", got, 3+len(stream)-7)
	}
	if _, err := drain(t, f); err != nil {
		t.Fatal(err)
	}
	if got := f.Buffered(); got != 0 {
		t.Fatalf("Buffered() = %d after draining, want 0", got)
	}
}

// A header declaring the maximum must not make the Framer allocate the
// maximum before the bytes arrive.
func TestFramerHugeHeaderDoesNotPinMemory(t *testing.T) {
	f := NewFramer(DefaultMaxFrameBytes)
	f.Feed(append(header(DefaultMaxFrameBytes), "0123456789"...))
	if frame, err := f.Next(); frame != nil || err != nil {
		t.Fatalf("Next = %d bytes, %v; want nil, nil", len(frame), err)
	}
	if retained := cap(f.body) + cap(f.pending); retained > bodyPreallocBytesMax+pendingRetainBytes {
		t.Fatalf("retains %d bytes after a 100 MiB header and 10 bytes", retained)
	}
	if f.Buffered() != 10 {
		t.Fatalf("Buffered() = %d, want 10", f.Buffered())
	}
	// And the frame still completes, growing as bytes come.
	chunk := bytes.Repeat([]byte{7}, 1<<20)
	for left := int(DefaultMaxFrameBytes) - 10; left > 0; left -= len(chunk) {
		f.Feed(chunk[:min(left, len(chunk))])
		if cap(f.body) > max(bodyPreallocBytesMax, min(bodyGrowth*len(f.body), 2*len(f.body)+bodyGrowthExtraMax)) {
			t.Fatalf("body capacity %d for %d bytes", cap(f.body), len(f.body))
		}
	}
	frame, err := f.Next()
	if err != nil || len(frame) != int(DefaultMaxFrameBytes) || cap(frame) != len(frame) {
		t.Fatalf("Next = len %d cap %d, %v", len(frame), cap(frame), err)
	}
}

// A reader filling BodySpace never reads past the frame (the next frame's
// bytes stay for Feed), and a 1 MiB frame arriving in 16 KiB reads costs at
// most two body allocations.
func TestFramerBodySpace(t *testing.T) {
	const size = 1 << 20
	stream := encode(bytes.Repeat([]byte{1}, size), []byte("next"))
	f := NewFramer(DefaultMaxFrameBytes)
	f.Feed(stream[:16<<10])
	rest := stream[16<<10:]
	if frame, err := f.Next(); frame != nil || err != nil {
		t.Fatalf("Next = %d bytes, %v; want nil, nil", len(frame), err)
	}
	allocs := 0
	for space := f.BodySpace(); space != nil; space = f.BodySpace() {
		before := cap(f.body)
		n := copy(space[:min(len(space), 16<<10)], rest)
		f.BodyFilled(n)
		rest = rest[n:]
		if cap(f.body) != before {
			allocs++
		}
	}
	if allocs > 1 { // the first allocation happened in Next
		t.Fatalf("%d more body allocations for a 1 MiB frame", allocs)
	}
	if string(rest) != string(stream[len(stream)-8:]) {
		t.Fatalf("BodySpace took %d bytes of the next frame", 8-len(rest))
	}
	frame, err := f.Next()
	if err != nil || len(frame) != size || frame[size-1] != 1 {
		t.Fatalf("Next = %d bytes, %v", len(frame), err)
	}
	f.Feed(rest)
	if frame, err := f.Next(); string(frame) != "next" || err != nil {
		t.Fatalf("Next = %q, %v; want the next frame", frame, err)
	}
}

// Small frames cost one allocation each (the frame handed to the caller)
// once the pending buffer has warmed up.
func TestFramerAllocations(t *testing.T) {
	const framesPerFeed = 10
	var payloads [][]byte
	for i := range framesPerFeed {
		payloads = append(payloads, bytes.Repeat([]byte{byte(i)}, 20+i))
	}
	stream := encode(payloads...)
	f := NewFramer(DefaultMaxFrameBytes)
	allocs := testing.AllocsPerRun(100, func() {
		// Split mid-frame so pending carries bytes across Feeds.
		f.Feed(stream[:len(stream)/2])
		for frame, _ := f.Next(); frame != nil; frame, _ = f.Next() {
		}
		f.Feed(stream[len(stream)/2:])
		for frame, _ := f.Next(); frame != nil; frame, _ = f.Next() {
		}
	})
	if allocs > framesPerFeed {
		t.Fatalf("%v allocations per %d frames, want at most one per frame", allocs, framesPerFeed)
	}
}

func TestNewFramerRejectsNonPositiveMax(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewFramer(0) did not panic")
		}
	}()
	NewFramer(0)
}

// Model: the stream is the concatenation of AppendFrame(payload) for a
// sequence of payloads, each at most the limit. Fed in any chunking, with
// Next drained after every Feed, the Framer yields exactly those payloads
// in order, never an error, and Buffered() is 0 at the end and at most
// limit+3 after each drain. If a bad size prefix follows, exactly the
// payloads before it come out, then the error. A chunk may instead be read
// straight into BodySpace (as much of it as fits) with the same result.
func TestFramerProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		limit := rapid.Int32Range(1, 300).Draw(t, "limit")
		payloads := rapid.SliceOfN(rapid.SliceOfN(rapid.Byte(), 0, int(limit)), 0, 20).Draw(t, "payloads")
		stream := encode(payloads...)
		bad := rapid.IntRange(0, 2).Draw(t, "bad") // 0: none, 1: too large, 2: negative
		var wantErr error
		switch bad {
		case 1:
			stream = append(stream, header(rapid.Int32Range(limit+1, math.MaxInt32).Draw(t, "tooLarge"))...)
			wantErr = ErrFrameTooLarge
		case 2:
			stream = append(stream, header(rapid.Int32Range(math.MinInt32, -1).Draw(t, "negative"))...)
			wantErr = ErrFrameNegative
		}
		if bad != 0 {
			stream = append(stream, rapid.SliceOfN(rapid.Byte(), 0, 8).Draw(t, "trailing")...)
		}

		f := NewFramer(limit)
		var got [][]byte
		var err error
		for rest := stream; len(rest) > 0 && err == nil; {
			n := rapid.IntRange(1, len(rest)).Draw(t, "chunk")
			if space := f.BodySpace(); len(space) > 0 && rapid.Bool().Draw(t, "direct") {
				n = copy(space, rest[:n])
				f.BodyFilled(n)
			} else {
				f.Feed(rest[:n])
			}
			rest = rest[n:]
			var more [][]byte
			more, err = drain(t, f)
			got = append(got, more...)
			if err == nil && f.Buffered() > int(limit)+FrameHeaderBytes-1 {
				t.Fatalf("Buffered() = %d after draining, limit %d", f.Buffered(), limit)
			}
		}
		if !errors.Is(err, wantErr) || (err == nil) != (wantErr == nil) {
			t.Fatalf("error %v, want %v", err, wantErr)
		}
		if !slices.EqualFunc(got, payloads, bytes.Equal) {
			t.Fatalf("got %d frames %q, want %d %q", len(got), got, len(payloads), payloads)
		}
		if f.Buffered() != 0 {
			t.Fatalf("Buffered() = %d at the end, want 0", f.Buffered())
		}
	})
}

// FuzzFramer feeds arbitrary bytes in chunks. It must never panic; every
// frame is within the limit; the frames re-encoded are a prefix of the
// input; Buffered() stays ≤ max+4+len(last Feed) (and ≤ max+3 once
// drained); and the buffers' capacity, the real heap held, stays within a
// small multiple of that plus the retained spare.
func FuzzFramer(f *testing.F) {
	f.Add([]byte{0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 0}, uint16(16), uint8(1))
	f.Add([]byte("GET / HTTP/1.1\r\n"), uint16(100), uint8(7))
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff, 1, 2, 3}, uint16(1000), uint8(3))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, uint16(1), uint8(0))
	f.Add([]byte{0, 0, 0x10, 0, 1, 2, 3, 4}, uint16(0x1000), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16, chunk uint8) {
		framer := NewFramer(int32(limit) + 1)
		maxFrame := int(limit) + 1
		chunkBytes := int(chunk) + 1
		var framed []byte
		for rest := data; len(rest) > 0; {
			feed := rest[:min(chunkBytes, len(rest))]
			rest = rest[len(feed):]
			framer.Feed(feed)
			checkBounds(t, framer, maxFrame+FrameHeaderBytes+len(feed))
			frames, err := drain(t, framer)
			for _, frame := range frames {
				if len(frame) > maxFrame {
					t.Fatalf("frame of %d bytes over the limit %d", len(frame), maxFrame)
				}
				framed = AppendFrame(framed, frame)
			}
			if err == nil {
				checkBounds(t, framer, maxFrame+FrameHeaderBytes-1)
			}
		}
		if !bytes.HasPrefix(data, framed) {
			t.Fatal("frames re-encoded are not a prefix of the input")
		}
	})
}

func checkBounds(t *testing.T, f *Framer, bound int) {
	t.Helper()
	if f.Buffered() > bound {
		t.Fatalf("Buffered() = %d, bound %d", f.Buffered(), bound)
	}
	if cap(f.body) > f.bodyBytes {
		t.Fatalf("body capacity %d over its declared size %d", cap(f.body), f.bodyBytes)
	}
	if held := cap(f.pending) + cap(f.body); held > pendingRetainBytes+3*bound {
		t.Fatalf("buffers hold %d bytes, bound %d", held, pendingRetainBytes+3*bound)
	}
}
