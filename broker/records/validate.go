package records

import (
	"encoding/binary"
	"math"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/takhin-io/takhin/internal/assert"
	"github.com/takhin-io/takhin/storage"
)

// Config is what validation needs of a topic's configs.
type Config struct {
	// MaxMessageBytes is max.message.bytes: the largest batch accepted,
	// compared, as Kafka does, with the whole batch's size (BatchLength plus
	// the 12 bytes before it), compressed as received.
	MaxMessageBytes int32
	// LogAppendTime is message.timestamp.type=LogAppendTime: record
	// timestamps are not checked, the broker stamps the batch on append.
	LogAppendTime bool
	// TimestampBeforeMaxMs and TimestampAfterMaxMs are
	// message.timestamp.before.max.ms and .after.max.ms: with CreateTime, a
	// record stamped more than this before, or after, now is
	// INVALID_TIMESTAMP. Both at least 0.
	TimestampBeforeMaxMs int64
	TimestampAfterMaxMs  int64
	// Compacted is cleanup.policy containing compact: every record needs a
	// key.
	Compacted bool
}

// Kafka 4.0's topic defaults (ServerLogConfigs), and Takhin's bound on
// decompression.
const (
	DefaultMaxMessageBytes      = 1024*1024 + logOverhead // 1048588
	DefaultTimestampBeforeMaxMs = math.MaxInt64
	DefaultTimestampAfterMaxMs  = 3600000 // one hour since Kafka 4.0 (KIP-1030)
	// DefaultMaxUncompressedBytes bounds what a compressed batch's records
	// may decompress to (and a zstd frame's window). Takhin-only: Kafka
	// has no bound. Beyond it the batch is MESSAGE_TOO_LARGE, on which the
	// Java producer splits the batch and retries. 32× the default
	// max.message.bytes:
	// producers cap batches near 1 MiB before compression (kgo,
	// librdkafka) or at 16 KiB times the observed ratio (Java), so 32 MiB
	// leaves ample room, and stays far below kgo's consumer bound (1 GiB).
	DefaultMaxUncompressedBytes = 32 << 20
)

// DefaultConfig is a topic with Kafka 4.0's defaults.
func DefaultConfig() Config {
	return Config{
		MaxMessageBytes:      DefaultMaxMessageBytes,
		TimestampBeforeMaxMs: DefaultTimestampBeforeMaxMs,
		TimestampAfterMaxMs:  DefaultTimestampAfterMaxMs,
	}
}

// Info describes a batch that passed validation.
type Info struct {
	Codec       Codec
	RecordCount int32
	// FirstOffsetDelta and LastOffsetDelta bound the records' offset
	// deltas, which run 0, 1, …, RecordCount-1.
	FirstOffsetDelta int32
	LastOffsetDelta  int32
	// MaxTimestamp is what Kafka's LogValidator computes: with CreateTime
	// the largest record timestamp (-1 when none is above -1), with
	// LogAppendTime the nowMs given. OffsetDeltaOfMaxTimestamp is the
	// first record holding it (the last record with LogAppendTime), -1
	// when there is none.
	MaxTimestamp              int64
	OffsetDeltaOfMaxTimestamp int32
	// RewriteMaxTimestamp is set with CreateTime when the header's
	// MaxTimestamp or timestamp type differs from what Kafka would store:
	// call SetCreateTime before appending.
	RewriteMaxTimestamp bool
	// ProducerID is -1 for a non-idempotent producer; ProducerEpoch and
	// BaseSequence are then whatever it sent (Kafka ignores them).
	ProducerID    int64
	ProducerEpoch int16
	BaseSequence  int32
	// Transactional batches pass validation; refusing them until
	// transactions exist is the broker's call.
	Transactional bool
	// UncompressedBytes is the header plus every record, decompressed.
	UncompressedBytes int64
}

// The v2 header fields read here beyond storage's decoder.
const (
	offsetAttributes = 21
	offsetMaxTime    = 35
	offsetCRC        = 17

	attrLogAppendTime = 1 << 3
	noTimestamp       = -1
)

