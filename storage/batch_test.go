package storage

// Goal: the v2 batch header codec accepts exactly well-formed batches and
// the offset/epoch/LogAppendTime rewrite keeps the CRC right.

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestValidateBatch(t *testing.T) {
	good := testBatch(3, []byte("records"), 100)
	mutate := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), good...))
	}
	cases := []struct {
		name  string
		batch []byte
		ok    bool
	}{
		{"good", good, true},
		{"empty", nil, false},
		{"short header", good[:BatchHeaderSize-1], false},
		{"truncated records", good[:len(good)-1], false},
		{"trailing bytes", append(append([]byte(nil), good...), 0), false},
		{"magic 1", mutate(func(b []byte) []byte { b[offMagic] = 1; return b }), false},
		{"bad crc", mutate(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), false},
		{"negative delta", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[offLastOffsetDelta:], 0xffffffff)
			binary.BigEndian.PutUint32(b[offCRC:], BatchCRC(b))
			return b
		}), false},
		{"length below header", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[offBatchLength:], 10)
			return b
		}), false},
		{"base offset and epoch are outside the crc", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint64(b[offBaseOffset:], 77)
			binary.BigEndian.PutUint32(b[offLeaderEpoch:], 9)
			return b
		}), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ValidateBatch(c.batch)
			if c.ok && err != nil {
				t.Fatalf("want valid, got %v", err)
			}
			if !c.ok && !errors.Is(err, ErrInvalidBatch) {
				t.Fatalf("want ErrInvalidBatch, got %v", err)
			}
		})
	}
}

func TestAssignBatch(t *testing.T) {
	for _, logAppend := range []bool{false, true} {
		b := testBatch(2, []byte("xy"), 100)
		AssignBatch(b, 42, 7, 5000, logAppend)
		h, err := ValidateBatch(b)
		if err != nil {
			t.Fatalf("logAppend=%v: batch invalid after assign: %v", logAppend, err)
		}
		if h.BaseOffset != 42 || h.PartitionLeaderEpoch != 7 || h.LastOffset() != 43 {
			t.Fatalf("logAppend=%v: header %+v", logAppend, h)
		}
		wantTs, wantAttr := int64(101), int16(0)
		if logAppend {
			wantTs, wantAttr = 5000, attrTimestampLogAppend
		}
		if h.MaxTimestamp != wantTs || h.Attributes != wantAttr || h.BaseTimestamp != 100 {
			t.Fatalf("logAppend=%v: timestamps %d/%d attrs %d", logAppend, h.BaseTimestamp, h.MaxTimestamp, h.Attributes)
		}
	}
}
