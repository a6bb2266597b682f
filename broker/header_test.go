// Goal: pin the header codec of header.go against kmsg — the only other
// implementation of the protocol we link — for every API key and every
// version kmsg knows; pin each of the three traps by name; and show that
// malformed or hostile headers come back as ErrMalformed or ErrUnsupported,
// never as a panic or an allocation sized by a lying length.
//
// Where each trap is pinned:
//   - trap 1 (v2 client id is non-compact): TestParseRequestRoundTrip, whose
//     model writes an int16-length client id before the tags, checked
//     against kmsg's RequestFormatter at every flexible version.
//   - trap 2 (ApiVersions responses have header v0): TestAppendResponse,
//     at every ApiVersions version, flexible v3+ included.
//   - trap 3 (unknown ApiVersions versions are answered): TestUnsupportedApiVersions
//     and the "ApiVersions v99" rows of parseCases.
package broker_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
	"pgregory.net/rapid"

	"github.com/takhin-io/takhin/broker"
)

// tag is one raw tagged field of a flexible request header.
type tag struct {
	number uint32
	data   []byte
}

var (
	// clientIDs: null, empty, fixed non-ASCII, and arbitrary Unicode past
	// 255 bytes (so a one-byte length would show).
	clientIDs = rapid.OneOf(
		rapid.Just[*string](nil),
		rapid.Ptr(rapid.SampledFrom([]string{"", "kgo", "ünïcödé-客户端-🙂"}), false),
		rapid.Ptr(rapid.StringN(0, -1, 300), false),
	)
	// tagSets: the unknown tagged fields a newer client might send; sizes
	// past 127 make the size uvarint two bytes long.
	tagSets = rapid.SliceOfN(rapid.Custom(func(t *rapid.T) tag {
		return tag{rapid.Uint32().Draw(t, "number"), rapid.SliceOfN(rapid.Byte(), 0, 200).Draw(t, "data")}
	}), 0, 4)
)

// appendFixed writes the fixed fields every request header starts with.
func appendFixed(dst []byte, key, version int16, correlationID int32) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(key))
	dst = binary.BigEndian.AppendUint16(dst, uint16(version))
	return binary.BigEndian.AppendUint32(dst, uint32(correlationID))
}

// appendNullableString writes a NULLABLE_STRING: int16 length, -1 = null.
func appendNullableString(dst []byte, s *string) []byte {
	if s == nil {
		return binary.BigEndian.AppendUint16(dst, math.MaxUint16) // -1
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(*s)))
	return append(dst, *s...)
}

// modelFrame is the request frame as the protocol guide defines it:
// fixed ‖ nullable client id ‖ [tag count ‖ (tag ‖ size ‖ data)*] ‖ body.
// Kafka's unsigned varints are Go's uvarints for values below 2^32.
func modelFrame(key, version int16, correlationID int32, clientID *string, headerVersion int, tags []tag, body []byte) []byte {
	frame := appendFixed(nil, key, version, correlationID)
	frame = appendNullableString(frame, clientID)
	if headerVersion == 2 {
		frame = binary.AppendUvarint(frame, uint64(len(tags)))
		for _, field := range tags {
			frame = binary.AppendUvarint(frame, uint64(field.number))
			frame = binary.AppendUvarint(frame, uint64(len(field.data)))
			frame = append(frame, field.data...)
		}
	}
	return append(frame, body...)
}

// formatRequest is kmsg's client-side encoding of a request, without the
// size prefix (checked here). A nil client id is the formatter's default.
func formatRequest(t rapid.TB, req kmsg.Request, correlationID int32, clientID *string) []byte {
	formatter := kmsg.NewRequestFormatter()
	if clientID != nil {
		formatter = kmsg.NewRequestFormatter(kmsg.FormatterClientID(*clientID))
	}
	out := formatter.AppendRequest(nil, req, correlationID)
	if size := int(binary.BigEndian.Uint32(out)); size != len(out)-4 {
		t.Fatalf("formatter size prefix %d, frame %d bytes", size, len(out)-4)
	}
	return out[4:]
}

