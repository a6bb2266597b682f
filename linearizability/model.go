package linearizability

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"
)

// ErrTimedOut is returned by CheckLinearizable when Porcupine's search did
// not finish within the timeout: the history is neither proved nor refuted.
var ErrTimedOut = errors.New("linearizability: check timed out")

// The model. Each partition's state is its end offset (the log length, one
// record per send). Fed with acks=all sends, list-offsets and polls:
//
//   - an acknowledged send with offset b is legal iff b = end at its
//     linearization point, and moves end to b+1;
//   - an indeterminate send (or a plain producer's unacknowledged extra
//     attempt) may or may not append: end+1 or end;
//   - ListLatest returning e is legal iff e = end;
//   - a non-empty poll reaching g (its highest offset + 1) needs g <= end.
//     An empty poll constrains nothing (it may have waited out MaxWait).
//
// The "may or may not" of indeterminate sends makes the model
// nondeterministic. The set of possible ends is always an interval (each
// step maps an interval to an interval), so the state is that interval and
// the model stays deterministic for Porcupine: modelState{lo, hi}.
type modelState struct {
	lo, hi Offset // the possible end offsets, inclusive
}

type callKind uint8

const (
	callSend callKind = iota
	callList
	callPoll
)

// modelCall is a Porcupine operation's input.
type modelCall struct {
	kind      callKind
	partition string
	op        OpID
}

// modelReturn is a Porcupine operation's output. offset is a send's offset,
// a list's end, or a poll's reach; known is false for a send that may or
// may not have appended.
type modelReturn struct {
	known  bool
	offset Offset
}

func modelStep(state, input, output any) (bool, any) {
	s, c, r := state.(modelState), input.(modelCall), output.(modelReturn)
	switch {
	case c.kind == callSend && !r.known:
		return true, modelState{s.lo, s.hi + 1}
	case c.kind == callSend:
		if r.offset < s.lo || r.offset > s.hi {
			return false, s
		}
		return true, modelState{r.offset + 1, r.offset + 1}
	case c.kind == callList:
		if r.offset < s.lo || r.offset > s.hi {
			return false, s
		}
		return true, modelState{r.offset, r.offset}
	default: // callPoll
		if r.offset > s.hi {
			return false, s
		}
		return true, modelState{max(s.lo, r.offset), s.hi}
	}
}

// partitionModel is the Porcupine model over all partitions; Partition
// splits a history by key, in sorted key order.
func partitionModel() porcupine.Model {
	return porcupine.Model{
		Partition: partitionByKey,
		Init:      func() any { return modelState{0, 0} },
		Step:      modelStep,
		Hash: func(state any) uint64 {
			s := state.(modelState)
			return uint64(s.lo)*0x9e3779b97f4a7c15 ^ uint64(s.hi)
		},
		DescribeOperation: describeOperation,
		DescribeState: func(state any) string {
			s := state.(modelState)
			if s.lo == s.hi {
				return fmt.Sprintf("end=%d", s.lo)
			}
			return fmt.Sprintf("end in [%d, %d]", s.lo, s.hi)
		},
	}
}

func partitionByKey(history []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[string][]porcupine.Operation{}
	for _, op := range history {
		key := op.Input.(modelCall).partition
		byKey[key] = append(byKey[key], op)
	}
	out := make([][]porcupine.Operation, 0, len(byKey))
	for _, key := range sortedKeys(byKey) {
		out = append(out, byKey[key])
	}
	return out
}

func describeOperation(input, output any) string {
	c, r := input.(modelCall), output.(modelReturn)
	switch {
	case c.kind == callSend && !r.known:
		return fmt.Sprintf("op %d: send -> ?", c.op)
	case c.kind == callSend:
		return fmt.Sprintf("op %d: send -> %d", c.op, r.offset)
	case c.kind == callList:
		return fmt.Sprintf("op %d: list-latest -> %d", c.op, r.offset)
	default:
		return fmt.Sprintf("op %d: poll reaching %d", c.op, r.offset)
	}
}

