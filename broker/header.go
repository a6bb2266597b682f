// Request and response headers: the one hand-written piece of the wire
// protocol. kmsg reads and writes message bodies but has no server-side
// header codec; this file splits a request frame into header and body and
// writes the size prefix and header in front of a response body.
//
// Request header versions (Kafka's RequestHeader.json):
//
//	v0  api_key int16, api_version int16, correlation_id int32
//	    (only ControlledShutdown v0; removed in Kafka 4.0; rejected here)
//	v1  v0 + client_id NULLABLE_STRING (int16 length, -1 = null)
//	v2  v1 + tagged fields (uvarint count, then per field a uvarint tag,
//	    a uvarint size and that many bytes; every tag is unknown and skipped)
//
// A request uses v2 when its (key, version) is flexible (KIP-482), else v1.
// Response header v0 is correlation_id; v1 adds tagged fields (none: a 0).
//
// The three traps:
//
//  1. In request header v2 client_id is still the NON-compact nullable
//     string, before the tags. Clients send ApiVersions before they know
//     the broker's versions, so the client id reads the same on every broker.
//  2. ApiVersions responses always use response header v0, even at v3+
//     where the body is flexible: a client that does not know the broker's
//     versions yet must still find the correlation id and the error code.
//  3. An ApiVersions request at a version we do not know must still be
//     answered (KIP-511): a v0 response with UNSUPPORTED_VERSION and the
//     ApiVersions range, so the client retries lower. So ParseRequest never
//     fails on it once the fixed 8 bytes are there: it returns the header
//     (the client id only if it reads cleanly) with ErrUnsupported and never
//     looks at the body. See UnsupportedApiVersionsResponse.
//
// Input is never trusted (STYLE rule 16): a bad header returns ErrMalformed,
// and nothing is allocated from a length before it is checked against the
// bytes actually present, so a frame costs at most its own size.
package broker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/internal/assert"
)

var (
	// ErrMalformed: the frame does not hold a well-formed request header.
	// The connection cannot be trusted to stay in sync; close it.
	ErrMalformed = errors.New("broker: malformed request header")
	// ErrUnsupported: kmsg does not know the key or version (or it is
	// ControlledShutdown v0). The fixed fields of the header are valid: the
	// caller answers ApiVersions (trap 3) and closes the connection otherwise.
	ErrUnsupported = errors.New("broker: unsupported request key or version")
)

// RequestHeader is a parsed request header.
type RequestHeader struct {
	APIKey        int16
	APIVersion    int16
	CorrelationID int32
	ClientID      *string // nil when the client sent a null client id
	// HeaderVersion is the layout that was read: 1 or 2 on success; 0 when
	// only the fixed fields (key, version, correlation id) were read.
	HeaderVersion int
}

const (
	apiVersionsKey        int16 = 18
	controlledShutdownKey int16 = 7
	requestFixedBytes           = 8 // key, version, correlation id
	responseSizeBytes           = 4 // the frame's size prefix
	uvarintBytesMax             = 5 // Kafka's unsigned varints are 32-bit
	// errorCodeUnsupportedVersion is kerr.UnsupportedVersion.Code (kerr is
	// not a dependency; the code is fixed by the protocol).
	errorCodeUnsupportedVersion int16 = 35
)

// ParseRequest splits frame (one Kafka frame without its 4-byte size
// prefix) into its header and body. body aliases frame. On ErrMalformed and
// ErrUnsupported the header holds what could be read and body is nil.
func ParseRequest(frame []byte) (RequestHeader, []byte, error) {
	if len(frame) < requestFixedBytes {
		return RequestHeader{}, nil, fmt.Errorf("%w: %d bytes, the fixed fields need %d",
			ErrMalformed, len(frame), requestFixedBytes)
	}
	header := RequestHeader{
		APIKey:        int16(binary.BigEndian.Uint16(frame[0:])),
		APIVersion:    int16(binary.BigEndian.Uint16(frame[2:])),
		CorrelationID: int32(binary.BigEndian.Uint32(frame[4:])),
	}
	rest := frame[requestFixedBytes:]
	headerVersion, known := requestHeaderVersion(header.APIKey, header.APIVersion)
	if !known {
		if header.APIKey == apiVersionsKey {
			header = readClientIDBestEffort(header, rest)
		}
		return header, nil, fmt.Errorf("%w: key %d version %d",
			ErrUnsupported, header.APIKey, header.APIVersion)
	}
	clientID, body, err := readHeaderTail(rest, headerVersion)
	if err != nil {
		return header, nil, fmt.Errorf("key %d version %d: %w", header.APIKey, header.APIVersion, err)
	}
	header.ClientID = clientID
	header.HeaderVersion = headerVersion
	return header, body, nil
}

// requestHeaderVersion is the header layout of (key, version): 2 when kmsg
// says the request is flexible, else 1. known is false for a key or version
// kmsg does not know, and for ControlledShutdown v0 (header v0, obsolete).
// IsFlexible alone is not enough: it answers "version >= N" for any version,
// 99 included, so the range is checked first.
func requestHeaderVersion(key, version int16) (headerVersion int, known bool) {
	request := kmsg.RequestForKey(key)
	if request == nil || version < 0 || version > request.MaxVersion() {
		return 0, false
	}
	if key == controlledShutdownKey && version == 0 {
		return 0, false
	}
	request.SetVersion(version)
	if request.IsFlexible() {
		return 2, true
	}
	return 1, true
}

