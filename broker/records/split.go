package records

import (
	"encoding/binary"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/takhin-io/takhin/internal/assert"
)

// Framing of a produce partition's Records, as Kafka 4.0 reads them:
// ByteBufferLogInputStream.nextBatchSize walks the batches and
// ProduceRequest.validateRecords (v3+) requires exactly one, of magic 2.

const (
	// logOverhead is BaseOffset plus BatchLength: the bytes BatchLength
	// does not count (Kafka's Records.LOG_OVERHEAD).
	logOverhead = 12
	// headerUpToMagic is how many bytes hold the magic byte (Kafka's
	// Records.HEADER_SIZE_UP_TO_MAGIC).
	headerUpToMagic = 17
	// minBatchLength is the smallest BatchLength Kafka's framing accepts
	// before looking at the magic: the v0 record overhead.
	minBatchLength    = 14
	offsetBatchLength = 8
	offsetMagic       = 16
)

// nextBatch frames the first batch of b. It returns ok=false when b holds
// no whole batch (Kafka's iterator simply ends there), and an error for
// framing Kafka calls corrupt: a BatchLength below the minimum, or a magic
// byte outside 0..2 once 17 bytes are there to hold it.
func nextBatch(b []byte) (batch, rest []byte, ok bool, err error) {
	if len(b) < logOverhead {
		return nil, b, false, nil
	}
	length := int32(binary.BigEndian.Uint32(b[offsetBatchLength:]))
	if length < minBatchLength {
		return nil, b, false, reject(kerr.CorruptMessage,
			"record batch length %d is less than the minimum record overhead (%d)", length, minBatchLength)
	}
	if len(b) >= headerUpToMagic {
		if magic := int8(b[offsetMagic]); magic < 0 || magic > 2 {
			return nil, b, false, reject(kerr.CorruptMessage, "invalid magic found in record batch: %d", magic)
		}
	}
	size := int64(length) + logOverhead
	if int64(len(b)) < size {
		return nil, b, false, nil
	}
	return b[:size], b[size:], true, nil
}

// checkMagic refuses the v0 and v1 message formats as Kafka 4.0 does for
// produce v3+ (every version it handles): INVALID_RECORD.
func checkMagic(batch []byte) error {
	if magic := int8(batch[offsetMagic]); magic != 2 {
		return reject(kerr.InvalidRecord,
			"produce requests are only allowed to contain record batches with magic version 2, not %d", magic)
	}
	return nil
}

// Split cuts a concatenation of v2 record batches (a produce partition's
// Records field, a replica's fetched data) into its batches, without
// validating them: pass each to Validate. It refuses, with Kafka's codes:
// no whole batch at all (INVALID_RECORD), a batch of magic 0 or 1
// (INVALID_RECORD), broken framing (CORRUPT_MESSAGE), and bytes after the
// last whole batch (CORRUPT_MESSAGE; Kafka silently trims them, see
// doc.go). The returned slices alias records.
func Split(records []byte) ([][]byte, error) {
	var out [][]byte
	for rest := records; len(rest) > 0 || len(out) == 0; {
		batch, next, ok, err := nextBatch(rest)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, trailing(len(out), len(rest))
		}
		if err := checkMagic(batch); err != nil {
			return nil, err
		}
		out = append(out, batch)
		rest = next
	}
	return out, nil
}

// ProduceBatch returns the one batch a produce request of version
// produceVersion carries for a partition, refusing as Kafka's
// ProduceRequest.validateRecords does: no batch or more than one
// (INVALID_RECORD), magic other than 2 (INVALID_RECORD), zstd before
// produce v7 (UNSUPPORTED_COMPRESSION_TYPE); plus broken framing and
// trailing bytes as Split does. Takhin handles produce v3+ only, so older
// versions are a caller bug.
func ProduceBatch(records []byte, produceVersion int16) ([]byte, error) {
	if produceVersion < 3 {
		assert.Failf("ProduceBatch: produce v%d is not handled (v3+ only)", produceVersion)
	}
	batch, rest, ok, err := nextBatch(records)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, trailing(0, len(rest))
	}
	if err := checkMagic(batch); err != nil {
		return nil, err
	}
	// A whole batch is at least logOverhead+minBatchLength bytes, so its
	// attributes' low byte (the codec) is there.
	if produceVersion < 7 && Codec(batch[offsetAttributes+1]&attrCodecMask) == CodecZstd {
		return nil, reject(kerr.UnsupportedCompressionType,
			"produce requests with version %d are not allowed to use ZStandard compression", produceVersion)
	}
	if len(rest) == 0 {
		return batch, nil
	}
	if _, _, ok, err := nextBatch(rest); err != nil || !ok {
		return nil, orTrailing(err, 1, len(rest))
	}
	return nil, reject(kerr.InvalidRecord,
		"produce requests are only allowed to contain exactly one record batch per partition")
}

// trailing is the refusal for bytes that hold no whole batch, after n
// whole batches.
func trailing(n, bytes int) error {
	if n == 0 {
		return reject(kerr.InvalidRecord,
			"produce requests must have at least one record batch per partition (%d bytes hold none)", bytes)
	}
	return reject(kerr.CorruptMessage, "%d bytes after the last whole record batch", bytes)
}

func orTrailing(err error, n, bytes int) error {
	if err != nil {
		return err
	}
	return trailing(n, bytes)
}
