package broker

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/takhin-io/takhin/controller"
	"github.com/takhin-io/takhin/replication"
)

// The one place where errors of the machines below become Kafka codes
// (STYLE rule 19).

// partitionCode maps a partition machine's reply error.
func partitionCode(err error) int16 {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, replication.ErrOffsetOutOfRange):
		return kerr.OffsetOutOfRange.Code
	case errors.Is(err, replication.ErrNotReady):
		return kerr.NotLeaderForPartition.Code // retriable: clients refresh and retry
	case errors.Is(err, replication.ErrStorage), errors.Is(err, replication.ErrFailed):
		return kerr.KafkaStorageError.Code
	case errors.Is(err, replication.ErrOutOfOrderSequence):
		return kerr.OutOfOrderSequenceNumber.Code
	case errors.Is(err, replication.ErrInvalidProducerEpoch):
		return kerr.InvalidProducerEpoch.Code
	case errors.Is(err, errUnknownPartition):
		return kerr.UnknownTopicOrPartition.Code
	}
	return kerr.UnknownServerError.Code
}

// controllerCode maps a controller reply error.
func controllerCode(err error) int16 {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, controller.ErrTopicExists):
		return kerr.TopicAlreadyExists.Code
	case errors.Is(err, controller.ErrUnknownTopic):
		return kerr.UnknownTopicOrPartition.Code
	case errors.Is(err, controller.ErrUnknownTopicID):
		return kerr.UnknownTopicID.Code
	case errors.Is(err, controller.ErrInvalidTopic):
		return kerr.InvalidTopicException.Code
	case errors.Is(err, controller.ErrInvalidPartitions):
		return kerr.InvalidPartitions.Code
	case errors.Is(err, controller.ErrInvalidConfig):
		return kerr.InvalidConfig.Code
	case errors.Is(err, controller.ErrInvalidRequest):
		return kerr.InvalidRequest.Code
	case errors.Is(err, controller.ErrTooLarge):
		return kerr.PolicyViolation.Code
	case errors.Is(err, controller.ErrNotReady):
		return kerr.NotController.Code
	case errors.Is(err, controller.ErrBusy):
		return kerr.ThrottlingQuotaExceeded.Code
	case errors.Is(err, controller.ErrStorage):
		return kerr.KafkaStorageError.Code
	}
	return kerr.UnknownServerError.Code
}

// errUnknownPartition is what a driver answers for a partition it does not
// host (deleted meanwhile).
var errUnknownPartition = errors.New("broker: unknown topic or partition")

// ErrUnknownPartition is exported for drivers.
var ErrUnknownPartition = errUnknownPartition

func strp(s string) *string { return &s }
