package linearizability

// Goal: every content checker fires on a hand-made history that breaks
// its rule and stays silent on a close twin that does not, and no other
// checker fires on either; the exemptions (acks=1 with crashes, allowed
// loss windows) excuse exactly what they should.

import (
	"errors"
	"strings"
	"testing"
)

type checkCase struct {
	name   string
	opts   Options
	build  func(s *script)
	want   map[Checker]int // anomalies per checker; absent means 0
	exempt map[Reason]int
}

var checkCases = []checkCase{
	{name: "lost-write: fails when a later write is polled", want: map[Checker]int{LostWrite: 1},
		build: func(s *script) {
			s.sendOK(0, all("t/0", "a"), 0)
			s.sendOK(0, all("t/0", "b"), 1)
			s.poll(1, "t/0", 1, rec(1, "b"))
		}},
	{name: "lost-write: passes when both are polled",
		build: func(s *script) {
			s.sendOK(0, all("t/0", "a"), 0)
			s.sendOK(0, all("t/0", "b"), 1)
			s.poll(1, "t/0", 0, rec(0, "a"), rec(1, "b"))
		}},
	{name: "unseen: fails when nothing polls an acknowledged write", want: map[Checker]int{Unseen: 1},
		build: func(s *script) {
			s.sendOK(0, all("t/0", "a"), 0)
			s.poll(1, "t/0", 0)
		}},
	{name: "unseen: passes when it is polled",
		build: func(s *script) {
			s.sendOK(0, all("t/0", "a"), 0)
			s.poll(1, "t/0", 0, rec(0, "a"))
		}},
	{name: "duplicate: fails for an idempotent value at two offsets", want: map[Checker]int{Duplicate: 1},
		build: func(s *script) {
			s.sendOK(0, idem("t/0", "a"), 0)
			s.sendOK(0, idem("t/0", "b"), 1)
			s.poll(1, "t/0", 0, rec(0, "a"), rec(1, "b"), rec(2, "a"))
		}},
	{name: "duplicate: passes for a plain producer's retry written twice",
		build: func(s *script) {
			s.sendOK(0, all("t/0", "a"), 0)
			s.sendOK(0, all("t/0", "b"), 1)
			s.poll(1, "t/0", 0, rec(0, "a"), rec(1, "b"), rec(2, "a"))
		}},
	{name: "inconsistent-offsets: fails when two clients read different values at one offset",
		want: map[Checker]int{InconsistentOffsets: 1},
		build: func(s *script) {
			s.sendOK(0, all("t/0", "a"), 0)
			s.sendOutcome(0, all("t/0", "b"), Indeterminate)
			s.poll(1, "t/0", 0, rec(0, "a"))
			s.poll(2, "t/0", 0, rec(0, "b"))
		}},
	{name: "inconsistent-offsets: passes when they agree",
		build: func(s *script) {
			s.sendOK(0, all("t/0", "a"), 0)
			s.sendOutcome(0, all("t/0", "b"), Indeterminate)
			s.poll(1, "t/0", 0, rec(0, "a"))
			s.poll(2, "t/0", 0, rec(0, "a"), rec(1, "b"))
		}},
	{name: "nonmonotonic-send: fails when an idempotent producer's later send lands lower",
		want: map[Checker]int{NonmonotonicSend: 1},
		build: func(s *script) {
			s.sendOK(0, idem("t/0", "a"), 1)
			s.sendOK(0, idem("t/0", "b"), 0)
			s.poll(1, "t/0", 0, rec(0, "b"), rec(1, "a"))
		}},
	{name: "nonmonotonic-send: passes in order, and for a plain producer out of order",
		build: func(s *script) {
			s.sendOK(0, idem("t/0", "a"), 0)
			s.sendOK(0, idem("t/0", "b"), 1)
			s.sendOK(2, all("t/0", "c"), 3)
			s.sendOK(2, all("t/0", "d"), 2)
			s.poll(1, "t/0", 0, rec(0, "a"), rec(1, "b"), rec(2, "d"), rec(3, "c"))
		}},
	{name: "nonmonotonic-poll: fails when a consumer's next poll goes back",
		want: map[Checker]int{NonmonotonicPoll: 1},
		build: func(s *script) {
			sendABC(s)
			s.poll(1, "t/0", 0, rec(0, "a"), rec(1, "b"))
			s.poll(1, "t/0", Continue, rec(1, "b"), rec(2, "c"))
		}},
	{name: "nonmonotonic-poll: passes when it continues, and after an explicit seek back",
		build: func(s *script) {
			sendABC(s)
			s.poll(1, "t/0", 0, rec(0, "a"), rec(1, "b"))
			s.poll(1, "t/0", Continue, rec(2, "c"))
			s.poll(1, "t/0", 0, rec(0, "a"))
		}},
	{name: "poll-skip: fails when a consumer jumps over a value others saw", want: map[Checker]int{PollSkip: 1},
		build: func(s *script) {
			sendABC(s)
			s.poll(1, "t/0", 0, rec(0, "a"))
			s.poll(1, "t/0", Continue, rec(2, "c"))
			s.poll(2, "t/0", 1, rec(1, "b"))
		}},
	{name: "poll-skip: passes over an offset that holds no value (a control batch)",
		build: func(s *script) {
			s.sendOK(0, all("t/0", "a"), 0)
			s.sendOK(0, all("t/0", "c"), 2)
			s.poll(1, "t/0", 0, rec(0, "a"))
			s.poll(1, "t/0", Continue, rec(2, "c"))
		}},
	{name: "aborted-read: fails when a definitely failed send is polled", want: map[Checker]int{AbortedRead: 1},
		build: func(s *script) {
			s.sendOutcome(0, all("t/0", "a"), Failed)
			s.poll(1, "t/0", 0, rec(0, "a"))
		}},
	{name: "aborted-read: passes when the polled send was indeterminate",
		build: func(s *script) {
			s.sendOutcome(0, all("t/0", "a"), Indeterminate)
			s.poll(1, "t/0", 0, rec(0, "a"))
		}},
	{name: "unknown-value: fails when a poll returns a value nobody sent", want: map[Checker]int{UnknownValue: 1},
		build: func(s *script) {
			s.sendOK(0, all("t/0", "a"), 0)
			s.poll(1, "t/0", 0, rec(0, "a"), rec(1, "garbage"))
		}},
	{name: "acks=1 loss with crashes: passes, the lost value exempt",
		opts: Options{Crashes: true}, exempt: map[Reason]int{ReasonAcks1Crash: 1},
		build: acks1Loss},
	{name: "acks=1 loss without the crash flag: flagged",
		want:  map[Checker]int{LostWrite: 1, InconsistentOffsets: 1},
		build: acks1Loss},
	{name: "allowed loss: acknowledged values in the window are exempt",
		opts:   Options{AllowedLoss: []LossWindow{{Partition: "t/0", From: 1}}},
		exempt: map[Reason]int{ReasonAllowedLoss: 2},
		build:  lostTail},
	{name: "allowed loss: the same history without the window is flagged",
		want:  map[Checker]int{Unseen: 2},
		build: lostTail},
	{name: "allowed loss: a window on another partition excuses nothing",
		opts:  Options{AllowedLoss: []LossWindow{{Partition: "t/1", From: 0}}},
		want:  map[Checker]int{Unseen: 2},
		build: lostTail},
	{name: "deleted below: values under the watermark are exempt, and a consumer may jump to it",
		opts:   Options{DeletedBelow: []Watermark{{Partition: "t/0", Below: 2}}},
		exempt: map[Reason]int{ReasonDeleted: 2},
		build:  deletedHead},
	{name: "deleted below: the same history without the watermark is flagged",
		want:  map[Checker]int{LostWrite: 2, PollSkip: 1},
		build: deletedHead},
	{name: "deleted below: a value at the watermark is still checked",
		opts:   Options{DeletedBelow: []Watermark{{Partition: "t/0", Below: 1}}},
		want:   map[Checker]int{LostWrite: 1, PollSkip: 1},
		exempt: map[Reason]int{ReasonDeleted: 1},
		build:  deletedHead},
	{name: "compacted: a value superseded by a later write of its key may vanish",
		opts:   Options{Compacted: []string{"t/0"}},
		exempt: map[Reason]int{ReasonSuperseded: 1},
		build:  compactedKey},
	{name: "compacted: the same history on a partition not compacted is flagged",
		want:  map[Checker]int{LostWrite: 1, PollSkip: 1},
		build: compactedKey},
	{name: "compacted: the latest value of a key must stay",
		opts:   Options{Compacted: []string{"t/0"}},
		want:   map[Checker]int{LostWrite: 1, PollSkip: 1},
		exempt: map[Reason]int{ReasonSuperseded: 1},
		build:  compactedLatestLost},
	{name: "compacted: a lost value's offset, reused and compacted away, may read as a gap",
		opts:   Options{Compacted: []string{"t/0"}, AllowedLoss: []LossWindow{{Partition: "t/0", From: 1}}},
		exempt: map[Reason]int{ReasonAllowedLoss: 1},
		build:  compactedReuse},
	{name: "compacted: without the loss window the same gap is a skip",
		opts:  Options{Compacted: []string{"t/0"}},
		want:  map[Checker]int{LostWrite: 1, PollSkip: 1},
		build: compactedReuse},
	{name: "compacted: a write of the key that may have landed unseen may supersede",
		opts:   Options{Compacted: []string{"t/0"}},
		exempt: map[Reason]int{ReasonSuperseded: 1},
		build:  compactedUnseenSuperseder},
}

