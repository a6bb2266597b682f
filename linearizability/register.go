package linearizability

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// Registers: a key names one register holding an int64 (a consumer
// group's committed offset for one partition, say), with writes and
// reads. A RegisterHistory records them and CheckRegisters checks, with
// Porcupine, that every key behaves as one linearizable register:
//
//   - an OK write of v took effect once, at some instant between its
//     invocation and its return;
//   - a Failed write took no effect (the caller guarantees it);
//   - an Indeterminate (or Pending) write may or may not have taken
//     effect, at any instant after its invocation, until it is closed
//     (CloseRegisterWrite: after a crash, say, a lost request can no
//     longer land);
//   - an OK read returned the register's value at some instant between
//     its invocation and its return; failed reads constrain nothing.
//
// The "may or may not" makes the register nondeterministic; the model's
// state is therefore the set of values the register may hold (a write of
// v known to have happened makes it {v}; an indeterminate one adds v; a
// read of r needs r in the set and makes it {r}). The set is the exact
// reachable set, so the model stays deterministic for Porcupine.

// RegisterOp is one recorded register operation. Times are virtual
// nanoseconds from the caller's clock.
type RegisterOp struct {
	ID     OpID
	Client int
	Key    string
	Write  bool
	// Value is a write's value, or an OK read's result.
	Value   int64
	Invoke  int64
	Return  int64 // Never while Pending
	Close   int64 // when an indeterminate write could no longer land; Never unless closed
	Outcome Outcome
}

// RegisterHistory records register operations in invocation order. Like
// History, it is not safe for concurrent use, and misuse panics.
type RegisterHistory struct {
	ops        []RegisterOp
	lastInvoke int64
}

// Write records that client started writing value to key at time at.
func (h *RegisterHistory) Write(client int, key string, value int64, at int64) OpID {
	return h.invoke(RegisterOp{Client: client, Key: key, Write: true, Value: value, Invoke: at})
}

// Read records that client started reading key at time at.
func (h *RegisterHistory) Read(client int, key string, at int64) OpID {
	return h.invoke(RegisterOp{Client: client, Key: key, Invoke: at})
}

func (h *RegisterHistory) invoke(op RegisterOp) OpID {
	must(op.Client >= 0, "register op with negative client %d", op.Client)
	must(op.Invoke >= h.lastInvoke, "register op invoked at %d before the previous one at %d", op.Invoke, h.lastInvoke)
	op.ID, op.Return, op.Close, op.Outcome = OpID(len(h.ops)), Never, Never, Pending
	h.ops = append(h.ops, op)
	h.lastInvoke = op.Invoke
	return op.ID
}

// Complete records the outcome of a pending operation at time at; value
// is an OK read's result (ignored for writes).
func (h *RegisterHistory) Complete(id OpID, outcome Outcome, value int64, at int64) {
	op := h.at(id)
	must(op.Outcome == Pending, "Complete register op %d twice (it is %s)", id, op.Outcome)
	must(outcome == OK || outcome == Failed || outcome == Indeterminate, "Complete register op %d as %s", id, outcome)
	must(at >= op.Invoke, "Complete register op %d at %d before its invocation at %d", id, at, op.Invoke)
	op.Outcome, op.Return = outcome, at
	if !op.Write && outcome == OK {
		op.Value = value
	}
}

// CloseRegisterWrite records that an indeterminate or pending write can
// no longer take effect after time at.
func (h *RegisterHistory) CloseRegisterWrite(id OpID, at int64) {
	op := h.at(id)
	must(op.Write, "CloseRegisterWrite op %d: not a write", id)
	must(op.Outcome == Indeterminate || op.Outcome == Pending, "CloseRegisterWrite op %d, which is %s", id, op.Outcome)
	must(at >= op.Invoke, "CloseRegisterWrite op %d at %d before its invocation at %d", id, at, op.Invoke)
	op.Close = at
}

// Len is the number of operations recorded.
func (h *RegisterHistory) Len() int { return len(h.ops) }

// Operations returns a copy of the operations, in invocation order.
func (h *RegisterHistory) Operations() []RegisterOp { return slices.Clone(h.ops) }

func (h *RegisterHistory) at(id OpID) *RegisterOp {
	must(id >= 0 && int(id) < len(h.ops), "unknown register op %d", id)
	return &h.ops[id]
}

// registerCall is a Porcupine operation's input; registerReturn its output.
type registerCall struct {
	key   string
	write bool
	value int64 // a write's value
	op    OpID
}

type registerReturn struct {
	known bool  // false for a write that may not have happened
	value int64 // a read's result
}

// registerState is the sorted set of values the register may hold.
type registerState []int64

func registerStep(state, input, output any) (bool, any) {
	s, c, r := state.(registerState), input.(registerCall), output.(registerReturn)
	switch {
	case c.write && r.known:
		return true, registerState{c.value}
	case c.write:
		if _, found := slices.BinarySearch(s, c.value); found {
			return true, s
		}
		next := slices.Clone(s)
		i, _ := slices.BinarySearch(next, c.value)
		return true, registerState(slices.Insert(next, i, c.value))
	default:
		if _, found := slices.BinarySearch(s, r.value); !found {
			return false, s
		}
		return true, registerState{r.value}
	}
}

