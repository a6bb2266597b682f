package controller

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/takhin-io/takhin/env"
)

// Change is what a proposer asks for: CreateTopic, DeleteTopic,
// CreatePartitions, AlterConfigs or AllocateProducerIDs. The set is
// closed.
type Change interface{ isChange() }

// CreateTopic creates a topic. The broker has already checked the name's
// characters and resolved defaults (a partition count of -1 means
// num.partitions there). ValidateOnly checks without writing anything.
type CreateTopic struct {
	Name         string
	Partitions   int32
	Configs      []ConfigEntry // any order; names must be unique
	ValidateOnly bool
}

// DeleteTopic deletes a topic by ID when ID is set (DeleteTopics v6+),
// else by Name. When both are set they must name the same topic.
type DeleteTopic struct {
	Name string
	ID   TopicID
}

// CreatePartitions grows a topic to Count partitions in total.
type CreatePartitions struct {
	Name         string
	Count        int32
	ValidateOnly bool
}

// AlterConfigs sets and deletes dynamic configs of one resource
// (IncrementalAlterConfigs' SET and DELETE; the broker resolves APPEND and
// SUBTRACT, and the full replacement of the legacy AlterConfigs, into
// these two lists).
type AlterConfigs struct {
	Resource     ConfigResource
	Set          []ConfigEntry // any order; names unique
	Delete       []string      // any order; unique, disjoint from Set
	ValidateOnly bool
}

// ConfigResource names a resource as Kafka's config APIs do: a topic by
// name, or a broker by its node id in decimal ("" for the cluster-wide
// default).
type ConfigResource struct {
	Type ResourceType
	Name string
}

// AllocateProducerIDs allocates a block of Count producer ids
// (AllocateProducerIds; InitProducerId draws from the block).
type AllocateProducerIDs struct {
	Count int64
}

func (CreateTopic) isChange()         {}
func (DeleteTopic) isChange()         {}
func (CreatePartitions) isChange()    {}
func (AlterConfigs) isChange()        {}
func (AllocateProducerIDs) isChange() {}

// result is what a successful change answers besides its offset.
type result struct {
	topicID     TopicID
	producerIDs ProducerIDBlock
}

// plan validates ch against s and returns the record that makes it (nil
// for a validate-only change, or one that changes nothing). It does not
// change s. Random ids are drawn from rng only for records.
func plan(s *state, ch Change, rng *env.Rand) (Record, result, error) {
	switch c := ch.(type) {
	case CreateTopic:
		return planCreateTopic(s, c, rng)
	case DeleteTopic:
		return planDeleteTopic(s, c)
	case CreatePartitions:
		return planCreatePartitions(s, c)
	case AlterConfigs:
		return planAlterConfigs(s, c)
	case AllocateProducerIDs:
		return planAllocateProducerIDs(s, c)
	default:
		return nil, result{}, fmt.Errorf("%w: unknown change %T", ErrInvalidRequest, ch)
	}
}

