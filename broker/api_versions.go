package broker

// ApiVersions (key 18), versions 0-4, as Kafka 4.0.1.
//
// The supported ranges come from dispatch.go's table. A request at a
// version the broker does not handle is answered, as KIP-511 requires,
// with a v0 response carrying UNSUPPORTED_VERSION and ApiVersions' own
// range, without parsing the body (header.go). Not implemented: finalized
// features (KIP-584) beyond an empty list; throttling.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func handleAPIVersions(b *Broker, r *request) {
	req := r.kreq.(*kmsg.ApiVersionsRequest)
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ApiKeys = b.advertisedKeys()
	if r.hdr.APIVersion >= 3 && !validClientSoftware(req.ClientSoftwareName, req.ClientSoftwareVersion) {
		resp.ErrorCode = kerr.InvalidRequest.Code
	}
	b.respond(r, resp)
}

// validClientSoftware applies KIP-511's rule: letters, digits, '.', '-'
// and '_', starting and ending with a letter or digit.
func validClientSoftware(name, version string) bool {
	return softwareToken(name) && softwareToken(version)
}

func softwareToken(s string) bool {
	if s == "" {
		return false
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '.' && c != '-' && c != '_' {
			return false
		}
	}
	return alnum(s[0]) && alnum(s[len(s)-1])
}

// unsupportedAPIVersions answers an ApiVersions request at a version the
// broker does not handle: v0, UNSUPPORTED_VERSION, ApiVersions' range.
func (b *Broker) unsupportedAPIVersions(c *conn, hdr RequestHeader) {
	e := b.apiVersionsEntry()
	resp := UnsupportedApiVersionsResponse(e.advertisedMin, e.max)
	r := &request{c: c, hdr: hdr}
	c.inflight = append(c.inflight, r) // its answer keeps its place in the order
	b.answer(r, AppendResponse(nil, apiVersionsKey, 0, hdr.CorrelationID, resp))
}