// Validator validates produce batches. It keeps its decoders and buffers
// across calls, so steady-state validation allocates nothing (gzip aside:
// compress/flate allocates per block). Not safe for concurrent use. What
// it keeps is bounded (keepBytesMax per buffer, and the zstd decoder's
// history, up to the largest window seen, itself at most the bound), but
// not small: share one per validating loop, not one per partition; the
// topic's Config comes with each batch.
type Validator struct {
	limit   int64  // decompressed bytes a batch's records may reach
	cfg     Config // the batch being validated's topic
	dec     decoders
	records recordReader
	stream  []byte // the stream buffer, kept across calls
	errs    recordErrors
}

// NewValidator returns a Validator whose batches' records may decompress
// to at most maxUncompressedBytes (DefaultMaxUncompressedBytes unless the
// operator says otherwise).
func NewValidator(maxUncompressedBytes int64) *Validator {
	assert.That(maxUncompressedBytes > 0, "records: the decompression bound must be positive")
	return &Validator{limit: maxUncompressedBytes}
}

// Validate validates one batch with a throwaway Validator and the default
// decompression bound; prefer a Validator where batches keep coming.
func Validate(batch []byte, cfg Config, nowMs int64) (Info, error) {
	return NewValidator(DefaultMaxUncompressedBytes).Validate(batch, cfg, nowMs)
}

// Validate checks one v2 record batch as a client produced it (see
// ProduceBatch and Split for framing), as Kafka 4.0's
// UnifiedLog.analyzeAndValidateRecords and LogValidator do, in their
// order; doc.go lists every rule, its code and its source. cfg is the
// topic's, and must be valid (the config table checks it; a bad one here
// is a bug). nowMs is the broker's wall clock, for timestamp bounds. The
// batch is not modified. A refusal is an *Error.
func (v *Validator) Validate(batch []byte, cfg Config, nowMs int64) (Info, error) {
	assert.That(cfg.MaxMessageBytes > 0, "records: MaxMessageBytes must be positive")
	assert.That(cfg.TimestampBeforeMaxMs >= 0 && cfg.TimestampAfterMaxMs >= 0,
		"records: timestamp bounds must be at least 0")
	v.cfg = cfg
	h, err := v.checkFrame(batch)
	if err != nil {
		return Info{}, err
	}
	if err := checkHeader(&h); err != nil {
		return Info{}, err
	}
	info := Info{
		Codec:       Codec(h.Attributes & attrCodecMask),
		RecordCount: h.RecordCount, LastOffsetDelta: h.LastOffsetDelta,
		MaxTimestamp: noTimestamp, OffsetDeltaOfMaxTimestamp: -1,
		ProducerID: h.ProducerID, ProducerEpoch: h.ProducerEpoch, BaseSequence: h.BaseSequence,
		Transactional:     h.IsTransactional(),
		UncompressedBytes: storage.BatchHeaderSize,
	}
	defer v.release()
	if err := v.openRecords(info.Codec, batch[storage.BatchHeaderSize:]); err != nil {
		return Info{}, err
	}
	if err := v.checkRecords(&h, &info, nowMs); err != nil {
		return Info{}, err
	}
	if v.cfg.LogAppendTime {
		info.MaxTimestamp, info.OffsetDeltaOfMaxTimestamp = nowMs, info.LastOffsetDelta
	} else {
		info.RewriteMaxTimestamp = h.Attributes&attrLogAppendTime != 0 || h.MaxTimestamp != info.MaxTimestamp
	}
	return info, nil
}