// readClientIDBestEffort reads the client id of an ApiVersions request at
// an unknown version, for the log line only (trap 3). Newer ApiVersions
// versions stay flexible, so header v2 is the guess; if it does not read
// cleanly the header keeps its fixed fields alone.
func readClientIDBestEffort(header RequestHeader, rest []byte) RequestHeader {
	clientID, _, err := readHeaderTail(rest, 2)
	if err == nil {
		header.ClientID = clientID
		header.HeaderVersion = 2
	}
	return header
}

// readHeaderTail reads what follows the fixed fields: the client id (both
// v1 and v2, trap 1), then for v2 the tagged fields. It returns the body.
func readHeaderTail(src []byte, headerVersion int) (clientID *string, body []byte, err error) {
	clientID, src, err = readNullableString(src)
	if err != nil || headerVersion < 2 {
		return clientID, src, err
	}
	src, err = skipTaggedFields(src)
	return clientID, src, err
}

// readNullableString reads a Kafka NULLABLE_STRING: int16 length, -1 = null.
func readNullableString(src []byte) (*string, []byte, error) {
	if len(src) < 2 {
		return nil, nil, fmt.Errorf("%w: client id length cut short", ErrMalformed)
	}
	length := int(int16(binary.BigEndian.Uint16(src)))
	src = src[2:]
	switch {
	case length == -1:
		return nil, src, nil
	case length < 0:
		return nil, nil, fmt.Errorf("%w: client id length %d", ErrMalformed, length)
	case length > len(src):
		return nil, nil, fmt.Errorf("%w: client id length %d, %d bytes left", ErrMalformed, length, len(src))
	}
	s := string(src[:length])
	return &s, src[length:], nil
}

// skipTaggedFields skips a tagged-field section. Each field takes at least
// two bytes (tag and size), so a count beyond half of what is left is
// refused up front and the loop is bounded by the frame's size.
func skipTaggedFields(src []byte) ([]byte, error) {
	count, src, err := readUvarint(src)
	if err != nil {
		return nil, err
	}
	if uint64(count) > uint64(len(src)/2) {
		return nil, fmt.Errorf("%w: %d tagged fields, %d bytes left", ErrMalformed, count, len(src))
	}
	for range count {
		if _, src, err = readUvarint(src); err != nil { // the tag: none are known
			return nil, err
		}
		var size uint32
		if size, src, err = readUvarint(src); err != nil {
			return nil, err
		}
		if uint64(size) > uint64(len(src)) {
			return nil, fmt.Errorf("%w: tagged field of %d bytes, %d left", ErrMalformed, size, len(src))
		}
		src = src[size:]
	}
	return src, nil
}

// readUvarint reads a 32-bit unsigned varint as kmsg's kbin does: at most
// five bytes, the fifth holding only the top four bits.
func readUvarint(src []byte) (uint32, []byte, error) {
	var value uint32
	for i := 0; i < uvarintBytesMax && i < len(src); i++ {
		b := src[i]
		if i == uvarintBytesMax-1 && b > 0x0f {
			break // more than 32 bits
		}
		value |= uint32(b&0x7f) << (7 * i)
		if b < 0x80 {
			return value, src[i+1:], nil
		}
	}
	return 0, nil, fmt.Errorf("%w: bad or cut-short uvarint", ErrMalformed)
}

// AppendResponse appends a whole response frame to dst: the 4-byte size
// prefix, the response header, then resp's body. key and version must be
// resp's own (a mismatch is a programmer error): version is the version of
// the body written, which for trap 3 is 0, not the version requested.
func AppendResponse(dst []byte, key, version int16, correlationID int32, resp kmsg.Response) []byte {
	if resp == nil || resp.Key() != key || resp.GetVersion() != version {
		assert.Failf("AppendResponse: key %d version %d does not match the response %T", key, version, resp)
	}
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0) // the size, written below
	dst = binary.BigEndian.AppendUint32(dst, uint32(correlationID))
	if responseHeaderVersion(key, resp) == 1 {
		dst = append(dst, 0) // no tagged fields
	}
	dst = resp.AppendTo(dst)
	size := len(dst) - start - responseSizeBytes
	if size > math.MaxInt32 {
		assert.Failf("AppendResponse: key %d response of %d bytes", key, size)
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(size))
	return dst
}

// responseHeaderVersion is 1 for a flexible response, except ApiVersions,
// whose response header is always v0 (trap 2).
func responseHeaderVersion(key int16, resp kmsg.Response) int {
	if key != apiVersionsKey && resp.IsFlexible() {
		return 1
	}
	return 0
}

// UnsupportedApiVersionsResponse is the answer to an ApiVersions request at
// a version we do not support (trap 3, KIP-511): a v0 body with
// UNSUPPORTED_VERSION listing only ApiVersions' own range, which the client
// reads to retry at a version we know. Append it with
// AppendResponse(dst, 18, 0, correlationID, resp).
func UnsupportedApiVersionsResponse(minVersion, maxVersion int16) *kmsg.ApiVersionsResponse {
	if minVersion < 0 || minVersion > maxVersion {
		assert.Failf("UnsupportedApiVersionsResponse: range %d..%d", minVersion, maxVersion)
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.SetVersion(0)
	resp.ErrorCode = errorCodeUnsupportedVersion
	key := kmsg.NewApiVersionsResponseApiKey()
	key.ApiKey = apiVersionsKey
	key.MinVersion = minVersion
	key.MaxVersion = maxVersion
	resp.ApiKeys = append(resp.ApiKeys, key)
	return resp
}
