package linearizability

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Checker names one content checker, with Jepsen's kafka-workload names.
type Checker string

const (
	// LostWrite: an acknowledged send no poll saw, though polls saw a
	// higher offset of its partition.
	LostWrite Checker = "lost-write"
	// Unseen: an acknowledged send no poll saw, above every polled offset
	// of its partition (so never polled by the end). Disjoint from
	// LostWrite.
	Unseen Checker = "unseen"
	// Duplicate: an idempotent producer's value observed at two offsets.
	Duplicate Checker = "duplicate"
	// InconsistentOffsets: two different values observed at one offset.
	InconsistentOffsets Checker = "inconsistent-offsets"
	// NonmonotonicSend: an idempotent producer's acknowledged sends to a
	// partition got non-increasing offsets in send order.
	NonmonotonicSend Checker = "nonmonotonic-send"
	// NonmonotonicPoll: a consumer's reads of a partition went backwards or
	// repeated, within a poll or across successive polls.
	NonmonotonicPoll Checker = "nonmonotonic-poll"
	// PollSkip: a consumer's successive reads of a partition jumped over
	// offsets at which some value was observed.
	PollSkip Checker = "poll-skip"
	// AbortedRead: a polled value whose send definitely failed (the
	// transactional form is reserved for later).
	AbortedRead Checker = "aborted-read"
	// UnknownValue: a polled value that no send to its partition carried
	// (not a Jepsen name: Jepsen throws on it; corruption shows up here).
	UnknownValue Checker = "unknown-value"
)

// Checkers lists every content checker, in report order.
func Checkers() []Checker {
	return []Checker{LostWrite, Unseen, Duplicate, InconsistentOffsets, NonmonotonicSend,
		NonmonotonicPoll, PollSkip, AbortedRead, UnknownValue}
}

// Anomaly is one finding of one checker.
type Anomaly struct {
	Checker   Checker
	Partition string
	Offsets   []Offset // in the order the check explains
	Values    []string // the values involved, same order as Offsets where paired
	Ops       []OpID   // the operations involved (writer, reader, ...)
	Detail    string   // a short human explanation
}

// Reason says why an unseen or lost value is not an anomaly.
type Reason string

const (
	// ReasonAllowedLoss: the value sits in an Options.AllowedLoss window.
	ReasonAllowedLoss Reason = "allowed-loss"
	// ReasonAcks1Crash: an acks=1 value in a run with crashes.
	ReasonAcks1Crash Reason = "acks1-crash"
	// ReasonDeleted: the value sits below its partition's
	// Options.DeletedBelow watermark (retention, DeleteRecords).
	ReasonDeleted Reason = "deleted"
	// ReasonSuperseded: on a compacted partition, a write of the same key
	// was observed at a higher offset.
	ReasonSuperseded Reason = "superseded"
)

// Exemption is an acknowledged value that would have been a LostWrite or
// Unseen anomaly, excused for Reason and counted separately.
type Exemption struct {
	Checker   Checker
	Reason    Reason
	Partition string
	Offset    Offset
	Value     string
	Op        OpID
}

// Report is the result of Check: every anomaly and exemption, in a
// deterministic order (checker, partition, then history order).
type Report struct {
	Anomalies []Anomaly
	Exempt    []Exemption
}

// OK reports whether no checker found an anomaly.
func (r Report) OK() bool { return len(r.Anomalies) == 0 }

// Count is the number of anomalies check found.
func (r Report) Count(check Checker) int {
	n := 0
	for _, a := range r.Anomalies {
		if a.Checker == check {
			n++
		}
	}
	return n
}

// Of returns the anomalies check found.
func (r Report) Of(check Checker) []Anomaly {
	var out []Anomaly
	for _, a := range r.Anomalies {
		if a.Checker == check {
			out = append(out, a)
		}
	}
	return out
}

// ExemptCount is the number of values exempted for reason.
func (r Report) ExemptCount(reason Reason) int {
	n := 0
	for _, e := range r.Exempt {
		if e.Reason == reason {
			n++
		}
	}
	return n
}

// reportListMax caps the anomalies listed per checker when rendering; the
// counts are always complete.
const reportListMax = 20

// WriteTo renders the report: counts per checker, exemption counts, then up
// to reportListMax anomalies per checker. The same report always renders to
// the same bytes.
func (r Report) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "anomalies: %d\n", len(r.Anomalies))
	for _, c := range Checkers() {
		fmt.Fprintf(&b, "  %-21s %d\n", c, r.Count(c))
	}
	fmt.Fprintf(&b, "exempt: %s %d, %s %d", ReasonAllowedLoss, r.ExemptCount(ReasonAllowedLoss),
		ReasonAcks1Crash, r.ExemptCount(ReasonAcks1Crash))
	for _, reason := range []Reason{ReasonDeleted, ReasonSuperseded} { // listed when they arise
		if n := r.ExemptCount(reason); n > 0 {
			fmt.Fprintf(&b, ", %s %d", reason, n)
		}
	}
	b.WriteString("\n")
	for _, c := range Checkers() {
		found := r.Of(c)
		for i, a := range found {
			if i == reportListMax {
				fmt.Fprintf(&b, "%s: ... and %d more\n", c, len(found)-reportListMax)
				break
			}
			fmt.Fprintf(&b, "%s %s offsets=%v values=%q ops=%v: %s\n",
				a.Checker, a.Partition, a.Offsets, a.Values, a.Ops, a.Detail)
		}
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func (r Report) String() string {
	var b strings.Builder
	_, _ = r.WriteTo(&b)
	return b.String()
}

// sortAnomalies orders anomalies by checker (report order), then partition,
// keeping the (deterministic) order each checker produced them in.
func sortAnomalies(as []Anomaly) {
	rank := map[Checker]int{}
	for i, c := range Checkers() {
		rank[c] = i
	}
	slices.SortStableFunc(as, func(a, b Anomaly) int {
		return cmp.Or(cmp.Compare(rank[a.Checker], rank[b.Checker]), strings.Compare(a.Partition, b.Partition))
	})
}
