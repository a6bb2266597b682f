package group

import (
	"cmp"
	"math"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/simbug"
)

// CommitArgs is an OffsetCommit request: Generation -1 and no member id
// for a simple consumer.
type CommitArgs struct {
	Version    int16 // OffsetCommit's: from v9 a missing group is GROUP_ID_NOT_FOUND
	Group      string
	Generation int32
	MemberID   string
	InstanceID *string
	// RetentionMs is v2-4's retention time other than Kafka's default -1:
	// the offsets expire that long after the commit. nil (v5+, or -1)
	// leaves them to offsets.retention.minutes.
	RetentionMs *int64
	Offsets     []CommitOffset
}

// CommitOffset is one partition's commit. Code, when set by the caller
// (UNKNOWN_TOPIC_OR_PARTITION), refuses it before the coordinator looks.
type CommitOffset struct {
	TopicPartition
	Offset      int64
	LeaderEpoch int32
	Metadata    *string
	Code        int16
}

// Commit handles OffsetCommit; respond gets one code per offset, once the
// commit is durable (or refused). A commit with no offset left after the
// caller's refusals is answered at once, without looking at the group,
// as Kafka's KafkaApis does: a simple consumer's commit to a deleted
// topic creates no group.
func (c *Coordinator) Commit(now env.Time, a CommitArgs, respond func([]int16)) {
	c.enter()
	defer c.leave()
	respond = later(c, respond)
	codes := make([]int16, len(a.Offsets))
	all := func(code int16) []int16 {
		for i := range codes {
			if codes[i] == 0 {
				codes[i] = code
			}
		}
		return codes
	}
	for i, o := range a.Offsets {
		codes[i] = o.Code
	}
	if !slices.Contains(codes, 0) {
		respond(codes)
		return
	}
	s, g, code := c.commitTarget(now, a)
	if code != 0 {
		respond(all(code))
		return
	}
	var recs []kmsg.Record
	var written []int
	for i, o := range a.Offsets {
		switch {
		case codes[i] != 0:
		case o.Metadata != nil && javaLength(*o.Metadata) > int(c.cfg.OffsetMetadataMaxBytes):
			codes[i] = kerr.OffsetMetadataTooLarge.Code
		default:
			recs = append(recs, record(offsetKey(g.id, o.TopicPartition), offsetValue(toOffset(o, now.WallMs, a.RetentionMs))))
			written = append(written, i)
		}
	}
	if len(recs) == 0 {
		respond(codes)
		return
	}
	if simbug.Active(simbug.CommitBeforeDurable) {
		for _, i := range written {
			g.offsets[a.Offsets[i].TopicPartition] = toOffset(a.Offsets[i], now.WallMs, a.RetentionMs)
		}
		respond(codes)
		c.append(s.partition, batch(now.WallMs, recs), func(env.Time, int16) {})
		return
	}
	for _, i := range written {
		g.committing[a.Offsets[i].TopicPartition]++
	}
	c.append(s.partition, batch(now.WallMs, recs), func(_ env.Time, code int16) {
		code = storeError(code)
		for _, i := range written {
			tp := a.Offsets[i].TopicPartition
			if g.committing[tp]--; g.committing[tp] == 0 {
				delete(g.committing, tp)
			}
			codes[i] = code
			// A group deleted meanwhile (its tombstones cover this
			// commit) does not get it back; the commit is answered as its
			// write went, as Kafka answers it.
			if code == 0 && s.groups[g.id] == g {
				g.offsets[tp] = toOffset(a.Offsets[i], now.WallMs, a.RetentionMs)
			}
		}
		respond(codes)
	})
}

// javaLength is the length of s as Java's String.length counts it, in
// UTF-16 code units: Kafka holds offset.metadata.max.bytes against that,
// not against the UTF-8 bytes (an undecodable byte counts one, as the
// replacement character Java decodes it to).
func javaLength(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++ // a surrogate pair
		}
	}
	return n
}

func toOffset(o CommitOffset, nowMs int64, retentionMs *int64) Offset {
	md := ""
	if o.Metadata != nil {
		md = *o.Metadata
	}
	expire := int64(noExpireTimestamp)
	if retentionMs != nil {
		expire = nowMs + *retentionMs
		if *retentionMs > 0 && expire < nowMs {
			expire = math.MaxInt64 // a retention past the end of time
		}
	}
	return Offset{Offset: o.Offset, LeaderEpoch: o.LeaderEpoch, Metadata: md, CommitTimestamp: nowMs, ExpireTimestamp: expire}
}

