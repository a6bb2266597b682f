package controller

// The codec tests: every record type survives value encoding and a whole
// kmsg batch round trip, storage accepts the batches, and every kind of
// bad input — bad JSON, unknown types, versions and fields, broken batches
// and records — is an error, never a panic.

import (
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/storage"
)

func sampleRecords() []Record {
	id := TopicID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	return []Record{
		Bootstrap{ClusterID: randomUUID(env.NewRand(1, "t")).String(), NodeID: 3, FormatVersion: 1},
		TopicCreated{Name: "orders", TopicID: id, Partitions: 6, Configs: []ConfigEntry{{"cleanup.policy", "compact"}, {"retention.ms", "-1"}}},
		TopicCreated{Name: "plain", TopicID: id, Partitions: 1},
		TopicDeleted{TopicID: id},
		PartitionsAdded{TopicID: id, Count: 12},
		ConfigsAltered{Resource: ResourceRef{Type: ResourceTopic, TopicID: id}, Set: []ConfigEntry{{"a", "1"}}, Deleted: []string{"b"}},
		ConfigsAltered{Resource: ResourceRef{Type: ResourceBroker, BrokerID: ClusterDefault}, Set: []ConfigEntry{{"a", ""}}},
		ConfigsAltered{Resource: ResourceRef{Type: ResourceBroker, BrokerID: 0}, Deleted: []string{"a"}},
		ProducerIDBlock{Start: 1000, Size: 1000},
	}
}

func TestValueRoundTrip(t *testing.T) {
	for _, rec := range sampleRecords() {
		t.Run(rec.recordType(), func(t *testing.T) {
			value := encodeValue(rec)
			got, err := decodeValue(value)
			if err != nil {
				t.Fatalf("decode %s: %v", value, err)
			}
			if !reflect.DeepEqual(got, rec) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", got, rec)
			}
		})
	}
}

func TestValueEncoding(t *testing.T) {
	// The encoding is part of the log format: pin one value per shape.
	id := TopicID{15: 1}
	for _, tc := range []struct {
		rec  Record
		want string
	}{
		{TopicDeleted{TopicID: id}, `{"type":"TopicDeleted","version":1,"data":{"topicID":"AAAAAAAAAAAAAAAAAAAAAQ"}}`},
		{ProducerIDBlock{Start: 5, Size: 10}, `{"type":"ProducerIDBlock","version":1,"data":{"start":5,"size":10}}`},
		{ConfigsAltered{Resource: ResourceRef{Type: ResourceBroker, BrokerID: ClusterDefault}, Set: []ConfigEntry{{"k", "v"}}},
			`{"type":"ConfigsAltered","version":1,"data":{"resource":{"type":4,"brokerID":-1},"set":[{"name":"k","value":"v"}],"deleted":null}}`},
		{ConfigsAltered{Resource: ResourceRef{Type: ResourceBroker, BrokerID: 0}, Deleted: []string{"k"}},
			`{"type":"ConfigsAltered","version":1,"data":{"resource":{"type":4,"brokerID":0},"set":null,"deleted":["k"]}}`},
	} {
		if got := string(encodeValue(tc.rec)); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.rec.recordType(), got, tc.want)
		}
	}
}