// checkFrame checks what UnifiedLog.analyzeAndValidateRecords checks
// before the LogValidator runs: one whole batch of magic 2, base offset 0,
// size within max.message.bytes, a correct CRC; and a defined codec.
func (v *Validator) checkFrame(batch []byte) (storage.BatchHeader, error) {
	whole, rest, ok, err := nextBatch(batch)
	switch {
	case err != nil:
		return storage.BatchHeader{}, err
	case !ok || len(rest) != 0:
		return storage.BatchHeader{}, reject(kerr.CorruptMessage,
			"%d bytes are not exactly one record batch", len(batch))
	}
	if err := checkMagic(whole); err != nil {
		return storage.BatchHeader{}, err
	}
	if base := int64(binary.BigEndian.Uint64(batch)); base != 0 {
		return storage.BatchHeader{}, reject(kerr.InvalidRecord,
			"the baseOffset of the record batch should be 0, but it is %d", base)
	}
	if len(batch) > int(v.cfg.MaxMessageBytes) {
		return storage.BatchHeader{}, reject(kerr.MessageTooLarge,
			"the record batch size is %d bytes which exceeds the maximum configured value of %d",
			len(batch), v.cfg.MaxMessageBytes)
	}
	if len(batch) < storage.BatchHeaderSize {
		return storage.BatchHeader{}, reject(kerr.CorruptMessage,
			"record batch of %d bytes is smaller than the v2 header (%d)", len(batch), storage.BatchHeaderSize)
	}
	h := storage.DecodeBatchHeader(batch)
	if crc := storage.BatchCRC(batch); crc != h.CRC {
		return h, reject(kerr.CorruptMessage, "record is corrupt (stored crc = %d, computed crc = %d)", h.CRC, crc)
	}
	if codec := Codec(h.Attributes & attrCodecMask); codec > CodecZstd {
		return h, reject(kerr.CorruptMessage, "unknown compression type id: %d", codec)
	}
	return h, nil
}

// checkHeader is LogValidator.validateBatch for a client's batch, then
// Takhin's producer-field checks.
func checkHeader(h *storage.BatchHeader) error {
	switch {
	case h.LastOffsetDelta < 0:
		return reject(kerr.InvalidRecord, "batch has an invalid offset range: last offset delta %d", h.LastOffsetDelta)
	case h.RecordCount <= 0:
		return reject(kerr.InvalidRecord, "invalid reported count for record batch: %d", h.RecordCount)
	case int64(h.LastOffsetDelta)+1 != int64(h.RecordCount):
		return reject(kerr.InvalidRecord, "inconsistent batch offset range [0, %d] and count of records %d",
			h.LastOffsetDelta, h.RecordCount)
	case h.IsControl():
		return reject(kerr.InvalidRecord, "clients are not allowed to write control records")
	case h.ProducerID != -1 && h.BaseSequence < 0:
		return reject(kerr.InvalidRecord, "invalid sequence number %d in record batch with producerId %d",
			h.BaseSequence, h.ProducerID)
	// Takhin-only below: Kafka stores these and lets later stages (or
	// consumers) trip on them.
	case h.ProducerID < -1:
		return reject(kerr.InvalidRecord, "invalid producer id %d", h.ProducerID)
	case h.ProducerID >= 0 && h.ProducerEpoch < 0:
		return reject(kerr.InvalidRecord, "invalid producer epoch %d for producerId %d", h.ProducerEpoch, h.ProducerID)
	case h.ProducerID == -1 && h.IsTransactional():
		return reject(kerr.InvalidRecord, "a transactional record batch needs a producer id")
	}
	return nil
}

// openRecords points the record reader at the batch's records,
// decompressing as a stream.
func (v *Validator) openRecords(codec Codec, data []byte) error {
	if codec == CodecNone {
		v.records.resetSlice(data)
		return nil
	}
	stream, whole, err := v.dec.Open(codec, data, v.limit)
	switch {
	case err != nil && isTooLarge(err):
		return reject(kerr.MessageTooLarge, "the %s records decompress past the %d-byte bound: %v",
			codec, v.limit, err)
	case err != nil:
		return reject(kerr.CorruptMessage, "failed to decompress the %s records: %v", codec, err)
	case stream == nil:
		v.records.resetSlice(whole)
	default:
		v.records.resetStream(stream, v.stream, v.limit)
	}
	return nil
}