// TestParseRequestRoundTrip is the property test of the request side.
//
// Model: a request frame is modelFrame(key, version, correlation id,
// client id, header version, tags, body) with body = req.AppendTo(nil) and
// header version 2 exactly when kmsg says (key, version) is flexible, else 1.
// ParseRequest inverts it: it returns the same key, version, correlation id,
// client id and header version, and exactly body, whatever the tags; and
// kmsg reads that body back. kmsg's RequestFormatter (which never writes
// header tags) must produce the model frame with no tags, so the model is
// not ours alone; the tagged variant is built from the model.
// ControlledShutdown v0 (header v0) is the one exception: ErrUnsupported.
func TestParseRequestRoundTrip(t *testing.T) {
	for key := int16(0); key <= kmsg.MaxKey; key++ {
		proto := kmsg.RequestForKey(key)
		if proto == nil {
			t.Fatalf("kmsg knows no request for key %d below MaxKey %d", key, kmsg.MaxKey)
		}
		t.Run(kmsg.NameForKey(key), func(t *testing.T) {
			rapid.Check(t, func(rt *rapid.T) {
				correlationID := rapid.Int32().Draw(rt, "correlationID")
				clientID := clientIDs.Draw(rt, "clientID")
				tags := tagSets.Draw(rt, "tags")
				for version := int16(0); version <= proto.MaxVersion(); version++ {
					checkRequest(rt, key, version, correlationID, clientID, tags)
				}
			})
		})
	}
}

func checkRequest(t *rapid.T, key, version int16, correlationID int32, clientID *string, tags []tag) {
	req := kmsg.RequestForKey(key)
	req.SetVersion(version)
	body := req.AppendTo(nil)
	if key == 7 && version == 0 {
		// ControlledShutdown v0 has header v0 (no client id). kmsg's
		// formatter returns early there, writing neither the size nor the
		// body, so the frame is built by hand. We reject it as obsolete.
		frame := append(appendFixed(nil, key, version, correlationID), body...)
		header, gotBody, err := broker.ParseRequest(frame)
		if !errors.Is(err, broker.ErrUnsupported) || gotBody != nil || header.CorrelationID != correlationID {
			t.Fatalf("ControlledShutdown v0: got %s, body %x, err %v; want ErrUnsupported", describe(header), gotBody, err)
		}
		return
	}
	formatted := formatRequest(t, req, correlationID, clientID)
	headerVersion := 1
	if req.IsFlexible() {
		headerVersion = 2
	}
	if want := modelFrame(key, version, correlationID, clientID, headerVersion, nil, body); !bytes.Equal(formatted, want) {
		t.Fatalf("%s v%d: formatter wrote %x, model says %x", kmsg.NameForKey(key), version, formatted, want)
	}
	want := broker.RequestHeader{APIKey: key, APIVersion: version, CorrelationID: correlationID,
		ClientID: clientID, HeaderVersion: headerVersion}
	checkParsed(t, formatted, want, body)
	if headerVersion == 2 && len(tags) > 0 {
		checkParsed(t, modelFrame(key, version, correlationID, clientID, 2, tags, body), want, body)
	}
}

// checkParsed asserts ParseRequest(frame) gives want and exactly body, and
// that kmsg reads body at want's key and version.
func checkParsed(t *rapid.T, frame []byte, want broker.RequestHeader, body []byte) {
	got, gotBody, err := broker.ParseRequest(frame)
	name := kmsg.NameForKey(want.APIKey)
	if err != nil {
		t.Fatalf("%s v%d: %v", name, want.APIVersion, err)
	}
	if !sameHeader(got, want) {
		t.Fatalf("%s v%d: got %s, want %s", name, want.APIVersion, describe(got), describe(want))
	}
	if !bytes.Equal(gotBody, body) {
		t.Fatalf("%s v%d: body %x, want %x", name, want.APIVersion, gotBody, body)
	}
	req := kmsg.RequestForKey(want.APIKey)
	req.SetVersion(want.APIVersion)
	if err := req.ReadFrom(gotBody); err != nil {
		t.Fatalf("%s v%d: kmsg cannot read the body: %v", name, want.APIVersion, err)
	}
}

func sameHeader(a, b broker.RequestHeader) bool {
	sameClientID := (a.ClientID == nil) == (b.ClientID == nil) &&
		(a.ClientID == nil || *a.ClientID == *b.ClientID)
	a.ClientID, b.ClientID = nil, nil
	return a == b && sameClientID
}

func describe(h broker.RequestHeader) string {
	clientID := "<null>"
	if h.ClientID != nil {
		clientID = fmt.Sprintf("%q", *h.ClientID)
	}
	return fmt.Sprintf("{key %d version %d correlation %d client id %s header v%d}",
		h.APIKey, h.APIVersion, h.CorrelationID, clientID, h.HeaderVersion)
}

