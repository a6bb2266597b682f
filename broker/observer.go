package broker

import (
	"reflect"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/env"
)

// Observer is told about every request the broker served, as its answer
// leaves the machine: the driver turns these into metrics. It is called on
// the broker machine's goroutine, inside Step, so it must not block, must
// not call back into the broker, and must not keep RequestDone.Errors. A
// nil Observer costs nothing; the simulator passes nil, and nothing the
// observer does feeds back into the machine (the machine stays
// deterministic).
type Observer interface {
	RequestDone(RequestDone)
}

// RequestDone describes one served request.
type RequestDone struct {
	APIKey, APIVersion int16
	// RequestBytes and ResponseBytes are the frames' sizes, size prefix
	// included; ResponseBytes is 0 when no response is sent (acks=0).
	RequestBytes, ResponseBytes int
	// LatencyNs is monotonic time from the moment the broker began serving
	// the request (its frame decoded; a frame queued behind a full
	// pipeline waits before that) to the moment its response left, in
	// request order, behind those before it.
	LatencyNs int64
	// Errors holds every non-zero error code of the response, one per
	// occurrence (a per-partition error counts once per partition, as
	// Kafka's ErrorsPerSec does). Valid only during the call.
	Errors []int16
	// FetchedBytes is the record-batch bytes a Fetch response returned
	// (Kafka's BytesOutPerSec); 0 for other APIs.
	FetchedBytes int
}

// requestStats is what a request carries for its RequestDone.
type requestStats struct {
	start        int64 // monotonic ns when it began being served
	errors       []int16
	fetchedBytes int
}

// observeResponse records what RequestDone will report about resp.
func (b *Broker) observeResponse(r *request, resp kmsg.Response) {
	if b.cfg.Observer == nil {
		return
	}
	r.stats.errors = appendErrorCodes(r.stats.errors[:0], reflect.ValueOf(resp))
	if f, ok := resp.(*kmsg.FetchResponse); ok {
		for _, t := range f.Topics {
			for _, p := range t.Partitions {
				r.stats.fetchedBytes += len(p.RecordBatches)
			}
		}
	}
}

// requestDone reports r, whose answer (frame, nil for none) is leaving.
func (b *Broker) requestDone(r *request) {
	if b.cfg.Observer == nil {
		return
	}
	b.cfg.Observer.RequestDone(RequestDone{
		APIKey: r.hdr.APIKey, APIVersion: r.hdr.APIVersion,
		RequestBytes: env.FrameHeaderBytes + r.size, ResponseBytes: len(r.frame),
		LatencyNs: b.now.Mono - r.stats.start,
		Errors:    r.stats.errors, FetchedBytes: r.stats.fetchedBytes,
	})
}

// errorCodeField is the name every kmsg response uses for an error code.
const errorCodeField = "ErrorCode"

// appendErrorCodes appends the non-zero int16 ErrorCode fields found in v,
// walking structs, pointers to structs and slices of them (kmsg responses
// are plain trees of these); byte slices, strings and tag maps are
// skipped. Generic over every API, so new handlers are counted without a
// table to keep in step.
func appendErrorCodes(codes []int16, v reflect.Value) []int16 {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			codes = appendErrorCodes(codes, v.Elem())
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			switch k := f.Kind(); {
			case k == reflect.Int16: // the name only now: Type.Field copies
				if c := int16(f.Int()); c != 0 && t.Field(i).Name == errorCodeField {
					codes = append(codes, c)
				}
			case walksInto(k, f.Type()):
				codes = appendErrorCodes(codes, f)
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			codes = appendErrorCodes(codes, v.Index(i))
		}
	}
	return codes
}

// walksInto reports whether a field of this kind can hold error codes.
func walksInto(k reflect.Kind, t reflect.Type) bool {
	switch k {
	case reflect.Struct:
		return true
	case reflect.Pointer, reflect.Slice:
		e := t.Elem().Kind()
		return e == reflect.Struct || e == reflect.Pointer
	}
	return false
}