func TestValueDecodeErrors(t *testing.T) {
	for _, tc := range []struct{ name, value string }{
		{"empty", ``},
		{"not json", `{garbage`},
		{"array", `[1,2]`},
		{"unknown type", `{"type":"Nope","version":1,"data":{}}`},
		{"missing type", `{"version":1,"data":{}}`},
		{"newer version", `{"type":"TopicDeleted","version":2,"data":{"topicID":"AAAAAAAAAAAAAAAAAAAAAQ"}}`},
		{"unknown envelope field", `{"type":"TopicDeleted","version":1,"data":{},"x":1}`},
		{"unknown data field", `{"type":"ProducerIDBlock","version":1,"data":{"start":1,"size":1,"end":2}}`},
		{"bad topic id", `{"type":"TopicDeleted","version":1,"data":{"topicID":"short"}}`},
		{"topic id not base64", `{"type":"TopicDeleted","version":1,"data":{"topicID":"!!!!!!!!!!!!!!!!!!!!!!"}}`},
		{"wrong field type", `{"type":"ProducerIDBlock","version":1,"data":{"start":"one","size":1}}`},
		{"null data", `{"type":"ProducerIDBlock","version":1,"data":null}`},
		{"trailing data", `{"type":"ProducerIDBlock","version":1,"data":{"start":1,"size":1}} {}`},
		{"resource with both ids", `{"type":"ConfigsAltered","version":1,"data":{"resource":{"type":4,"brokerID":1,"topicID":"AAAAAAAAAAAAAAAAAAAAAQ"},"set":null,"deleted":null}}`},
		{"resource without id", `{"type":"ConfigsAltered","version":1,"data":{"resource":{"type":2},"set":null,"deleted":null}}`},
		{"resource of unknown type", `{"type":"ConfigsAltered","version":1,"data":{"resource":{"type":9,"brokerID":1},"set":null,"deleted":null}}`},
		{"resource unknown field", `{"type":"ConfigsAltered","version":1,"data":{"resource":{"type":4,"brokerID":1,"x":1},"set":null,"deleted":null}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := decodeValue([]byte(tc.value))
			if tc.name == "null data" {
				// null decodes to the zero record: apply rejects it.
				if err == nil && (emptyImage.edit().apply(rec) == nil) {
					t.Fatalf("a zero record applied to an empty log")
				}
				return
			}
			if !errors.Is(err, errUndecodable) {
				t.Fatalf("got %v, %v; want errUndecodable", rec, err)
			}
		})
	}
}

func TestBatchRoundTrip(t *testing.T) {
	recs := sampleRecords()
	values := make([][]byte, len(recs))
	for i, r := range recs {
		values[i] = encodeValue(r)
	}
	batch := encodeBatch(values, 1234)
	storage.AssignBatch(batch, 42, 0, 0, false)
	h, err := storage.ValidateBatch(batch)
	if err != nil {
		t.Fatalf("storage rejects the batch: %v", err)
	}
	if h.BaseOffset != 42 || h.RecordCount != int32(len(recs)) || h.LastOffsetDelta != int32(len(recs)-1) ||
		h.MaxTimestamp != 1234 || h.ProducerID != -1 || h.IsControl() {
		t.Fatalf("header %+v", h)
	}
	d, err := decodeBatch(batch)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.records, recs) {
		t.Fatalf("records:\n got %v\nwant %v", d.records, recs)
	}
	// kmsg reads what kmsg wrote, the same way a Kafka client would.
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(batch); err != nil || rb.NumRecords != int32(len(recs)) || uint32(rb.CRC) != h.CRC {
		t.Fatalf("kmsg: %v, %+v", err, rb)
	}
}

func TestBatchDecodeErrors(t *testing.T) {
	good := encodeBatch([][]byte{encodeValue(ProducerIDBlock{Start: 0, Size: 1})}, 0)
	for _, tc := range []struct {
		name  string
		batch func() []byte
	}{
		{"short", func() []byte { return good[:30] }},
		{"crc", func() []byte { b := clone(good); b[len(b)-1] ^= 1; return b }},
		{"compressed", func() []byte { return reseal(good, func(b []byte) { b[22] |= 1 }) }}, // the low byte of Attributes: a codec
		{"record count", func() []byte { return reseal(good, func(b []byte) { binary.BigEndian.PutUint32(b[57:], 2) }) }},
		{"record length", func() []byte { return reseal(good, func(b []byte) { b[storage.BatchHeaderSize] = 0x7f }) }},
		{"offset delta", func() []byte {
			return reseal(encodeBatchDeltas([]int32{1}, "{}"), func([]byte) {})
		}},
		{"null value", func() []byte { return reseal(encodeNullValue(), func([]byte) {}) }},
		{"trailing bytes", func() []byte { return reseal(appendRecordBytes(good, 3), func([]byte) {}) }},
		{"bad value", func() []byte { return rewriteRecord(t, good, 0, []byte(`{"type":"X"}`)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeBatch(tc.batch()); err == nil {
				t.Fatal("decoded")
			}
		})
	}
	if _, err := splitBatches(append(clone(good), 1, 2, 3)); err == nil {
		t.Fatal("trailing bytes after the last batch decoded")
	}
}

func TestRandomUUID(t *testing.T) {
	rng := env.NewRand(7, "uuid")
	seen := map[TopicID]bool{}
	for range 10_000 {
		id := randomUUID(rng)
		s := id.String()
		if len(s) != 22 || strings.HasPrefix(s, "-") || id.IsZero() || id == metadataTopicID || seen[id] {
			t.Fatalf("bad or repeated uuid %s", s)
		}
		if id[6]>>4 != 4 || id[8]>>6 != 2 {
			t.Fatalf("uuid %s is not version 4", s)
		}
		seen[id] = true
		if back, err := ParseUUID(s); err != nil || back != id {
			t.Fatalf("parse %s: %v %v", s, back, err)
		}
	}
}

// FuzzDecodeRecords feeds arbitrary record sections, sealed in a batch
// with a valid CRC (so the fuzzer gets past storage's checks into kmsg's
// record parsing and the JSON values): decoding never panics.
func FuzzDecodeRecords(f *testing.F) {
	for _, r := range sampleRecords() {
		b := encodeBatch([][]byte{encodeValue(r)}, 0)
		f.Add(b[storage.BatchHeaderSize:], int32(1))
	}
	f.Fuzz(func(t *testing.T, records []byte, n int32) {
		b := encodeBatch([][]byte{nil}, 0)[:storage.BatchHeaderSize]
		b = reseal(append(b, records...), func(b []byte) {
			binary.BigEndian.PutUint32(b[57:], uint32(n))
			binary.BigEndian.PutUint32(b[23:], uint32(n-1))
		})
		_, _ = splitBatches(b)
	})
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// reseal applies edit to a copy of batch, fixes the length, and recomputes
// the CRC, so only the record decoding can object.
func reseal(batch []byte, edit func([]byte)) []byte {
	b := clone(batch)
	edit(b)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12)) // Length counts what follows it
	binary.BigEndian.PutUint32(b[17:], storage.BatchCRC(b))
	return b
}

// encodeBatchDeltas builds a one-record batch whose offset delta is wrong.
func encodeBatchDeltas(deltas []int32, value string) []byte {
	b := encodeBatch([][]byte{[]byte(value)}, 0)
	r := kmsg.Record{OffsetDelta: deltas[0], Value: []byte(value)}
	r.Length = int32(len(r.AppendTo(nil)) - 1)
	return append(b[:storage.BatchHeaderSize], r.AppendTo(nil)...)
}

func encodeNullValue() []byte {
	b := encodeBatch([][]byte{[]byte("x")}, 0)
	r := kmsg.Record{Value: nil}
	body := r.AppendTo(nil)[1:]
	r.Length = int32(len(body))
	return append(b[:storage.BatchHeaderSize], r.AppendTo(nil)...)
}

func appendRecordBytes(b []byte, n int) []byte { return append(clone(b), make([]byte, n)...) }

// rewriteRecord replaces the value of the record at offset in a
// concatenation of batches and re-seals its batch.
func rewriteRecord(t testing.TB, log []byte, offset int64, value []byte) []byte {
	t.Helper()
	var out []byte
	for len(log) > 0 {
		h := storage.DecodeBatchHeader(log)
		batch := log[:h.Size()]
		log = log[h.Size():]
		if offset < int64(h.BaseOffset) || offset > int64(h.LastOffset()) {
			out = append(out, batch...)
			continue
		}
		values, err := readRecordValues(batch)
		if err != nil {
			t.Fatal(err)
		}
		values[offset-int64(h.BaseOffset)] = value
		rebuilt := encodeBatch(values, h.MaxTimestamp)
		storage.AssignBatch(rebuilt, h.BaseOffset, h.PartitionLeaderEpoch, 0, false)
		out = append(out, rebuilt...)
	}
	return out
}