// compactedReuse: b at offset 1 is lost (a truncation), offset 1 is
// reused by d (its send's answer lost), which e, a later write of its
// key, supersedes and compaction removes: a consumer reads 0 then 2.
func compactedReuse(s *script) {
	s.sendOK(0, keyed("t/0", "a", "x"), 0)
	s.sendOK(0, keyed("t/0", "b", "y"), 1)
	s.sendOutcome(0, keyed("t/0", "d", "z"), Indeterminate)
	s.sendOK(0, keyed("t/0", "e", "z"), 2)
	s.poll(1, "t/0", 0, rec(0, "a"), rec(2, "e"))
}

// compactedUnseenSuperseder: b (key y) vanishes; the only other write of
// y is indeterminate and never observed (it may have landed, superseded
// b, and been superseded and compacted itself).
func compactedUnseenSuperseder(s *script) {
	s.sendOK(0, keyed("t/0", "a", "x"), 0)
	s.sendOK(0, keyed("t/0", "b", "y"), 1)
	s.sendOutcome(0, keyed("t/0", "c", "y"), Indeterminate)
	s.sendOK(0, keyed("t/0", "d", "x"), 3)
	s.poll(1, "t/0", 0, rec(0, "a"), rec(3, "d"))
}

// deletedHead: offsets 0 and 1 are deleted; a consumer at 0 continues at
// 2 (it reset forward).
func deletedHead(s *script) {
	sendABC(s)
	s.poll(1, "t/0", 0)
	s.poll(1, "t/0", Continue, rec(2, "c"))
}

