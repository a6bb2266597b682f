package group

// Goal: a write to __consumer_offsets that fails leaves memory as the log
// has it. DeleteGroups changes memory only once its tombstones are
// durable, as Kafka 4.0's coordinator runtime reverts its timeline when a
// write fails: a failed deletion leaves the group and its offsets as they
// were (DescribeGroups, OffsetFetch, ListGroups), and a restart from the
// log agrees with memory. While a deletion is in flight, reads see the
// group as the log has it so far (Kafka reads at the last committed
// offset) and writes to it are answered COORDINATOR_NOT_AVAILABLE, as
// Kafka's classic coordinator answers a request that finds its group
// Dead; clients retry.

import (
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

// view is what the read APIs show of one group.
type view struct {
	Describe Description
	Offsets  []FetchedOffset
	Listed   []Listed
}

func (w *world) view(g string) view {
	v := view{Describe: w.c.Describe(g)}
	v.Offsets, _ = w.c.Fetch(g, nil)
	all, _ := w.c.List(nil, nil)
	for _, l := range all {
		if l.Group == g {
			v.Listed = append(v.Listed, l)
		}
	}
	return v
}

// agrees checks that the group's view is want, in memory and after a
// restart from the log.
func (w *world) agrees(g string, want view, when string) {
	w.t.Helper()
	if got := w.view(g); !reflect.DeepEqual(got, want) {
		w.t.Fatalf("%s, in memory: %+v\nwant %+v", when, got, want)
	}
	w.start()
	if got := w.view(g); !reflect.DeepEqual(got, want) {
		w.t.Fatalf("%s, after a restart: %+v\nwant %+v", when, got, want)
	}
}

// emptyConsumerGroup makes g a consumer group that committed tp0 and then
// lost its only member: Empty, with its protocol type and an offset.
func (w *world) emptyConsumerGroup(g string) {
	ids, gen := w.stableGroup(g, "a")
	var codes []int16
	w.c.Commit(w.now, CommitArgs{Group: g, Generation: gen, MemberID: ids[0],
		Offsets: []CommitOffset{{TopicPartition: TopicPartition{"t", 0}, Offset: 1}}}, func(c []int16) { codes = c })
	w.c.Leave(w.now, g, []LeaveMember{{MemberID: ids[0]}})
	if len(codes) != 1 || codes[0] != 0 || w.state(g) != "Empty" {
		w.t.Fatalf("setup: commit %v, state %s", codes, w.state(g))
	}
}

func (w *world) simpleCommit(g string, tp TopicPartition, offset int64, codes *[]int16) {
	w.c.Commit(w.now, CommitArgs{Group: g, Generation: -1, Offsets: []CommitOffset{{TopicPartition: tp, Offset: offset}}},
		func(got []int16) { *codes = got })
}

// A DeleteGroups whose tombstones fail to be written (a full disk, the
// partition not writable) leaves the group as it was: a simple
// consumer's commit afterwards adds to it, and a restart agrees. A commit
// in flight when the deletion failed is kept (its record is durable).
func TestFailedDeleteGroupsKeepsTheGroup(t *testing.T) {
	tp0, tp1 := TopicPartition{"t", 0}, TopicPartition{"t", 1}
	for _, c := range []struct {
		name     string
		consumer bool // a consumer group, else a simple consumer's
		inFlight bool // a commit of tp1 in flight during the deletion
	}{
		{"a simple group", false, false},
		{"an empty consumer group", true, false},
		{"a commit in flight", false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			var codes, inFlight, deleted []int16
			if c.consumer {
				w.emptyConsumerGroup("g")
			} else {
				w.simpleCommit("g", tp0, 1, &codes)
			}
			before := w.view("g")
			if c.inFlight {
				w.log.auto = false
				w.simpleCommit("g", tp1, 2, &inFlight)
			}
			w.log.failNext = kerr.KafkaStorageError.Code
			w.c.Delete(w.now, []string{"g"}, func(got []int16) { deleted = got })
			w.log.settle()
			w.log.auto = true
			if len(deleted) != 1 || deleted[0] != kerr.NotCoordinator.Code {
				t.Fatalf("delete over a failed write: %v", deleted)
			}
			if c.inFlight {
				if len(inFlight) != 1 || inFlight[0] != 0 {
					t.Fatalf("the commit in flight: %v", inFlight)
				}
				got := w.view("g")
				if len(got.Offsets) != 2 || got.Offsets[0].Offset.Offset != 1 || got.Offsets[1].Offset.Offset != 2 {
					t.Fatalf("the commit in flight is durable and must be kept: %+v", got)
				}
				before = got
			}
			w.agrees("g", before, "after the failed deletion")
			w.simpleCommit("g", tp1, 3, &codes)
			if len(codes) != 1 || codes[0] != 0 {
				t.Fatalf("commit after the failed deletion: %v", codes)
			}
			want := w.view("g")
			if want.Describe.State != "Empty" || len(want.Offsets) != 2 {
				t.Fatalf("the group after a commit: %+v", want)
			}
			w.agrees("g", want, "after a commit")
		})
	}
}

