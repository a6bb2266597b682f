package controller

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/takhin-io/takhin/internal/assert"
	"github.com/takhin-io/takhin/internal/invariants"
	"github.com/takhin-io/takhin/storage"
)

// Limits every record must respect, whoever wrote it.
const (
	// PartitionsPerTopicMax bounds a topic's partition count.
	PartitionsPerTopicMax = 100_000
	// ProducerIDBlockMax bounds one producer-id allocation.
	ProducerIDBlockMax = 1 << 20
	// topicNameBytesMax is Kafka's topic name limit.
	topicNameBytesMax = 249
)

// state is a mutable working copy of an Image: the scratch a batch is
// validated against, and the builder of the next Image. Applying a record
// either changes it and returns nil, or returns why the record cannot
// apply and leaves it unchanged.
type state struct {
	clusterID      string
	nodeID         int32
	formatVersion  int
	end            storage.Offset
	topics         map[string]Topic
	ids            map[TopicID]string
	brokers        map[int32][]ConfigEntry
	nextProducerID int64
}

// edit returns a working copy of img; img is not changed by it.
func (img *Image) edit() *state {
	s := &state{
		clusterID: img.clusterID, nodeID: img.nodeID, formatVersion: img.formatVersion,
		end: img.end, nextProducerID: img.nextProducerID,
		topics:  make(map[string]Topic, len(img.topics)),
		ids:     make(map[TopicID]string, len(img.topics)),
		brokers: make(map[int32][]ConfigEntry, len(img.brokerConfigs)),
	}
	for _, t := range img.topics {
		s.topics[t.Name] = t
		s.ids[t.ID] = t.Name
	}
	for _, b := range img.brokerConfigs {
		s.brokers[b.BrokerID] = b.Configs
	}
	return s
}

// freeze builds the Image of s. Slices are shared with s: s must not be
// changed afterwards.
func (s *state) freeze() *Image {
	img := &Image{
		clusterID: s.clusterID, nodeID: s.nodeID, formatVersion: s.formatVersion,
		end: s.end, nextProducerID: s.nextProducerID,
		byName: make(map[string]int, len(s.topics)),
		byID:   make(map[TopicID]int, len(s.topics)),
	}
	for _, name := range slices.Sorted(maps.Keys(s.topics)) {
		t := s.topics[name]
		img.byName[name] = len(img.topics)
		img.byID[t.ID] = len(img.topics)
		img.topics = append(img.topics, t)
	}
	for _, id := range slices.Sorted(maps.Keys(s.brokers)) {
		img.brokerConfigs = append(img.brokerConfigs, BrokerConfigs{BrokerID: id, Configs: s.brokers[id]})
	}
	assert.That(len(img.byName) == len(img.topics) && len(img.byID) == len(img.topics), "topic names and ids are unique")
	if invariants.Enabled {
		img.checkInvariants()
	}
	return img
}

// checkInvariants states what every Image satisfies (expensive: every
// topic and config).
func (img *Image) checkInvariants() {
	for i, t := range img.topics {
		if i > 0 && img.topics[i-1].Name >= t.Name {
			assert.Failf("topics not sorted at %q", t.Name)
		}
		if t.ID.IsZero() || t.Partitions < 1 || checkConfigs(t.Configs) != nil {
			assert.Failf("topic %q: id %s, %d partitions, configs %v", t.Name, t.ID, t.Partitions, t.Configs)
		}
	}
	for _, b := range img.brokerConfigs {
		if len(b.Configs) == 0 || checkConfigs(b.Configs) != nil {
			assert.Failf("broker %d configs %v", b.BrokerID, b.Configs)
		}
	}
	assert.That(img.nextProducerID >= 0, "next producer id is not negative")
}

// applyBatch applies the records of the batch at base, whose records end
// at next. Offsets only increase.
func (s *state) applyBatch(base, next storage.Offset, records []Record) error {
	if base < s.end || next < base+storage.Offset(len(records)) {
		return fmt.Errorf("batch [%d, %d) with %d records after offset %d", base, next, len(records), s.end)
	}
	for i, rec := range records {
		if err := s.apply(rec); err != nil {
			return fmt.Errorf("record at offset %d (%s): %w", base+storage.Offset(i), rec.recordType(), err)
		}
	}
	s.end = next
	return nil
}

// apply applies one record.
func (s *state) apply(rec Record) error {
	if _, ok := rec.(Bootstrap); !ok && s.clusterID == "" {
		return errors.New("record before Bootstrap")
	}
	switch r := rec.(type) {
	case Bootstrap:
		return s.applyBootstrap(r)
	case TopicCreated:
		return s.applyTopicCreated(r)
	case TopicDeleted:
		return s.applyTopicDeleted(r)
	case PartitionsAdded:
		return s.applyPartitionsAdded(r)
	case ConfigsAltered:
		return s.applyConfigsAltered(r)
	case ProducerIDBlock:
		return s.applyProducerIDBlock(r)
	}
	assert.Failf("unknown record %T", rec)
	return nil
}

func (s *state) applyBootstrap(r Bootstrap) error {
	if s.clusterID != "" {
		return fmt.Errorf("second Bootstrap (cluster %s, node %d)", r.ClusterID, r.NodeID)
	}
	if id, err := ParseUUID(r.ClusterID); err != nil || id.IsZero() {
		return fmt.Errorf("cluster id %q is not a Kafka uuid", r.ClusterID)
	}
	switch {
	case r.NodeID < 0:
		return fmt.Errorf("node id %d", r.NodeID)
	case r.FormatVersion > FormatVersion:
		return fmt.Errorf("bootstrapped with metadata format %d; this node reads up to %d", r.FormatVersion, FormatVersion)
	case r.FormatVersion < 1:
		return fmt.Errorf("metadata format %d", r.FormatVersion)
	}
	s.clusterID, s.nodeID, s.formatVersion = r.ClusterID, r.NodeID, r.FormatVersion
	return nil
}