func keyed(partition, value, key string) Send {
	return Send{Partition: partition, Value: value, Acks: -1, RecordKey: key}
}

// compactedKey: a (key x) is superseded by c (key x) and vanishes; b (key
// y) stays.
func compactedKey(s *script) {
	s.sendOK(0, keyed("t/0", "a", "x"), 0)
	s.sendOK(0, keyed("t/0", "b", "y"), 1)
	s.sendOK(0, keyed("t/0", "c", "x"), 2)
	s.poll(1, "t/0", 0, rec(1, "b"))
	s.poll(1, "t/0", Continue, rec(2, "c"))
}

// compactedLatestLost: b is the latest of key y and vanishes.
func compactedLatestLost(s *script) {
	s.sendOK(0, keyed("t/0", "a", "x"), 0)
	s.sendOK(0, keyed("t/0", "b", "y"), 1)
	s.sendOK(0, keyed("t/0", "c", "x"), 2)
	s.poll(1, "t/0", 1, rec(2, "c"))
}

func sendABC(s *script) {
	s.sendOK(0, all("t/0", "a"), 0)
	s.sendOK(0, all("t/0", "b"), 1)
	s.sendOK(0, all("t/0", "c"), 2)
}

// acks1Loss: an acks=1 value acknowledged at 0 is lost in a crash and its
// offset reused by an acks=all value.
func acks1Loss(s *script) {
	s.sendOK(0, leader("t/0", "a"), 0)
	s.sendOK(0, all("t/0", "b"), 0)
	s.sendOK(0, all("t/0", "c"), 1)
	s.poll(1, "t/0", 0, rec(0, "b"), rec(1, "c"))
}

// lostTail: offsets 1 and 2 vanish after being acknowledged.
func lostTail(s *script) {
	sendABC(s)
	s.poll(1, "t/0", 0, rec(0, "a"))
}

