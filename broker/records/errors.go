package records

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Error is a refused batch: the Kafka error the partition's produce
// response carries, the text for its ErrorMessage, and, when single records
// were at fault (a missing key, a timestamp out of range), those records
// for its RecordErrors (produce v8+). errors.Is(err, kerr.InvalidRecord)
// and friends work through Unwrap.
type Error struct {
	Kafka   *kerr.Error
	Message string
	// Records lists the records at fault, in order, at most
	// recordErrorsMax of them (Kafka lists all; the Java producer uses the
	// list only to word each record's exception).
	Records []RecordError
}

// RecordError is one record's fault: its index in the batch (= its offset
// delta once valid) and why.
type RecordError struct {
	Index   int32
	Message string
}

// recordErrorsMax bounds Error.Records, so a batch of a million keyless
// records costs a bounded answer.
const recordErrorsMax = 64

func (e *Error) Error() string {
	return "records: " + e.Kafka.Message + ": " + e.Message
}

// Unwrap makes errors.Is(err, kerr.X) hold for the Kafka error.
func (e *Error) Unwrap() error { return e.Kafka }

// Code is the Kafka error code for the partition's response.
func (e *Error) Code() int16 { return e.Kafka.Code }

// ProduceRecordErrors converts Records to the produce response's form.
func (e *Error) ProduceRecordErrors() []kmsg.ProduceResponseTopicPartitionErrorRecord {
	if len(e.Records) == 0 {
		return nil
	}
	out := make([]kmsg.ProduceResponseTopicPartitionErrorRecord, len(e.Records))
	for i, r := range e.Records {
		out[i] = kmsg.NewProduceResponseTopicPartitionErrorRecord()
		out[i].RelativeOffset = r.Index
		out[i].ErrorMessage = &e.Records[i].Message
	}
	return out
}

// reject builds a batch-level refusal. It runs only on the error path, so
// formatting here costs nothing on accepted batches.
func reject(k *kerr.Error, format string, args ...any) *Error {
	return &Error{Kafka: k, Message: fmt.Sprintf(format, args...)}
}

// recordErrors collects per-record faults the way Kafka's LogValidator
// does (validateRecord, then processRecordErrors): every record is checked,
// the batch fails if any failed, and the code is INVALID_TIMESTAMP when
// any fault was a timestamp, INVALID_RECORD otherwise.
type recordErrors struct {
	count     int  // faults seen, listed or not
	timestamp bool // a timestamp fault was seen
	list      []RecordError
}

func (r *recordErrors) reset() {
	r.count, r.timestamp = 0, false
	r.list = r.list[:0]
}

func (r *recordErrors) add(index int32, timestamp bool, format string, args ...any) {
	r.count++
	r.timestamp = r.timestamp || timestamp
	if len(r.list) < recordErrorsMax {
		r.list = append(r.list, RecordError{Index: index, Message: fmt.Sprintf(format, args...)})
	}
}

// err is the batch's refusal, or nil when no record failed. The list is
// copied out, so the Validator may reuse its buffer.
func (r *recordErrors) err() error {
	if r.count == 0 {
		return nil
	}
	e := &Error{Kafka: kerr.InvalidRecord, Records: append([]RecordError(nil), r.list...)}
	if r.timestamp {
		e.Kafka = kerr.InvalidTimestamp
		e.Message = "one or more records have been rejected due to invalid timestamp"
		return e
	}
	e.Message = fmt.Sprintf("one or more records have been rejected due to %d record errors in total, "+
		"and only showing the first three errors at most: %v", r.count, r.list[:min(3, len(r.list))])
	return e
}
