package sim

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/linearizability"
	"github.com/takhin-io/takhin/storage"
)

// The group members' requests, one function per API (see kgroup.go).

func (m *kmember) findCoordinator() {
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.SetVersion(4)
	req.CoordinatorType, req.CoordinatorKeys = 0, []string{m.group}
	m.send(req, func(resp kmsg.Response) {
		r := resp.(*kmsg.FindCoordinatorResponse)
		if len(r.Coordinators) != 1 {
			m.n.sink.violation("%s: FindCoordinator answered %d coordinators for one key", m.name, len(r.Coordinators))
			return
		}
		switch c := r.Coordinators[0]; {
		case c.ErrorCode == 0 && (c.Host != m.n.name() || c.NodeID != m.n.id):
			m.n.sink.violation("%s: the coordinator is %s (node %d), not the only node", m.name, c.Host, c.NodeID)
		case c.ErrorCode == 0:
			m.needFind = false
			m.after(0)
		case m.groupError(c.ErrorCode):
		default:
			m.unexpected("FindCoordinator", c.ErrorCode)
		}
	})
}

func (m *kmember) join() {
	req := kmsg.NewPtrJoinGroupRequest()
	req.SetVersion(9)
	req.Group, req.MemberID, req.ProtocolType = m.group, m.memberID, kProtocolType
	req.SessionTimeoutMillis = m.opts.SessionTimeoutMs
	req.RebalanceTimeoutMillis = kRebalanceFactor * m.opts.SessionTimeoutMs
	meta := kmsg.ConsumerMemberMetadata{Version: 0, Topics: []string{kTopic}}
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = kProtocol, meta.AppendTo(nil)
	req.Protocols = append(req.Protocols, p)
	m.send(req, func(resp kmsg.Response) { m.joinedGroup(resp.(*kmsg.JoinGroupResponse)) })
}

func (m *kmember) joinedGroup(r *kmsg.JoinGroupResponse) {
	m.record("joined", int64(r.ErrorCode), int64(r.Generation))
	switch {
	case r.ErrorCode == kerr.MemberIDRequired.Code && m.memberID == "" && r.MemberID != "":
		m.memberID = r.MemberID
		m.after(0)
	case r.ErrorCode == 0:
		if r.Protocol == nil || *r.Protocol != kProtocol || r.ProtocolType == nil || *r.ProtocolType != kProtocolType ||
			r.MemberID != m.memberID {
			m.n.sink.violation("%s: JoinGroup chose protocol %v/%v for member %s (it is %s)", m.name,
				strOrNil(r.ProtocolType), strOrNil(r.Protocol), r.MemberID, m.memberID)
			return
		}
		m.gc.counts.Joins++
		m.phase, m.generation, m.joined = phSync, r.Generation, nil
		if r.LeaderID == m.memberID {
			m.joined = r.Members
		}
		m.after(0)
	case m.groupError(r.ErrorCode):
	default:
		m.unexpected("JoinGroup", r.ErrorCode)
	}
}

