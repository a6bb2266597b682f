package storage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
)

// Offset is a Kafka offset within one partition.
type Offset int64

// Epoch is a Kafka leader epoch (a Raft term in a cluster).
type Epoch int32

// The v2 record batch header ("magic 2"), as Kafka lays it out. Only the
// header is read here; records stay opaque (they may be compressed).
const (
	offBaseOffset      = 0
	offBatchLength     = 8
	offLeaderEpoch     = 12
	offMagic           = 16
	offCRC             = 17
	offAttributes      = 21
	offLastOffsetDelta = 23
	offBaseTimestamp   = 27
	offMaxTimestamp    = 35
	offProducerID      = 43
	offProducerEpoch   = 51
	offBaseSequence    = 53
	offRecordCount     = 57

	// BatchHeaderSize is the size of a v2 batch header, records excluded.
	BatchHeaderSize = 61
	// batchLengthBase is the number of bytes not counted by batchLength.
	batchLengthBase = offLeaderEpoch

	attrTimestampLogAppend = 1 << 3
	attrTransactional      = 1 << 4
	attrControl            = 1 << 5
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// BatchHeader is the decoded header of a v2 record batch.
type BatchHeader struct {
	BaseOffset           Offset
	BatchLength          int32
	PartitionLeaderEpoch Epoch
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	RecordCount          int32
}

// Size is the whole batch's size in bytes.
func (h BatchHeader) Size() int64 { return int64(h.BatchLength) + batchLengthBase }

// LastOffset is the offset of the batch's last record.
func (h BatchHeader) LastOffset() Offset { return h.BaseOffset + Offset(h.LastOffsetDelta) }

// NextOffset is the offset after the batch.
func (h BatchHeader) NextOffset() Offset { return h.LastOffset() + 1 }

// IsControl reports a control batch (transaction markers, Raft records).
func (h BatchHeader) IsControl() bool { return h.Attributes&attrControl != 0 }

// IsTransactional reports a batch of a transactional producer.
func (h BatchHeader) IsTransactional() bool { return h.Attributes&attrTransactional != 0 }

// DecodeBatchHeader decodes the header at the start of b without checking
// it; b must hold at least BatchHeaderSize bytes.
func DecodeBatchHeader(b []byte) BatchHeader {
	_ = b[BatchHeaderSize-1]
	be := binary.BigEndian
	return BatchHeader{
		BaseOffset:           Offset(be.Uint64(b[offBaseOffset:])),
		BatchLength:          int32(be.Uint32(b[offBatchLength:])),
		PartitionLeaderEpoch: Epoch(be.Uint32(b[offLeaderEpoch:])),
		Magic:                int8(b[offMagic]),
		CRC:                  be.Uint32(b[offCRC:]),
		Attributes:           int16(be.Uint16(b[offAttributes:])),
		LastOffsetDelta:      int32(be.Uint32(b[offLastOffsetDelta:])),
		BaseTimestamp:        int64(be.Uint64(b[offBaseTimestamp:])),
		MaxTimestamp:         int64(be.Uint64(b[offMaxTimestamp:])),
		ProducerID:           int64(be.Uint64(b[offProducerID:])),
		ProducerEpoch:        int16(be.Uint16(b[offProducerEpoch:])),
		BaseSequence:         int32(be.Uint32(b[offBaseSequence:])),
		RecordCount:          int32(be.Uint32(b[offRecordCount:])),
	}
}

// checkHeaderShape checks what can be checked from the header alone, given
// how many bytes are available from the batch's start.
func checkHeaderShape(h *BatchHeader, available int64) error {
	switch {
	case h.Magic != 2:
		return fmt.Errorf("magic %d, want 2", h.Magic)
	case h.BatchLength < BatchHeaderSize-batchLengthBase:
		return fmt.Errorf("batch length %d below the header size", h.BatchLength)
	case h.Size() > available:
		return fmt.Errorf("batch length %d beyond the %d bytes available", h.BatchLength, available)
	case h.LastOffsetDelta < 0:
		return fmt.Errorf("negative last offset delta %d", h.LastOffsetDelta)
	case h.RecordCount < 0:
		return fmt.Errorf("negative record count %d", h.RecordCount)
	case h.BaseOffset < 0:
		return fmt.Errorf("negative base offset %d", h.BaseOffset)
	case h.BaseOffset > math.MaxInt64-1-Offset(h.LastOffsetDelta):
		return fmt.Errorf("base offset %d plus last offset delta %d overflows", h.BaseOffset, h.LastOffsetDelta)
	}
	return nil
}

// BatchCRC computes the CRC32C a v2 batch stores: over everything after the
// CRC field, so BaseOffset, BatchLength and PartitionLeaderEpoch are
// outside it.
func BatchCRC(batch []byte) uint32 {
	return crc32.Checksum(batch[offAttributes:], castagnoli)
}

// ValidateBatch checks that batch is exactly one well-formed v2 batch with a
// correct CRC, and returns its header.
func ValidateBatch(batch []byte) (BatchHeader, error) {
	return validateAppend(batch, false)
}

// validateAppend is ValidateBatch, skipping the CRC when skipCRC.
func validateAppend(batch []byte, skipCRC bool) (BatchHeader, error) {
	if len(batch) < BatchHeaderSize {
		return BatchHeader{}, fmt.Errorf("%w: %d bytes, shorter than a batch header", ErrInvalidBatch, len(batch))
	}
	h := DecodeBatchHeader(batch)
	if err := checkHeaderShape(&h, int64(len(batch))); err != nil {
		return h, fmt.Errorf("%w: %v", ErrInvalidBatch, err)
	}
	if h.Size() != int64(len(batch)) {
		return h, fmt.Errorf("%w: batch length %d but %d bytes given", ErrInvalidBatch, h.BatchLength, len(batch))
	}
	if skipCRC {
		return h, nil
	}
	if got := BatchCRC(batch); got != h.CRC {
		return h, fmt.Errorf("%w: crc %08x, header says %08x", ErrInvalidBatch, got, h.CRC)
	}
	return h, nil
}

// AssignBatch stamps base and epoch into batch (both outside the CRC) and,
// for LogAppendTime topics, rewrites attributes and MaxTimestamp and
// recomputes the CRC, as Kafka's LogValidator does.
func AssignBatch(batch []byte, base Offset, epoch Epoch, logAppendTimeMs int64, logAppendTime bool) {
	be := binary.BigEndian
	be.PutUint64(batch[offBaseOffset:], uint64(base))
	be.PutUint32(batch[offLeaderEpoch:], uint32(epoch))
	if !logAppendTime {
		return
	}
	attrs := be.Uint16(batch[offAttributes:]) | attrTimestampLogAppend
	be.PutUint16(batch[offAttributes:], attrs)
	be.PutUint64(batch[offMaxTimestamp:], uint64(logAppendTimeMs))
	be.PutUint32(batch[offCRC:], BatchCRC(batch))
}