// TestAppendResponse is the property test of the response side.
//
// Model: AppendResponse(dst, …) = dst ‖ size ‖ correlation id ‖ [0, the
// empty tag section, when the response is flexible and not ApiVersions] ‖
// resp.AppendTo(nil), with size counting everything after itself. The
// header is read back by hand, and kmsg reads the body back. For
// ApiVersions (trap 2) the header is v0 at every version, and the test
// checks that flexible versions were among those covered.
func TestAppendResponse(t *testing.T) {
	for key := int16(0); key <= kmsg.MaxKey; key++ {
		proto := kmsg.ResponseForKey(key)
		if proto == nil {
			t.Fatalf("kmsg knows no response for key %d below MaxKey %d", key, kmsg.MaxKey)
		}
		t.Run(kmsg.NameForKey(key), func(t *testing.T) {
			rapid.Check(t, func(rt *rapid.T) {
				correlationID := rapid.Int32().Draw(rt, "correlationID")
				prefix := rapid.SliceOfN(rapid.Byte(), 0, 16).Draw(rt, "dst")
				for version := int16(0); version <= proto.MaxVersion(); version++ {
					checkResponse(rt, key, version, correlationID, prefix)
				}
			})
		})
	}
	flexible := kmsg.NewPtrApiVersionsResponse()
	flexible.SetVersion(flexible.MaxVersion())
	if !flexible.IsFlexible() {
		t.Fatal("no flexible ApiVersions version: trap 2 is not exercised")
	}
}

func checkResponse(t *rapid.T, key, version int16, correlationID int32, prefix []byte) {
	resp := kmsg.ResponseForKey(key)
	resp.SetVersion(version)
	body := resp.AppendTo(nil)
	dst := append([]byte(nil), prefix...)
	out := broker.AppendResponse(dst, key, version, correlationID, resp)
	name := kmsg.NameForKey(key)
	if !bytes.Equal(out[:len(prefix)], prefix) {
		t.Fatalf("%s v%d: dst overwritten", name, version)
	}
	frame := out[len(prefix):]
	if size := int(binary.BigEndian.Uint32(frame)); size != len(frame)-4 {
		t.Fatalf("%s v%d: size prefix %d, frame %d bytes", name, version, size, len(frame)-4)
	}
	if got := int32(binary.BigEndian.Uint32(frame[4:])); got != correlationID {
		t.Fatalf("%s v%d: correlation id %d, want %d", name, version, got, correlationID)
	}
	rest := frame[8:]
	headerV1 := resp.IsFlexible() && key != 18
	if headerV1 {
		if len(rest) == 0 || rest[0] != 0 {
			t.Fatalf("%s v%d: header v1 without an empty tag section: %x", name, version, rest)
		}
		rest = rest[1:]
	}
	if !bytes.Equal(rest, body) {
		t.Fatalf("%s v%d (header v1 %v): body %x, want %x", name, version, headerV1, rest, body)
	}
	fresh := kmsg.ResponseForKey(key)
	fresh.SetVersion(version)
	if err := fresh.ReadFrom(rest); err != nil {
		t.Fatalf("%s v%d: kmsg cannot read the body: %v", name, version, err)
	}
}

// TestUnsupportedApiVersions pins trap 3 end to end: an ApiVersions
// request at a version kmsg does not know comes back as its header plus
// ErrUnsupported whatever follows the fixed fields, and the answer is a
// v0 ApiVersionsResponse with UNSUPPORTED_VERSION (35) behind header v0.
func TestUnsupportedApiVersions(t *testing.T) {
	clientID := "kgo"
	garbage := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	tests := []struct {
		name string
		tail []byte
		want broker.RequestHeader
	}{
		{"header v2 and a body of garbage", append(modelFrame(18, 99, 7, &clientID, 2, nil, nil)[8:], garbage...),
			broker.RequestHeader{APIKey: 18, APIVersion: 99, CorrelationID: 7, ClientID: &clientID, HeaderVersion: 2}},
		{"garbage after the fixed fields", garbage, broker.RequestHeader{APIKey: 18, APIVersion: 99, CorrelationID: 7}},
		{"client id length beyond the frame", []byte{0x75, 0x30, 'k'}, broker.RequestHeader{APIKey: 18, APIVersion: 99, CorrelationID: 7}},
		{"the fixed fields only", nil, broker.RequestHeader{APIKey: 18, APIVersion: 99, CorrelationID: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header, body, err := broker.ParseRequest(append(appendFixed(nil, 18, 99, 7), tt.tail...))
			if !errors.Is(err, broker.ErrUnsupported) || body != nil || !sameHeader(header, tt.want) {
				t.Fatalf("got %s, body %x, err %v; want %s and ErrUnsupported", describe(header), body, err, describe(tt.want))
			}
		})
	}
	resp := broker.UnsupportedApiVersionsResponse(0, 4)
	out := broker.AppendResponse([]byte{0xaa}, 18, 0, 7, resp)
	want := []byte{0xaa,
		0, 0, 0, 16, // size
		0, 0, 0, 7, // correlation id; header v0
		0, 35, // UNSUPPORTED_VERSION
		0, 0, 0, 1, 0, 18, 0, 0, 0, 4, // [ApiVersions 0..4]
	}
	if !bytes.Equal(out, want) {
		t.Fatalf("unsupported ApiVersions answer %x, want %x", out, want)
	}
	read := kmsg.NewPtrApiVersionsResponse()
	read.SetVersion(0)
	if err := read.ReadFrom(out[9:]); err != nil || read.ErrorCode != 35 || len(read.ApiKeys) != 1 {
		t.Fatalf("kmsg reads %+v, %v", read, err)
	}
}

