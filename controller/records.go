package controller

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/takhin-io/takhin/internal/assert"
)

// FormatVersion is the metadata format this code writes and the newest it
// reads. A log bootstrapped by a newer format is refused at start.
const FormatVersion = 1

// recordVersion is the version of every record value's schema; a change to
// any schema bumps it for that type and keeps decoding the old one.
const recordVersion = 1

// Record is one metadata record: the value of one record of a Kafka v2
// batch in the metadata log. The set is closed: Bootstrap, TopicCreated,
// TopicDeleted, PartitionsAdded, ConfigsAltered and ProducerIDBlock.
//
// A value is JSON, {"type":T,"version":V,"data":{…}}, written from structs
// (field order fixed, never a map), so a log dump reads as text and
// encoding is deterministic.
type Record interface{ recordType() string }

// Bootstrap is the first record of every metadata log: the equivalent of
// Kafka's meta.properties, written once when the node first starts.
type Bootstrap struct {
	ClusterID     string `json:"clusterID"` // Kafka's 22-character base64url UUID
	NodeID        int32  `json:"nodeID"`
	FormatVersion int    `json:"formatVersion"`
}

// TopicCreated creates a topic with Partitions partitions.
type TopicCreated struct {
	Name       string        `json:"name"`
	TopicID    TopicID       `json:"topicID"`
	Partitions int32         `json:"partitions"`
	Configs    []ConfigEntry `json:"configs"` // sorted by name, names unique
}

// TopicDeleted removes a topic; its id is never reused.
type TopicDeleted struct {
	TopicID TopicID `json:"topicID"`
}

// PartitionsAdded grows a topic to Count partitions (the new total).
type PartitionsAdded struct {
	TopicID TopicID `json:"topicID"`
	Count   int32   `json:"count"`
}

// ConfigsAltered sets and deletes configs of one resource (an incremental
// alter: configs it does not name keep their values).
type ConfigsAltered struct {
	Resource ResourceRef   `json:"resource"`
	Set      []ConfigEntry `json:"set"`     // sorted by name, names unique
	Deleted  []string      `json:"deleted"` // sorted, unique, disjoint from Set
}

// ResourceRef names a config resource in a record: a topic by id, or a
// broker by node id (-1 for the cluster-wide default, Kafka's broker
// resource with an empty name). Its JSON holds only the field its type
// uses: {"type":2,"topicID":…} or {"type":4,"brokerID":…}.
type ResourceRef struct {
	Type     ResourceType
	TopicID  TopicID
	BrokerID int32
}

type resourceJSON struct {
	Type     ResourceType `json:"type"`
	TopicID  *TopicID     `json:"topicID,omitempty"`
	BrokerID *int32       `json:"brokerID,omitempty"`
}

// MarshalJSON writes the fields of the resource's type.
func (r ResourceRef) MarshalJSON() ([]byte, error) {
	j := resourceJSON{Type: r.Type}
	switch r.Type {
	case ResourceTopic:
		j.TopicID = &r.TopicID
	case ResourceBroker:
		j.BrokerID = &r.BrokerID
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON wrote, strictly: exactly the
// field of the resource's type.
func (r *ResourceRef) UnmarshalJSON(b []byte) error {
	var j resourceJSON
	if err := strictJSON(b, &j); err != nil {
		return err
	}
	switch {
	case j.Type == ResourceTopic && j.TopicID != nil && j.BrokerID == nil:
		*r = ResourceRef{Type: ResourceTopic, TopicID: *j.TopicID}
	case j.Type == ResourceBroker && j.BrokerID != nil && j.TopicID == nil:
		*r = ResourceRef{Type: ResourceBroker, BrokerID: *j.BrokerID}
	default:
		return fmt.Errorf("resource %s", b)
	}
	return nil
}

// ProducerIDBlock allocates the producer ids [Start, Start+Size); ids
// below the last block's end are never handed out again, crash or not.
type ProducerIDBlock struct {
	Start int64 `json:"start"`
	Size  int64 `json:"size"`
}

// ConfigEntry is one config name and its value.
type ConfigEntry struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ResourceType is Kafka's config resource type code.
type ResourceType int8

const (
	ResourceTopic  ResourceType = 2
	ResourceBroker ResourceType = 4
)

// ClusterDefault is the broker id of the cluster-wide broker configs.
const ClusterDefault int32 = -1

func (Bootstrap) recordType() string       { return "Bootstrap" }
func (TopicCreated) recordType() string    { return "TopicCreated" }
func (TopicDeleted) recordType() string    { return "TopicDeleted" }
func (PartitionsAdded) recordType() string { return "PartitionsAdded" }
func (ConfigsAltered) recordType() string  { return "ConfigsAltered" }
func (ProducerIDBlock) recordType() string { return "ProducerIDBlock" }

// envelope is a record value's outer shape.
type envelope struct {
	Type    string          `json:"type"`
	Version int             `json:"version"`
	Data    json.RawMessage `json:"data"`
}

// encodeValue encodes rec as a record value. Our records always encode.
func encodeValue(rec Record) []byte {
	data, err := json.Marshal(rec)
	assert.That(err == nil, "metadata records always encode")
	value, err := json.Marshal(envelope{Type: rec.recordType(), Version: recordVersion, Data: data})
	assert.That(err == nil, "metadata envelopes always encode")
	return value
}

// errUndecodable marks a value decodeValue rejects; callers wrap it in
// ErrCorrupt with the offset.
var errUndecodable = errors.New("undecodable record value")

// decodeValue decodes a record value strictly: unknown types, versions and
// fields, and trailing bytes, are errors.
func decodeValue(value []byte) (Record, error) {
	var env envelope
	if err := strictJSON(value, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", errUndecodable, err)
	}
	rec := newRecord(env.Type)
	if rec == nil {
		return nil, fmt.Errorf("%w: unknown type %q", errUndecodable, env.Type)
	}
	if env.Version != recordVersion {
		return nil, fmt.Errorf("%w: %s version %d, this node reads %d", errUndecodable, env.Type, env.Version, recordVersion)
	}
	if err := strictJSON(env.Data, rec); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errUndecodable, env.Type, err)
	}
	return derefRecord(rec), nil
}

func newRecord(typ string) any {
	switch typ {
	case "Bootstrap":
		return &Bootstrap{}
	case "TopicCreated":
		return &TopicCreated{}
	case "TopicDeleted":
		return &TopicDeleted{}
	case "PartitionsAdded":
		return &PartitionsAdded{}
	case "ConfigsAltered":
		return &ConfigsAltered{}
	case "ProducerIDBlock":
		return &ProducerIDBlock{}
	default:
		return nil
	}
}

func derefRecord(rec any) Record {
	switch r := rec.(type) {
	case *Bootstrap:
		return *r
	case *TopicCreated:
		return *r
	case *TopicDeleted:
		return *r
	case *PartitionsAdded:
		return *r
	case *ConfigsAltered:
		return *r
	case *ProducerIDBlock:
		return *r
	default:
		assert.Failf("unknown record %T", rec)
		return nil
	}
}

// strictJSON decodes exactly one JSON value into v, rejecting unknown
// fields and trailing data.
func strictJSON(b []byte, v any) error {
	if len(b) == 0 {
		return errors.New("empty")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the value")
	}
	return nil
}
