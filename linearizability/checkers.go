package linearizability

import (
	"errors"
	"fmt"
	"slices"
)

// ErrMalformed is returned by Check for a history the checkers cannot
// interpret (two sends of one value to one partition).
var ErrMalformed = errors.New("linearizability: malformed history")

// Options tune the content checkers to the faults of a run.
type Options struct {
	// Crashes: the run crashed nodes. Kafka may then lose acks=1 records
	// and reuse their offsets, so acks=1 values are exempt from lost-write,
	// unseen, inconsistent-offsets and nonmonotonic-send (and their
	// acknowledged offsets do not count as holding a value for poll-skip).
	Crashes bool
	// AllowedLoss lists windows where the storage layer legitimately lost
	// data (bit flips above the recovery point): an acknowledged value at
	// or above From is exempt from lost-write and unseen, and counted as
	// ReasonAllowedLoss instead.
	AllowedLoss []LossWindow
	// DeletedBelow lists, per partition, the offset below which records
	// were deleted legitimately (the log start at the end of the run:
	// retention, DeleteRecords). An acknowledged value below it is exempt
	// from lost-write and unseen (ReasonDeleted), and a consumer may jump
	// over offsets below it (a consumer whose position fell below the log
	// start resets forward) without a poll-skip. Values at or above it
	// are checked as ever.
	DeletedBelow []Watermark
	// Compacted lists the partitions whose log is compacted: a value is
	// superseded when a value of the same Send.RecordKey was observed at a
	// higher offset, or a write of that key may have landed unobserved
	// (indeterminate: it may have superseded the value and been compacted
	// away itself). A superseded value is exempt from lost-write and
	// unseen (ReasonSuperseded), and consumers may skip its offset. The
	// latest value of each key is checked as ever.
	Compacted []string
}

// LossWindow is a partition and the first offset whose data may be lost.
type LossWindow struct {
	Partition string
	From      Offset
}

// Watermark is a partition and the offset below which its records were
// deleted.
type Watermark struct {
	Partition string
	Below     Offset
}

// Check runs every content checker over h. The definitions follow the
// Jepsen kafka workload's (checker names and their meaning are documented
// on each Checker constant); they look only at what clients saw, one
// partition at a time:
//
//   - the observations of a partition are every OK send's (offset, value)
//     and every record an OK poll returned; failed and indeterminate
//     operations carry no observation;
//   - "send order" and "successive polls" are invocation order.
//
// It returns ErrMalformed if two sends carry one value to one partition.
func Check(h *History, opts Options) (Report, error) {
	a, err := analyse(h, opts)
	if err != nil {
		return Report{}, err
	}
	var r Report
	for _, key := range sortedKeys(a.parts) {
		p := a.parts[key]
		anomalies, exempt := a.lostAndUnseen(p)
		r.Exempt = append(r.Exempt, exempt...)
		r.Anomalies = append(r.Anomalies, anomalies...)
		r.Anomalies = append(r.Anomalies, a.duplicates(p)...)
		r.Anomalies = append(r.Anomalies, a.inconsistentOffsets(p)...)
		r.Anomalies = append(r.Anomalies, a.nonmonotonicSends(p)...)
		r.Anomalies = append(r.Anomalies, a.pollOrder(p)...)
		r.Anomalies = append(r.Anomalies, a.badReads(p)...)
	}
	sortAnomalies(r.Anomalies)
	return r, nil
}

// sighting is one observation of a value at an offset: an OK send's
// acknowledgement, or a record returned by an OK poll.
type sighting struct {
	offset Offset
	value  string
	op     OpID
	poll   bool
}

// partitionIndex is what the checkers know of one partition.
type partitionIndex struct {
	key       string
	writer    map[string]OpID // value → the send that carried it
	sightings []sighting      // in history order
	polls     []OpID          // OK polls, in history order
	polled    map[string]bool // values some OK poll returned
	maxPolled Offset          // the highest offset polled; -1 if none
	maxPoller OpID            // the poll that read it
	// known is every offset, sorted, at which a value was observed (by a
	// poll, or by a non-exempt send); valuesAt holds those values.
	known    []Offset
	valuesAt map[Offset][]string
	// compacted: the partition is in Options.Compacted; latest is then,
	// per key, the highest offset at which a value of it was observed.
	// deletedBelow is its Options.DeletedBelow watermark (0: none).
	compacted    bool
	latest       map[string]Offset
	unplaced     map[string]bool // keys with a write that may have landed unseen
	deletedBelow Offset
}

