package group

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/storage"
)

// Record versions written, as Kafka 4.0 writes them for classic groups:
// OffsetCommitKey v1 with OffsetCommitValue v3 (leader epoch; v4 is
// flexible and only needed for topic ids), or v1 for an offset with an
// expire timestamp; GroupMetadataKey v2 with GroupMetadataValue v3
// (static members).
const (
	offsetKeyVersion   = 1
	offsetValueVersion = 3
	groupKeyVersion    = 2
	groupValueVersion  = 3
)

func offsetKey(groupID string, tp TopicPartition) []byte {
	k := kmsg.NewOffsetCommitKey()
	k.Version, k.Group, k.Topic, k.Partition = offsetKeyVersion, groupID, tp.Topic, tp.Partition
	return k.AppendTo(nil)
}

// offsetValue is o as stored: v3, or v1 (no leader epoch) when it has an
// expire timestamp, as Kafka writes it.
func offsetValue(o Offset) []byte {
	v := kmsg.NewOffsetCommitValue()
	v.Version, v.Offset, v.LeaderEpoch, v.Metadata, v.CommitTimestamp = offsetValueVersion, o.Offset, o.LeaderEpoch, o.Metadata, o.CommitTimestamp
	if o.ExpireTimestamp != noExpireTimestamp {
		v.Version, v.ExpireTimestamp = 1, o.ExpireTimestamp
	}
	return v.AppendTo(nil)
}

func groupKey(groupID string) []byte {
	k := kmsg.NewGroupMetadataKey()
	k.Version, k.Group = groupKeyVersion, groupID
	return k.AppendTo(nil)
}

// groupValue is g as stored; assign overrides the members' assignments
// (the leader's SyncGroup), nil keeps them.
func groupValue(g *group, assign map[string][]byte) []byte {
	v := kmsg.NewGroupMetadataValue()
	v.Version, v.ProtocolType, v.Generation, v.CurrentStateTimestamp = groupValueVersion, g.protocolType, g.generation, g.stateMs
	if g.protocol != "" {
		v.Protocol = &g.protocol
	}
	if g.leader != "" && len(g.members) > 0 {
		v.Leader = &g.leader
	}
	for _, m := range g.members {
		vm := kmsg.NewGroupMetadataValueMember()
		vm.MemberID, vm.InstanceID, vm.ClientID, vm.ClientHost = m.id, m.instanceID, m.clientID, m.clientHost
		vm.RebalanceTimeoutMillis, vm.SessionTimeoutMillis = m.rebalMs, m.sessionMs
		vm.Subscription = m.metadataFor(g.protocol)
		vm.Assignment = m.assignment
		if assign != nil {
			vm.Assignment = assign[m.id]
		}
		if vm.Subscription == nil {
			vm.Subscription = []byte{}
		}
		if vm.Assignment == nil {
			vm.Assignment = []byte{}
		}
		v.Members = append(v.Members, vm)
	}
	return v.AppendTo(nil)
}

// batch encodes records as one uncompressed batch stamped nowMs.
func batch(nowMs int64, records []kmsg.Record) []byte { return storage.EncodeBatch(records, nowMs) }

func record(key, value []byte) kmsg.Record {
	r := kmsg.Record{Key: key, Value: value}
	return r
}

// storeGroup writes g's metadata (with assign, see groupValue) and calls
// done with the outcome.
func (c *Coordinator) storeGroup(s *shard, g *group, assign map[string][]byte, done func(env.Time, int16)) {
	b := batch(g.stateMs, []kmsg.Record{record(groupKey(g.id), groupValue(g, assign))})
	c.append(s.partition, b, done)
}

func (c *Coordinator) logStoreFailure(g *group) func(env.Time, int16) {
	return func(_ env.Time, code int16) {
		if code != 0 {
			c.log.Warn("storing group metadata failed", zap.String("group", g.id), zap.Int16("code", code))
		}
	}
}

// storeError maps the code of a failed append to what a group request
// answers, as Kafka's GroupMetadataManager does.
func storeError(code int16) int16 {
	switch code {
	case 0:
		return 0
	case kerr.UnknownTopicOrPartition.Code, kerr.NotEnoughReplicas.Code, kerr.NotEnoughReplicasAfterAppend.Code,
		kerr.RequestTimedOut.Code:
		return kerr.CoordinatorNotAvailable.Code
	case kerr.NotLeaderForPartition.Code, kerr.KafkaStorageError.Code:
		return kerr.NotCoordinator.Code
	case kerr.MessageTooLarge.Code, kerr.RecordListTooLarge.Code, kerr.InvalidFetchSize.Code:
		return kerr.InvalidCommitOffsetSize.Code
	case kerr.CoordinatorLoadInProgress.Code, kerr.CoordinatorNotAvailable.Code, kerr.NotCoordinator.Code:
		return code
	}
	return kerr.UnknownServerError.Code
}

