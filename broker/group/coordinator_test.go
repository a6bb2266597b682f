package group

// Goal: the classic protocol as Kafka 4.0.1 runs it, driven by hand over
// a fake __consumer_offsets with a virtual clock: join (KIP-394), the
// initial delay, sync, heartbeats, rebalances on join, leave and session
// expiry, laggards removed at the rebalance timeout, static members
// rejoining without a rebalance (KIP-345), commits from members and simple
// consumers with Kafka's error codes, reload after a restart, corruption,
// deletion and expiry.

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/storage"
)

// stableGroup brings members (client ids) of g to a Stable generation in
// which member i is assigned "a<i>"; it returns the member ids.
func (w *world) stableGroup(g string, clients ...string) ([]string, int32) {
	w.t.Helper()
	var joins []*joinRes
	for _, c := range clients {
		joins = append(joins, w.member(g, c))
	}
	for i := 0; i < 10 && !joins[0].got; i++ { // the delay extends while members arrive
		w.advance(int64(w.cfg.InitialRebalanceDelayMs))
	}
	ids := make([]string, len(joins))
	var leader string
	var gen int32
	for i, j := range joins {
		if !j.got || j.r.Code != 0 {
			w.t.Fatalf("join %d not answered: %+v", i, j)
		}
		ids[i], leader, gen = j.r.MemberID, j.r.Leader, j.r.Generation
	}
	var as []Assignment
	for i, id := range ids {
		as = append(as, Assignment{MemberID: id, Assignment: []byte{'a', byte('0' + i)}})
	}
	var syncs []*syncRes
	for _, id := range ids {
		if id != leader {
			syncs = append(syncs, w.sync(g, gen, id, nil))
		}
	}
	syncs = append(syncs, w.sync(g, gen, leader, as))
	for _, s := range syncs {
		if !s.got || s.r.Code != 0 {
			w.t.Fatalf("sync: %+v", s)
		}
	}
	if st := w.state(g); st != "Stable" {
		w.t.Fatalf("state %s, want Stable", st)
	}
	return ids, gen
}

func TestJoinWaitsForInitialDelayThenSyncs(t *testing.T) {
	w := newWorld(t)
	j := w.member("g", "c1")
	if j.got || w.state("g") != "PreparingRebalance" {
		t.Fatalf("the first rebalance must wait for the initial delay: %+v %s", j, w.state("g"))
	}
	w.advance(99)
	if j.got {
		t.Fatal("answered before the delay")
	}
	w.advance(1)
	if !j.got || j.r.Code != 0 || j.r.Generation != 1 || j.r.Leader != j.r.MemberID || len(j.r.Members) != 1 || j.r.Protocol != "range" {
		t.Fatalf("join: %+v", j.r)
	}
	s := w.sync("g", 1, j.r.MemberID, []Assignment{{MemberID: j.r.MemberID, Assignment: []byte("x")}})
	if !s.got || s.r.Code != 0 || string(s.r.Assignment) != "x" || w.state("g") != "Stable" {
		t.Fatalf("sync: %+v %s", s, w.state("g"))
	}
	if code := w.c.Heartbeat(w.now, HeartbeatArgs{Group: "g", Generation: 1, MemberID: j.r.MemberID}); code != 0 {
		t.Fatalf("heartbeat: %d", code)
	}
}

func TestInitialDelayExtendsWhileMembersArrive(t *testing.T) {
	w := newWorld(t)
	a := w.member("g", "a")
	w.advance(90)
	b := w.member("g", "b")
	w.advance(10) // the first delay ends with a new member: extended
	if a.got || b.got {
		t.Fatal("the delay must extend when a member joined during it")
	}
	w.advance(100)
	if !a.got || !b.got || a.r.Generation != 1 || b.r.Generation != 1 {
		t.Fatalf("joins: %+v %+v", a, b)
	}
}