type analysis struct {
	ops   []Operation
	opts  Options
	parts map[string]*partitionIndex
}

func analyse(h *History, opts Options) (*analysis, error) {
	a := &analysis{ops: h.ops, opts: opts, parts: map[string]*partitionIndex{}}
	for i := range h.ops {
		op := &h.ops[i]
		p := a.parts[op.Op.Key()]
		if p == nil {
			p = &partitionIndex{key: op.Op.Key(), writer: map[string]OpID{}, polled: map[string]bool{},
				maxPolled: -1, valuesAt: map[Offset][]string{}}
			a.parts[p.key] = p
		}
		if err := p.add(op); err != nil {
			return nil, err
		}
	}
	for _, p := range a.parts {
		p.compacted = slices.Contains(opts.Compacted, p.key)
		for _, w := range opts.DeletedBelow {
			if w.Partition == p.key {
				p.deletedBelow = max(p.deletedBelow, w.Below)
			}
		}
		a.indexLatest(p)
		a.indexKnown(p)
	}
	return a, nil
}

// indexLatest finds, on a compacted partition, each key's highest
// observed offset.
func (a *analysis) indexLatest(p *partitionIndex) {
	if !p.compacted {
		return
	}
	p.latest, p.unplaced = map[string]Offset{}, map[string]bool{}
	seen := map[string]bool{}
	for _, s := range p.sightings {
		seen[s.value] = true
		if _, send, ok := a.send(p, s.value); ok {
			if o, seen := p.latest[send.RecordKey]; !seen || s.offset > o {
				p.latest[send.RecordKey] = s.offset
			}
		}
	}
	// A write nobody observed that may have landed (indeterminate or
	// pending) may be the one that superseded a value and was compacted
	// away in turn: its key's values are not held to the check.
	for value, id := range p.writer {
		op := &a.ops[id]
		if !seen[value] && (op.Outcome == Indeterminate || op.Outcome == Pending) {
			p.unplaced[op.Op.(Send).RecordKey] = true
		}
	}
}

// superseded: on a compacted partition, a value of value's key was
// observed above offset.
func (a *analysis) superseded(p *partitionIndex, value string, offset Offset) bool {
	if !p.compacted {
		return false
	}
	_, send, ok := a.send(p, value)
	return ok && (p.latest[send.RecordKey] > offset || p.unplaced[send.RecordKey])
}

func (p *partitionIndex) add(op *Operation) error {
	switch o := op.Op.(type) {
	case Send:
		if prev, dup := p.writer[o.Value]; dup {
			return fmt.Errorf("%w: ops %d and %d both send %q to %s", ErrMalformed, prev, op.ID, o.Value, p.key)
		}
		p.writer[o.Value] = op.ID
		if op.Outcome == OK {
			p.sightings = append(p.sightings, sighting{op.Reply.Offset, o.Value, op.ID, false})
		}
	case Poll:
		if op.Outcome != OK {
			return nil
		}
		p.polls = append(p.polls, op.ID)
		for _, r := range op.Reply.Records {
			p.sightings = append(p.sightings, sighting{r.Offset, r.Value, op.ID, true})
			p.polled[r.Value] = true
			if r.Offset > p.maxPolled {
				p.maxPolled, p.maxPoller = r.Offset, op.ID
			}
		}
	}
	return nil
}

func (a *analysis) indexKnown(p *partitionIndex) {
	for _, s := range p.sightings {
		if !s.poll && a.crashExempt(p, s.value) || a.superseded(p, s.value, s.offset) {
			continue // consumers may skip it
		}
		if p.compacted && a.inLossWindow(p, s.offset) {
			// Lost, its offset reused by a later write that compaction
			// may remove in turn: the offset may read as a gap.
			continue
		}
		if !slices.Contains(p.valuesAt[s.offset], s.value) {
			p.valuesAt[s.offset] = append(p.valuesAt[s.offset], s.value)
		}
	}
	for offset, values := range p.valuesAt {
		slices.Sort(values)
		p.known = append(p.known, offset)
	}
	slices.Sort(p.known)
}

