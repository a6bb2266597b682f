package group

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/simbug"
)

// SyncArgs is a SyncGroup request.
type SyncArgs struct {
	Group        string
	Generation   int32
	MemberID     string
	InstanceID   *string
	ProtocolType *string // v5+
	Protocol     *string // v5+
	Assignments  []Assignment
}

// Assignment is the leader's assignment for one member.
type Assignment struct {
	MemberID   string
	Assignment []byte
}

// SyncResult is a SyncGroup response.
type SyncResult struct {
	Code         int16
	ProtocolType string
	Protocol     string
	Assignment   []byte
}

// Sync handles SyncGroup; respond runs once, now or when the leader's
// assignment is stored.
func (c *Coordinator) Sync(now env.Time, a SyncArgs, respond func(SyncResult)) {
	c.enter()
	defer c.leave()
	respond = later(c, respond)
	s, g, m, code := c.memberCheck(a.Group, a.MemberID, a.InstanceID, a.Generation)
	if code == 0 && (a.ProtocolType != nil && *a.ProtocolType != g.protocolType || a.Protocol != nil && *a.Protocol != g.protocol) {
		code = kerr.InconsistentGroupProtocol.Code
	}
	if code != 0 {
		respond(SyncResult{Code: code})
		return
	}
	switch g.state {
	case Empty:
		respond(SyncResult{Code: kerr.UnknownMemberID.Code})
	case PreparingRebalance:
		respond(SyncResult{Code: kerr.RebalanceInProgress.Code})
	case Stable:
		delete(g.awaitingSync, m.id)
		c.heartbeat(now, s, g, m)
		respond(SyncResult{ProtocolType: g.protocolType, Protocol: g.protocol, Assignment: m.assignment})
	case CompletingRebalance:
		if m.syncWait != nil {
			m.syncWait(SyncResult{Code: kerr.RebalanceInProgress.Code})
		}
		m.syncWait = respond
		delete(g.awaitingSync, m.id)
		c.heartbeat(now, s, g, m)
		if m.id == g.leader {
			c.leaderSync(s, g, a.Assignments)
		}
	}
}

// leaderSync stores the leader's assignment; once stored, the group is
// Stable and every parked SyncGroup is answered.
func (c *Coordinator) leaderSync(s *shard, g *group, as []Assignment) {
	assign := map[string][]byte{}
	for _, x := range as {
		if g.member(x.MemberID) != nil {
			assign[x.MemberID] = x.Assignment
		}
	}
	gen := g.generation
	c.storeGroup(s, g, assign, func(now env.Time, code int16) {
		if g.state != CompletingRebalance || g.generation != gen || s.groups[g.id] != g {
			return // a rebalance overtook the store and answered everyone
		}
		if code != 0 {
			c.resetAssignments(now, s, g, storeError(code))
			c.prepareRebalance(now, s, g)
			c.tryCompleteJoin(now, s, g)
			return
		}
		g.setState(Stable, now)
		for _, m := range g.members {
			m.assignment = assign[m.id]
			if simbug.Active(simbug.SharedAssignment) {
				m.assignment = assign[g.leader]
			}
			if m.assignment == nil {
				m.assignment = []byte{}
			}
			c.answerSync(now, s, g, m, SyncResult{ProtocolType: g.protocolType, Protocol: g.protocol, Assignment: m.assignment})
		}
	})
}

// memberCheck is the validation SyncGroup, Heartbeat and member commits
// share, in Kafka's order.
func (c *Coordinator) memberCheck(groupID, memberID string, instanceID *string, generation int32) (*shard, *group, *member, int16) {
	if groupID == "" {
		return nil, nil, nil, kerr.InvalidGroupID.Code
	}
	s, code := c.shardFor(groupID)
	if code != 0 {
		return nil, nil, nil, code
	}
	g := s.groups[groupID]
	switch {
	case g == nil:
		return s, nil, nil, kerr.UnknownMemberID.Code
	case g.state == Dead || g.deleting:
		return s, g, nil, kerr.CoordinatorNotAvailable.Code
	}
	m, code := validateMember(g, memberID, instanceID)
	switch {
	case code != 0:
		return s, g, nil, code
	case generation != g.generation:
		return s, g, m, kerr.IllegalGeneration.Code
	}
	return s, g, m, 0
}

