package controller

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/internal/assert"
	"github.com/takhin-io/takhin/storage"
)

// encodeBatch builds one uncompressed v2 batch holding one record per
// value (storage.EncodeBatch: kmsg's codec, no producer, CreateTime nowMs).
func encodeBatch(values [][]byte, nowMs int64) []byte {
	assert.That(len(values) > 0, "a metadata batch holds at least one record")
	records := make([]kmsg.Record, len(values))
	for i, v := range values {
		records[i].Value = v
	}
	out := storage.EncodeBatch(records, nowMs)
	if _, err := storage.ValidateBatch(out); err != nil {
		assert.Failf("encoded metadata batch invalid: %v", err)
	}
	return out
}

// decodedBatch is one batch of the metadata log and its records.
type decodedBatch struct {
	header  storage.BatchHeader
	records []Record
}

// splitBatches decodes every batch of a concatenation read from the log
// (Log.Read's output). Any error means the log's content is corrupt.
func splitBatches(b []byte) ([]decodedBatch, error) {
	var out []decodedBatch
	for len(b) > 0 {
		if len(b) < storage.BatchHeaderSize {
			return nil, fmt.Errorf("%d trailing bytes, shorter than a batch header", len(b))
		}
		size := storage.DecodeBatchHeader(b).Size()
		if size < storage.BatchHeaderSize || size > int64(len(b)) {
			return nil, fmt.Errorf("batch of %d bytes with %d left", size, len(b))
		}
		d, err := decodeBatch(b[:size])
		if err != nil {
			return nil, err
		}
		out = append(out, d)
		b = b[size:]
	}
	return out, nil
}

// decodeBatch validates one batch (CRC included) and decodes its records
// with kmsg. A control batch (Raft's records, next round) decodes to no
// records. It never panics on bad input.
func decodeBatch(b []byte) (decodedBatch, error) {
	h, err := storage.ValidateBatch(b)
	if err != nil {
		return decodedBatch{}, err
	}
	d := decodedBatch{header: h}
	if h.IsControl() {
		return d, nil
	}
	if h.RecordCount <= 0 || h.LastOffsetDelta != h.RecordCount-1 {
		return d, fmt.Errorf("batch at offset %d: %d records, last offset delta %d", h.BaseOffset, h.RecordCount, h.LastOffsetDelta)
	}
	values, err := readRecordValues(b)
	if err != nil {
		return d, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
	}
	for i, v := range values {
		rec, err := decodeValue(v)
		if err != nil {
			return d, fmt.Errorf("record at offset %d: %w", h.BaseOffset+storage.Offset(i), err)
		}
		d.records = append(d.records, rec)
	}
	return d, nil
}

// readRecordValues returns the values of a valid batch's records
// (storage.ReadRecords: kmsg's codec, offset deltas 0, 1, …); a null value
// is an error.
func readRecordValues(batch []byte) ([][]byte, error) {
	records, err := storage.ReadRecords(batch)
	if err != nil {
		return nil, err
	}
	values := make([][]byte, len(records))
	for i, r := range records {
		if r.Value == nil {
			return nil, errors.New("record with a null value")
		}
		values[i] = r.Value
	}
	return values, nil
}
