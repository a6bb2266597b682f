package controller

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/internal/assert"
	"github.com/takhin-io/takhin/storage"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Offsets in a v2 batch header that kmsg does not name: the CRC covers
// everything from the attributes on, and the records follow the header.
const (
	crcOffset        = 17
	attributesOffset = 21
	// batchLengthBase is the bytes of FirstOffset and Length, which the
	// Length field does not count.
	batchLengthBase = 12
	// attrCompression masks the compression codec bits of Attributes.
	attrCompression = 0x07
)

// encodeBatch builds one uncompressed v2 batch holding one record per
// value, with kmsg: producer id -1 (not idempotent), CreateTime nowMs.
// BaseOffset and PartitionLeaderEpoch are left for the partition to assign
// (storage.AssignBatch); both lie outside the CRC.
func encodeBatch(values [][]byte, nowMs int64) []byte {
	assert.That(len(values) > 0, "a metadata batch holds at least one record")
	var records []byte
	for i, v := range values {
		records = appendRecord(records, int32(i), v)
	}
	b := kmsg.RecordBatch{
		FirstOffset:          0,
		PartitionLeaderEpoch: -1,
		Magic:                2,
		Attributes:           0,
		LastOffsetDelta:      int32(len(values) - 1),
		FirstTimestamp:       nowMs,
		MaxTimestamp:         nowMs,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           int32(len(values)),
		Records:              records,
	}
	b.Length = int32(storage.BatchHeaderSize - batchLengthBase + len(records))
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[crcOffset:], crc32.Checksum(out[attributesOffset:], castagnoli))
	if _, err := storage.ValidateBatch(out); err != nil {
		assert.Failf("encoded metadata batch invalid: %v", err)
	}
	return out
}

// appendRecord appends one record with kmsg's varint encoding. Length
// counts the bytes after itself, so the record is encoded once without it
// to learn its size.
func appendRecord(dst []byte, offsetDelta int32, value []byte) []byte {
	r := kmsg.Record{OffsetDelta: offsetDelta, Value: value}
	body := r.AppendTo(nil)[1:] // Length 0 takes one varint byte
	r.Length = int32(len(body))
	return r.AppendTo(dst)
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
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(b); err != nil {
		return d, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
	}
	switch {
	case rb.Attributes&attrCompression != 0:
		return d, fmt.Errorf("batch at offset %d: compressed (attributes %#x)", h.BaseOffset, rb.Attributes)
	case rb.NumRecords <= 0 || rb.LastOffsetDelta != rb.NumRecords-1:
		return d, fmt.Errorf("batch at offset %d: %d records, last offset delta %d", h.BaseOffset, rb.NumRecords, rb.LastOffsetDelta)
	}
	values, err := readRecordValues(rb.Records, int(rb.NumRecords))
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

// readRecordValues splits n records as kgo does (the varint Length, then
// kmsg.Record.ReadFrom on exactly that many bytes) and returns their
// values. Offset deltas must be 0, 1, …, n-1 and no bytes may remain.
func readRecordValues(b []byte, n int) ([][]byte, error) {
	if n > len(b) {
		return nil, fmt.Errorf("%d records in %d bytes", n, len(b)) // and no huge allocation
	}
	values := make([][]byte, 0, n)
	for i := range n {
		length, used := binary.Varint(b)
		if used <= 0 || length < 0 || length > int64(len(b)-used) {
			return nil, fmt.Errorf("record %d: bad length", i)
		}
		total := used + int(length)
		var r kmsg.Record
		if err := r.ReadFrom(b[:total]); err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		if r.OffsetDelta != int32(i) {
			return nil, fmt.Errorf("record %d: offset delta %d", i, r.OffsetDelta)
		}
		if r.Value == nil {
			return nil, errors.New("record with a null value")
		}
		values = append(values, r.Value)
		b = b[total:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%d bytes after the last record", len(b))
	}
	return values, nil
}
