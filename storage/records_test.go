package storage

// Goal: EncodeBatch and ReadRecords round-trip records through kmsg's
// codec, and ReadRecords rejects what kgo would not parse.

import (
	"bytes"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestRecordsRoundTrip(t *testing.T) {
	in := []kmsg.Record{
		{Key: []byte("k"), Value: []byte("v")},
		{Value: nil},
		{Key: nil, Value: bytes.Repeat([]byte{7}, 300), Headers: []kmsg.Header{{Key: "h", Value: []byte("x")}}},
	}
	b := EncodeBatch(in, 42)
	h, err := ValidateBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.RecordCount != 3 || h.LastOffsetDelta != 2 || h.MaxTimestamp != 42 || h.ProducerID != -1 {
		t.Fatalf("header %+v", h)
	}
	out, err := ReadRecords(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if !bytes.Equal(out[i].Key, in[i].Key) || !bytes.Equal(out[i].Value, in[i].Value) ||
			out[i].OffsetDelta != int32(i) || len(out[i].Headers) != len(in[i].Headers) {
			t.Fatalf("record %d: %+v", i, out[i])
		}
	}
	if out[1].Value != nil {
		t.Fatalf("a null value must stay null")
	}
	for name, bad := range map[string][]byte{
		"truncated records": b[:len(b)-1],
		"trailing bytes":    append(append([]byte(nil), b...), 0),
	} {
		if _, err := ReadRecords(bad); !errors.Is(err, ErrInvalidBatch) {
			t.Fatalf("%s: want ErrInvalidBatch, got %v", name, err)
		}
	}
}