func planCreateTopic(s *state, c CreateTopic, rng *env.Rand) (Record, result, error) {
	if err := checkTopicName(c.Name); err != nil {
		return nil, result{}, fmt.Errorf("%w: %v", ErrInvalidTopic, err)
	}
	if _, ok := s.topics[c.Name]; ok {
		return nil, result{}, fmt.Errorf("%w: %q", ErrTopicExists, c.Name)
	}
	if c.Partitions < 1 || c.Partitions > PartitionsPerTopicMax {
		return nil, result{}, fmt.Errorf("%w: %d partitions, want 1 to %d", ErrInvalidPartitions, c.Partitions, PartitionsPerTopicMax)
	}
	configs := sortedConfigs(c.Configs)
	if err := checkConfigs(configs); err != nil {
		return nil, result{}, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	if c.ValidateOnly {
		return nil, result{}, nil
	}
	id := randomUUID(rng)
	for _, taken := s.ids[id]; taken; _, taken = s.ids[id] {
		id = randomUUID(rng)
	}
	rec := TopicCreated{Name: c.Name, TopicID: id, Partitions: c.Partitions, Configs: configs}
	return rec, result{topicID: id}, nil
}

func planDeleteTopic(s *state, c DeleteTopic) (Record, result, error) {
	if c.ID.IsZero() {
		if c.Name == "" {
			return nil, result{}, fmt.Errorf("%w: delete names no topic", ErrInvalidRequest)
		}
		t, ok := s.topics[c.Name]
		if !ok {
			return nil, result{}, fmt.Errorf("%w: %q", ErrUnknownTopic, c.Name)
		}
		return TopicDeleted{TopicID: t.ID}, result{topicID: t.ID}, nil
	}
	name, ok := s.ids[c.ID]
	if !ok {
		return nil, result{}, fmt.Errorf("%w: %s", ErrUnknownTopicID, c.ID)
	}
	if c.Name != "" && c.Name != name {
		return nil, result{}, fmt.Errorf("%w: topic id %s is %q, not %q", ErrInvalidRequest, c.ID, name, c.Name)
	}
	return TopicDeleted{TopicID: c.ID}, result{topicID: c.ID}, nil
}

func planCreatePartitions(s *state, c CreatePartitions) (Record, result, error) {
	t, ok := s.topics[c.Name]
	if !ok {
		return nil, result{}, fmt.Errorf("%w: %q", ErrUnknownTopic, c.Name)
	}
	if c.Count <= t.Partitions || c.Count > PartitionsPerTopicMax {
		return nil, result{}, fmt.Errorf("%w: topic %q has %d partitions; %d must be more and at most %d",
			ErrInvalidPartitions, c.Name, t.Partitions, c.Count, PartitionsPerTopicMax)
	}
	if c.ValidateOnly {
		return nil, result{topicID: t.ID}, nil
	}
	return PartitionsAdded{TopicID: t.ID, Count: c.Count}, result{topicID: t.ID}, nil
}

func planAlterConfigs(s *state, c AlterConfigs) (Record, result, error) {
	ref, res, err := resolveResource(s, c.Resource)
	if err != nil {
		return nil, result{}, err
	}
	set, deleted := sortedConfigs(c.Set), slices.Sorted(slices.Values(c.Delete))
	if err := checkAlter(set, deleted); err != nil {
		return nil, result{}, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	if c.ValidateOnly || len(set) == 0 && len(deleted) == 0 {
		return nil, res, nil
	}
	return ConfigsAltered{Resource: ref, Set: set, Deleted: nilIfEmpty(deleted)}, res, nil
}

// resolveResource turns a proposer's resource (by name) into a record's
// (by id).
func resolveResource(s *state, r ConfigResource) (ResourceRef, result, error) {
	switch r.Type {
	case ResourceTopic:
		t, ok := s.topics[r.Name]
		if !ok {
			return ResourceRef{}, result{}, fmt.Errorf("%w: %q", ErrUnknownTopic, r.Name)
		}
		return ResourceRef{Type: ResourceTopic, TopicID: t.ID}, result{topicID: t.ID}, nil
	case ResourceBroker:
		if r.Name == "" {
			return ResourceRef{Type: ResourceBroker, BrokerID: ClusterDefault}, result{}, nil
		}
		id, err := strconv.ParseInt(r.Name, 10, 32)
		if err != nil || id < 0 {
			return ResourceRef{}, result{}, fmt.Errorf("%w: broker resource %q is not a node id", ErrInvalidRequest, r.Name)
		}
		return ResourceRef{Type: ResourceBroker, BrokerID: int32(id)}, result{}, nil
	default:
		return ResourceRef{}, result{}, fmt.Errorf("%w: config resource type %d", ErrInvalidRequest, r.Type)
	}
}

func planAllocateProducerIDs(s *state, c AllocateProducerIDs) (Record, result, error) {
	if c.Count < 1 || c.Count > ProducerIDBlockMax {
		return nil, result{}, fmt.Errorf("%w: %d producer ids, want 1 to %d", ErrInvalidRequest, c.Count, ProducerIDBlockMax)
	}
	if s.nextProducerID > math.MaxInt64-c.Count {
		return nil, result{}, fmt.Errorf("%w: next id %d", ErrProducerIDsExhausted, s.nextProducerID)
	}
	block := ProducerIDBlock{Start: s.nextProducerID, Size: c.Count}
	return block, result{producerIDs: block}, nil
}

// sortedConfigs returns a sorted copy (nil when empty): the caller's
// slice is never reordered.
func sortedConfigs(cs []ConfigEntry) []ConfigEntry {
	out := slices.Clone(cs)
	slices.SortStableFunc(out, func(a, b ConfigEntry) int { return cmp.Compare(a.Name, b.Name) })
	return nilIfEmpty(out)
}
