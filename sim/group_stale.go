package sim

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/takhin-io/takhin/linearizability"
)

// checkStale checks, on every run and without Porcupine's search (which
// needs a wall-clock budget and may be inconclusive), what being a
// linearizable register implies for each committed offset: a read
// returns v only if a write of v could take effect after every operation
// that ended before the read began having seen or set another value. Let
// B be such an operation: an OK read of u ≠ v, or an OK write of u ≠ v (a
// commit, or a deletion, which writes NoCommittedOffset). The register
// held u at some instant of B, so v must have been written again since,
// by a write that could still take effect after B began: an OK write that
// returned after B's invocation, or an indeterminate one not closed by
// then (the initial value, NoCommittedOffset, is written before
// everything). Two instances of the rule:
//
//   - once a DeleteGroups or OffsetDelete is acknowledged with NONE (or a
//     read saw the offset gone), no later read returns an offset whose
//     commit had returned before it began: across crashes, restarts and
//     compaction of __consumer_offsets, a deleted group never comes back;
//   - once a commit is acknowledged, no later read finds no offset (or an
//     older one) unless a deletion (or another commit) could have come
//     between: an acknowledged commit is never lost.
//
// Simple consumers commit values never written before, so a value read
// back names the commit it came from.
func (gc *groupChecker) checkStale() {
	byKey := map[string][]linearizability.RegisterOp{}
	for _, op := range gc.hist.Operations() {
		byKey[op.Key] = append(byKey[op.Key], op)
	}
	for _, key := range sortedStrings(byKey) {
		afterDelete, stale := staleRead(byKey[key])
		gc.counts.ReadsAfterDelete += afterDelete
		if stale != "" {
			gc.chk.violation("committed offset %s: %s", key, stale)
			return
		}
	}
}

// staleRead checks one register's operations (in invocation order) and
// returns how many OK reads began after an acknowledged deletion, and the
// first stale read found ("" for none).
func staleRead(ops []linearizability.RegisterOp) (int, string) {
	lastEnd := map[int64]int64{NoCommittedOffset: math.MinInt64}
	var barriers []linearizability.RegisterOp
	for _, op := range ops {
		if op.Outcome == linearizability.OK {
			barriers = append(barriers, op)
		}
		if !op.Write || op.Outcome == linearizability.Failed {
			continue
		}
		end := op.Close // Never while open
		if op.Outcome == linearizability.OK {
			end = op.Return
		}
		if e, ok := lastEnd[op.Value]; !ok || end > e {
			lastEnd[op.Value] = end
		}
	}
	slices.SortStableFunc(barriers, func(a, b linearizability.RegisterOp) int { return cmp.Compare(a.Return, b.Return) })
	var top [2]*linearizability.RegisterOp
	next, afterDelete, deleted := 0, 0, false
	for i := range ops {
		r := &ops[i]
		if r.Write || r.Outcome != linearizability.OK {
			continue
		}
		for ; next < len(barriers) && barriers[next].Return < r.Invoke; next++ {
			b := &barriers[next]
			top = addBarrier(top, b)
			deleted = deleted || (b.Write && b.Value == NoCommittedOffset)
		}
		if deleted {
			afterDelete++
		}
		end, written := lastEnd[r.Value]
		if !written {
			return afterDelete, fmt.Sprintf("client %d read %d (invoked at %dns), a value nothing wrote", r.Client, r.Value, r.Invoke)
		}
		b := top[0]
		if b != nil && b.Value == r.Value {
			b = top[1]
		}
		if b != nil && b.Invoke > end {
			return afterDelete, describeStale(r, b, end)
		}
	}
	return afterDelete, ""
}

// addBarrier keeps, of the barriers seen, the latest-invoked one and the
// latest-invoked one of another value.
func addBarrier(top [2]*linearizability.RegisterOp, b *linearizability.RegisterOp) [2]*linearizability.RegisterOp {
	switch {
	case top[0] == nil:
		top[0] = b
	case b.Value == top[0].Value:
		if b.Invoke > top[0].Invoke {
			top[0] = b
		}
	case b.Invoke > top[0].Invoke:
		top[1], top[0] = top[0], b
	case top[1] == nil || b.Invoke > top[1].Invoke:
		top[1] = b
	}
	return top
}

// describeStale explains a stale read r: barrier b ended before r began,
// and no write of r's value could take effect after end.
func describeStale(r, b *linearizability.RegisterOp, end int64) string {
	what := fmt.Sprintf("a read of %d", b.Value)
	switch {
	case b.Write && b.Value == NoCommittedOffset:
		what = "an acknowledged deletion"
	case b.Write:
		what = fmt.Sprintf("an acknowledged commit of %d", b.Value)
	}
	verdict := "a stale read"
	switch {
	case b.Value == NoCommittedOffset:
		verdict = "a deleted offset came back"
	case r.Value == NoCommittedOffset:
		verdict = "an acknowledged commit was lost"
	}
	last := fmt.Sprintf("every write of %d could take effect only until %dns", r.Value, end)
	if end == math.MinInt64 {
		last = "nothing deleted it since the start"
	}
	return fmt.Sprintf("%s: client %d read %d (invoked at %dns) after %s by client %d (%d-%dns), and %s",
		verdict, r.Client, r.Value, r.Invoke, what, b.Client, b.Invoke, b.Return, last)
}
