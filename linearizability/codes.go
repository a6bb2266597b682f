package linearizability

// Kafka error codes that prove a produce attempt was rejected before append.
// The numbers are from the Kafka protocol guide's error table (the same as
// franz-go's kerr, which this package may not import: it knows nothing of
// the broker or its client libraries).
const (
	CodeCorruptMessage                     int16 = 2
	CodeUnknownTopicOrPartition            int16 = 3
	CodeMessageTooLarge                    int16 = 10
	CodeRecordListTooLarge                 int16 = 18
	CodeNotEnoughReplicas                  int16 = 19
	CodeInvalidRequiredAcks                int16 = 21
	CodeInvalidTimestamp                   int16 = 32
	CodeOutOfOrderSequenceNumber           int16 = 45
	CodeInvalidProducerEpoch               int16 = 47
	CodeTransactionalIDAuthorizationFailed int16 = 53
	CodeInvalidRecord                      int16 = 87
)

// DefinitelyFailed reports whether a produce response carrying code proves
// that this attempt appended nothing: the broker rejects these before the
// append. Codes that do not (timeouts, NOT_LEADER_OR_FOLLOWER, disconnects,
// KAFKA_STORAGE_ERROR, and NOT_ENOUGH_REPLICAS_AFTER_APPEND (20), whose
// batch was appended) leave the attempt indeterminate.
//
// It classifies one attempt. A send is Failed only when every one of its
// attempts was: the caller must check each attempt of a retried send and
// record Indeterminate if any attempt was not definitely rejected.
func DefinitelyFailed(code int16) bool {
	switch code {
	case CodeCorruptMessage, CodeUnknownTopicOrPartition, CodeMessageTooLarge,
		CodeRecordListTooLarge, CodeNotEnoughReplicas, CodeInvalidRequiredAcks,
		CodeInvalidTimestamp, CodeOutOfOrderSequenceNumber, CodeInvalidProducerEpoch,
		CodeTransactionalIDAuthorizationFailed, CodeInvalidRecord:
		return true
	default:
		return false
	}
}