func TestSecondMemberRebalancesTheGroup(t *testing.T) {
	w := newWorld(t)
	ids, gen := w.stableGroup("g", "a")
	b := w.member("g", "b")
	if w.state("g") != "PreparingRebalance" {
		t.Fatalf("state %s", w.state("g"))
	}
	if code := w.c.Heartbeat(w.now, HeartbeatArgs{Group: "g", Generation: gen, MemberID: ids[0]}); code != kerr.RebalanceInProgress.Code {
		t.Fatalf("heartbeat during a rebalance: %d", code)
	}
	a := w.join(JoinArgs{Group: "g", ClientID: "a", MemberID: ids[0]})
	if !a.got || !b.got || a.r.Generation != gen+1 || len(a.r.Members) != 2 || len(b.r.Members) != 0 || a.r.Leader != ids[0] {
		t.Fatalf("rejoin: %+v %+v", a.r, b.r)
	}
	follower := w.sync("g", gen+1, b.r.MemberID, nil)
	if follower.got {
		t.Fatal("a follower's sync waits for the leader's")
	}
	leader := w.sync("g", gen+1, ids[0], []Assignment{{ids[0], []byte("p0")}, {b.r.MemberID, []byte("p1")}})
	if !follower.got || string(follower.r.Assignment) != "p1" || string(leader.r.Assignment) != "p0" {
		t.Fatalf("syncs: %+v %+v", follower, leader)
	}
	// A stale generation is refused.
	if code := w.c.Heartbeat(w.now, HeartbeatArgs{Group: "g", Generation: gen, MemberID: ids[0]}); code != kerr.IllegalGeneration.Code {
		t.Fatalf("stale heartbeat: %d", code)
	}
}

func TestSessionExpiryRemovesTheMember(t *testing.T) {
	w := newWorld(t)
	ids, gen := w.stableGroup("g", "a", "b")
	for i := 0; i < 4; i++ { // a heartbeats, b is silent
		w.advance(3000)
		w.c.Heartbeat(w.now, HeartbeatArgs{Group: "g", Generation: gen, MemberID: ids[0]})
	}
	if st := w.state("g"); st != "PreparingRebalance" {
		t.Fatalf("after b's session: %s", st)
	}
	a := w.join(JoinArgs{Group: "g", ClientID: "a", MemberID: ids[0]})
	if !a.got || len(a.r.Members) != 1 || a.r.Generation != gen+1 {
		t.Fatalf("rejoin: %+v", a.r)
	}
	if code := w.c.Heartbeat(w.now, HeartbeatArgs{Group: "g", Generation: gen + 1, MemberID: ids[1]}); code != kerr.UnknownMemberID.Code {
		t.Fatalf("expired member's heartbeat: %d", code)
	}
}

func TestRebalanceTimeoutRemovesMembersThatDoNotRejoin(t *testing.T) {
	w := newWorld(t)
	ids, _ := w.stableGroup("g", "a", "b")
	c := w.member("g", "c")
	a := w.join(JoinArgs{Group: "g", ClientID: "a", MemberID: ids[0]})
	for i := 0; i < 9; i++ { // b heartbeats but never rejoins
		w.advance(3000)
		if code := w.c.Heartbeat(w.now, HeartbeatArgs{Group: "g", Generation: 1, MemberID: ids[1]}); code != kerr.RebalanceInProgress.Code {
			t.Fatalf("b's heartbeat: %d", code)
		}
	}
	w.advance(2_999)
	if a.got || c.got {
		t.Fatal("completed before b rejoined or the rebalance timeout")
	}
	w.advance(1)
	if !a.got || !c.got || len(a.r.Members) != 2 {
		t.Fatalf("after the timeout: %+v %+v", a.r, c.r)
	}
}

func TestLeaveRebalancesAndEmptiesTheGroup(t *testing.T) {
	w := newWorld(t)
	ids, gen := w.stableGroup("g", "a")
	top, codes := w.c.Leave(w.now, "g", []LeaveMember{{MemberID: ids[0]}, {MemberID: "nobody"}})
	if top != 0 || codes[0] != 0 || codes[1] != kerr.UnknownMemberID.Code {
		t.Fatalf("leave: %d %v", top, codes)
	}
	d := w.c.Describe("g")
	if d.State != "Empty" || len(d.Members) != 0 {
		t.Fatalf("after the last member left: %+v", d)
	}
	// The new generation of the empty group was stored.
	w.start()
	if d := w.c.Describe("g"); d.State != "Empty" {
		t.Fatalf("reloaded: %+v", d)
	}
	_ = gen
}