// send is the Send that carried value to p, if any.
func (a *analysis) send(p *partitionIndex, value string) (*Operation, Send, bool) {
	id, ok := p.writer[value]
	if !ok {
		return nil, Send{}, false
	}
	return &a.ops[id], a.ops[id].Op.(Send), true
}

// crashExempt: an acks=1 value in a run with crashes, which Kafka may lose.
func (a *analysis) crashExempt(p *partitionIndex, value string) bool {
	_, s, ok := a.send(p, value)
	return ok && a.opts.Crashes && s.Acks == 1
}

// inLossWindow: offset lies in one of p's Options.AllowedLoss windows.
func (a *analysis) inLossWindow(p *partitionIndex, offset Offset) bool {
	for _, w := range a.opts.AllowedLoss {
		if w.Partition == p.key && offset >= w.From {
			return true
		}
	}
	return false
}

// exemption is why an acknowledged, never-polled value is excused, if it is.
func (a *analysis) exemption(p *partitionIndex, s sighting) (Reason, bool) {
	if a.inLossWindow(p, s.offset) {
		return ReasonAllowedLoss, true
	}
	if a.crashExempt(p, s.value) {
		return ReasonAcks1Crash, true
	}
	if s.offset < p.deletedBelow {
		return ReasonDeleted, true
	}
	if a.superseded(p, s.value, s.offset) {
		return ReasonSuperseded, true
	}
	return "", false
}

// lostAndUnseen finds acknowledged values no poll returned: lost-write if
// some poll read past their offset, unseen otherwise.
func (a *analysis) lostAndUnseen(p *partitionIndex) ([]Anomaly, []Exemption) {
	var out []Anomaly
	var exempt []Exemption
	for _, s := range p.sightings {
		if s.poll || p.polled[s.value] {
			continue
		}
		check := Unseen
		if s.offset <= p.maxPolled {
			check = LostWrite
		}
		if reason, ok := a.exemption(p, s); ok {
			exempt = append(exempt, Exemption{check, reason, p.key, s.offset, s.value, s.op})
			continue
		}
		if check == LostWrite {
			out = append(out, Anomaly{LostWrite, p.key, []Offset{s.offset, p.maxPolled}, []string{s.value},
				[]OpID{s.op, p.maxPoller},
				fmt.Sprintf("acknowledged at %d and never polled, though op %d polled offset %d", s.offset, p.maxPoller, p.maxPolled)})
			continue
		}
		out = append(out, Anomaly{Unseen, p.key, []Offset{s.offset}, []string{s.value}, []OpID{s.op},
			fmt.Sprintf("acknowledged at %d and never polled (highest polled offset %d)", s.offset, p.maxPolled)})
	}
	return out, exempt
}

// duplicates finds an idempotent producer's value observed at two offsets.
// A plain producer's retry may legally append twice, so only idempotent
// sends count.
func (a *analysis) duplicates(p *partitionIndex) []Anomaly {
	// First find the (rare) values seen at two offsets, cheaply; then
	// gather their offsets and operations in first-sighting order.
	first := map[string]Offset{}
	multi := map[string]bool{}
	for _, s := range p.sightings {
		if _, send, ok := a.send(p, s.value); !ok || !send.Idempotent {
			continue
		}
		if o, seen := first[s.value]; !seen {
			first[s.value] = s.offset
		} else if o != s.offset {
			multi[s.value] = true
		}
	}
	offsets := map[string][]Offset{}
	ops := map[string][]OpID{}
	var order []string
	for _, s := range p.sightings {
		if !multi[s.value] {
			continue
		}
		if _, seen := offsets[s.value]; !seen {
			order = append(order, s.value)
		}
		if !slices.Contains(offsets[s.value], s.offset) {
			offsets[s.value] = append(offsets[s.value], s.offset)
		}
		ops[s.value] = appendUnique(ops[s.value], s.op)
	}
	var out []Anomaly
	for _, v := range order {
		if len(offsets[v]) < 2 {
			continue
		}
		slices.Sort(offsets[v])
		slices.Sort(ops[v])
		out = append(out, Anomaly{Duplicate, p.key, offsets[v], []string{v}, ops[v],
			fmt.Sprintf("idempotent send of %q observed at %d offsets", v, len(offsets[v]))})
	}
	return out
}