func registerModel(initial int64) porcupine.Model {
	return porcupine.Model{
		Partition: partitionRegisters,
		Init:      func() any { return registerState{initial} },
		Step:      registerStep,
		Equal:     func(a, b any) bool { return slices.Equal(a.(registerState), b.(registerState)) },
		Hash: func(state any) uint64 {
			h := uint64(14695981039346656037)
			for _, v := range state.(registerState) {
				h = (h ^ uint64(v)) * 1099511628211
			}
			return h
		},
		DescribeOperation: describeRegisterOp,
		DescribeState: func(state any) string {
			s := state.(registerState)
			if len(s) == 1 {
				return fmt.Sprintf("%d", s[0])
			}
			return fmt.Sprintf("one of %v", []int64(s))
		},
	}
}

func partitionRegisters(history []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[string][]porcupine.Operation{}
	for _, op := range history {
		key := op.Input.(registerCall).key
		byKey[key] = append(byKey[key], op)
	}
	out := make([][]porcupine.Operation, 0, len(byKey))
	for _, key := range sortedKeys(byKey) {
		out = append(out, byKey[key])
	}
	return out
}

func describeRegisterOp(input, output any) string {
	c, r := input.(registerCall), output.(registerReturn)
	switch {
	case c.write && r.known:
		return fmt.Sprintf("op %d: write %d", c.op, c.value)
	case c.write:
		return fmt.Sprintf("op %d: write %d ?", c.op, c.value)
	default:
		return fmt.Sprintf("op %d: read -> %d", c.op, r.value)
	}
}

// registerOperations turns h's operations on key into Porcupine
// operations: OK writes and reads as they are, indeterminate and pending
// writes open until their close, failed operations and non-OK reads left
// out.
func registerOperations(ops []RegisterOp) []porcupine.Operation {
	var out []porcupine.Operation
	for _, op := range ops {
		call := registerCall{key: op.Key, write: op.Write, value: op.Value, op: op.ID}
		p := porcupine.Operation{ClientId: op.Client, Input: call, Call: op.Invoke, Return: op.Return, Metadata: op.ID}
		switch {
		case op.Outcome == OK:
			p.Output = registerReturn{known: true, value: op.Value}
		case op.Write && op.Outcome != Failed:
			p.Output, p.Return = registerReturn{}, op.Close
		default:
			continue
		}
		out = append(out, p)
	}
	return out
}

// RegisterResult is the outcome of CheckRegisters.
type RegisterResult struct {
	// OK: every key is a linearizable register.
	OK bool
	// Failed lists, sorted, the keys that are not; Explanations holds,
	// per failed key, its operations in invocation order (the last
	// explainOpsMax), for the report.
	Failed       []string
	Explanations map[string]string
}

// explainOpsMax bounds the operations an explanation lists per key.
const explainOpsMax = 40

// CheckRegisters checks every key of h against a register starting at
// initial, with a wall-clock timeout for Porcupine's whole search (0:
// none). It returns ErrTimedOut (and OK false) when a key's search did not
// finish in time.
func CheckRegisters(h *RegisterHistory, initial int64, timeout time.Duration) (RegisterResult, error) {
	byKey := map[string][]RegisterOp{}
	for _, op := range h.ops {
		byKey[op.Key] = append(byKey[op.Key], op)
	}
	res := RegisterResult{OK: true, Explanations: map[string]string{}}
	model := registerModel(initial)
	for _, key := range sortedKeys(byKey) {
		verdict := porcupine.CheckOperationsTimeout(model, registerOperations(byKey[key]), timeout)
		switch verdict {
		case porcupine.Unknown:
			return RegisterResult{}, fmt.Errorf("%w: register %s", ErrTimedOut, key)
		case porcupine.Illegal:
			res.OK = false
			res.Failed = append(res.Failed, key)
			res.Explanations[key] = explainRegister(byKey[key])
		}
	}
	return res, nil
}

// explainRegister lists a key's operations, one a line.
func explainRegister(ops []RegisterOp) string {
	var b strings.Builder
	for _, op := range ops[max(0, len(ops)-explainOpsMax):] {
		what := "read"
		if op.Write {
			what = fmt.Sprintf("write %d", op.Value)
		}
		fmt.Fprintf(&b, "  op %d client %d: %s [%d, %s] %s", op.ID, op.Client, what, op.Invoke, timeString(op.Return), op.Outcome)
		if !op.Write && op.Outcome == OK {
			fmt.Fprintf(&b, " -> %d", op.Value)
		}
		if op.Close != Never {
			fmt.Fprintf(&b, " closed at %d", op.Close)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func timeString(t int64) string {
	if t == Never {
		return "never"
	}
	return fmt.Sprintf("%d", t)
}