func TestStaticMemberRejoinsWithoutRebalance(t *testing.T) {
	w := newWorld(t)
	inst := "instance-1"
	first := w.join(JoinArgs{Group: "g", ClientID: "s", InstanceID: &inst})
	other := w.member("g", "d")
	w.advance(100)
	w.advance(100)
	if !first.got || !other.got {
		t.Fatalf("joins: %+v %+v", first, other)
	}
	gen, leader := first.r.Generation, first.r.Leader
	as := []Assignment{{first.r.MemberID, []byte("s0")}, {other.r.MemberID, []byte("d0")}}
	follower := first.r.MemberID
	if leader == first.r.MemberID {
		follower = other.r.MemberID
	}
	fs := w.sync("g", gen, follower, nil)
	w.sync("g", gen, leader, as)
	if !fs.got || w.state("g") != "Stable" {
		t.Fatal("not stable")
	}
	// The static member restarts: unknown member id, same instance id.
	again := w.join(JoinArgs{Group: "g", ClientID: "s", InstanceID: &inst})
	if !again.got || again.r.Code != 0 || again.r.Generation != gen || again.r.MemberID == first.r.MemberID {
		t.Fatalf("static rejoin: %+v", again.r)
	}
	if w.state("g") != "Stable" {
		t.Fatalf("a static rejoin must not rebalance: %s", w.state("g"))
	}
	s := w.sync("g", gen, again.r.MemberID, nil)
	if !s.got || s.r.Code != 0 || string(s.r.Assignment) != "s0" {
		t.Fatalf("static member's assignment: %+v", s.r)
	}
	if code := w.c.Heartbeat(w.now, HeartbeatArgs{Group: "g", Generation: gen, MemberID: first.r.MemberID, InstanceID: &inst}); code != kerr.FencedInstanceID.Code {
		t.Fatalf("the old member id must be fenced: %d", code)
	}
}

func TestCommitsFromMembersAndSimpleConsumers(t *testing.T) {
	w := newWorld(t)
	ids, gen := w.stableGroup("g", "a")
	commit := func(a CommitArgs) []int16 {
		var got []int16
		w.c.Commit(w.now, a, func(codes []int16) { got = codes })
		return got
	}
	tp := TopicPartition{Topic: "t", Partition: 0}
	md := "meta"
	if codes := commit(CommitArgs{Group: "g", Generation: gen, MemberID: ids[0], Offsets: []CommitOffset{{TopicPartition: tp, Offset: 42, LeaderEpoch: 3, Metadata: &md}}}); codes[0] != 0 {
		t.Fatalf("member commit: %v", codes)
	}
	cases := []struct {
		name string
		a    CommitArgs
		want int16
	}{
		{"stale generation", CommitArgs{Group: "g", Generation: gen - 1, MemberID: ids[0]}, kerr.IllegalGeneration.Code},
		{"unknown member", CommitArgs{Group: "g", Generation: gen, MemberID: "x"}, kerr.UnknownMemberID.Code},
		{"simple commit to a live group", CommitArgs{Group: "g", Generation: -1}, kerr.UnknownMemberID.Code},
		{"no group id", CommitArgs{Generation: -1}, kerr.InvalidGroupID.Code},
		{"member of a group that does not exist", CommitArgs{Group: "h", Generation: 3, MemberID: "m"}, kerr.IllegalGeneration.Code},
	}
	for _, c := range cases {
		c.a.Offsets = []CommitOffset{{TopicPartition: tp, Offset: 1}}
		if codes := commit(c.a); codes[0] != c.want {
			t.Errorf("%s: %v, want %d", c.name, codes, c.want)
		}
	}
	big := string(make([]byte, 5000))
	if codes := commit(CommitArgs{Group: "simple", Generation: -1, Offsets: []CommitOffset{{TopicPartition: tp, Offset: 7}, {TopicPartition: TopicPartition{"t", 1}, Offset: 8, Metadata: &big}}}); codes[0] != 0 || codes[1] != kerr.OffsetMetadataTooLarge.Code {
		t.Fatalf("simple commit: %v", codes)
	}
	w.start() // restart: everything reloads from the log
	got, code := w.c.Fetch("g", nil)
	if code != 0 || len(got) != 1 || got[0].Offset.Offset != 42 || got[0].LeaderEpoch != 3 || got[0].Metadata != "meta" {
		t.Fatalf("reloaded offsets of g: %+v %d", got, code)
	}
	got, _ = w.c.Fetch("simple", []TopicPartition{tp, {"t", 1}})
	if got[0].Offset.Offset != 7 || got[1].Offset.Offset != -1 {
		t.Fatalf("reloaded offsets of simple: %+v", got)
	}
	if d := w.c.Describe("g"); d.State != "Stable" || len(d.Members) != 1 || d.Members[0].MemberID != ids[0] {
		t.Fatalf("reloaded group: %+v", d)
	}
	w.advance(10_001) // the restored member never heartbeats
	if d := w.c.Describe("g"); d.State != "Empty" {
		t.Fatalf("restored member should expire: %+v", d)
	}
}