// inconsistentOffsets finds offsets at which two different values were
// observed, ignoring crash-exempt acks=1 values.
func (a *analysis) inconsistentOffsets(p *partitionIndex) []Anomaly {
	// First find the (rare) offsets seen with two values, cheaply; then
	// gather their values and operations.
	firstValue := map[Offset]string{}
	multi := map[Offset]bool{}
	for _, s := range p.sightings {
		if a.crashExempt(p, s.value) {
			continue
		}
		if v, seen := firstValue[s.offset]; !seen {
			firstValue[s.offset] = s.value
		} else if v != s.value {
			multi[s.offset] = true
		}
	}
	values := map[Offset][]string{}
	ops := map[Offset][]OpID{}
	for _, s := range p.sightings {
		if !multi[s.offset] || a.crashExempt(p, s.value) {
			continue
		}
		if !slices.Contains(values[s.offset], s.value) {
			values[s.offset] = append(values[s.offset], s.value)
		}
		ops[s.offset] = appendUnique(ops[s.offset], s.op)
	}
	offsets := make([]Offset, 0, len(values))
	for o := range values {
		offsets = append(offsets, o)
	}
	slices.Sort(offsets)
	var out []Anomaly
	for _, o := range offsets {
		if len(values[o]) < 2 {
			continue
		}
		slices.Sort(values[o])
		slices.Sort(ops[o])
		out = append(out, Anomaly{InconsistentOffsets, p.key, []Offset{o}, values[o], ops[o],
			fmt.Sprintf("%d different values observed at offset %d", len(values[o]), o)})
	}
	return out
}

// nonmonotonicSends finds an idempotent producer whose acknowledged sends
// to p, in send order, got an offset not above the previous one's. A plain
// producer with several sends in flight may legally land out of order.
func (a *analysis) nonmonotonicSends(p *partitionIndex) []Anomaly {
	last := map[int]sighting{}
	var out []Anomaly
	for _, s := range p.sightings {
		_, send, ok := a.send(p, s.value)
		if s.poll || !ok || !send.Idempotent || a.crashExempt(p, s.value) {
			continue
		}
		prev, seen := last[send.Producer]
		last[send.Producer] = s
		if seen && s.offset <= prev.offset {
			out = append(out, Anomaly{NonmonotonicSend, p.key, []Offset{prev.offset, s.offset},
				[]string{prev.value, s.value}, []OpID{prev.op, s.op},
				fmt.Sprintf("producer %d sent %q after %q but got offset %d after %d",
					send.Producer, s.value, prev.value, s.offset, prev.offset)})
		}
	}
	return out
}

// badReads finds polled values whose send definitely failed (aborted-read)
// or that no send carried (unknown-value).
func (a *analysis) badReads(p *partitionIndex) []Anomaly {
	var out []Anomaly
	for _, s := range p.sightings {
		if !s.poll {
			continue
		}
		writer, _, ok := a.send(p, s.value)
		switch {
		case !ok:
			out = append(out, Anomaly{UnknownValue, p.key, []Offset{s.offset}, []string{s.value}, []OpID{s.op},
				fmt.Sprintf("op %d polled %q at %d, which no send carried", s.op, s.value, s.offset)})
		case writer.Outcome == Failed:
			out = append(out, Anomaly{AbortedRead, p.key, []Offset{s.offset}, []string{s.value}, []OpID{writer.ID, s.op},
				fmt.Sprintf("op %d polled %q at %d, but its send definitely failed", s.op, s.value, s.offset)})
		}
	}
	return out
}

func appendUnique(ids []OpID, id OpID) []OpID {
	if slices.Contains(ids, id) {
		return ids
	}
	return append(ids, id)
}
