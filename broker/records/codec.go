package records

import "github.com/takhin-io/takhin/storage/compression"

// The codecs live in storage/compression (the log cleaner re-encodes the
// batches it filters, and storage cannot import broker); these names keep
// this package's vocabulary. How each codec is read and bounded is told
// there.

// Codec is a batch's compression, the low three bits of its attributes.
type Codec = compression.Codec

// The codecs Kafka defines; ids 5 to 7 are undefined.
const (
	CodecNone   = compression.CodecNone
	CodecGzip   = compression.CodecGzip
	CodecSnappy = compression.CodecSnappy
	CodecLz4    = compression.CodecLz4
	CodecZstd   = compression.CodecZstd
)

const (
	attrCodecMask     = compression.AttrMask
	xerialHeaderBytes = compression.XerialHeaderBytes
)

var (
	errTooLarge = compression.ErrTooLarge
	xerialMagic = compression.XerialMagic
)

// decoders holds one reusable decoder per codec; a Validator owns one.
type decoders = compression.Decoders

func isTooLarge(err error) bool { return compression.IsTooLarge(err) }