// checkRecords reads every record: structure, offset deltas, keys and
// timestamps, and the end of the data.
func (v *Validator) checkRecords(h *storage.BatchHeader, info *Info, nowMs int64) error {
	v.errs.reset()
	for i := int32(0); i < h.RecordCount; i++ {
		body, size, err := v.records.next(i)
		if err != nil {
			return err
		}
		rec, bad := parseRecord(body)
		if bad != "" {
			return reject(kerr.InvalidRecord, "record %d: %s", i, bad)
		}
		if rec.offsetDelta != i {
			return reject(kerr.InvalidRecord, "record %d has offset delta %d: deltas must run 0, 1, 2, …", i, rec.offsetDelta)
		}
		info.UncompressedBytes += int64(size)
		v.checkRecord(h, i, rec, nowMs, info)
	}
	if err := v.records.finish(); err != nil {
		return err
	}
	return v.errs.err()
}

// keepBytesMax bounds each buffer a Validator keeps between batches (the
// stream buffer, a bare snappy block's output, a xerial chunk): a 1 MiB
// snappy batch reuses its buffer, a one-off 30 MiB record does not pin it.
const keepBytesMax = 4 << 20

// release keeps the buffers decompression grew for the next batch, unless
// one huge record or block grew them past keepBytesMax, and lets go of
// the batch.
func (v *Validator) release() {
	const keepMax = keepBytesMax
	if v.records.src != nil && cap(v.records.buf) <= keepMax {
		v.stream = v.records.buf[:0]
	}
	v.records.src, v.records.buf = nil, nil
	v.dec.Release(keepMax)
}

// checkRecord is LogValidator.validateRecord: the key for compacted
// topics, then the timestamp; a fault is collected, not returned, so that
// every faulty record is reported. It also tracks the maximum timestamp.
func (v *Validator) checkRecord(h *storage.BatchHeader, i int32, rec record, nowMs int64, info *Info) {
	logAppendTime := h.Attributes&attrLogAppendTime != 0
	ts := h.BaseTimestamp + rec.timestampDelta
	if logAppendTime {
		ts = h.MaxTimestamp // how Kafka's DefaultRecordBatch reads such a record
	}
	if ts > info.MaxTimestamp {
		info.MaxTimestamp, info.OffsetDeltaOfMaxTimestamp = ts, i
	}
	if v.cfg.Compacted && rec.keyNull {
		v.errs.add(i, false, "compacted topic cannot accept message without key")
		return
	}
	if !v.cfg.LogAppendTime && ts != noTimestamp {
		// Kafka's own arithmetic, wrapping included: a record is refused
		// when now-ts exceeds the before bound or ts-now the after bound.
		before, after := v.cfg.TimestampBeforeMaxMs, v.cfg.TimestampAfterMaxMs
		if diff := nowMs - ts; diff > before || -diff > after {
			v.errs.add(i, true, "timestamp %d of message with offset %d is out of range. "+
				"The timestamp should be within [%d, %d]", ts, i, nowMs-before, nowMs+after)
		}
		return
	}
	if logAppendTime {
		v.errs.add(i, true, "invalid timestamp type in message %d: producer should not set timestamp type to LogAppendTime", i)
	}
}

// SetCreateTime does to a batch Validate accepted for a CreateTime topic
// what Kafka's LogValidator does in place
// (RecordBatch.setMaxTimestamp(CREATE_TIME, max)): the timestamp type set
// to CreateTime, MaxTimestamp to info.MaxTimestamp, and the CRC
// recomputed. Call it when info.RewriteMaxTimestamp is set.
func SetCreateTime(batch []byte, info Info) {
	assert.That(len(batch) >= storage.BatchHeaderSize, "records: SetCreateTime on a short batch")
	be := binary.BigEndian
	attrs := be.Uint16(batch[offsetAttributes:])
	if attrs&attrLogAppendTime == 0 && int64(be.Uint64(batch[offsetMaxTime:])) == info.MaxTimestamp {
		return
	}
	be.PutUint16(batch[offsetAttributes:], attrs&^attrLogAppendTime)
	be.PutUint64(batch[offsetMaxTime:], uint64(info.MaxTimestamp))
	be.PutUint32(batch[offsetCRC:], storage.BatchCRC(batch))
}