func TestCheckers(t *testing.T) {
	for _, c := range checkCases {
		t.Run(c.name, func(t *testing.T) {
			s := newScript(t)
			c.build(s)
			r := s.check(c.opts)
			for _, checker := range Checkers() {
				if got := r.Count(checker); got != c.want[checker] {
					t.Errorf("%s: %d anomalies, want %d\n%s", checker, got, c.want[checker], r)
				}
			}
			for _, reason := range []Reason{ReasonAllowedLoss, ReasonAcks1Crash, ReasonDeleted, ReasonSuperseded} {
				if got := r.ExemptCount(reason); got != c.exempt[reason] {
					t.Errorf("exempt %s: %d, want %d\n%s", reason, got, c.exempt[reason], r)
				}
			}
			if r.OK() != (len(c.want) == 0) {
				t.Errorf("OK() = %v with %d anomalies", r.OK(), len(r.Anomalies))
			}
		})
	}
}

// TestCheckersIgnoreOtherOutcomes: failed and indeterminate polls carry no
// observation and do not move a consumer; sends on separate partitions
// never mix.
func TestCheckersIgnoreOtherOutcomes(t *testing.T) {
	s := newScript(t)
	s.sendOK(0, all("t/0", "a"), 0)
	s.sendOK(0, all("t/1", "a"), 0) // the same value on another partition
	s.poll(1, "t/0", 0, rec(0, "a"))
	id := s.h.Invoke(1, Poll{Partition: "t/0", From: Continue}, s.tick())
	s.h.Complete(id, Indeterminate, Reply{}, s.tick())
	s.poll(1, "t/1", 0, rec(0, "a"))
	if r := s.check(Options{}); !r.OK() {
		t.Fatalf("want no anomalies:\n%s", r)
	}
}

func TestCheckRejectsAValueSentTwice(t *testing.T) {
	s := newScript(t)
	s.sendOK(0, all("t/0", "a"), 0)
	s.sendOK(0, all("t/0", "a"), 1)
	if _, err := Check(&s.h, Options{}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Check: %v, want ErrMalformed", err)
	}
}

// TestReportRendering pins the rendered report: structured fields, counts,
// exemptions, the order (checker, partition, history).
func TestReportRendering(t *testing.T) {
	s := newScript(t)
	s.sendOK(0, all("t/1", "x"), 0)
	s.sendOK(0, leader("t/0", "a"), 0)
	s.sendOK(0, all("t/0", "b"), 1)
	s.sendOK(0, all("t/0", "c"), 2)
	s.poll(1, "t/0", 2, rec(2, "c"))
	s.poll(1, "t/0", Continue, rec(2, "c"))
	r := s.check(Options{Crashes: true})
	want := `anomalies: 3
  lost-write            1
  unseen                1
  duplicate             0
  inconsistent-offsets  0
  nonmonotonic-send     0
  nonmonotonic-poll     1
  poll-skip             0
  aborted-read          0
  unknown-value         0
exempt: allowed-loss 0, acks1-crash 1
lost-write t/0 offsets=[1 2] values=["b"] ops=[2 4]: acknowledged at 1 and never polled, though op 4 polled offset 2
unseen t/1 offsets=[0] values=["x"] ops=[0]: acknowledged at 0 and never polled (highest polled offset -1)
nonmonotonic-poll t/0 offsets=[2 2] values=["c" "c"] ops=[4 5]: client 1 read offset 2 after offset 2
`
	if got := r.String(); got != want {
		t.Fatalf("report:\n%s\nwant:\n%s", got, want)
	}
	if a := r.Of(LostWrite)[0]; a.Partition != "t/0" || a.Values[0] != "b" || a.Ops[0] != 2 {
		t.Fatalf("structured anomaly: %+v", a)
	}
}

func TestReportCapsListing(t *testing.T) {
	s := newScript(t)
	for i := range reportListMax + 5 {
		s.sendOK(0, all("t/0", string(rune('A'+i))), Offset(i))
	}
	r := s.check(Options{})
	if r.Count(Unseen) != reportListMax+5 {
		t.Fatalf("unseen: %d", r.Count(Unseen))
	}
	if !strings.Contains(r.String(), "unseen: ... and 5 more\n") {
		t.Fatalf("no cap line:\n%s", r)
	}
}
