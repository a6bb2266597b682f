package linearizability

import (
	"fmt"
	"slices"
)

// position is where a consumer stands in a partition: the last offset it
// read (or, after a poll from an explicit offset f, the virtual f-1).
type position struct {
	valid    bool
	offset   Offset
	value    string // the value read there; hasValue is false for a virtual position
	hasValue bool
	op       OpID // the poll that put the consumer here
}

// pollOrder runs nonmonotonic-poll and poll-skip over each consumer (the
// client of its polls) of p. A consumer's reads, in order, start from its
// position: the last offset it read in its previous OK poll of p when the
// poll is from Continue, or From-1 when the poll names its start (a seek,
// or an explicit continuation). Each read must be above the one before
// (else nonmonotonic-poll) and must not jump over an offset at which any
// client observed a value (else poll-skip). Failed and indeterminate polls
// leave the position unchanged (Jepsen does the same).
//
// Offsets holding no observed value may be skipped: control batches (Raft's
// own records, transaction markers) take offsets no consumer sees. So may
// offsets below the partition's Options.DeletedBelow (a consumer whose
// position fell below the log start jumps to it) and, on a compacted
// partition, offsets whose every value is superseded.
func (a *analysis) pollOrder(p *partitionIndex) []Anomaly {
	positions := map[int]position{}
	var out []Anomaly
	for _, id := range p.polls {
		op := &a.ops[id]
		at := positions[op.Client]
		if from := op.Op.(Poll).From; from != Continue {
			at = position{valid: true, offset: from - 1, op: id}
		}
		for _, r := range op.Reply.Records {
			out = append(out, a.readStep(p, op, at, r)...)
			at = position{true, r.Offset, r.Value, true, id}
		}
		positions[op.Client] = at
	}
	return out
}

// readStep checks one read r by poll op of a consumer standing at at.
func (a *analysis) readStep(p *partitionIndex, op *Operation, at position, r Record) []Anomaly {
	if !at.valid {
		return nil
	}
	ops := []OpID{at.op}
	ops = appendUnique(ops, op.ID)
	values := []string{r.Value}
	if at.hasValue {
		values = []string{at.value, r.Value}
	}
	if r.Offset <= at.offset {
		return []Anomaly{{NonmonotonicPoll, p.key, []Offset{at.offset, r.Offset}, values, ops,
			fmt.Sprintf("client %d read offset %d after %s", op.Client, r.Offset, describePosition(at))}}
	}
	skipped := p.knownBetween(max(at.offset, p.deletedBelow-1), r.Offset)
	if len(skipped) == 0 {
		return nil
	}
	var skippedValues []string
	for _, o := range skipped {
		skippedValues = append(skippedValues, p.valuesAt[o]...)
	}
	return []Anomaly{{PollSkip, p.key, skipped, skippedValues, ops,
		fmt.Sprintf("client %d read offset %d after %s, skipping %d offsets that hold values",
			op.Client, r.Offset, describePosition(at), len(skipped))}}
}

func describePosition(at position) string {
	if at.hasValue {
		return fmt.Sprintf("offset %d", at.offset)
	}
	return fmt.Sprintf("polling from %d", at.offset+1)
}

// knownBetween is the offsets strictly between lo and hi at which a value
// was observed.
func (p *partitionIndex) knownBetween(lo, hi Offset) []Offset {
	i, _ := slices.BinarySearch(p.known, lo+1)
	var out []Offset
	for ; i < len(p.known) && p.known[i] < hi; i++ {
		out = append(out, p.known[i])
	}
	return out
}
