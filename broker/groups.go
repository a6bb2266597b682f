package broker

import (
	"errors"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/takhin-io/takhin/broker/group"
	"github.com/takhin-io/takhin/controller"
	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

// offsetsTopic holds the group coordinator's state (see broker/group).
const offsetsTopic = "__consumer_offsets"

// groupHost gives the group coordinator its log: the partitions of
// __consumer_offsets, reached through their partition machines like any
// produce or fetch, so group commit, fsync and recovery apply unchanged.
type groupHost struct{ b *Broker }

var _ group.Host = groupHost{}

// offsetsLoadBytes bounds one read while a coordinator shard loads.
const offsetsLoadBytes = 1 << 20

func (h groupHost) Append(partition int32, batch []byte, done func(env.Time, int16)) {
	b := h.b
	t, ok := b.topic(offsetsTopic)
	if !ok {
		done(b.now, kerr.UnknownTopicOrPartition.Code)
		return
	}
	b.toPartition(nil, t.ID, partition, func(id replication.RequestID) replication.Event {
		return replication.Produce{Now: b.now, ID: id, Batch: batch, Acks: -1}
	}, func(rep replication.Reply) { done(b.now, partitionCode(rep.Err)) })
}

func (h groupHost) Read(partition int32, from int64, done func(env.Time, group.ReadResult)) {
	b := h.b
	t, ok := b.topic(offsetsTopic)
	if !ok {
		done(b.now, group.ReadResult{Status: group.ReadRetry})
		return
	}
	b.toPartition(nil, t.ID, partition, func(id replication.RequestID) replication.Event {
		return replication.Fetch{Now: b.now, ID: id, From: storage.Offset(from), MaxBytes: offsetsLoadBytes}
	}, func(rep replication.Reply) { done(b.now, readResult(rep)) })
}

func readResult(rep replication.Reply) group.ReadResult {
	r := group.ReadResult{Batches: rep.Batches, HighWatermark: int64(rep.HighWatermark), LogStart: int64(rep.LogStart)}
	switch {
	case rep.Err == nil:
	case errors.Is(rep.Err, replication.ErrOffsetOutOfRange):
		r.Status = group.ReadOutOfRange
	case errors.Is(rep.Err, replication.ErrFailed):
		r.Status = group.ReadFailed // fail-stopped: the shard cannot load
	default:
		r.Status = group.ReadRetry // not recovered or created yet, or a read error
	}
	return r
}

// ensureOffsetsTopic creates __consumer_offsets, as Kafka does on the
// first FindCoordinator for a group: offsets.topic.num.partitions
// partitions, compacted, offsets.topic.segment.bytes segments, replication
// factor capped at the live nodes (one).
func (b *Broker) ensureOffsetsTopic() {
	if _, ok := b.topic(offsetsTopic); ok || b.creatingOffsets {
		return
	}
	b.creatingOffsets = true
	b.log.Info("creating " + offsetsTopic)
	ch := controller.CreateTopic{Name: offsetsTopic, Partitions: b.cfg.OffsetsPartitions, Configs: []controller.ConfigEntry{
		{Name: "cleanup.policy", Value: "compact"},
		{Name: "compression.type", Value: "producer"},
		{Name: "segment.bytes", Value: strconv.FormatInt(int64(max(b.cfg.OffsetsSegmentBytes, 1<<20)), 10)},
	}}
	b.propose(nil, ch, func(controller.Reply) { b.creatingOffsets = false })
}

// GroupCounts returns how many groups this node coordinates, by state
// (for metrics: it walks every group, so the driver samples it).
func (b *Broker) GroupCounts() map[string]int { return b.groups.Counts() }