func strOrNil(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func (m *kmember) sync() {
	req := kmsg.NewPtrSyncGroupRequest()
	req.SetVersion(5)
	req.Group, req.Generation, req.MemberID = m.group, m.generation, m.memberID
	pt, pr := kProtocolType, kProtocol
	req.ProtocolType, req.Protocol = &pt, &pr
	var view []string
	if m.joined != nil {
		var ok bool
		if req.GroupAssignment, view, ok = m.assign(); !ok {
			return
		}
	}
	gen := m.generation
	m.send(req, func(resp kmsg.Response) { m.synced(resp.(*kmsg.SyncGroupResponse), gen, view) })
}

// assign is the leader's range assignment of the topic's partitions over
// the members its JoinGroup answer listed, in member id order.
func (m *kmember) assign() ([]kmsg.SyncGroupRequestGroupAssignment, []string, bool) {
	var ids []string
	for _, jm := range m.joined {
		var meta kmsg.ConsumerMemberMetadata
		if err := meta.ReadFrom(jm.ProtocolMetadata); err != nil || !slices.Equal(meta.Topics, []string{kTopic}) {
			m.n.sink.violation("%s: member %s's subscription came back as %v (%v)", m.name, jm.MemberID, meta.Topics, err)
			return nil, nil, false
		}
		ids = append(ids, jm.MemberID)
	}
	slices.Sort(ids)
	var out []kmsg.SyncGroupRequestGroupAssignment
	next := int32(0)
	for i, id := range ids {
		n := int32(kPartitions / len(ids))
		if i < kPartitions%len(ids) {
			n++
		}
		a := kmsg.ConsumerMemberAssignment{Version: 0}
		if n > 0 {
			t := kmsg.NewConsumerMemberAssignmentTopic()
			t.Topic = kTopic
			for p := next; p < next+n; p++ {
				t.Partitions = append(t.Partitions, p)
			}
			a.Topics = append(a.Topics, t)
		}
		next += n
		sa := kmsg.NewSyncGroupRequestGroupAssignment()
		sa.MemberID, sa.MemberAssignment = id, a.AppendTo(nil)
		out = append(out, sa)
	}
	return out, ids, true
}

func (m *kmember) synced(r *kmsg.SyncGroupResponse, gen int32, view []string) {
	m.record("synced", int64(r.ErrorCode), int64(gen))
	switch {
	case r.ErrorCode == 0:
		parts, ok := m.decodeAssignment(r)
		if !ok {
			return
		}
		m.gc.synced(m.group, gen, m.memberID, parts, view)
		m.phase, m.assigned = phOffsets, parts
		m.heartbeatAt = m.w.now + int64(m.opts.SessionTimeoutMs)*1_000_000/3
		m.after(0)
	case m.groupError(r.ErrorCode):
		if m.needFind {
			m.phase = phJoin // kgo rejoins after a failed sync
		}
	default:
		m.unexpected("SyncGroup", r.ErrorCode)
	}
}

// decodeAssignment reads a SyncGroup answer's assignment: partitions of
// the topic only, sorted, each in range.
func (m *kmember) decodeAssignment(r *kmsg.SyncGroupResponse) ([]int32, bool) {
	if r.Protocol == nil || *r.Protocol != kProtocol || r.ProtocolType == nil || *r.ProtocolType != kProtocolType {
		m.n.sink.violation("%s: SyncGroup answered protocol %s/%s", m.name, strOrNil(r.ProtocolType), strOrNil(r.Protocol))
		return nil, false
	}
	var a kmsg.ConsumerMemberAssignment
	if len(r.MemberAssignment) == 0 {
		return []int32{}, true // a member the leader left out (Kafka sends empty bytes)
	}
	if err := a.ReadFrom(r.MemberAssignment); err != nil {
		m.n.sink.violation("%s: undecodable assignment: %v", m.name, err)
		return nil, false
	}
	parts := []int32{}
	for _, t := range a.Topics {
		for _, p := range t.Partitions {
			if t.Topic != kTopic || p < 0 || p >= kPartitions {
				m.n.sink.violation("%s: assigned %s-%d, which it never subscribed to", m.name, t.Topic, p)
				return nil, false
			}
			parts = append(parts, p)
		}
	}
	slices.Sort(parts)
	return parts, true
}

func (m *kmember) heartbeat() {
	req := kmsg.NewPtrHeartbeatRequest()
	req.SetVersion(4)
	req.Group, req.Generation, req.MemberID = m.group, m.generation, m.memberID
	m.send(req, func(resp kmsg.Response) {
		code := resp.(*kmsg.HeartbeatResponse).ErrorCode
		m.record("heartbeat", int64(code))
		switch {
		case code == 0:
			m.heartbeatAt = m.w.now + int64(m.opts.SessionTimeoutMs)*1_000_000/3
			m.think()
		case m.groupError(code):
		default:
			m.unexpected("Heartbeat", code)
		}
	})
}

// leave sends LeaveGroup; whatever the answer, the member goes away and
// a new one joins later.
func (m *kmember) leave() {
	req := kmsg.NewPtrLeaveGroupRequest()
	req.SetVersion(5)
	req.Group = m.group
	lm := kmsg.NewLeaveGroupRequestMember()
	lm.MemberID = m.memberID
	req.Members = append(req.Members, lm)
	m.send(req, func(resp kmsg.Response) {
		m.gc.counts.MemberLeaves++
		m.record("left", int64(resp.(*kmsg.LeaveGroupResponse).ErrorCode))
		m.phase = phAway
		m.w.schedule(m.w.now+1_000_000+m.rng.Int64N(kRestartNsMax), nil, func() {
			m.reset()
			m.after(0)
		})
	})
}

// readOffsets reads the group's committed offsets of parts (OffsetFetch
// v8): each a register read. start: the answer sets the positions and
// the member starts consuming.
func (m *kmember) readOffsets(parts []int32, start bool) {
	if len(parts) == 0 && start {
		m.phase = phConsume
		m.think()
		return
	}
	req := kmsg.NewPtrOffsetFetchRequest()
	req.SetVersion(8)
	g := kmsg.NewOffsetFetchRequestGroup()
	g.Group = m.group
	t := kmsg.NewOffsetFetchRequestGroupTopic()
	t.Topic, t.Partitions = kTopic, parts
	g.Topics = append(g.Topics, t)
	req.Groups = append(req.Groups, g)
	for _, p := range parts {
		key := registerKey(m.group, p)
		m.pending = append(m.pending, registerOp{id: m.gc.read(m.id, key, m.w.now), key: key, partition: p, invoked: m.w.now})
	}
	m.send(req, func(resp kmsg.Response) { m.offsetsRead(resp.(*kmsg.OffsetFetchResponse), start) })
}

func (m *kmember) offsetsRead(r *kmsg.OffsetFetchResponse, start bool) {
	if len(r.Groups) != 1 || r.Groups[0].ErrorCode != 0 {
		m.abandon(linearizability.Failed)
		if len(r.Groups) == 1 && m.groupError(r.Groups[0].ErrorCode) {
			return
		}
		m.n.sink.violation("%s: OffsetFetch answered %d groups (%v)", m.name, len(r.Groups), r.Groups)
		return
	}
	got := map[int32]kmsg.OffsetFetchResponseGroupTopicPartition{}
	for _, t := range r.Groups[0].Topics {
		for _, p := range t.Partitions {
			if t.Topic == kTopic {
				got[p.Partition] = p
			}
		}
	}
	for _, op := range m.pending {
		p, ok := got[op.partition]
		switch {
		case !ok || p.ErrorCode != 0:
			m.gc.completed(op, linearizability.Failed, 0, m.w.now)
		default:
			m.gc.completed(op, linearizability.OK, p.Offset, m.w.now)
			if start {
				m.positions[op.partition] = max(p.Offset, 0) // none committed: from the earliest
			}
		}
	}
	m.pending = nil
	if start {
		m.phase = phConsume
	}
	m.think()
}

// commit commits the positions of the assigned partitions (OffsetCommit
// v8, with the generation): each a register write.
func (m *kmember) commit() {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.SetVersion(8)
	req.Group, req.Generation, req.MemberID = m.group, m.generation, m.memberID
	t := kmsg.NewOffsetCommitRequestTopic()
	t.Topic = kTopic
	for _, p := range m.assigned {
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch = p, m.positions[p], -1
		t.Partitions = append(t.Partitions, rp)
		key := registerKey(m.group, p)
		m.pending = append(m.pending, registerOp{id: m.gc.write(m.id, key, m.positions[p], m.w.now, m.n.incarnation),
			key: key, write: true, partition: p, invoked: m.w.now})
	}
	req.Topics = append(req.Topics, t)
	m.topicSeen = m.n.image != nil
	if m.topicSeen {
		_, m.topicSeen = m.n.image.Topic(kTopic)
	}
	m.send(req, func(resp kmsg.Response) { m.committed(resp.(*kmsg.OffsetCommitResponse)) })
}

func (m *kmember) committed(r *kmsg.OffsetCommitResponse) {
	codes := map[int32]int16{}
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			if t.Topic == kTopic {
				codes[p.Partition] = p.ErrorCode
			}
		}
	}
	var worst int16
	for _, op := range m.pending {
		code, ok := codes[op.partition]
		switch {
		case !ok:
			m.n.sink.violation("%s: OffsetCommit answered no code for partition %d", m.name, op.partition)
			m.gc.completed(op, linearizability.Indeterminate, 0, m.w.now)
		case code == 0:
			m.gc.completed(op, linearizability.OK, 0, m.w.now)
		case commitRejected(code):
			m.gc.completed(op, linearizability.Failed, 0, m.w.now)
		default:
			m.gc.completed(op, linearizability.Indeterminate, 0, m.w.now)
		}
		if code != 0 {
			worst = code
		}
	}
	m.pending = nil
	m.record("committed", int64(worst))
	switch {
	case worst == 0:
		m.think()
	case worst == kerr.UnknownTopicOrPartition.Code && !m.topicSeen:
		// Kafka refuses commits for a topic it does not know: the Kafka
		// clients have not created theirs yet (a crash or a full disk
		// may hold it back). Keep consuming and commit again later.
		m.gc.counts.CommitsBeforeTopic++
		m.think()
	case m.groupError(worst):
	default:
		m.unexpected("OffsetCommit", worst)
	}
}

