package sim

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/linearizability"
	"github.com/takhin-io/takhin/sim/simnet"
)

// Consumer-group members: deterministic simulator clients speaking the
// classic group protocol (kmsg frames over simnet, like kclient) to the
// node's group coordinator, following kgo's group consumer:
//
//   - FindCoordinator first, and again after a coordinator error
//     (COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR,
//     COORDINATOR_LOAD_IN_PROGRESS) or a broken connection, after a
//     backoff;
//   - JoinGroup v9 (MEMBER_ID_REQUIRED, then again with the id given),
//     protocol type "consumer", protocol "range", subscribed to the
//     Kafka clients' topic; the leader assigns partitions by range over
//     the members its JoinGroup answer lists, and sends them with
//     SyncGroup v5;
//   - once assigned: OffsetFetch to start from the committed offsets, then
//     Fetch, OffsetCommit of the positions fetched (with its generation),
//     Heartbeat every third of the session timeout, an OffsetFetch now and
//     then (a read of the committed offsets), and sometimes LeaveGroup (it
//     rejoins later as a new member) or a crash (it stops: its session
//     expires; a new member starts later under the same name);
//   - REBALANCE_IN_PROGRESS → rejoin; ILLEGAL_GENERATION and
//     UNKNOWN_MEMBER_ID → forget the member id and rejoin.
//
// One request at a time on one connection (a JoinGroup or SyncGroup that
// waits for the rebalance holds it, as it holds kgo's group loop).
// Commits and offset reads go into the groupChecker's register history.

// offsetsTopic is the group coordinator's log (the broker creates it on
// the first FindCoordinator).
const offsetsTopic = "__consumer_offsets"

const (
	kProtocolType    = "consumer"
	kProtocol        = "range"
	kGroupBackoffNs  = 2_000_000 // kgo's retry backoff, scaled to the run
	kThinkNsMax      = 3_000_000 // between a member's operations
	kRestartNsMax    = 20_000_000
	kRebalanceFactor = 2 // rebalance timeout = this × session timeout
)

type memberPhase uint8

const (
	phJoin    memberPhase = iota // (re)join the group
	phSync                       // SyncGroup for the generation joined
	phOffsets                    // read the committed offsets of the assignment
	phConsume                    // fetch, commit, heartbeat
	phAway                       // left or crashed: a new member starts later
)

// kmember is one member of one group.
type kmember struct {
	w    *world
	net  *simnet.Net
	n    *node
	opts *Options
	gc   *groupChecker
	rng  *env.Rand

	group string
	id    int // its client id in the register history
	name  string
	fmt   *kmsg.RequestFormatter

	conn      env.ConnID
	connected bool
	dialing   bool
	corr      int32
	waiting   *kcall
	pending   []registerOp // the register operations of the request in flight
	// topicSeen: the commit in flight was sent once the clients' topic was
	// in the node's image (a created topic stays: the clients never
	// delete theirs), so UNKNOWN_TOPIC_OR_PARTITION would be wrong.
	topicSeen bool
	wake      uint64 // the latest scheduled act: earlier ones are stale
	draining  bool   // the run's last phase: no leaving, no crashing
	// simple is a simple consumer's team (kgroup_simple.go; nil for a
	// member): it never joins, and group is the id of its request.
	simple *simpleTeam
	verify string // a group whose deletion it just saw acknowledged

	phase       memberPhase
	needFind    bool
	memberID    string
	generation  int32
	joined      []kmsg.JoinGroupResponseMember // the leader's view of its generation
	assigned    []int32
	positions   [kPartitions]int64
	heartbeatAt int64
}

func newKMember(w *world, net *simnet.Net, n *node, gc *groupChecker, group string, id int) *kmember {
	name := fmt.Sprintf("%s-member-%d", group, id)
	m := &kmember{w: w, net: net, n: n, opts: n.opts, gc: gc, group: group, id: id, name: name,
		rng: env.NewRand(n.opts.Seed, name), fmt: kmsg.NewRequestFormatter(kmsg.FormatterClientID(name))}
	m.reset()
	net.Attach(name, m.event)
	return m
}

// reset makes the member a new one: no id, no assignment, coordinator
// unknown.
func (m *kmember) reset() {
	m.phase, m.needFind, m.memberID, m.generation = phJoin, true, "", -1
	m.joined, m.assigned = nil, nil
}

func (m *kmember) record(kind string, values ...int64) {
	m.w.recordPrefixed("member/", kind, append([]int64{int64(m.id)}, values...)...)
}

