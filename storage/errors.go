package storage

import "errors"

var (
	// ErrCorrupt marks data that was durable and is now wrong (CRC mismatch,
	// impossible header, missing synced bytes, undecodable checkpoint). It
	// fail-stops the partition: the Log refuses every later call.
	ErrCorrupt = errors.New("storage: corrupt data")
	// ErrInvalidBatch is returned by Append for a batch that is malformed as
	// given (bad length, magic, CRC or offsets). Nothing was written.
	ErrInvalidBatch = errors.New("storage: invalid record batch")
	// ErrOffsetOutOfRange is returned by reads below the log start offset or
	// beyond the log end offset.
	ErrOffsetOutOfRange = errors.New("storage: offset out of range")
	// ErrFailed is returned by every call after the log has fail-stopped
	// (corruption, or a failed fsync whose dirty pages the kernel may have
	// dropped). The owner must close it and reopen through recovery.
	ErrFailed = errors.New("storage: log has failed")
	// ErrClosed is returned by calls on a closed log.
	ErrClosed = errors.New("storage: log is closed")
)
