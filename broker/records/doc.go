// Package records is Kafka's produce-side LogValidator as a pure library:
// every batch a client produces is checked here before it reaches the
// log, which stores it as received. It does no I/O, reads no clock (the
// caller passes now) and starts no goroutines; decompression is
// synchronous and streamed, so a compressed batch is never held
// decompressed whole.
//
// Use ProduceBatch (or Split) to frame a produce partition's Records, then
// a Validator (one per validating loop; the topic's Config comes with each
// batch) to validate the batch. A refusal is an *Error carrying the kerr
// code for the partition's response, its message and, for per-record
// faults, the RecordErrors list. A CreateTime batch whose header
// MaxTimestamp Kafka would rewrite gets Info.RewriteMaxTimestamp: apply
// SetCreateTime before appending.
//
// # Rules, in the order Kafka 4.0 applies them
//
// Sources: Kafka 4.0's ProduceRequest.validateRecords (clients),
// ByteBufferLogInputStream.nextBatchSize (clients),
// UnifiedLog.analyzeAndValidateRecords (core),
// LogValidator.validateBatch/validateRecord/validateTimestamp/
// processRecordErrors (storage), DefaultRecordBatch and
// DefaultRecord.readFrom (clients), and ServerLogConfigs for defaults.
// "Takhin" marks where this package differs, and why.
//
// Framing (ProduceBatch, Split):
//
//   - no whole batch in Records: INVALID_RECORD (validateRecords).
//   - BatchLength below 14: CORRUPT_MESSAGE (nextBatchSize).
//   - magic outside 0..2: CORRUPT_MESSAGE (nextBatchSize).
//   - magic 0 or 1: INVALID_RECORD (validateRecords; Kafka 4.0 handles
//     produce v3+ only, and v3+ carries magic 2 only: not
//     UNSUPPORTED_FOR_MESSAGE_FORMAT, which 4.0 no longer returns here).
//   - zstd in a produce request before v7: UNSUPPORTED_COMPRESSION_TYPE
//     (validateRecords).
//   - more than one batch: INVALID_RECORD (validateRecords: exactly one
//     batch per partition). Split, for other uses, allows several.
//   - bytes after the last whole batch: CORRUPT_MESSAGE. Takhin: Kafka's
//     iterator stops at a partial batch and trimInvalidBytes drops it
//     silently; storing exactly what was validated is simpler and a client
//     that sends half a batch is broken.
//
// Batch (Validator.Validate), analyzeAndValidateRecords then validateBatch:
//
//   - the bytes are not exactly one batch: CORRUPT_MESSAGE.
//   - base offset not 0: INVALID_RECORD (analyzeAndValidateRecords).
//   - size (BatchLength+12) above max.message.bytes: MESSAGE_TOO_LARGE.
//   - size below the 61-byte header, or CRC32C mismatch: CORRUPT_MESSAGE
//     (DefaultRecordBatch.isValid).
//   - codec id 5 to 7: CORRUPT_MESSAGE. Takhin: Kafka's
//     CompressionType.forId throws IllegalArgumentException, which reaches
//     the client as UNKNOWN_SERVER_ERROR.
//   - last offset delta negative, record count not positive, or count not
//     last offset delta + 1: INVALID_RECORD (validateBatch).
//   - control batch: INVALID_RECORD (validateBatch).
//   - producer id set (not -1) and base sequence negative: INVALID_RECORD
//     (validateBatch). With producer id -1, epoch and sequence are ignored
//     as Kafka does (sarama sends sequence 0 then).
//   - Takhin: producer id below -1, epoch negative with a producer id, or
//     a transactional batch without producer id: INVALID_RECORD. Kafka
//     stores these; nothing correct can come of them.
//
// Records (read one at a time, decompressed as a stream):
//
//   - the codec stream is malformed (bad header, bad block, checksum):
//     CORRUPT_MESSAGE. Takhin: Kafka wraps the IOException in a
//     KafkaException, which reaches the client as UNKNOWN_SERVER_ERROR.
//   - the records decompress past the Validator's bound (NewValidator,
//     DefaultMaxUncompressedBytes: 32 MiB), a record
//     declares more than what is left of it, a bare snappy block declares
//     more, or a zstd frame declares a larger window: MESSAGE_TOO_LARGE.
//     Takhin: Kafka has no bound. MESSAGE_TOO_LARGE makes the Java producer
//     split the batch and retry, which is what a legitimate client needs.
//   - a record is malformed (varints, lengths outside the data, fields not
//     filling the record's length, negative header count, null header
//     key): INVALID_RECORD (DefaultRecord.readFrom).
//   - fewer records than RecordCount ("premature EOF") or bytes after the
//     last: INVALID_RECORD (DefaultRecordBatch's record iterators).
//   - offset deltas not 0, 1, …, n-1: INVALID_RECORD. Takhin: Kafka does
//     not look at them in uncompressed batches and rewrites (recompresses)
//     compressed ones; Takhin stores batches as received, and consumers
//     compute offsets from the deltas.
//   - compacted topic, null key: per-record INVALID_RECORD (validateKey).
//   - CreateTime and a timestamp other than -1 with now-ts above
//     message.timestamp.before.max.ms or ts-now above .after.max.ms:
//     per-record INVALID_TIMESTAMP (validateTimestamp; Kafka's arithmetic,
//     wrap-around included). Defaults: Long.MAX_VALUE before, 3600000 after
//     (Kafka 4.0's ServerLogConfigs; 3.x had Long.MAX_VALUE for both).
//   - otherwise, a batch whose timestamp type is LogAppendTime:
//     per-record INVALID_TIMESTAMP (validateTimestamp: producers must not
//     set it). As in Kafka, such a batch's records read as stamped with its
//     MaxTimestamp.
//   - per-record faults are all collected; the batch is INVALID_TIMESTAMP
//     if any was a timestamp, else INVALID_RECORD (processRecordErrors).
//     Takhin lists at most 64 of them in Error.Records.
//
// The maximum timestamp is computed as Kafka does, not checked against the
// header: Kafka rewrites the header's MaxTimestamp (and timestamp type) in
// place for CreateTime topics, which Info.RewriteMaxTimestamp and
// SetCreateTime reproduce.
package records
