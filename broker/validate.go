package broker

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/storage"
)

// verdict is why a produced batch was refused, as Kafka codes it.
type verdict struct {
	code         int16
	msg          string
	recordErrors []kmsg.ProduceResponseTopicPartitionErrorRecord
}

// validateProduce checks one partition's records before they reach the
// log: exactly one v2 batch (v3+ requests), whole, with a correct CRC,
// within max.message.bytes. The record-level checks (timestamps, keys of
// compacted topics, compression) are the records package's.
func validateProduce(records []byte, tc TopicConfig, nowMs int64) ([]byte, verdict) {
	if len(records) < storage.BatchHeaderSize {
		return nil, verdict{code: kerr.CorruptMessage.Code, msg: "no record batch"}
	}
	h := storage.DecodeBatchHeader(records)
	if h.Magic != 2 {
		return nil, verdict{code: kerr.UnsupportedForMessageFormat.Code, msg: fmt.Sprintf("record batch magic %d: only v2 is supported", h.Magic)}
	}
	if h.Size() != int64(len(records)) {
		if h.Size() < int64(len(records)) && h.Size() >= storage.BatchHeaderSize {
			return nil, verdict{code: kerr.InvalidRecord.Code, msg: "a produce request must hold exactly one record batch per partition"}
		}
		return nil, verdict{code: kerr.CorruptMessage.Code, msg: "the record batch length does not match its bytes"}
	}
	if int64(len(records)) > int64(tc.MaxMessageBytes) {
		return nil, verdict{code: kerr.MessageTooLarge.Code, msg: fmt.Sprintf("the batch is %d bytes, above max.message.bytes %d", len(records), tc.MaxMessageBytes)}
	}
	if _, err := storage.ValidateBatch(records); err != nil {
		return nil, verdict{code: kerr.CorruptMessage.Code, msg: err.Error()}
	}
	if h.IsTransactional() {
		return nil, verdict{code: kerr.TransactionalIDAuthorizationFailed.Code, msg: "transactions are not supported yet"}
	}
	if h.IsControl() {
		return nil, verdict{code: kerr.InvalidRecord.Code, msg: "clients may not produce control batches"}
	}
	return records, verdict{}
}