// after schedules the member's next act in d ns, superseding any
// scheduled earlier.
func (m *kmember) after(d int64) {
	m.wake++
	token := m.wake
	m.w.schedule(m.w.now+d, nil, func() {
		if m.wake == token {
			m.act()
		}
	})
}

func (m *kmember) think() { m.after(100_000 + m.rng.Int64N(kThinkNsMax)) }

// act starts the member's next request, if it can.
func (m *kmember) act() {
	switch {
	case m.phase == phAway || m.waiting != nil:
		return
	case !m.connected && !m.dialing:
		m.dial()
		return
	case !m.connected:
		return // ConnOpened wakes it
	case m.needFind:
		m.findCoordinator()
		return
	case m.simple != nil:
		m.simpleAct()
		return
	}
	switch m.phase {
	case phJoin:
		m.join()
	case phSync:
		m.sync()
	case phOffsets:
		m.readOffsets(m.assigned, true)
	case phConsume:
		m.consume()
	}
}

// consume picks the next step of an assigned member.
func (m *kmember) consume() {
	if m.w.now >= m.heartbeatAt {
		m.heartbeat()
		return
	}
	switch r := m.rng.IntN(1000); {
	case !m.draining && r < m.opts.MemberCrashPerMille:
		m.crash()
	case !m.draining && r < m.opts.MemberCrashPerMille+m.opts.LeavePerMille:
		m.leave()
	case r < 300 && len(m.assigned) > 0:
		m.commit()
	case r < 400:
		m.readOffsets(allPartitions(), false)
	case len(m.assigned) > 0:
		m.fetch(m.assigned[m.rng.IntN(len(m.assigned))])
	default:
		m.after(min(m.heartbeatAt-m.w.now, kThinkNsMax))
	}
}

func (m *kmember) dial() {
	id, err := m.net.Dial(m.name, m.n.name())
	if err != nil {
		return
	}
	m.conn, m.dialing = id, true
}

func (m *kmember) event(ev simnet.Event) {
	switch e := ev.(type) {
	case simnet.ConnOpened:
		if e.Conn == m.conn && m.dialing {
			m.connected, m.dialing = true, false
			m.after(0)
		}
	case simnet.FrameIn:
		if e.Conn == m.conn && m.connected {
			m.response(e.Frame)
		}
	case simnet.ConnClosed:
		if e.Conn == m.conn && (m.connected || m.dialing) {
			m.disconnected()
		}
	}
}

// disconnected: the request in flight is lost. A commit may still land
// (indeterminate); a read took no effect. The coordinator is looked up
// again on the next connection, after a backoff.
func (m *kmember) disconnected() {
	m.connected, m.dialing, m.waiting = false, false, nil
	m.record("disconnected")
	m.abandon(linearizability.Indeterminate)
	m.needFind = true
	m.after(kGroupBackoffNs)
}

// abandon ends the register operations of the request in flight: reads
// failed, writes with outcome.
func (m *kmember) abandon(outcome linearizability.Outcome) {
	for _, op := range m.pending {
		if op.write {
			m.gc.completed(op, outcome, 0, m.w.now)
		} else {
			m.gc.completed(op, linearizability.Failed, 0, m.w.now)
		}
	}
	m.pending = nil
}

// send writes one request on the connection.
func (m *kmember) send(req kmsg.Request, on func(kmsg.Response)) {
	m.corr++
	frame := m.fmt.AppendRequest(nil, req, m.corr)
	if err := m.net.Endpoint(m.name).Send(m.conn, frame[env.FrameHeaderBytes:]); err != nil {
		// Never left: its register operations took no effect.
		m.abandon(linearizability.Failed)
		m.disconnected()
		return
	}
	m.waiting = &kcall{corr: m.corr, req: req, on: on}
	m.record("request", int64(req.Key()))
}

func (m *kmember) response(frame []byte) {
	if call, resp, ok := takeResponse(&m.waiting, frame, m.name, m.n.sink); ok {
		call.on(resp)
	}
}

// crash stops the member at once, as a killed process: its connection
// resets (the coordinator learns nothing: the session expires), a commit
// in flight is indeterminate, and a new member starts later under the
// same name.
func (m *kmember) crash() {
	m.gc.counts.MemberCrashes++
	m.record("crash")
	m.abandon(linearizability.Indeterminate)
	m.net.Crash(m.name)
	m.connected, m.dialing, m.waiting, m.phase = false, false, nil, phAway
	m.wake++
	m.w.schedule(m.w.now+1_000_000+m.rng.Int64N(kRestartNsMax), nil, func() {
		m.reset()
		m.net.Attach(m.name, m.event)
		m.after(0)
	})
}

