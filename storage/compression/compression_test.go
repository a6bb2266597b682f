package compression

// Goal: every codec's encoder output decodes back to its input through the
// bounded decoders, deterministically, and DecodeAll refuses output past
// its bound (the decoders' own edge cases are tested in broker/records).

import (
	"bytes"
	"errors"
	"testing"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	var enc Encoders
	inputs := map[string][]byte{
		"empty":      nil,
		"small":      []byte("hello, kafka"),
		"repetitive": bytes.Repeat([]byte("abcdefgh"), 100_000),
	}
	for _, codec := range []Codec{CodecNone, CodecGzip, CodecSnappy, CodecLz4, CodecZstd} {
		for _, name := range []string{"empty", "small", "repetitive"} {
			raw := inputs[name]
			t.Run(codec.String()+"/"+name, func(t *testing.T) {
				var dec Decoders // zstd's window is fixed by the first bound it sees
				a, err := enc.Encode(nil, codec, raw)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := enc.Encode([]byte("prefix"), codec, raw)
				if !bytes.Equal(b[6:], a) {
					t.Fatalf("encoding is not deterministic or ignores dst")
				}
				got, err := dec.DecodeAll(nil, codec, a, int64(len(raw)))
				if err != nil || !bytes.Equal(got, raw) {
					t.Fatalf("decoded %d bytes (%v), want %d", len(got), err, len(raw))
				}
				if len(raw) > 0 && codec != CodecNone {
					if _, err := dec.DecodeAll(nil, codec, a, int64(len(raw)-1)); !IsTooLarge(err) && !errors.Is(err, ErrTooLarge) {
						t.Fatalf("one byte over the bound: %v, want too large", err)
					}
				}
			})
		}
	}
	if _, err := enc.Encode(nil, Codec(6), nil); err == nil {
		t.Fatalf("an undefined codec encoded")
	}
}
