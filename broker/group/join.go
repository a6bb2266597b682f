package group

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/takhin-io/takhin/env"
)

// JoinArgs is a JoinGroup request.
type JoinArgs struct {
	Version              int16
	Group                string
	MemberID             string
	InstanceID           *string
	ClientID, ClientHost string
	SessionTimeoutMs     int32
	RebalanceTimeoutMs   int32 // v0 has none: the session timeout
	ProtocolType         string
	Protocols            []Protocol
}

// JoinMember is one member as the leader's JoinGroup response lists it.
type JoinMember struct {
	MemberID   string
	InstanceID *string
	Metadata   []byte
}

// JoinResult is a JoinGroup response.
type JoinResult struct {
	Code           int16
	Generation     int32
	ProtocolType   string
	Protocol       string
	Leader         string
	MemberID       string
	SkipAssignment bool
	Members        []JoinMember // the leader's view; empty for followers
}

// newMemberJoinMs is how long a member that joined a rebalance may wait
// for it without heartbeating (Kafka's new-member join timeout).
const newMemberJoinMs = 5 * 60 * 1000

// Join handles JoinGroup; respond runs once, now or when the rebalance
// completes.
func (c *Coordinator) Join(now env.Time, a JoinArgs, respond func(JoinResult)) {
	c.enter()
	defer c.leave()
	respond = later(c, respond)
	fail := func(code int16) { respond(JoinResult{Code: code, MemberID: a.MemberID, Generation: -1}) }
	if a.Group == "" {
		fail(kerr.InvalidGroupID.Code)
		return
	}
	s, code := c.shardFor(a.Group)
	if code != 0 {
		fail(code)
		return
	}
	if a.SessionTimeoutMs < c.cfg.MinSessionTimeoutMs || a.SessionTimeoutMs > c.cfg.MaxSessionTimeoutMs {
		fail(kerr.InvalidSessionTimeout.Code)
		return
	}
	g := s.groups[a.Group]
	if g == nil {
		if a.MemberID != "" {
			fail(kerr.UnknownMemberID.Code)
			return
		}
		g = newGroup(a.Group, now.WallMs)
		s.groups[a.Group] = g
	}
	switch {
	case g.state == Dead || g.deleting:
		fail(kerr.CoordinatorNotAvailable.Code)
	case a.MemberID == "":
		c.joinUnknown(now, s, g, a, respond)
	default:
		c.joinKnown(now, s, g, a, respond)
	}
	if g.state == Empty && g.generation == 0 && len(g.members) == 0 && len(g.pending) == 0 && len(g.offsets) == 0 && !g.deleting {
		delete(s.groups, g.id) // created by a join that failed: nothing to keep
	}
}

func (c *Coordinator) joinUnknown(now env.Time, s *shard, g *group, a JoinArgs, respond func(JoinResult)) {
	fail := func(code int16) { respond(JoinResult{Code: code, Generation: -1}) }
	if !g.supports(a.ProtocolType, a.Protocols) {
		fail(kerr.InconsistentGroupProtocol.Code)
		return
	}
	id := c.newMemberID(a.ClientID)
	if a.InstanceID != nil {
		if old, ok := g.static[*a.InstanceID]; ok {
			c.replaceStatic(now, s, g, g.member(old), id, a, respond)
			return
		}
	}
	if int64(len(g.members)+len(g.pending)) >= int64(c.cfg.MaxSize) {
		fail(kerr.GroupMaxSizeReached.Code)
		return
	}
	if a.InstanceID == nil && a.Version >= 4 {
		// KIP-394: the member must come back with the id it is given.
		at := now.Mono + int64(a.SessionTimeoutMs)*1_000_000
		g.pending[id] = at
		c.addTimer(timer{at: at, kind: timerPending, shard: s.partition, group: g.id, member: id})
		respond(JoinResult{Code: kerr.MemberIDRequired.Code, MemberID: id, Generation: -1})
		return
	}
	c.addMember(now, s, g, id, a, respond)
}

