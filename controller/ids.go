package controller

import (
	"encoding/base64"
	"fmt"

	"github.com/takhin-io/takhin/env"
)

// TopicID is a Kafka topic id: a UUID, never all-zero. It prints, and
// encodes in records, as Kafka prints a Uuid: 22 characters of unpadded
// base64url.
type TopicID [16]byte

// metadataTopicID is the id Kafka reserves for __cluster_metadata
// (Uuid.METADATA_TOPIC_ID, 0…01); random ids never take it.
var metadataTopicID = TopicID{15: 1}

// IsZero reports the zero id, which names no topic (Kafka's ZERO_UUID).
func (id TopicID) IsZero() bool { return id == TopicID{} }

// String is Kafka's Uuid.toString.
func (id TopicID) String() string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// MarshalText encodes the id as String does.
func (id TopicID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText parses what MarshalText wrote.
func (id *TopicID) UnmarshalText(text []byte) error {
	parsed, err := ParseUUID(string(text))
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}

// ParseUUID parses Kafka's 22-character base64url form of a UUID.
func ParseUUID(s string) (TopicID, error) {
	var id TopicID
	if len(s) != 22 {
		return id, fmt.Errorf("uuid %q: %d characters, want 22", s, len(s))
	}
	n, err := base64.RawURLEncoding.Strict().Decode(id[:], []byte(s))
	if err != nil || n != len(id) {
		return TopicID{}, fmt.Errorf("uuid %q: not base64url", s)
	}
	return id, nil
}

// randomUUID draws a version-4 UUID as Kafka's Uuid.randomUuid does: never
// the zero or the metadata topic id, and never one whose string form starts
// with '-' (it would read as a command-line flag).
func randomUUID(rng *env.Rand) TopicID {
	for {
		var id TopicID
		hi, lo := rng.Uint64(), rng.Uint64()
		for i := range 8 {
			id[i] = byte(hi >> (56 - 8*i))
			id[8+i] = byte(lo >> (56 - 8*i))
		}
		id[6] = id[6]&0x0f | 0x40 // version 4
		id[8] = id[8]&0x3f | 0x80 // IETF variant
		if !id.IsZero() && id != metadataTopicID && id.String()[0] != '-' {
			return id
		}
	}
}
