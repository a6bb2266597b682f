package storage

import (
	"encoding/binary"
	"testing"

	"github.com/takhin-io/takhin/driver/osfs"
	"github.com/takhin-io/takhin/env"
)

// testBatch builds a v2 batch of n records whose opaque record bytes are
// payload (storage never parses records), timestamps ts..ts+n-1, and a
// correct CRC.
func testBatch(n int, payload []byte, ts int64) []byte {
	b := make([]byte, BatchHeaderSize, BatchHeaderSize+len(payload))
	be := binary.BigEndian
	be.PutUint32(b[offBatchLength:], uint32(BatchHeaderSize-batchLengthBase+len(payload)))
	b[offMagic] = 2
	be.PutUint32(b[offLastOffsetDelta:], uint32(n-1))
	be.PutUint64(b[offBaseTimestamp:], uint64(ts))
	be.PutUint64(b[offMaxTimestamp:], uint64(ts+int64(n)-1))
	be.PutUint64(b[offProducerID:], ^uint64(0))
	be.PutUint16(b[offProducerEpoch:], ^uint16(0))
	be.PutUint32(b[offBaseSequence:], ^uint32(0))
	be.PutUint32(b[offRecordCount:], uint32(n))
	b = append(b, payload...)
	be.PutUint32(b[offCRC:], BatchCRC(b))
	return b
}

// withBase returns a copy of batch with its base offset set (outside the
// CRC), for AppendAssigned.
func withBase(batch []byte, base Offset, epoch Epoch) []byte {
	c := append([]byte(nil), batch...)
	binary.BigEndian.PutUint64(c[offBaseOffset:], uint64(base))
	binary.BigEndian.PutUint32(c[offLeaderEpoch:], uint32(epoch))
	return c
}

func tempFS(t testing.TB) env.FS { return osfs.New(t.TempDir()) }

func openLog(t testing.TB, fs env.FS, cfg Config) *Log {
	t.Helper()
	l, err := Open(fs, "topic-0", cfg, 1000)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return l
}

func mustAppend(t testing.TB, l *Log, batch []byte) AppendResult {
	t.Helper()
	r, err := l.Append(batch, AppendOptions{NowMs: 1000})
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return r
}

// readAll reads every batch from from to the end and returns their headers.
func readAll(t testing.TB, l *Log, from Offset) []BatchHeader {
	t.Helper()
	var out []BatchHeader
	for from < l.EndOffset() {
		r, err := l.Read(from, 1<<20, l.EndOffset())
		if err != nil {
			t.Fatalf("read %d: %v", from, err)
		}
		if len(r.Batches) == 0 {
			t.Fatalf("read %d returned nothing below the end %d", from, l.EndOffset())
		}
		for b := r.Batches; len(b) > 0; {
			h, err := ValidateBatch(b[:DecodeBatchHeader(b).Size()])
			if err != nil {
				t.Fatalf("read returned an invalid batch: %v", err)
			}
			out = append(out, h)
			b = b[h.Size():]
		}
		from = r.Next
	}
	return out
}

func smallConfig() Config {
	return Config{SegmentBytes: 4096, SegmentMs: 1 << 40, IndexIntervalBytes: 256}
}

// testProducerBatch is testBatch for an idempotent producer: the header
// carries producer id pid, epoch and base sequence seq (pid -1 for none).
func testProducerBatch(n int, payload []byte, ts int64, pid int64, epoch int16, seq int32) []byte {
	b := testBatch(n, payload, ts)
	be := binary.BigEndian
	be.PutUint64(b[offProducerID:], uint64(pid))
	be.PutUint16(b[offProducerEpoch:], uint16(epoch))
	be.PutUint32(b[offBaseSequence:], uint32(seq))
	be.PutUint32(b[offCRC:], BatchCRC(b))
	return b
}