// While a deletion is in flight, reads see the group as the log has it so
// far, and writes that would change it (a join, a commit, a second
// deletion, an OffsetDelete, a leave) are answered COORDINATOR_NOT_AVAILABLE:
// had they gone on, a failed deletion would leave memory without them or
// a successful one would delete what they were told was durable. Once
// the deletion is durable the group is gone; once it failed, the group
// takes requests again.
func TestRequestsDuringDeleteGroups(t *testing.T) {
	tp := TopicPartition{"t", 0}
	for _, fail := range []bool{false, true} {
		name := map[bool]string{false: "the deletion durable", true: "the deletion failing"}[fail]
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.emptyConsumerGroup("g")
			before := w.view("g")
			w.log.auto = false
			if fail {
				w.log.failNext = kerr.KafkaStorageError.Code
			}
			var deleted, again, commit []int16
			w.c.Delete(w.now, []string{"g"}, func(got []int16) { deleted = got })
			if got := w.view("g"); !reflect.DeepEqual(got, before) {
				t.Fatalf("reads during the deletion: %+v\nwant %+v", got, before)
			}
			unavailable := kerr.CoordinatorNotAvailable.Code
			join := w.join(JoinArgs{Group: "g", ClientID: "b"})
			w.simpleCommit("g", tp, 5, &commit)
			w.c.Delete(w.now, []string{"g"}, func(got []int16) { again = got })
			var top int16
			w.c.DeleteOffsets(w.now, "g", []TopicPartition{tp}, func(c int16, _ []int16) { top = c })
			leave, _ := w.c.Leave(w.now, "g", []LeaveMember{{MemberID: "x"}})
			if join.r.Code != unavailable || commit[0] != unavailable || again[0] != unavailable || top != unavailable || leave != unavailable {
				t.Fatalf("during the deletion: join %d, commit %v, delete %v, offset delete %d, leave %d",
					join.r.Code, commit, again, top, leave)
			}
			if len(w.log.pending) != 1 || deleted != nil {
				t.Fatalf("%d writes pending, deletion answered %v", len(w.log.pending), deleted)
			}
			w.log.settle()
			w.log.auto = true
			if !fail {
				if deleted[0] != 0 {
					t.Fatalf("delete: %v", deleted)
				}
				w.agrees("g", view{Describe: Description{State: "Dead"}}, "after the deletion")
				return
			}
			if deleted[0] != kerr.NotCoordinator.Code {
				t.Fatalf("delete: %v", deleted)
			}
			w.agrees("g", before, "after the failed deletion")
			if j := w.join(JoinArgs{Group: "g", ClientID: "b"}); j.r.Code != kerr.MemberIDRequired.Code {
				t.Fatalf("a join after the failed deletion: %+v", j.r)
			}
		})
	}
}

// The offset-expiry pass changes memory once its tombstones are durable:
// a failed write leaves the offsets (and the group they keep) as the log
// has them, and the next pass expires them.
func TestFailedExpiryKeepsTheOffsets(t *testing.T) {
	w := newWorld(t)
	w.cfg.OffsetsRetentionMs, w.cfg.OffsetsRetentionCheckMs = 60_000, 10_000
	w.start()
	tp0, tp1 := TopicPartition{"t", 0}, TopicPartition{"t", 1}
	var codes []int16
	w.simpleCommit("s", tp0, 1, &codes)
	w.advance(30_000)
	w.simpleCommit("s", tp1, 2, &codes)
	before := w.view("s")
	w.log.failNext = kerr.KafkaStorageError.Code
	w.advance(30_000) // tp0 expires; its tombstone fails
	if w.log.failNext != 0 {
		t.Fatal("the expiry pass wrote nothing")
	}
	w.agrees("s", before, "after a failed expiry")
	w.advance(10_000) // the pass after the restart
	if got := w.view("s"); len(got.Offsets) != 1 || got.Offsets[0].TopicPartition != tp1 {
		t.Fatalf("the next pass: %+v", got)
	}
	w.agrees("s", w.view("s"), "after the next pass")
	w.log.failNext = kerr.KafkaStorageError.Code
	w.advance(20_000) // tp1 expires and the group with it; the write fails
	w.agrees("s", w.view("s"), "after a failed expiry of the group")
	if w.state("s") != "Empty" {
		t.Fatalf("the group went with a failed write: %s", w.state("s"))
	}
	w.advance(10_000)
	w.agrees("s", view{Describe: Description{State: "Dead"}}, "after the group expired")
}