func (c *Coordinator) joinKnown(now env.Time, s *shard, g *group, a JoinArgs, respond func(JoinResult)) {
	fail := func(code int16) { respond(JoinResult{Code: code, MemberID: a.MemberID, Generation: -1}) }
	if _, ok := g.pending[a.MemberID]; ok {
		if !g.supports(a.ProtocolType, a.Protocols) {
			fail(kerr.InconsistentGroupProtocol.Code)
			return
		}
		delete(g.pending, a.MemberID)
		c.addMember(now, s, g, a.MemberID, a, respond)
		return
	}
	m, code := validateMember(g, a.MemberID, a.InstanceID)
	if code == 0 && !g.supports(a.ProtocolType, a.Protocols) {
		code = kerr.InconsistentGroupProtocol.Code
	}
	if code != 0 {
		fail(code)
		return
	}
	switch g.state {
	case PreparingRebalance:
		c.updateMember(m, a, respond)
		c.tryCompleteJoin(now, s, g)
	case CompletingRebalance, Stable:
		if sameProtocols(m.protocols, a.Protocols) && (g.state == CompletingRebalance || m.id != g.leader) {
			// A repeated join: the current generation's answer again.
			respond(c.joinResult(g, m, g.state == CompletingRebalance))
			return
		}
		c.updateMember(m, a, respond)
		c.prepareRebalance(now, s, g)
		c.tryCompleteJoin(now, s, g)
	default:
		fail(kerr.UnknownMemberID.Code)
	}
}

// validateMember finds a request's member as Kafka 4.0's ClassicGroup
// does: a static member by its instance id (unknown: UNKNOWN_MEMBER_ID;
// held by another member id: FENCED_INSTANCE_ID, KIP-345), a dynamic one
// by its member id.
func validateMember(g *group, memberID string, instanceID *string) (*member, int16) {
	if instanceID != nil {
		id, ok := g.static[*instanceID]
		switch {
		case !ok:
			return nil, kerr.UnknownMemberID.Code
		case id != memberID:
			return nil, kerr.FencedInstanceID.Code
		}
	}
	m := g.member(memberID)
	if m == nil {
		return nil, kerr.UnknownMemberID.Code
	}
	return m, 0
}

func (c *Coordinator) addMember(now env.Time, s *shard, g *group, id string, a JoinArgs, respond func(JoinResult)) {
	m := &member{id: id, instanceID: a.InstanceID, clientID: a.ClientID, clientHost: a.ClientHost, isNew: true}
	c.updateMember(m, a, respond)
	g.members = append(g.members, m)
	if m.instanceID != nil {
		g.static[*m.instanceID] = id
	}
	if len(g.members) == 1 {
		g.protocolType = a.ProtocolType
	}
	if g.leader == "" {
		g.leader = id
	}
	g.newMember = true
	m.session = now.Mono + newMemberJoinMs*1_000_000
	c.armSession(s, g, m)
	c.maybePrepareRebalance(now, s, g)
}

// updateMember takes a (re)join's protocols and timeouts and parks it.
func (c *Coordinator) updateMember(m *member, a JoinArgs, respond func(JoinResult)) {
	if m.joinWait != nil {
		m.joinWait(JoinResult{Code: kerr.RebalanceInProgress.Code, MemberID: m.id, Generation: -1})
	}
	m.protocols, m.sessionMs, m.rebalMs = a.Protocols, a.SessionTimeoutMs, a.RebalanceTimeoutMs
	if m.rebalMs <= 0 {
		m.rebalMs = a.SessionTimeoutMs
	}
	m.joinWait = respond
}

