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

// A static member that restarts (unknown member id, known instance id)
// into a Stable group rebalances it only when the group's protocol would
// change (Kafka's updateStaticMemberThenRebalanceOrCompleteJoin compares
// selectProtocol with the current one), not whenever its metadata
// differs: a restarted consumer owns no partitions yet, so its
// subscription always differs from the one stored, and a broker restart
// keeps only the chosen protocol of each member.
func TestStaticRestartRebalancesOnlyForAnotherProtocol(t *testing.T) {
	both := []Protocol{{Name: "range", Metadata: []byte("owned:p0")}, {Name: "rr", Metadata: []byte("owned:p0")}}
	restarted := []Protocol{{Name: "range", Metadata: []byte("owned:-")}, {Name: "rr", Metadata: []byte("owned:-")}}
	for _, c := range []struct {
		name      string
		restart   bool // the broker restarts before the member does
		rejoin    []Protocol
		rebalance bool
	}{
		{"new metadata", false, restarted, false},
		{"after a broker restart", true, both, false},
		{"another protocol", false, []Protocol{{Name: "rr", Metadata: []byte("x")}}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			inst := "s"
			id := w.join(JoinArgs{Group: "g", ClientID: "d", Protocols: both})
			d := w.join(JoinArgs{Group: "g", ClientID: "d", MemberID: id.r.MemberID, Protocols: both}) // the leader
			first := w.join(JoinArgs{Group: "g", ClientID: "s", InstanceID: &inst, Protocols: both})
			for i := 0; i < 10 && !d.got; i++ {
				w.advance(100)
			}
			gen := d.r.Generation
			fs := w.sync("g", gen, first.r.MemberID, nil)
			w.sync("g", gen, d.r.MemberID, []Assignment{{d.r.MemberID, []byte("d0")}, {first.r.MemberID, []byte("s0")}})
			if !fs.got || d.r.Leader != d.r.MemberID || w.state("g") != "Stable" {
				t.Fatalf("not stable: %+v", fs)
			}
			if c.restart {
				w.start()
			}
			again := w.join(JoinArgs{Group: "g", ClientID: "s", InstanceID: &inst, Protocols: c.rejoin})
			if c.rebalance {
				if again.got || w.state("g") != "PreparingRebalance" {
					t.Fatalf("a new protocol must rebalance: %+v, %s", again, w.state("g"))
				}
				return
			}
			if !again.got || again.r.Code != 0 || again.r.Generation != gen || w.state("g") != "Stable" {
				t.Fatalf("static restart rebalanced: %+v, %s", again, w.state("g"))
			}
			if s := w.sync("g", gen, again.r.MemberID, nil); !s.got || string(s.r.Assignment) != "s0" {
				t.Fatalf("static member's assignment: %+v", s)
			}
		})
	}
}

// An OffsetCommit v2-4 with a retention time other than -1 gives its
// offsets an expire timestamp that replaces offsets.retention.minutes
// for them (Kafka's OffsetExpirationConditionImpl: "old expiration
// semantics"), shorter or longer, and the timestamp survives a restart
// (Kafka writes OffsetCommitValue v1 for it).
func TestCommitRetentionTimeSetsTheExpiry(t *testing.T) {
	tp := TopicPartition{"t", 0}
	for _, c := range []struct {
		name        string
		retentionMs int64 // the commit's
		configMs    int64 // offsets.retention.minutes
		kept        bool  // 70 s later
	}{
		{"shorter than the broker's", 60_000, 3_600_000, false},
		{"longer than the broker's", 3_600_000, 60_000, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			w.cfg.OffsetsRetentionMs, w.cfg.OffsetsRetentionCheckMs = c.configMs, 10_000
			w.start()
			var codes []int16
			w.c.Commit(w.now, CommitArgs{Version: 4, Group: "s", Generation: -1, RetentionMs: &c.retentionMs,
				Offsets: []CommitOffset{{TopicPartition: tp, Offset: 7}}}, func(got []int16) { codes = got })
			if len(codes) != 1 || codes[0] != 0 {
				t.Fatalf("commit: %v", codes)
			}
			w.start() // the expire timestamp is stored
			w.advance(70_000)
			got, _ := w.c.Fetch("s", []TopicPartition{tp})
			if kept := got[0].Offset.Offset == 7; kept != c.kept {
				t.Fatalf("offset %d 70 s after the commit, want kept=%v", got[0].Offset.Offset, c.kept)
			}
		})
	}
}

// offset.metadata.max.bytes is held against the metadata's length as
// Java counts it (Kafka's isMetadataInvalid: String.length(), UTF-16
// code units), not its UTF-8 bytes.
func TestOffsetMetadataLimitCountsJavaChars(t *testing.T) {
	w := newWorld(t)
	w.cfg.OffsetMetadataMaxBytes = 4
	w.start()
	for _, c := range []struct {
		metadata string
		code     int16
	}{
		{"abcd", 0},
		{"abcde", 12}, // OFFSET_METADATA_TOO_LARGE
		{"éééé", 0},   // 4 chars, 8 bytes
		{"日本語日", 0},   // 4 chars, 12 bytes
		{"😀😀", 0},     // 2 surrogate pairs: 4 chars
		{"😀😀a", 12},   // 5 chars
		{"\xff\xff\xff\xff", 0},
	} {
		md := c.metadata
		var codes []int16
		w.c.Commit(w.now, CommitArgs{Group: "s", Generation: -1,
			Offsets: []CommitOffset{{TopicPartition: TopicPartition{"t", 0}, Offset: 1, Metadata: &md}}}, func(got []int16) { codes = got })
		if len(codes) != 1 || codes[0] != c.code {
			t.Errorf("metadata %q: %v, want %d", c.metadata, codes, c.code)
		}
	}
}

// A commit whose every partition the broker refused (unknown topic or
// partition), or that names none, is answered before the coordinator
// looks (Kafka's KafkaApis): a simple consumer's commit creates no group.
func TestCommitWithNothingToWriteCreatesNoGroup(t *testing.T) {
	w := newWorld(t)
	for _, offsets := range [][]CommitOffset{
		{{TopicPartition: TopicPartition{"gone", 0}, Offset: 1, Code: 3}}, // UNKNOWN_TOPIC_OR_PARTITION
		{},
	} {
		var codes []int16
		w.c.Commit(w.now, CommitArgs{Group: "s", Generation: -1, Offsets: offsets}, func(got []int16) { codes = got })
		if len(codes) != len(offsets) || len(codes) > 0 && codes[0] != 3 {
			t.Fatalf("commit: %v", codes)
		}
	}
	if listed, _ := w.c.List(nil, nil); len(listed) != 0 || w.state("s") != "Dead" {
		t.Fatalf("a group was created: %+v, %s", listed, w.state("s"))
	}
}
