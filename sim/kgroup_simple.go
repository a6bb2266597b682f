package sim

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/linearizability"
)

// Simple consumers: clients that use a group only to keep offsets, as a
// consumer with manual assignment or an admin tool does (kadm's
// CommitOffsets, FetchOffsets, DeleteGroups, DeleteOffsets). They commit
// with generation -1 and no member id, so their groups never have
// members and stay Empty, which DeleteGroups needs (NON_EMPTY_GROUP
// otherwise) and OffsetDelete needs to delete any offset. They are
// kmembers with a simpleTeam: the same connection, FindCoordinator and
// backoff rules, the same commit and fetch requests.
//
// A team works as a job that runs under a new group id each time and
// deletes the old group when it moves on: its ids are base.1, base.2, ...,
// and current is the one it commits to. Each consumer, one request at a
// time and after a think time, picks:
//
//   - moving the team on to a new group and deleting the old one
//     (DeleteGroups v2), while the team's other consumers may still have
//     commits to it in flight: nobody commits to the old group again, so
//     if one of those commits outlived the deletion it would stay;
//   - OffsetCommit v8 of a random non-empty subset of the partitions to
//     the current group, each with a value no other commit of the run
//     writes (so a value read back names the one commit that wrote it);
//   - OffsetFetch v8 of every partition, of the current group or of any
//     earlier one (deleted groups must stay deleted);
//   - DeleteGroups of the current group or of one of the two before;
//   - OffsetDelete v0 of a random non-empty subset, in the current group;
//   - after a DeleteGroups answered NONE, an OffsetFetch of that group.
//
// Each operation is register operations in the groupChecker's history: a
// commit writes its values, a deletion writes NoCommittedOffset to each
// partition it deletes, a fetch reads.

// simpleTeam is the simple consumers sharing one succession of groups.
type simpleTeam struct {
	base    string
	current int
}

// id names the team's k-th group.
func (t *simpleTeam) id(k int) string { return fmt.Sprintf("%s.%d", t.base, k) }

// simpleAct starts a simple consumer's next request, on the group it
// sets in m.group.
func (m *kmember) simpleAct() {
	t := m.simple
	m.group = t.id(t.current)
	if m.verify != "" {
		m.group, m.verify = m.verify, ""
		m.readOffsets(allPartitions(), false)
		return
	}
	switch r := m.rng.IntN(100); {
	case r < 4 && !m.draining:
		t.current++
		m.deleteGroup()
	case r < 45:
		m.assigned = m.someParts()
		for _, p := range m.assigned {
			m.positions[p] = m.gc.nextValue()
		}
		m.commit()
	case r < 75:
		if r >= 60 {
			m.group = t.id(1 + m.rng.IntN(t.current))
		}
		m.readOffsets(allPartitions(), false)
	case r < 88:
		if r >= 82 {
			m.group = t.id(max(1, t.current-1-m.rng.IntN(2)))
		}
		m.deleteGroup()
	default:
		m.deleteOffsets(m.someParts())
	}
}