// replaceStatic gives a rejoining static member (unknown member id, known
// instance id) its new id and fences the old one. In a Stable group whose
// protocol its new protocols leave unchanged it gets the current
// assignment back without a rebalance once the new id and protocols are
// stored (a v9+ leader learns its members with SkipAssignment); otherwise
// it rebalances. As in Kafka, new metadata alone does not rebalance: a
// restarted consumer owns no partitions, so its subscription differs from
// the stored one. Unlike Kafka, a leader below v9 rebalances: Kafka would
// tell it that its old id leads, and it would run as a follower.
func (c *Coordinator) replaceStatic(now env.Time, s *shard, g *group, m *member, id string, a JoinArgs, respond func(JoinResult)) {
	if m.joinWait != nil {
		m.joinWait(JoinResult{Code: kerr.FencedInstanceID.Code, MemberID: m.id, Generation: -1})
		m.joinWait = nil
	}
	if m.syncWait != nil {
		m.syncWait(SyncResult{Code: kerr.FencedInstanceID.Code})
		m.syncWait = nil
	}
	old := m.id
	c.renameMember(g, m, old, id)
	m.clientID, m.clientHost = a.ClientID, a.ClientHost
	if g.state != Stable || (m.id == g.leader && a.Version < 9) || c.protocolWouldChange(g, m, a.Protocols) {
		c.updateMember(m, a, respond)
		c.maybePrepareRebalance(now, s, g)
		return
	}
	oldProtocols, oldSessionMs, oldRebalMs := m.protocols, m.sessionMs, m.rebalMs
	m.protocols, m.sessionMs, m.rebalMs = a.Protocols, a.SessionTimeoutMs, max(a.RebalanceTimeoutMs, a.SessionTimeoutMs)
	gen := g.generation
	c.storeGroup(s, g, nil, func(now env.Time, code int16) {
		if g.member(id) != m {
			// Replaced again (or gone) while this was stored: fenced.
			respond(JoinResult{Code: kerr.FencedInstanceID.Code, MemberID: id, Generation: -1})
			return
		}
		if code != 0 {
			if g.generation == gen {
				m.protocols, m.sessionMs, m.rebalMs = oldProtocols, oldSessionMs, oldRebalMs
				c.renameMember(g, m, id, old)
				c.heartbeat(now, s, g, m) // its timer went with the other id
			}
			respond(JoinResult{Code: storeError(code), MemberID: id, Generation: -1})
			return
		}
		c.heartbeat(now, s, g, m)
		r := c.joinResult(g, m, m.id == g.leader)
		r.SkipAssignment = m.id == g.leader
		respond(r)
	})
}

// protocolWouldChange reports whether the group's vote would choose
// another protocol if m supported protocols.
func (c *Coordinator) protocolWouldChange(g *group, m *member, protocols []Protocol) bool {
	was := m.protocols
	m.protocols = protocols
	chosen := g.selectProtocol()
	m.protocols = was
	return chosen != g.protocol
}

func (c *Coordinator) renameMember(g *group, m *member, from, to string) {
	m.id = to
	g.static[*m.instanceID] = to
	if g.leader == from {
		g.leader = to
	}
	if g.awaitingSync[from] {
		delete(g.awaitingSync, from)
		g.awaitingSync[to] = true
	}
}

// joinResult is m's answer for the current generation; leaderView lists
// the members (the leader's answer).
func (c *Coordinator) joinResult(g *group, m *member, leaderView bool) JoinResult {
	r := JoinResult{Generation: g.generation, ProtocolType: g.protocolType, Protocol: g.protocol,
		Leader: g.leader, MemberID: m.id}
	if leaderView && m.id == g.leader {
		for _, o := range g.members {
			r.Members = append(r.Members, JoinMember{MemberID: o.id, InstanceID: o.instanceID, Metadata: o.metadataFor(g.protocol)})
		}
	}
	return r
}

func (c *Coordinator) maybePrepareRebalance(now env.Time, s *shard, g *group) {
	if g.state == Stable || g.state == CompletingRebalance || g.state == Empty {
		c.prepareRebalance(now, s, g)
	}
	c.tryCompleteJoin(now, s, g)
}

// prepareRebalance starts a rebalance: PreparingRebalance until every
// member rejoined or the rebalance timeout passed; an Empty group's first
// rebalance waits group.initial.rebalance.delay.ms for more members.
func (c *Coordinator) prepareRebalance(now env.Time, s *shard, g *group) {
	if g.state == CompletingRebalance {
		c.resetAssignments(now, s, g, kerr.RebalanceInProgress.Code)
	}
	g.syncBy = 0
	clear(g.awaitingSync)
	rebalMs := g.maxRebalanceMs()
	if g.state == Empty {
		delay := min(int64(c.cfg.InitialRebalanceDelayMs), rebalMs)
		g.initialDelay, g.newMember = true, false
		g.remainingMs = max(rebalMs-int64(c.cfg.InitialRebalanceDelayMs), 0)
		g.join = now.Mono + delay*1_000_000
	} else {
		g.initialDelay = false
		g.join = now.Mono + rebalMs*1_000_000
	}
	c.addTimer(timer{at: g.join, kind: timerJoin, shard: s.partition, group: g.id})
	g.setState(PreparingRebalance, now)
}

