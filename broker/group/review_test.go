package group

// Goal: the cases a review found, each a deterministic test: a reply that
// calls back into the coordinator finds its state whole (the broker runs
// queued requests inline when it sends a reply); static members are kept
// through a rebalance they miss; a static instance replaced twice while
// the first replacement is stored fences the first; a failed replacement
// keeps the member's session timer; the expiry pass never tombstones a
// group with a commit in flight; heartbeats do not grow the timer heap;
// DeleteGroups tombstones the offsets of commits still in flight.

import (
	"testing"

	"github.com/takhin-io/takhin/env"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestAReplyMayCallBackIn(t *testing.T) {
	w := newWorld(t)
	ids, _ := w.stableGroup("g", "a", "b")
	c := w.member("g", "c") // a rebalance: b's and a's rejoins park
	var bAnswered bool
	w.c.Join(w.now, JoinArgs{Version: 9, Group: "g", MemberID: ids[1], SessionTimeoutMs: 10_000, RebalanceTimeoutMs: 30_000,
		ProtocolType: "consumer", Protocols: []Protocol{{Name: "range", Metadata: []byte("m")}}}, func(JoinResult) {
		// The broker sends b's answer and runs b's queued LeaveGroup
		// inline, in the middle of the answers of the completed join.
		bAnswered = true
		w.c.Leave(w.now, "g", []LeaveMember{{MemberID: ids[1]}})
	})
	a := w.join(JoinArgs{Group: "g", ClientID: "a", MemberID: ids[0]})
	if !a.got || !c.got || !bAnswered {
		t.Fatalf("joins: a %+v, c %+v, b answered %v", a, c, bAnswered)
	}
	if d := w.c.Describe("g"); len(d.Members) != 2 || d.State != "PreparingRebalance" {
		t.Fatalf("after b left from inside its answer: %+v", d)
	}
}

func TestStaticMemberMissingARebalanceIsKept(t *testing.T) {
	w := newWorld(t)
	inst := "s"
	static := w.join(JoinArgs{Group: "g", ClientID: "s", InstanceID: &inst, SessionTimeoutMs: 300_000})
	dyn := w.member("g", "d")
	w.advance(100)
	w.advance(100)
	if !static.got || !dyn.got {
		t.Fatal("first generation not formed")
	}
	// A new member joins; only the dynamic member rejoins.
	w.member("g", "e")
	w.join(JoinArgs{Group: "g", ClientID: "d", MemberID: dyn.r.MemberID})
	w.advance(30_000) // the rebalance timeout
	d := w.c.Describe("g")
	if d.State != "CompletingRebalance" || len(d.Members) != 3 {
		t.Fatalf("the static member must stay through a rebalance it missed: %+v", d)
	}
}

func TestStaticReplacedTwiceWhileStoring(t *testing.T) {
	w := newWorld(t)
	inst := "s"
	first := w.join(JoinArgs{Group: "g", ClientID: "s", InstanceID: &inst})
	w.advance(100)
	w.sync("g", first.r.Generation, first.r.MemberID, []Assignment{{first.r.MemberID, []byte("a")}})
	w.log.auto = false
	one := w.join(JoinArgs{Group: "g", ClientID: "s", InstanceID: &inst, Version: 9})
	two := w.join(JoinArgs{Group: "g", ClientID: "s", InstanceID: &inst, Version: 9})
	w.log.auto = true
	w.log.settle()
	if !one.got || !two.got || one.r.Code != kerr.FencedInstanceID.Code || two.r.Code != 0 {
		t.Fatalf("the first replacement must be fenced by the second: %+v / %+v", one.r, two.r)
	}
}

func TestFailedStaticReplacementKeepsTheSession(t *testing.T) {
	w := newWorld(t)
	inst := "s"
	first := w.join(JoinArgs{Group: "g", ClientID: "s", InstanceID: &inst})
	w.advance(100)
	w.sync("g", first.r.Generation, first.r.MemberID, []Assignment{{first.r.MemberID, []byte("a")}})
	w.log.failNext = kerr.KafkaStorageError.Code
	if r := w.join(JoinArgs{Group: "g", ClientID: "s", InstanceID: &inst, Version: 9}); r.r.Code != kerr.NotCoordinator.Code {
		t.Fatalf("replacement over a failed store: %+v", r.r)
	}
	w.advance(10_001)
	if d := w.c.Describe("g"); d.State != "Empty" {
		t.Fatalf("the reverted member never expired: %+v", d)
	}
}

func TestExpiryLeavesAGroupWithACommitInFlight(t *testing.T) {
	w := newWorld(t)
	w.cfg.OffsetsRetentionMs, w.cfg.OffsetsRetentionCheckMs = 60_000, 10_000
	w.start()
	tp := TopicPartition{"t", 0}
	w.c.Commit(w.now, CommitArgs{Group: "s", Generation: -1, Offsets: []CommitOffset{{TopicPartition: tp, Offset: 1}}}, func([]int16) {})
	w.advance(59_000)
	w.log.auto = false
	var codes []int16
	w.c.Commit(w.now, CommitArgs{Group: "s", Generation: -1, Offsets: []CommitOffset{{TopicPartition: tp, Offset: 2}}}, func(c []int16) { codes = c })
	w.advance(11_000) // the first commit is past retention; the second is in flight
	w.log.auto = true
	w.log.settle()
	if codes[0] != 0 {
		t.Fatalf("commit: %v", codes)
	}
	w.start()
	if o, _ := w.c.Fetch("s", []TopicPartition{tp}); o[0].Offset.Offset != 2 {
		t.Fatalf("an acknowledged commit was lost to expiry: %+v", o)
	}
}

func TestHeartbeatsDoNotGrowTheTimers(t *testing.T) {
	w := newWorld(t)
	ids, gen := w.stableGroup("g", "a")
	before := len(w.c.timers)
	for i := 0; i < 1000; i++ {
		w.now.Mono += 1_000_000
		w.c.Heartbeat(w.now, HeartbeatArgs{Group: "g", Generation: gen, MemberID: ids[0]})
	}
	if len(w.c.timers) > before+1 {
		t.Fatalf("%d timers after 1000 heartbeats, %d before", len(w.c.timers), before)
	}
	_ = env.Time{}
}

func TestCommitToAMissingGroupByVersion(t *testing.T) {
	w := newWorld(t)
	var codes []int16
	commit := CommitArgs{Group: "nope", Generation: 3, MemberID: "m", Offsets: []CommitOffset{{TopicPartition: TopicPartition{"t", 0}, Offset: 1}}}
	for _, c := range []struct {
		version int16
		want    int16
	}{{8, kerr.IllegalGeneration.Code}, {9, kerr.GroupIDNotFound.Code}} {
		commit.Version = c.version
		w.c.Commit(w.now, commit, func(got []int16) { codes = got })
		if codes[0] != c.want {
			t.Errorf("v%d: %d, want %d", c.version, codes[0], c.want)
		}
	}
}

// A live consumer group's offsets of a topic it no longer subscribes to
// expire by their commit time (KIP-211); those of its topics stay.
func TestLiveGroupOffsetsOfUnsubscribedTopicsExpire(t *testing.T) {
	w := newWorld(t)
	w.cfg.OffsetsRetentionMs, w.cfg.OffsetsRetentionCheckMs = 60_000, 10_000
	w.start()
	md := kmsg.NewConsumerMemberMetadata()
	md.Topics = []string{"kept"}
	first := w.join(JoinArgs{Group: "g", ClientID: "a", Protocols: []Protocol{{Name: "range", Metadata: md.AppendTo(nil)}}})
	j := w.join(JoinArgs{Group: "g", ClientID: "a", MemberID: first.r.MemberID, Protocols: []Protocol{{Name: "range", Metadata: md.AppendTo(nil)}}})
	for i := 0; i < 5 && !j.got; i++ {
		w.advance(100)
	}
	w.sync("g", j.r.Generation, j.r.MemberID, []Assignment{{j.r.MemberID, []byte("x")}})
	kept, old := TopicPartition{"kept", 0}, TopicPartition{"old", 0}
	var codes []int16
	w.c.Commit(w.now, CommitArgs{Group: "g", Generation: j.r.Generation, MemberID: j.r.MemberID,
		Offsets: []CommitOffset{{TopicPartition: kept, Offset: 1}, {TopicPartition: old, Offset: 2}}}, func(c []int16) { codes = c })
	if codes[0] != 0 || codes[1] != 0 || w.state("g") != "Stable" {
		t.Fatalf("commit: %v, state %s", codes, w.state("g"))
	}
	for i := 0; i < 16; i++ { // heartbeat through 80 s
		w.advance(5_000)
		w.c.Heartbeat(w.now, HeartbeatArgs{Group: "g", Generation: j.r.Generation, MemberID: j.r.MemberID})
	}
	got, _ := w.c.Fetch("g", []TopicPartition{kept, old})
	if w.state("g") != "Stable" || got[0].Offset.Offset != 1 || got[1].Offset.Offset != -1 {
		t.Fatalf("offsets after retention: %+v", got)
	}
}

// DeleteGroups while an OffsetCommit of the group is in flight tombstones
// that commit's partitions too, as Kafka 4.0's deleteAllOffsets does (its
// offsets map holds uncommitted commits). The commit's record precedes
// the tombstones in the log: without its own tombstone, once compaction
// has dropped the group's, a restart loads it and the deleted group comes
// back. The commit is answered as its write went (Kafka answers NONE) and
// is not put back in memory. The other orders (the commit durable or
// failed before the deletion, or failing after it) end the same way.
func TestDeleteGroupsCoversCommitsInFlight(t *testing.T) {
	tp0, tp1 := TopicPartition{"t", 0}, TopicPartition{"t", 1}
	for _, c := range []struct {
		name    string
		earlier bool  // tp0 was committed before
		first   bool  // tp1's commit completes before DeleteGroups
		fail    int16 // tp1's write fails with this code
		want    int16 // tp1's commit is answered this
	}{
		{"the group's first commit in flight", false, false, 0, 0},
		{"a commit in flight beside an earlier one", true, false, 0, 0},
		{"the commit durable first", true, true, 0, 0},
		{"the commit failing in flight", true, false, kerr.KafkaStorageError.Code, kerr.NotCoordinator.Code},
		{"the commit failed first", false, true, kerr.KafkaStorageError.Code, kerr.NotCoordinator.Code},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			commit := func(tp TopicPartition, offset int64, codes *[]int16) {
				w.c.Commit(w.now, CommitArgs{Group: "s", Generation: -1, Offsets: []CommitOffset{{TopicPartition: tp, Offset: offset}}},
					func(got []int16) { *codes = got })
			}
			var earlier, codes, deleted []int16
			if c.earlier {
				commit(tp0, 1, &earlier)
			}
			w.log.auto, w.log.failNext = false, c.fail
			commit(tp1, 2, &codes)
			if c.first {
				w.log.settle()
			}
			w.c.Delete(w.now, []string{"s"}, func(got []int16) { deleted = got })
			w.log.settle()
			w.log.auto = true
			if len(codes) != 1 || codes[0] != c.want || len(deleted) != 1 || deleted[0] != 0 {
				t.Fatalf("commit %v (want %d), delete %v", codes, c.want, deleted)
			}
			gone := func(when string) {
				got, _ := w.c.Fetch("s", []TopicPartition{tp0, tp1})
				if w.state("s") != "Dead" || got[0].Offset.Offset != -1 || got[1].Offset.Offset != -1 {
					t.Fatalf("%s: the deleted group is %s with offsets %+v", when, w.state("s"), got)
				}
			}
			gone("in memory")
			w.start()
			gone("after a restart")
			w.log.compact()
			w.start()
			gone("after compaction and a restart")
		})
	}
}