var errBadRecord = errors.New("group: undecodable record")

// replay applies one stored batch while loading.
func (c *Coordinator) replay(now env.Time, s *shard, b []byte) error {
	recs, err := storage.ReadRecords(b)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := c.replayRecord(now, s, r); err != nil {
			return err
		}
	}
	return nil
}

func (c *Coordinator) replayRecord(now env.Time, s *shard, r kmsg.Record) error {
	if len(r.Key) < 2 {
		return fmt.Errorf("%w: key of %d bytes", errBadRecord, len(r.Key))
	}
	switch version := int16(r.Key[0])<<8 | int16(r.Key[1]); version {
	case 0, 1:
		var k kmsg.OffsetCommitKey
		if err := k.ReadFrom(r.Key); err != nil {
			return fmt.Errorf("%w: offset commit key: %v", errBadRecord, err)
		}
		return c.replayOffset(now, s, k, r.Value)
	case 2:
		var k kmsg.GroupMetadataKey
		if err := k.ReadFrom(r.Key); err != nil {
			return fmt.Errorf("%w: group metadata key: %v", errBadRecord, err)
		}
		return c.replayGroup(now, s, k.Group, r.Value)
	default:
		return fmt.Errorf("%w: key version %d", errBadRecord, version)
	}
}

func (c *Coordinator) replayOffset(now env.Time, s *shard, k kmsg.OffsetCommitKey, value []byte) error {
	tp := TopicPartition{Topic: k.Topic, Partition: k.Partition}
	g := s.groups[k.Group]
	if value == nil {
		if g != nil {
			delete(g.offsets, tp)
		}
		return nil
	}
	var v kmsg.OffsetCommitValue
	if err := v.ReadFrom(value); err != nil {
		return fmt.Errorf("%w: offset commit value: %v", errBadRecord, err)
	}
	if g == nil {
		g = newGroup(k.Group, now.WallMs)
		s.groups[k.Group] = g
	}
	epoch, expire := v.LeaderEpoch, int64(noExpireTimestamp)
	if v.Version < 3 {
		epoch = -1
	}
	if v.Version == 1 {
		expire = v.ExpireTimestamp // -1 (none) unless a v2-4 commit set it
	}
	g.offsets[tp] = Offset{Offset: v.Offset, LeaderEpoch: epoch, Metadata: v.Metadata, CommitTimestamp: v.CommitTimestamp,
		ExpireTimestamp: expire}
	return nil
}

// replayGroup restores a group from its metadata record: Empty without
// members, else Stable with the stored members, whose sessions start now.
func (c *Coordinator) replayGroup(now env.Time, s *shard, id string, value []byte) error {
	old := s.groups[id]
	if value == nil {
		delete(s.groups, id)
		return nil
	}
	var v kmsg.GroupMetadataValue
	if err := v.ReadFrom(value); err != nil {
		return fmt.Errorf("%w: group metadata value: %v", errBadRecord, err)
	}
	g := newGroup(id, v.CurrentStateTimestamp)
	if old != nil {
		g.offsets = old.offsets
	}
	g.protocolType, g.generation = v.ProtocolType, v.Generation
	if v.Protocol != nil {
		g.protocol = *v.Protocol
	}
	for _, vm := range v.Members {
		m := &member{id: vm.MemberID, instanceID: vm.InstanceID, clientID: vm.ClientID, clientHost: vm.ClientHost,
			sessionMs: vm.SessionTimeoutMillis, rebalMs: vm.RebalanceTimeoutMillis,
			protocols: []Protocol{{Name: g.protocol, Metadata: vm.Subscription}}, assignment: vm.Assignment}
		g.members = append(g.members, m)
		if m.instanceID != nil {
			g.static[*m.instanceID] = m.id
		}
	}
	if len(g.members) > 0 {
		g.state, g.leader = Stable, g.members[0].id
		if v.Leader != nil && g.member(*v.Leader) != nil {
			g.leader = *v.Leader
		}
	}
	s.groups[id] = g
	return nil
}

// afterLoad starts what a loaded shard runs: the restored members'
// sessions and the offset-expiry pass.
func (c *Coordinator) afterLoad(now env.Time, s *shard) {
	for _, id := range sortedGroupIDs(s) {
		g := s.groups[id]
		for _, m := range g.members {
			c.heartbeat(now, s, g, m)
		}
	}
	s.expireAt = now.Mono + c.cfg.OffsetsRetentionCheckMs*1_000_000
	c.addTimer(timer{at: s.expireAt, kind: timerExpire, shard: s.partition})
}