// parseCases are table rows for ParseRequest, invalid inputs first; the
// fuzz target seeds its corpus from them too. want holds the fields the
// caller may still rely on after an error.
var parseCases = []struct {
	name    string
	frame   []byte
	wantErr error
	want    broker.RequestHeader
	body    []byte
}{
	{"empty frame", nil, broker.ErrMalformed, broker.RequestHeader{}, nil},
	{"seven bytes", appendFixed(nil, 3, 0, 1)[:7], broker.ErrMalformed, broker.RequestHeader{}, nil},
	{"client id length cut short", cat(appendFixed(nil, 3, 0, 1), 0x00), broker.ErrMalformed, fixed(3, 0, 1), nil},
	{"client id length beyond the frame", cat(appendFixed(nil, 3, 0, 1), 0x75, 0x30, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'),
		broker.ErrMalformed, fixed(3, 0, 1), nil},
	{"client id length -2", cat(appendFixed(nil, 3, 0, 1), 0xff, 0xfe, 'a'), broker.ErrMalformed, fixed(3, 0, 1), nil},
	{"client id length -32768", cat(appendFixed(nil, 3, 0, 1), 0x80, 0x00), broker.ErrMalformed, fixed(3, 0, 1), nil},
	{"header v2 without a tag count", cat(appendFixed(nil, 18, 3, 1), 0xff, 0xff), broker.ErrMalformed, fixed(18, 3, 1), nil},
	{"header v2 tag size beyond the frame", cat(appendFixed(nil, 18, 3, 1), 0xff, 0xff, 1, 0, 100, 'a', 'b', 'c'),
		broker.ErrMalformed, fixed(18, 3, 1), nil},
	{"header v2 huge tag count", cat(appendFixed(nil, 18, 3, 1), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f),
		broker.ErrMalformed, fixed(18, 3, 1), nil},
	{"header v2 tag count past 32 bits", cat(appendFixed(nil, 18, 3, 1), 0xff, 0xff, 0x80, 0x80, 0x80, 0x80, 0x10),
		broker.ErrMalformed, fixed(18, 3, 1), nil},
	{"header v2 uvarint past five bytes", cat(appendFixed(nil, 18, 3, 1), 0xff, 0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00),
		broker.ErrMalformed, fixed(18, 3, 1), nil},
	{"header v2 tag number cut short", cat(appendFixed(nil, 18, 3, 1), 0xff, 0xff, 1, 0x80), broker.ErrMalformed, fixed(18, 3, 1), nil},
	{"unknown key 9999", cat(appendFixed(nil, 9999, 0, 5), 0xff, 0xff), broker.ErrUnsupported, fixed(9999, 0, 5), nil},
	{"negative key", appendFixed(nil, -1, 0, 5), broker.ErrUnsupported, fixed(-1, 0, 5), nil},
	{"Produce v99", cat(appendFixed(nil, 0, 99, 5), 0xff, 0xff), broker.ErrUnsupported, fixed(0, 99, 5), nil},
	{"Produce v-1", cat(appendFixed(nil, 0, -1, 5), 0xff, 0xff), broker.ErrUnsupported, fixed(0, -1, 5), nil},
	{"ControlledShutdown v0", cat(appendFixed(nil, 7, 0, 5), 0, 1, 0, 0, 0, 2), broker.ErrUnsupported, fixed(7, 0, 5), nil},
	{"ApiVersions v99", appendFixed(nil, 18, 99, 5), broker.ErrUnsupported, fixed(18, 99, 5), nil},
	{"ApiVersions v-1 with garbage", cat(appendFixed(nil, 18, -1, 5), 0x80), broker.ErrUnsupported, fixed(18, -1, 5), nil},
	{"header v1 null client id, empty body", cat(appendFixed(nil, 18, 0, 6), 0xff, 0xff), nil,
		broker.RequestHeader{APIKey: 18, CorrelationID: 6, HeaderVersion: 1}, []byte{}},
	{"header v2 skips an unknown tag", cat(appendFixed(nil, 18, 3, 6), 0xff, 0xff, 1, 0x90, 0x4e, 2, 'x', 'y', 0xb0, 0xd9),
		nil, broker.RequestHeader{APIKey: 18, APIVersion: 3, CorrelationID: 6, HeaderVersion: 2}, []byte{0xb0, 0xd9}},
}

func cat(a []byte, b ...byte) []byte { return append(a, b...) }

func fixed(key, version int16, correlationID int32) broker.RequestHeader {
	return broker.RequestHeader{APIKey: key, APIVersion: version, CorrelationID: correlationID}
}

func TestParseRequestTable(t *testing.T) {
	for _, tt := range parseCases {
		t.Run(tt.name, func(t *testing.T) {
			header, body, err := broker.ParseRequest(tt.frame)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if !sameHeader(header, tt.want) {
				t.Errorf("header %s, want %s", describe(header), describe(tt.want))
			}
			if !bytes.Equal(body, tt.body) || (err != nil) != (body == nil) {
				t.Errorf("body %x, want %x", body, tt.body)
			}
		})
	}
}

// TestParseRequestAllocatesNoMoreThanTheFrame: a 20-byte frame whose
// client id claims 30000 bytes, and a header whose tag claims 2^31, are
// refused without allocating anything near those sizes (only the error).
func TestParseRequestAllocatesNoMoreThanTheFrame(t *testing.T) {
	frames := [][]byte{
		cat(appendFixed(nil, 3, 0, 1), 0x75, 0x30, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'),
		cat(appendFixed(nil, 18, 3, 1), 0xff, 0xff, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x08, 'a'),
	}
	const runs = 100
	for _, frame := range frames {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range runs {
			if _, _, err := broker.ParseRequest(frame); !errors.Is(err, broker.ErrMalformed) {
				t.Fatalf("frame %x: err %v, want ErrMalformed", frame, err)
			}
		}
		runtime.ReadMemStats(&after)
		if perRun := (after.TotalAlloc - before.TotalAlloc) / runs; perRun > 1024 {
			t.Errorf("frame of %d bytes: %d bytes allocated per parse", len(frame), perRun)
		}
	}
}

// FuzzParseRequest: ParseRequest never panics; an error is ErrMalformed or
// ErrUnsupported with a nil body and, past 8 bytes, the frame's fixed
// fields; on success the body is the frame's own tail (a suffix, aliased,
// not copied) and the frame starts with the re-encoded fixed fields and
// client id. `make fuzz` runs it as
//
//	$(GO) test -run XXX -fuzz FuzzParseRequest -fuzztime $(FUZZTIME) ./broker/
func FuzzParseRequest(f *testing.F) {
	for _, tt := range parseCases {
		f.Add(tt.frame)
	}
	clientID := "fuzz"
	for _, key := range []int16{0, 1, 3, 18} {
		req := kmsg.RequestForKey(key)
		for _, version := range []int16{0, req.MaxVersion()} {
			req.SetVersion(version)
			f.Add(kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID)).AppendRequest(nil, req, 42)[4:])
		}
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		header, body, err := broker.ParseRequest(frame)
		if err != nil {
			if !errors.Is(err, broker.ErrMalformed) && !errors.Is(err, broker.ErrUnsupported) || body != nil {
				t.Fatalf("err %v, body %x", err, body)
			}
			if len(frame) >= 8 && !bytes.Equal(appendFixed(nil, header.APIKey, header.APIVersion, header.CorrelationID), frame[:8]) {
				t.Fatalf("fixed fields %s do not match the frame %x", describe(header), frame[:8])
			}
			return
		}
		if len(body) > len(frame) || len(body) > 0 && &body[0] != &frame[len(frame)-len(body)] {
			t.Fatalf("body %x is not the tail of frame %x", body, frame)
		}
		prefix := appendNullableString(appendFixed(nil, header.APIKey, header.APIVersion, header.CorrelationID), header.ClientID)
		if !bytes.HasPrefix(frame, prefix) || header.HeaderVersion == 1 && len(prefix)+len(body) != len(frame) {
			t.Fatalf("header %s does not re-encode to the start of frame %x", describe(header), frame)
		}
	})
}
