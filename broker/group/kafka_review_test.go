package group

// Goal: divergences from Apache Kafka 4.0's classic group coordinator
// found in an adversarial review, each a deterministic test that failed
// before its fix.

import "testing"

// A follower whose session deadline passed while it waited in SyncGroup
// for a slow leader is kept alive by the wait; once it gets its
// assignment its session starts again (Kafka's propagateAssignment
// reschedules every answered member's heartbeat), so a follower that
// dies right after its SyncGroup answer still expires.
func TestSyncAnswerRestartsTheSession(t *testing.T) {
	w := newWorld(t)
	a, b := w.member("g", "a"), w.member("g", "b")
	for i := 0; i < 10 && !a.got; i++ {
		w.advance(100)
	}
	if !a.got || !b.got || a.r.Leader != a.r.MemberID {
		t.Fatalf("joins: %+v %+v", a, b)
	}
	gen := a.r.Generation
	follower := w.sync("g", gen, b.r.MemberID, nil)
	for i := 0; i < 4; i++ { // the leader takes 12 s to assign, past b's 10 s session
		w.advance(3000)
		if code := w.c.Heartbeat(w.now, HeartbeatArgs{Group: "g", Generation: gen, MemberID: a.r.MemberID}); code != 0 {
			t.Fatalf("leader heartbeat: %d", code)
		}
	}
	w.sync("g", gen, a.r.MemberID, []Assignment{{a.r.MemberID, []byte("a")}, {b.r.MemberID, []byte("b")}})
	if !follower.got || follower.r.Code != 0 {
		t.Fatalf("follower sync: %+v", follower)
	}
	for i := 0; i < 10; i++ { // b dies at once; a keeps heartbeating
		w.advance(3000)
		w.c.Heartbeat(w.now, HeartbeatArgs{Group: "g", Generation: gen, MemberID: a.r.MemberID})
	}
	if d := w.c.Describe("g"); d.State != "PreparingRebalance" || len(d.Members) != 1 {
		t.Fatalf("the silent follower never expired: %s with %d members", d.State, len(d.Members))
	}
}