// commitRejected reports whether an OffsetCommit code proves the commit
// was refused before its record was appended (the coordinator's checks);
// COORDINATOR_NOT_AVAILABLE and NOT_COORDINATOR may also report a failed
// or timed-out append, which may yet be durable: indeterminate.
func commitRejected(code int16) bool {
	switch code {
	case kerr.IllegalGeneration.Code, kerr.UnknownMemberID.Code, kerr.RebalanceInProgress.Code,
		kerr.CoordinatorLoadInProgress.Code, kerr.FencedInstanceID.Code, kerr.InvalidGroupID.Code,
		kerr.UnknownTopicOrPartition.Code, kerr.OffsetMetadataTooLarge.Code:
		return true
	}
	return false
}

// fetch reads one assigned partition from the member's position.
func (m *kmember) fetch(p int32) {
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(12)
	req.ReplicaID, req.MaxWaitMillis, req.MaxBytes = -1, int32(m.rng.IntN(3)), 64<<10
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = kTopic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = p, m.positions[p], 64<<10, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	m.send(req, func(resp kmsg.Response) {
		r := resp.(*kmsg.FetchResponse)
		if len(r.Topics) == 1 && len(r.Topics[0].Partitions) == 1 {
			m.fetched(p, &r.Topics[0].Partitions[0])
		}
		m.think()
	})
}

// fetched moves the position past the whole batches returned; an offset
// out of range (a flip truncated the log, or retention moved the log
// start past it) starts over from the earliest, the log start reported.
func (m *kmember) fetched(p int32, r *kmsg.FetchResponseTopicPartition) {
	switch r.ErrorCode {
	case 0:
	case kerr.OffsetOutOfRange.Code:
		m.positions[p] = max(0, r.LogStartOffset)
		return
	default:
		return
	}
	for b := r.RecordBatches; len(b) >= storage.BatchHeaderSize; {
		h := storage.DecodeBatchHeader(b)
		if h.Size() > int64(len(b)) || h.Size() < storage.BatchHeaderSize {
			break
		}
		if next := int64(h.NextOffset()); next > m.positions[p] {
			m.positions[p] = next
			m.gc.counts.Fetched++
		}
		b = b[h.Size():]
	}
}