// groupError applies kgo's rules to a group error code; false when code
// is none of theirs (a simple consumer never joins: the member codes are
// not for it).
func (m *kmember) groupError(code int16) bool {
	switch code {
	case kerr.RebalanceInProgress.Code, kerr.IllegalGeneration.Code, kerr.UnknownMemberID.Code:
		if m.simple != nil {
			return false
		}
	}
	switch code {
	case kerr.RebalanceInProgress.Code:
		m.rejoin(false)
	case kerr.IllegalGeneration.Code, kerr.UnknownMemberID.Code:
		m.rejoin(true)
	case kerr.CoordinatorNotAvailable.Code, kerr.NotCoordinator.Code, kerr.CoordinatorLoadInProgress.Code:
		m.needFind = true
		m.after(kGroupBackoffNs)
		return true
	default:
		return false
	}
	m.after(0)
	return true
}

// rejoin drops the assignment and joins again, as a new member if
// forget.
func (m *kmember) rejoin(forget bool) {
	m.record("rejoin", boolInt(forget))
	if forget {
		m.memberID = ""
	}
	m.phase, m.generation, m.joined, m.assigned = phJoin, -1, nil, nil
}

// unexpected reports a code the protocol does not allow here, then
// starts over as a new member.
func (m *kmember) unexpected(api string, code int16) {
	m.gc.counts.Errors++
	m.n.sink.violation("%s: %s answered %v", m.name, api, kerr.ErrorForCode(code))
	m.rejoin(true)
	m.after(kGroupBackoffNs)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func allPartitions() []int32 {
	all := make([]int32, kPartitions)
	for i := range all {
		all[i] = int32(i)
	}
	return all
}

// startGroups creates the run's groups and their members, then the simple
// teams and their consumers, and lets the fault injector partition them
// from the node like any Kafka client. Each group's (and team's) members
// are consecutive.
func startGroups(w *world, net *simnet.Net, n *node, gc *groupChecker, wl *workload) []*kmember {
	var members []*kmember
	start := func(group string, id int, simple *simpleTeam) {
		m := newKMember(w, net, n, gc, group, id)
		m.simple = simple
		members = append(members, m)
		wl.clients, wl.cut = append(wl.clients, m.name), append(wl.cut, false)
		m.after(3_000_000 + int64(len(members))*100_000)
	}
	for g := 0; g < n.opts.Groups; g++ {
		for i := 0; i < n.opts.GroupMembers; i++ {
			start(fmt.Sprintf("group-%d", g+1), 1000+100*g+i, nil)
		}
	}
	for g := 0; g < n.opts.SimpleGroups; g++ {
		team := &simpleTeam{base: fmt.Sprintf("simple-%d", g+1), current: 1}
		for i := 0; i < n.opts.SimpleConsumers; i++ {
			start(team.base, 5000+100*g+i, team)
		}
	}
	return members
}

// groupsSettled reports whether every group settled since from (see
// groupChecker.settled).
func groupsSettled(members []*kmember, from int64) bool { return len(unsettled(members, from)) == 0 }

// unsettled lists the groups (and simple teams) that have not settled
// since from (members holds each one's members together).
func unsettled(members []*kmember, from int64) []string {
	var out []string
	for i := 0; i < len(members); {
		j := i
		for j < len(members) && members[j].teamName() == members[i].teamName() {
			j++
		}
		if !settled(members[i:j], from) {
			out = append(out, members[i].teamName())
		}
		i = j
	}
	return out
}

// teamName is a member's group, or a simple consumer's team.
func (m *kmember) teamName() string {
	if m.simple != nil {
		return m.simple.base
	}
	return m.group
}

// settled: every member of one group consumes in one generation that
// covers every partition (groupChecker.covered), and every committed
// offset was read since from (the drain starts after the final crash, so
// these reads check that the acknowledged commits survived it, and that
// acknowledged deletions did). A simple team needs the reads only, of
// its current group.
func settled(group []*kmember, from int64) bool {
	first := group[0]
	if t := first.simple; t != nil {
		return first.gc.readSince(t.id(t.current), from)
	}
	for _, m := range group {
		if m.phase != phConsume || m.generation != first.generation {
			return false
		}
	}
	return first.gc.covered(first.group, first.generation) && first.gc.readSince(first.group, from)
}