func TestFailedStoreIsNotAcknowledged(t *testing.T) {
	w := newWorld(t)
	w.log.failNext = kerr.KafkaStorageError.Code
	var got []int16
	w.c.Commit(w.now, CommitArgs{Group: "s", Generation: -1, Offsets: []CommitOffset{{TopicPartition: TopicPartition{"t", 0}, Offset: 5}}},
		func(codes []int16) { got = codes })
	if got[0] != kerr.NotCoordinator.Code {
		t.Fatalf("commit over a failed append: %v", got)
	}
	if o, _ := w.c.Fetch("s", []TopicPartition{{"t", 0}}); o[0].Offset.Offset != -1 {
		t.Fatalf("a failed commit must not be visible: %+v", o)
	}
}

func TestUndecodableRecordStopsTheShardOnly(t *testing.T) {
	w := newWorld(t)
	p := PartitionFor("g", 3)
	bad := storage.EncodeBatch([]kmsg.Record{{Key: []byte{0, 9, 1}, Value: []byte("?")}}, 0)
	w.log.Append(p, bad, func(env.Time, int16) {})
	w.start()
	if r := w.join(JoinArgs{Group: "g", ClientID: "c"}); r.r.Code != kerr.NotCoordinator.Code {
		t.Fatalf("a group on the corrupt shard: %+v", r.r)
	}
	other := "x"
	for PartitionFor(other, 3) == p {
		other += "x"
	}
	if r := w.join(JoinArgs{Group: other, ClientID: "c"}); r.r.Code != kerr.MemberIDRequired.Code {
		t.Fatalf("a group on a healthy shard: %+v", r.r)
	}
}

func TestDeleteGroupsAndOffsets(t *testing.T) {
	w := newWorld(t)
	ids, gen := w.stableGroup("live", "a")
	tp := TopicPartition{"t", 0}
	w.c.Commit(w.now, CommitArgs{Group: "live", Generation: gen, MemberID: ids[0], Offsets: []CommitOffset{{TopicPartition: tp, Offset: 1}}}, func([]int16) {})
	w.c.Commit(w.now, CommitArgs{Group: "empty", Generation: -1, Offsets: []CommitOffset{{TopicPartition: tp, Offset: 2}}}, func([]int16) {})
	var codes []int16
	w.c.Delete(w.now, []string{"live", "empty", "none"}, func(c []int16) { codes = c })
	if codes[0] != kerr.NonEmptyGroup.Code || codes[1] != 0 || codes[2] != kerr.GroupIDNotFound.Code {
		t.Fatalf("delete: %v", codes)
	}
	var top int16
	var pc []int16
	w.c.DeleteOffsets(w.now, "live", []TopicPartition{tp}, func(t int16, c []int16) { top, pc = t, c })
	if top != 0 || pc[0] != kerr.GroupSubscribedToTopic.Code {
		t.Fatalf("offset delete on a live group: %d %v", top, pc)
	}
	w.start()
	if d := w.c.Describe("empty"); d.State != "Dead" {
		t.Fatalf("deleted group came back: %+v", d)
	}
	if o, _ := w.c.Fetch("empty", []TopicPartition{tp}); o[0].Offset.Offset != -1 {
		t.Fatalf("deleted offsets came back: %+v", o)
	}
}

func TestEmptyGroupOffsetsExpire(t *testing.T) {
	w := newWorld(t)
	w.cfg.OffsetsRetentionMs, w.cfg.OffsetsRetentionCheckMs = 60_000, 10_000
	w.start()
	ids, gen := w.stableGroup("g", "a")
	tp := TopicPartition{"t", 0}
	w.c.Commit(w.now, CommitArgs{Group: "g", Generation: gen, MemberID: ids[0], Offsets: []CommitOffset{{TopicPartition: tp, Offset: 1}}}, func([]int16) {})
	w.c.Leave(w.now, "g", []LeaveMember{{MemberID: ids[0]}})
	w.advance(50_000)
	if o, _ := w.c.Fetch("g", []TopicPartition{tp}); o[0].Offset.Offset != 1 {
		t.Fatalf("expired too early: %+v", o)
	}
	w.advance(20_000)
	if o, _ := w.c.Fetch("g", []TopicPartition{tp}); o[0].Offset.Offset != -1 {
		t.Fatalf("not expired: %+v", o)
	}
	if d := w.c.Describe("g"); d.State != "Dead" {
		t.Fatalf("an empty group without offsets is removed: %+v", d)
	}
}