// Result is the outcome of CheckLinearizable.
type Result struct {
	// OK: every checked partition is linearizable.
	OK bool
	// Info is Porcupine's linearization (or longest partial ones), for
	// Visualize.
	Info porcupine.LinearizationInfo
	// Skipped lists, sorted, the partitions left out because they hold an
	// acks=1 send: its record moves the end without the model knowing
	// whether it survived, so polls and lists there would be misjudged.
	Skipped []string
}

// CheckLinearizable checks every partition of h against the model, with a
// wall-clock timeout for Porcupine's search (0: none). It returns
// ErrTimedOut (and OK false) when the search did not finish.
func CheckLinearizable(h *History, timeout time.Duration) (Result, error) {
	ops, skipped := modelOperations(h)
	verdict, info := porcupine.CheckOperationsVerbose(partitionModel(), ops, timeout)
	result := Result{OK: verdict == porcupine.Ok, Info: info, Skipped: skipped}
	if verdict == porcupine.Unknown {
		return result, ErrTimedOut
	}
	return result, nil
}

// Visualize writes Porcupine's HTML visualisation of the checked history
// (its linearization, or the longest partial ones and where they fail) to
// w. The caller decides where the file goes.
func (r Result) Visualize(w io.Writer) error {
	return porcupine.Visualize(partitionModel(), r.Info, w)
}

// modelOperations turns h into Porcupine operations, leaving out failed
// sends, non-OK lists and polls, empty polls, and every operation on a
// partition that holds an acks=1 send (returned, sorted, as skipped).
func modelOperations(h *History) ([]porcupine.Operation, []string) {
	skip := map[string]bool{}
	for i := range h.ops {
		if s, ok := h.ops[i].Op.(Send); ok && s.Acks == 1 {
			skip[s.Partition] = true
		}
	}
	var out []porcupine.Operation
	for i := range h.ops {
		op := &h.ops[i]
		if !skip[op.Op.Key()] {
			out = append(out, toModel(op)...)
		}
	}
	return out, sortedKeys(skip)
}

// toModel is the Porcupine operations for one recorded operation: none, one,
// or, for a plain producer's send, one per attempt that may have appended.
func toModel(op *Operation) []porcupine.Operation {
	call := modelCall{partition: op.Op.Key(), op: op.ID}
	one := func(kind callKind, ret int64, r modelReturn) porcupine.Operation {
		call.kind = kind
		return porcupine.Operation{ClientId: op.Client, Input: call, Call: op.Invoke, Output: r, Return: ret, Metadata: op.ID}
	}
	switch op.Op.(type) {
	case Send:
		return sendToModel(op, func(ret int64, r modelReturn) porcupine.Operation { return one(callSend, ret, r) })
	case ListLatest:
		if op.Outcome == OK {
			return []porcupine.Operation{one(callList, op.Return, modelReturn{true, op.Reply.Offset})}
		}
	case Poll:
		if reach, ok := pollReach(op); ok {
			return []porcupine.Operation{one(callPoll, op.Return, modelReturn{true, reach})}
		}
	}
	return nil
}

// sendToModel: an OK send is one known append plus its unacknowledged
// attempts; an indeterminate or pending one is an unknown append per
// attempt, open until closed.
func sendToModel(op *Operation, one func(ret int64, r modelReturn) porcupine.Operation) []porcupine.Operation {
	if op.Outcome == Failed {
		return nil
	}
	unknown := op.attempts()
	var out []porcupine.Operation
	if op.Outcome == OK {
		out = append(out, one(op.Return, modelReturn{true, op.Reply.Offset}))
		unknown--
	}
	for range unknown {
		out = append(out, one(op.Close, modelReturn{known: false}))
	}
	return out
}

// pollReach is an OK, non-empty poll's highest offset + 1.
func pollReach(op *Operation) (Offset, bool) {
	if op.Outcome != OK || len(op.Reply.Records) == 0 {
		return 0, false
	}
	reach := op.Reply.Records[0].Offset
	for _, r := range op.Reply.Records {
		reach = max(reach, r.Offset)
	}
	return reach + 1, true
}

// sortedKeys is m's keys in order: map order never reaches output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