// resetAssignments answers parked SyncGroups with code and forgets the
// assignments.
func (c *Coordinator) resetAssignments(now env.Time, s *shard, g *group, code int16) {
	for _, m := range g.members {
		m.assignment = nil
		c.answerSync(now, s, g, m, SyncResult{Code: code})
	}
}

// answerSync answers m's parked SyncGroup, if any, and restarts its
// session, as Kafka's propagateAssignment does: the wait kept m alive, and
// a session deadline that passed meanwhile left no timer armed.
func (c *Coordinator) answerSync(now env.Time, s *shard, g *group, m *member, r SyncResult) {
	if m.syncWait == nil {
		return
	}
	wait := m.syncWait
	m.syncWait = nil
	c.heartbeat(now, s, g, m)
	wait(r)
}

func (c *Coordinator) tryCompleteJoin(now env.Time, s *shard, g *group) {
	if g.state == PreparingRebalance && !g.initialDelay && g.allJoined() {
		c.completeJoin(now, s, g)
	}
}

// joinDeadline runs when the rebalance's deadline passes: the initial
// delay extends while members keep coming, within the rebalance timeout.
func (c *Coordinator) joinDeadline(now env.Time, s *shard, g *group) {
	if g.initialDelay && g.newMember && g.remainingMs > 0 {
		delay := min(int64(c.cfg.InitialRebalanceDelayMs), g.remainingMs)
		g.remainingMs = max(g.remainingMs-int64(c.cfg.InitialRebalanceDelayMs), 0)
		g.newMember = false
		g.join = now.Mono + delay*1_000_000
		c.addTimer(timer{at: g.join, kind: timerJoin, shard: s.partition, group: g.id})
		return
	}
	g.initialDelay = false
	c.completeJoin(now, s, g)
}

// completeJoin ends PreparingRebalance: members that did not rejoin are
// removed, the generation advances, and every member gets its JoinGroup
// answer (the leader with the member list). With no members the group is
// Empty, and the new generation is stored.
func (c *Coordinator) completeJoin(now env.Time, s *shard, g *group) {
	for _, m := range slices.Clone(g.members) {
		if m.joinWait == nil && !m.static() {
			g.removeMemberEntry(m.id) // a static member stays until its session expires
		}
	}
	if len(g.members) > 0 && !slices.ContainsFunc(g.members, func(m *member) bool { return m.joinWait != nil }) {
		// Only static members that have not rejoined: wait for them again.
		g.join = now.Mono + g.maxRebalanceMs()*1_000_000
		c.addTimer(timer{at: g.join, kind: timerJoin, shard: s.partition, group: g.id})
		return
	}
	g.join, g.initialDelay = 0, false
	g.generation++
	if len(g.members) == 0 {
		g.protocol = ""
		g.setState(Empty, now)
		c.storeGroup(s, g, nil, c.logStoreFailure(g))
		return
	}
	g.protocol = g.selectProtocol()
	if l := g.member(g.leader); l == nil || l.joinWait == nil {
		i := slices.IndexFunc(g.members, func(m *member) bool { return m.joinWait != nil })
		g.leader = g.members[i].id // the leader is a member that rejoined
	}
	g.setState(CompletingRebalance, now)
	rebalMs := g.maxRebalanceMs()
	for _, m := range g.members {
		if m.joinWait == nil {
			continue // a static member yet to rejoin: it learns the generation then
		}
		wait := m.joinWait
		m.joinWait, m.isNew = nil, false
		g.awaitingSync[m.id] = true
		c.heartbeat(now, s, g, m)
		wait(c.joinResult(g, m, true))
	}
	g.syncBy = now.Mono + rebalMs*1_000_000
	c.addTimer(timer{at: g.syncBy, kind: timerSync, shard: s.partition, group: g.id})
}

func (g *group) setState(st State, now env.Time) {
	g.state = st
	g.stateMs = now.WallMs
}