// commitTarget finds (or, for a simple consumer, creates) the group a
// commit goes to, with Kafka's checks.
func (c *Coordinator) commitTarget(now env.Time, a CommitArgs) (*shard, *group, int16) {
	if a.Group == "" {
		return nil, nil, kerr.InvalidGroupID.Code
	}
	s, code := c.shardFor(a.Group)
	if code != 0 {
		return nil, nil, code
	}
	g := s.groups[a.Group]
	switch {
	case g == nil && a.Generation < 0:
		g = newGroup(a.Group, now.WallMs)
		s.groups[a.Group] = g
		return s, g, 0
	case g == nil && a.Version >= 9:
		return nil, nil, kerr.GroupIDNotFound.Code
	case g == nil:
		return nil, nil, kerr.IllegalGeneration.Code
	case g.state == Dead || g.deleting:
		return nil, nil, kerr.CoordinatorNotAvailable.Code
	case a.Generation < 0 && g.state == Empty:
		return s, g, 0 // a simple consumer (or an admin client)
	case a.Generation < 0 && a.MemberID == "" && a.InstanceID == nil:
		return nil, nil, kerr.UnknownMemberID.Code // only an Empty group takes those
	}
	// Kafka 4.0's ClassicGroup.validateOffsetCommit order: the member,
	// its generation, then a rebalance still completing.
	m, code := validateMember(g, a.MemberID, a.InstanceID)
	switch {
	case code != 0:
		return nil, nil, code
	case a.Generation != g.generation:
		return nil, nil, kerr.IllegalGeneration.Code
	case g.state == CompletingRebalance:
		return nil, nil, kerr.RebalanceInProgress.Code
	}
	c.heartbeat(now, s, g, m)
	return s, g, 0
}

// FetchedOffset is one partition's committed offset (Offset -1: none).
type FetchedOffset struct {
	TopicPartition
	Offset
}

// Fetch handles one group of OffsetFetch: the committed offsets of the
// partitions asked (nil: every partition with one), and the group's code.
func (c *Coordinator) Fetch(groupID string, asked []TopicPartition) ([]FetchedOffset, int16) {
	s, code := c.shardFor(groupID)
	if code != 0 {
		return nil, code
	}
	g := s.groups[groupID]
	if asked == nil {
		if g == nil {
			return nil, 0
		}
		for tp := range g.offsets {
			asked = append(asked, tp)
		}
		slices.SortFunc(asked, compareTP)
	}
	out := make([]FetchedOffset, len(asked))
	for i, tp := range asked {
		out[i] = FetchedOffset{TopicPartition: tp, Offset: Offset{Offset: -1, LeaderEpoch: -1}}
		if g == nil {
			continue
		}
		if o, ok := g.offsets[tp]; ok {
			out[i].Offset = o
		}
	}
	return out, 0
}

func compareTP(a, b TopicPartition) int {
	return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
}

// DeleteOffsets handles OffsetDelete: the group's code and one code per
// partition, once the deletions are durable. A non-empty group's offsets
// may go only for topics it does not subscribe to.
func (c *Coordinator) DeleteOffsets(now env.Time, groupID string, tps []TopicPartition, respond func(int16, []int16)) {
	c.enter()
	defer c.leave()
	orig := respond
	answer := later(c, func(r deleteOffsetsResult) { orig(r.top, r.codes) })
	respond = func(top int16, codes []int16) { answer(deleteOffsetsResult{top, codes}) }
	codes := make([]int16, len(tps))
	s, code := c.shardFor(groupID)
	if code != 0 {
		respond(code, codes)
		return
	}
	g := s.groups[groupID]
	if g == nil || g.state == Dead {
		respond(kerr.GroupIDNotFound.Code, codes)
		return
	}
	if g.deleting {
		respond(kerr.CoordinatorNotAvailable.Code, codes)
		return
	}
	topics, known := g.subscribed()
	if g.state != Empty && !known && g.protocolType != "consumer" {
		respond(kerr.NonEmptyGroup.Code, codes)
		return
	}
	var recs []kmsg.Record
	var gone []TopicPartition
	for i, tp := range tps {
		if g.state != Empty && (!known || topics[tp.Topic]) {
			codes[i] = kerr.GroupSubscribedToTopic.Code
			continue
		}
		if _, ok := g.offsets[tp]; ok {
			recs = append(recs, record(offsetKey(g.id, tp), nil))
			gone = append(gone, tp)
		}
	}
	if len(recs) == 0 {
		respond(0, codes)
		return
	}
	c.append(s.partition, batch(now.WallMs, recs), func(_ env.Time, code int16) {
		if code = storeError(code); code != 0 {
			respond(code, codes)
			return
		}
		for _, tp := range gone {
			delete(g.offsets, tp)
		}
		respond(0, codes)
	})
}

type deleteOffsetsResult struct {
	top   int16
	codes []int16
}