func (s *state) applyTopicCreated(r TopicCreated) error {
	if err := checkTopicName(r.Name); err != nil {
		return err
	}
	if _, ok := s.topics[r.Name]; ok {
		return fmt.Errorf("topic %q exists", r.Name)
	}
	if _, ok := s.ids[r.TopicID]; ok || r.TopicID.IsZero() {
		return fmt.Errorf("topic id %s is zero or taken", r.TopicID)
	}
	if r.Partitions < 1 || r.Partitions > PartitionsPerTopicMax {
		return fmt.Errorf("%d partitions", r.Partitions)
	}
	if err := checkConfigs(r.Configs); err != nil {
		return err
	}
	s.topics[r.Name] = Topic{Name: r.Name, ID: r.TopicID, Partitions: r.Partitions, Configs: nilIfEmpty(r.Configs)}
	s.ids[r.TopicID] = r.Name
	return nil
}

func (s *state) applyTopicDeleted(r TopicDeleted) error {
	name, ok := s.ids[r.TopicID]
	if !ok {
		return fmt.Errorf("unknown topic id %s", r.TopicID)
	}
	delete(s.topics, name)
	delete(s.ids, r.TopicID)
	return nil
}

func (s *state) applyPartitionsAdded(r PartitionsAdded) error {
	name, ok := s.ids[r.TopicID]
	if !ok {
		return fmt.Errorf("unknown topic id %s", r.TopicID)
	}
	t := s.topics[name]
	if r.Count <= t.Partitions || r.Count > PartitionsPerTopicMax {
		return fmt.Errorf("topic %q from %d to %d partitions", name, t.Partitions, r.Count)
	}
	t.Partitions = r.Count
	s.topics[name] = t
	return nil
}

func (s *state) applyConfigsAltered(r ConfigsAltered) error {
	if err := checkAlter(r.Set, r.Deleted); err != nil {
		return err
	}
	switch r.Resource.Type {
	case ResourceTopic:
		name, ok := s.ids[r.Resource.TopicID]
		if !ok {
			return fmt.Errorf("unknown topic id %s", r.Resource.TopicID)
		}
		t := s.topics[name]
		t.Configs = mergeConfigs(t.Configs, r.Set, r.Deleted)
		s.topics[name] = t
	case ResourceBroker:
		if r.Resource.BrokerID < ClusterDefault {
			return fmt.Errorf("broker id %d", r.Resource.BrokerID)
		}
		if merged := mergeConfigs(s.brokers[r.Resource.BrokerID], r.Set, r.Deleted); merged != nil {
			s.brokers[r.Resource.BrokerID] = merged
		} else {
			delete(s.brokers, r.Resource.BrokerID)
		}
	default:
		return fmt.Errorf("resource type %d", r.Resource.Type)
	}
	return nil
}

func (s *state) applyProducerIDBlock(r ProducerIDBlock) error {
	if r.Start < s.nextProducerID || r.Size < 1 || r.Size > ProducerIDBlockMax || r.Start > math.MaxInt64-r.Size {
		return fmt.Errorf("producer-id block [%d, +%d) with the next id %d", r.Start, r.Size, s.nextProducerID)
	}
	s.nextProducerID = r.Start + r.Size
	return nil
}

// checkTopicName is the controller's sanity check; the broker checks
// Kafka's legal characters before proposing.
func checkTopicName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > topicNameBytesMax {
		return fmt.Errorf("topic name %q", name)
	}
	return nil
}

// checkConfigs checks that configs are sorted by name, with unique,
// non-empty names.
func checkConfigs(cs []ConfigEntry) error {
	for i, c := range cs {
		if c.Name == "" || i > 0 && cs[i-1].Name >= c.Name {
			return fmt.Errorf("configs not sorted, unique and named at %q", c.Name)
		}
	}
	return nil
}

// checkAlter checks an alter's set and deleted lists: each sorted and
// unique, and disjoint.
func checkAlter(set []ConfigEntry, deleted []string) error {
	if err := checkConfigs(set); err != nil {
		return err
	}
	for i, name := range deleted {
		if name == "" || i > 0 && deleted[i-1] >= name {
			return fmt.Errorf("deleted configs not sorted, unique and named at %q", name)
		}
		if _, found := slices.BinarySearchFunc(set, name, func(c ConfigEntry, n string) int { return cmp.Compare(c.Name, n) }); found {
			return fmt.Errorf("config %q both set and deleted", name)
		}
	}
	return nil
}

// mergeConfigs returns a new sorted list: old without deleted, with set
// applied; nil when empty. old is never modified (it may be shared with a
// published Image).
func mergeConfigs(old, set []ConfigEntry, deleted []string) []ConfigEntry {
	merged := make([]ConfigEntry, 0, len(old)+len(set))
	for _, c := range old {
		_, isDeleted := slices.BinarySearch(deleted, c.Name)
		_, isSet := slices.BinarySearchFunc(set, c.Name, func(c ConfigEntry, n string) int { return cmp.Compare(c.Name, n) })
		if !isDeleted && !isSet {
			merged = append(merged, c)
		}
	}
	merged = append(merged, set...)
	slices.SortFunc(merged, func(a, b ConfigEntry) int { return cmp.Compare(a.Name, b.Name) })
	return nilIfEmpty(merged)
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
