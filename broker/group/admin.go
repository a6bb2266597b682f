package group

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/assert"
	"github.com/takhin-io/takhin/internal/simbug"
)

// Description is a DescribeGroups answer for one group.
type Description struct {
	Code         int16
	State        string
	ProtocolType string
	Protocol     string
	Members      []MemberDescription
}

// MemberDescription is one member as DescribeGroups lists it.
type MemberDescription struct {
	MemberID, ClientID, ClientHost string
	InstanceID                     *string
	Metadata, Assignment           []byte
}

// Describe handles one group of DescribeGroups. A group that does not
// exist is Dead with no error, as Kafka answers up to v5. Members carry
// their metadata and assignment only when the group is Stable.
func (c *Coordinator) Describe(groupID string) Description {
	s, code := c.shardFor(groupID)
	if code != 0 {
		return Description{Code: code}
	}
	g := s.groups[groupID]
	if g == nil {
		return Description{State: Dead.String()}
	}
	d := Description{State: g.state.String(), ProtocolType: g.protocolType}
	if g.state == Stable {
		d.Protocol = g.protocol
	}
	for _, m := range g.members {
		md := MemberDescription{MemberID: m.id, ClientID: m.clientID, ClientHost: m.clientHost, InstanceID: m.instanceID}
		if g.state == Stable {
			md.Metadata, md.Assignment = m.metadataFor(g.protocol), m.assignment
		}
		d.Members = append(d.Members, md)
	}
	return d
}

// Listed is one group as ListGroups lists it.
type Listed struct {
	Group, ProtocolType, State string
}

