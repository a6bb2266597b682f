package storage

import (
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/internal/assert"
)

// Records are opaque to the log, but the metadata log, the simulator's
// clients and the broker's validation build and read them. These helpers
// use kmsg's record codec (never a hand-rolled one).

// attrCompression masks the codec bits of a batch's attributes.
const attrCompression = 0x07

// EncodeBatch builds one uncompressed v2 batch holding records (their
// OffsetDelta, Length and TimestampDelta are set here), with CreateTime
// timestampMs and no producer. BaseOffset and PartitionLeaderEpoch are left
// for the log to assign; both lie outside the CRC.
func EncodeBatch(records []kmsg.Record, timestampMs int64) []byte {
	assert.That(len(records) > 0, "a batch holds at least one record")
	var body []byte
	for i := range records {
		r := records[i]
		r.OffsetDelta, r.TimestampDelta64, r.Length = int32(i), 0, 0
		encoded := r.AppendTo(nil)[1:] // Length 0 took one varint byte
		r.Length = int32(len(encoded))
		body = r.AppendTo(body)
	}
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		LastOffsetDelta:      int32(len(records) - 1),
		FirstTimestamp:       timestampMs,
		MaxTimestamp:         timestampMs,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           int32(len(records)),
		Records:              body,
	}
	b.Length = int32(BatchHeaderSize - batchLengthBase + len(body))
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[offCRC:], BatchCRC(out))
	return out
}

// ReadRecords decodes the records of one uncompressed, valid batch (see
// ValidateBatch), as kgo splits them: each record's varint Length, then
// kmsg.Record.ReadFrom on exactly those bytes. Offset deltas must increase
// strictly within [0, LastOffsetDelta] (0, 1, … as appended; with gaps
// once the log cleaner removed records), and no bytes may remain. Bad
// input is an error, never a panic or an allocation beyond the batch's
// size.
func ReadRecords(batch []byte) ([]kmsg.Record, error) {
	h := DecodeBatchHeader(batch)
	if h.Attributes&attrCompression != 0 {
		return nil, fmt.Errorf("%w: compressed batch (attributes %#x)", ErrInvalidBatch, h.Attributes)
	}
	b := batch[BatchHeaderSize:]
	n := int(h.RecordCount)
	if n > len(b) {
		return nil, fmt.Errorf("%w: %d records in %d bytes", ErrInvalidBatch, n, len(b))
	}
	out := make([]kmsg.Record, 0, n)
	for i := range n {
		length, used := binary.Varint(b)
		if used <= 0 || length < 0 || length > int64(len(b)-used) {
			return nil, fmt.Errorf("%w: record %d: bad length", ErrInvalidBatch, i)
		}
		total := used + int(length)
		var r kmsg.Record
		if err := r.ReadFrom(b[:total]); err != nil {
			return nil, fmt.Errorf("%w: record %d: %v", ErrInvalidBatch, i, err)
		}
		if r.OffsetDelta > h.LastOffsetDelta || (i > 0 && r.OffsetDelta <= out[i-1].OffsetDelta) || r.OffsetDelta < 0 {
			return nil, fmt.Errorf("%w: record %d has offset delta %d", ErrInvalidBatch, i, r.OffsetDelta)
		}
		out = append(out, r)
		b = b[total:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last record", ErrInvalidBatch, len(b))
	}
	return out, nil
}

// SetProducer stamps an idempotent producer's id, epoch and base sequence
// into a batch and recomputes its CRC (clients and the simulator's
// clients build idempotent batches with it).
func SetProducer(batch []byte, producerID int64, epoch int16, baseSequence int32) {
	binary.BigEndian.PutUint64(batch[offProducerID:], uint64(producerID))
	binary.BigEndian.PutUint16(batch[offProducerEpoch:], uint16(epoch))
	binary.BigEndian.PutUint32(batch[offBaseSequence:], uint32(baseSequence))
	binary.BigEndian.PutUint32(batch[offCRC:], BatchCRC(batch))
}