// someParts draws a non-empty subset of the partitions, sorted.
func (m *kmember) someParts() []int32 {
	var parts []int32
	for p := int32(0); p < kPartitions; p++ {
		if m.rng.IntN(2) == 0 {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		parts = append(parts, int32(m.rng.IntN(kPartitions)))
	}
	return parts
}

// deleting starts a deletion's register writes: NoCommittedOffset to
// each of parts.
func (m *kmember) deleting(parts []int32) {
	for _, p := range parts {
		key := registerKey(m.group, p)
		id := m.gc.write(m.id, key, NoCommittedOffset, m.w.now, m.n.incarnation)
		m.pending = append(m.pending, registerOp{id: id, key: key, write: true, partition: p, invoked: m.w.now})
	}
}

func (m *kmember) deleteGroup() {
	req := kmsg.NewPtrDeleteGroupsRequest()
	req.SetVersion(2)
	req.Groups = []string{m.group}
	m.deleting(allPartitions())
	m.gc.counts.Deletes++
	m.send(req, func(resp kmsg.Response) {
		r := resp.(*kmsg.DeleteGroupsResponse)
		if len(r.Groups) != 1 || r.Groups[0].Group != m.group {
			m.n.sink.violation("%s: DeleteGroups of %s answered %v", m.name, m.group, r.Groups)
			m.abandon(linearizability.Indeterminate)
			return
		}
		switch r.Groups[0].ErrorCode {
		case 0:
			m.gc.counts.DeletesAcked++
		case kerr.GroupIDNotFound.Code:
			m.gc.counts.DeletesNotFound++
		}
		m.deleted("DeleteGroups", r.Groups[0].ErrorCode)
	})
}

// deleted ends a deletion's register writes (only writes are pending) by
// its code: NONE took effect; GROUP_ID_NOT_FOUND found no group, so no
// offset to delete (no effect); COORDINATOR_LOAD_IN_PROGRESS refuses
// before looking; the other coordinator errors may report a failed write
// whose tombstones may yet be durable (indeterminate), and send the
// consumer to FindCoordinator. NON_EMPTY_GROUP is a violation: nobody
// ever joins a simple group.
func (m *kmember) deleted(api string, code int16) {
	m.record("deleted", int64(code))
	switch code {
	case 0:
		m.abandon(linearizability.OK)
		if api == "DeleteGroups" {
			m.verify = m.group
		}
		m.think()
	case kerr.GroupIDNotFound.Code:
		m.abandon(linearizability.Failed)
		m.think()
	case kerr.CoordinatorLoadInProgress.Code:
		m.abandon(linearizability.Failed)
		m.groupError(code)
	default:
		m.abandon(linearizability.Indeterminate)
		if !m.groupError(code) {
			m.unexpected(api, code)
		}
	}
}

func (m *kmember) deleteOffsets(parts []int32) {
	req := kmsg.NewPtrOffsetDeleteRequest()
	req.SetVersion(0)
	req.Group = m.group
	t := kmsg.NewOffsetDeleteRequestTopic()
	t.Topic = kTopic
	for _, p := range parts {
		rp := kmsg.NewOffsetDeleteRequestTopicPartition()
		rp.Partition = p
		t.Partitions = append(t.Partitions, rp)
	}
	req.Topics = append(req.Topics, t)
	m.deleting(parts)
	m.gc.counts.OffsetDeletes++
	m.send(req, func(resp kmsg.Response) { m.offsetsDeleted(resp.(*kmsg.OffsetDeleteResponse)) })
}

// offsetsDeleted ends an OffsetDelete: a group-level code as DeleteGroups'
// (deleted), else each partition's. UNKNOWN_TOPIC_OR_PARTITION (the
// clients' topic not created yet, or not yet in the broker's image after
// a restart) may still have been tombstoned: indeterminate.
func (m *kmember) offsetsDeleted(r *kmsg.OffsetDeleteResponse) {
	if r.ErrorCode != 0 {
		m.deleted("OffsetDelete", r.ErrorCode)
		return
	}
	codes := map[int32]int16{}
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			if t.Topic == kTopic {
				codes[p.Partition] = p.ErrorCode
			}
		}
	}
	var worst int16
	acked := true
	for _, op := range m.pending {
		code, ok := codes[op.partition]
		switch {
		case !ok:
			m.n.sink.violation("%s: OffsetDelete answered no code for partition %d", m.name, op.partition)
		case code == 0:
			m.gc.completed(op, linearizability.OK, 0, m.w.now)
			continue
		case code != kerr.UnknownTopicOrPartition.Code:
			worst = code
		}
		acked = false
		m.gc.completed(op, linearizability.Indeterminate, 0, m.w.now)
	}
	m.pending = nil
	m.record("offsets-deleted", int64(worst))
	if acked {
		m.gc.counts.OffsetDeletesAcked++
	}
	if worst != 0 {
		m.unexpected("OffsetDelete", worst)
		return
	}
	m.think()
}