// List handles ListGroups: every group of every loaded shard whose state
// (case-insensitively, as Kafka) is in states and whose type is in types
// (empty filters match all; every group here is "classic"). The code is
// COORDINATOR_LOAD_IN_PROGRESS while a shard loads.
func (c *Coordinator) List(states, types []string) ([]Listed, int16) {
	var out []Listed
	var code int16
	typeOK := len(types) == 0 || slices.ContainsFunc(types, func(t string) bool { return equalFold(t, "classic") })
	for _, s := range c.shards {
		if s.state == loading {
			code = kerr.CoordinatorLoadInProgress.Code
		}
		if s.state != loaded || !typeOK {
			continue
		}
		for _, id := range sortedGroupIDs(s) {
			g := s.groups[id]
			st := g.state.String()
			if len(states) > 0 && !slices.ContainsFunc(states, func(x string) bool { return equalFold(x, st) }) {
				continue
			}
			out = append(out, Listed{Group: id, ProtocolType: g.protocolType, State: st})
		}
	}
	return out, code
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

func sortedGroupIDs(s *shard) []string {
	ids := make([]string, 0, len(s.groups))
	for id := range s.groups {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Delete handles DeleteGroups: each group must exist and be Empty; its
// offsets (with those of its commits still in flight) and metadata are
// tombstoned, and it is gone once the tombstones are durable. A failed
// write leaves it as it was, as Kafka 4.0's coordinator runtime reverts
// its state when a write fails. respond gets one code per group once
// every deletion is durable or failed.
func (c *Coordinator) Delete(now env.Time, groupIDs []string, respond func([]int16)) {
	c.enter()
	defer c.leave()
	respond = later(c, respond)
	codes := make([]int16, len(groupIDs))
	waiting := 1
	doneOne := func() {
		if waiting--; waiting == 0 {
			respond(codes)
		}
	}
	for i, id := range groupIDs {
		s, g, code := c.deletable(id)
		if code != 0 {
			codes[i] = code
			continue
		}
		g.deleting = true
		waiting++
		c.append(s.partition, batch(now.WallMs, tombstones(g)), func(_ env.Time, code int16) {
			if codes[i] = storeError(code); codes[i] == 0 {
				c.removeGroup(s, g)
			}
			g.deleting = false
			doneOne()
		})
	}
	doneOne()
}

func (c *Coordinator) deletable(id string) (*shard, *group, int16) {
	if id == "" {
		return nil, nil, kerr.InvalidGroupID.Code
	}
	s, code := c.shardFor(id)
	if code != 0 {
		return nil, nil, code
	}
	g := s.groups[id]
	switch {
	case g == nil || g.state == Dead:
		return nil, nil, kerr.GroupIDNotFound.Code
	case g.deleting:
		return nil, nil, kerr.CoordinatorNotAvailable.Code // the answer depends on that deletion's write
	case g.state != Empty:
		return nil, nil, kerr.NonEmptyGroup.Code
	}
	return s, g, 0
}

// removeGroup drops g, whose tombstones are durable.
func (c *Coordinator) removeGroup(s *shard, g *group) {
	assert.That(s.groups[g.id] == g && g.state == Empty, "a group deleted while its deletion was written")
	g.state = Dead
	delete(s.groups, g.id)
}

// tombstones deletes every offset of g, those of its commits in flight
// too, and g itself.
func tombstones(g *group) []kmsg.Record {
	tps := make([]TopicPartition, 0, len(g.offsets)+len(g.committing))
	for tp := range g.offsets {
		tps = append(tps, tp)
	}
	for tp := range g.committing {
		if _, ok := g.offsets[tp]; !ok && !simbug.Active(simbug.DeleteSkipsCommitsInFlight) {
			tps = append(tps, tp)
		}
	}
	slices.SortFunc(tps, compareTP)
	recs := make([]kmsg.Record, 0, len(tps)+1)
	for _, tp := range tps {
		recs = append(recs, record(offsetKey(g.id, tp), nil))
	}
	return append(recs, record(groupKey(g.id), nil))
}

// expireOffsets is the offsets.retention.check.interval.ms pass (KIP-211):
// an Empty consumer group's offsets expire offsets.retention.minutes after
// it became Empty; a simple group's (no protocol type) each that long
// after its commit, and so do a live consumer group's offsets of topics
// it no longer subscribes to. An Empty group left with no offsets is
// deleted. Memory changes once the tombstones are durable, as for
// DeleteGroups: a failed write leaves everything as the log has it, for
// the next pass.
func (c *Coordinator) expireOffsets(now env.Time, s *shard) {
	var recs []kmsg.Record
	var exps []expiry
	for _, id := range sortedGroupIDs(s) {
		g := s.groups[id]
		if len(g.committing) > 0 || g.deleting {
			continue
		}
		e := expiry{g: g, gone: expired(g, now.WallMs, c.cfg.OffsetsRetentionMs)}
		for _, tp := range e.gone {
			recs = append(recs, record(offsetKey(id, tp), nil))
		}
		if g.state == Empty && len(e.gone) == len(g.offsets) && len(g.pending) == 0 {
			e.drop, g.deleting = true, true
			recs = append(recs, record(groupKey(id), nil))
		}
		if e.drop || len(e.gone) > 0 {
			exps = append(exps, e)
		}
	}
	if len(recs) > 0 {
		c.log.Info("expiring group offsets", zap.Int32("partition", s.partition), zap.Int("records", len(recs)))
		c.append(s.partition, batch(now.WallMs, recs), func(_ env.Time, code int16) {
			if code != 0 {
				c.log.Warn("writing expired offsets failed", zap.Int16("code", code))
			}
			for _, e := range exps {
				c.expire(s, e, code == 0)
			}
		})
	}
	s.expireAt = now.Mono + c.cfg.OffsetsRetentionCheckMs*1_000_000
	c.addTimer(timer{at: s.expireAt, kind: timerExpire, shard: s.partition})
}

// expiry is what one pass expires of one group: offsets, and the group
// itself when drop.
type expiry struct {
	g    *group
	gone []TopicPartition
	drop bool
}

// expire applies e once its write completed, durable or not.
func (c *Coordinator) expire(s *shard, e expiry, durable bool) {
	if e.drop {
		e.g.deleting = false
	}
	if !durable {
		return
	}
	for _, tp := range e.gone {
		delete(e.g.offsets, tp)
	}
	if e.drop {
		c.removeGroup(s, e.g)
	}
}

// Counts returns how many groups each state holds, over the loaded shards
// (for metrics; it walks every group).
func (c *Coordinator) Counts() map[string]int {
	out := map[string]int{}
	for _, st := range stateNames {
		out[st] = 0
	}
	for _, s := range c.shards {
		for _, g := range s.groups {
			out[g.state.String()]++
		}
	}
	return out
}

// expired lists, sorted, g's offsets that have expired at nowMs.
func expired(g *group, nowMs, retention int64) []TopicPartition {
	var subscribed map[string]bool
	known := false
	if g.state != Empty {
		if subscribed, known = g.subscribed(); !known {
			return nil // a live group whose subscriptions are unknown keeps everything
		}
	}
	var gone []TopicPartition
	for tp, o := range g.offsets {
		since := o.CommitTimestamp
		if g.state == Empty && g.protocolType != "" {
			since = g.stateMs
		}
		due := aged(nowMs, since, retention)
		if o.ExpireTimestamp != noExpireTimestamp {
			due = nowMs >= o.ExpireTimestamp // a v2-4 commit's own retention
		}
		if due && (g.state == Empty || !subscribed[tp.Topic]) {
			gone = append(gone, tp)
		}
	}
	slices.SortFunc(gone, compareTP)
	return gone
}

// aged reports whether since is at least retention old at nowMs.
func aged(nowMs, since, retention int64) bool { return nowMs-since >= retention }
