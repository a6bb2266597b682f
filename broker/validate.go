package broker

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/broker/records"
)

// verdict is why a produced batch was refused, as Kafka codes it.
type verdict struct {
	code         int16
	msg          string
	recordErrors []kmsg.ProduceResponseTopicPartitionErrorRecord
}

// validateProduce checks one partition's records before they reach the
// log, as Kafka's LogValidator does (broker/records): exactly one v2 batch,
// CRC, lengths, every record (decompressed as a stream), timestamps,
// keys of compacted topics, max.message.bytes. A CreateTime batch whose
// header MaxTimestamp disagrees with its records is rewritten, as Kafka
// does. Transactional batches are refused until transactions exist.
func (b *Broker) validateProduce(recs []byte, version int16, tc TopicConfig) ([]byte, verdict) {
	batch, err := records.ProduceBatch(recs, version)
	if err != nil {
		return nil, refusal(err)
	}
	info, err := b.validator.Validate(batch, records.Config{
		MaxMessageBytes: tc.MaxMessageBytes, LogAppendTime: tc.LogAppendTime,
		TimestampBeforeMaxMs: tc.TimestampBeforeMaxMs, TimestampAfterMaxMs: tc.TimestampAfterMaxMs,
		Compacted: tc.Compacted,
	}, b.now.WallMs)
	if err != nil {
		return nil, refusal(err)
	}
	if info.Transactional {
		return nil, verdict{code: kerr.TransactionalIDAuthorizationFailed.Code, msg: "transactions are not supported yet"}
	}
	if info.RewriteMaxTimestamp {
		records.SetCreateTime(batch, info)
	}
	return batch, verdict{}
}

func refusal(err error) verdict {
	var re *records.Error
	if errors.As(err, &re) {
		return verdict{code: re.Code(), msg: re.Error(), recordErrors: re.ProduceRecordErrors()}
	}
	return verdict{code: kerr.CorruptMessage.Code, msg: err.Error()}
}