// HeartbeatArgs is a Heartbeat request.
type HeartbeatArgs struct {
	Group      string
	Generation int32
	MemberID   string
	InstanceID *string
}

// Heartbeat handles Heartbeat and returns its error code.
func (c *Coordinator) Heartbeat(now env.Time, a HeartbeatArgs) int16 {
	c.enter()
	defer c.leave()
	s, g, m, code := c.memberCheck(a.Group, a.MemberID, a.InstanceID, a.Generation)
	if code != 0 {
		return code
	}
	switch g.state {
	case Empty:
		return kerr.UnknownMemberID.Code
	case PreparingRebalance:
		c.heartbeat(now, s, g, m)
		return kerr.RebalanceInProgress.Code
	}
	c.heartbeat(now, s, g, m)
	return 0
}

// LeaveMember is one member leaving (LeaveGroup v3+ batches them).
type LeaveMember struct {
	MemberID   string
	InstanceID *string
}

// Leave handles LeaveGroup: the top-level code and one code per member.
func (c *Coordinator) Leave(now env.Time, groupID string, members []LeaveMember) (int16, []int16) {
	c.enter()
	defer c.leave()
	codes := make([]int16, len(members))
	if groupID == "" {
		return kerr.InvalidGroupID.Code, codes
	}
	s, code := c.shardFor(groupID)
	if code != 0 {
		return code, codes
	}
	g := s.groups[groupID]
	if g == nil {
		for i := range codes {
			codes[i] = kerr.UnknownMemberID.Code
		}
		return 0, codes
	}
	if g.state == Dead || g.deleting {
		return kerr.CoordinatorNotAvailable.Code, codes
	}
	for i, lm := range members {
		codes[i] = c.leaveOne(now, s, g, lm)
	}
	return 0, codes
}

func (c *Coordinator) leaveOne(now env.Time, s *shard, g *group, lm LeaveMember) int16 {
	id := lm.MemberID
	if lm.InstanceID != nil {
		known, ok := g.static[*lm.InstanceID]
		switch {
		case !ok:
			return kerr.UnknownMemberID.Code
		case id != "" && known != id:
			return kerr.FencedInstanceID.Code
		}
		id = known
	}
	if _, ok := g.pending[id]; ok {
		delete(g.pending, id)
		c.tryCompleteJoin(now, s, g)
		return 0
	}
	m := g.member(id)
	if m == nil {
		return kerr.UnknownMemberID.Code
	}
	c.removeMember(now, s, g, m)
	return 0
}

// removeMember takes m out of g (it left or its session expired); its
// parked requests get UNKNOWN_MEMBER_ID and the group rebalances.
func (c *Coordinator) removeMember(now env.Time, s *shard, g *group, m *member) {
	g.removeMemberEntry(m.id)
	if m.joinWait != nil {
		m.joinWait(JoinResult{Code: kerr.UnknownMemberID.Code, MemberID: m.id, Generation: -1})
		m.joinWait = nil
	}
	if m.syncWait != nil {
		m.syncWait(SyncResult{Code: kerr.UnknownMemberID.Code})
		m.syncWait = nil
	}
	switch g.state {
	case Stable, CompletingRebalance:
		c.prepareRebalance(now, s, g)
		c.tryCompleteJoin(now, s, g)
	case PreparingRebalance:
		c.tryCompleteJoin(now, s, g)
	}
}

// syncDeadline removes the members that did not send SyncGroup within the
// rebalance timeout after the join completed, and rebalances without them.
func (c *Coordinator) syncDeadline(now env.Time, s *shard, g *group) {
	g.syncBy = 0
	if (g.state != CompletingRebalance && g.state != Stable) || len(g.awaitingSync) == 0 {
		clear(g.awaitingSync)
		return
	}
	ids := make([]string, 0, len(g.awaitingSync))
	for id := range g.awaitingSync {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if m := g.member(id); m != nil {
			g.removeMemberEntry(id)
			if m.syncWait != nil {
				m.syncWait(SyncResult{Code: kerr.UnknownMemberID.Code})
			}
		}
	}
	c.prepareRebalance(now, s, g)
	c.tryCompleteJoin(now, s, g)
}
