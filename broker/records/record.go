package records

import "github.com/twmb/franz-go/pkg/kbin"

// record is what validation needs of one v2 record.
type record struct {
	timestampDelta int64
	offsetDelta    int32
	keyNull        bool
}

// parseRecord walks one record's body (what follows its length varint)
// with franz-go's kbin varint codec, the one kmsg.Record is generated
// over, and returns why it is malformed, or "". It checks what Kafka's
// DefaultRecord.readFrom checks and kmsg.Record.ReadFrom does not: the
// fields fill the declared length exactly, the header count is not
// negative nor beyond the bytes left, and no header key is null. A Java
// consumer throws on each of these, so such a record stored as received
// would be a poison pill. Record attributes are unused in v2 and not
// checked (nor does Kafka). It allocates nothing.
func parseRecord(body []byte) (record, string) {
	var rec record
	if len(body) < 1 {
		return rec, "no attributes"
	}
	b := body[1:]
	var n int
	if rec.timestampDelta, n = kbin.Varlong(b); n <= 0 {
		return rec, "malformed timestamp delta"
	}
	b = b[n:]
	if rec.offsetDelta, n = kbin.Varint(b); n <= 0 {
		return rec, "malformed offset delta"
	}
	b = b[n:]
	var ok bool
	if b, rec.keyNull, ok = skipBytes(b); !ok {
		return rec, "malformed key"
	}
	if b, _, ok = skipBytes(b); !ok {
		return rec, "malformed value"
	}
	headers, n := kbin.Varint(b)
	if n <= 0 || headers < 0 || int(headers) > len(b)-n {
		return rec, "invalid number of record headers"
	}
	b = b[n:]
	for range headers {
		var null bool
		if b, null, ok = skipBytes(b); !ok || null {
			return rec, "malformed or null header key"
		}
		if b, _, ok = skipBytes(b); !ok {
			return rec, "malformed header value"
		}
	}
	if len(b) != 0 {
		return rec, "the record's length runs past its fields"
	}
	return rec, ""
}

// skipBytes skips a varint-length-prefixed byte field. A negative length
// is null (Kafka reads every negative length as null, not just -1).
func skipBytes(b []byte) (rest []byte, null, ok bool) {
	l, n := kbin.Varint(b)
	if n <= 0 {
		return b, false, false
	}
	b = b[n:]
	if l < 0 {
		return b, true, true
	}
	if int(l) > len(b) {
		return b, false, false
	}
	return b[l:], false, true
}
