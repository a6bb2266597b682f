package records

import (
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/takhin-io/takhin/storage"
)

// Timestamps walks the records of a stored batch (one Validate accepted,
// read back from the log), decompressing as a stream, and calls fn with
// each record's offset delta and timestamp (the batch's MaxTimestamp for
// a LogAppendTime batch, as Kafka reads it) until fn returns false.
// ListOffsets uses it to find a record by time inside a compressed batch.
func (v *Validator) Timestamps(batch []byte, fn func(offsetDelta int32, ts int64) bool) error {
	if len(batch) < storage.BatchHeaderSize {
		return reject(kerr.CorruptMessage, "%d bytes is not a batch", len(batch))
	}
	h := storage.DecodeBatchHeader(batch)
	if h.Size() > int64(len(batch)) {
		return reject(kerr.CorruptMessage, "the batch is cut short")
	}
	defer v.release()
	if err := v.openRecords(Codec(h.Attributes&attrCodecMask), batch[storage.BatchHeaderSize:h.Size()]); err != nil {
		return err
	}
	logAppendTime := h.Attributes&attrLogAppendTime != 0
	for i := int32(0); i < h.RecordCount; i++ {
		body, _, err := v.records.next(i)
		if err != nil {
			return err
		}
		rec, bad := parseRecord(body)
		if bad != "" {
			return reject(kerr.CorruptMessage, "record %d: %s", i, bad)
		}
		ts := h.BaseTimestamp + rec.timestampDelta
		if logAppendTime {
			ts = h.MaxTimestamp
		}
		if !fn(rec.offsetDelta, ts) {
			return nil
		}
	}
	return nil
}
