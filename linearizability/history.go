package linearizability

import (
	"fmt"
	"math"
	"strconv"
)

// Offset is a position in one partition's log.
type Offset int64

// Continue is Poll.From for a consumer that does not name its start: it
// continues from where its previous poll of that partition left off (a
// subscribed consumer whose client library keeps the fetch position).
const Continue Offset = -1

// Never is the close time of an operation that is still open: an
// indeterminate send may take effect at any time after its invocation.
const Never int64 = math.MaxInt64

// OpID names one operation of a History: its index, in invocation order.
type OpID int

// Op is what a client asked for: a Send, a ListLatest or a Poll. Each names
// its partition by a key (see PartitionKey); operations on different keys
// never constrain each other.
type Op interface {
	// Key is the partition the operation acts on.
	Key() string
	isOp()
}

// Send is one logical produce of one record, from its first attempt to its
// final outcome, retries included. Values must be unique per partition: the
// checkers find a send by the value polled.
type Send struct {
	Partition string
	Value     string
	// Acks is -1 (all) or 1 (leader). acks=0 gets no reply and cannot be
	// recorded.
	Acks int
	// Idempotent marks a send of an idempotent producer: the broker
	// deduplicates its retries, so it appends at most once and in order.
	Idempotent bool
	// Producer names the producer instance (nonmonotonic-send groups by it).
	Producer int
	// RecordKey is the record's key ("" for none): on a partition listed in
	// Options.Compacted, a later write of the same key supersedes it.
	RecordKey string
}

// ListLatest is a ListOffsets request for the latest offset (the end).
type ListLatest struct {
	Partition string
}

// Poll is one fetch/consume step of one consumer (the client passed to
// Invoke): From is the offset it asked for, or Continue.
type Poll struct {
	Partition string
	From      Offset
}

func (s Send) Key() string       { return s.Partition }
func (l ListLatest) Key() string { return l.Partition }
func (p Poll) Key() string       { return p.Partition }
func (Send) isOp()               {}
func (ListLatest) isOp()         {}
func (Poll) isOp()               {}

// PartitionKey is the key a caller should use for a topic partition.
func PartitionKey(topic string, partition int32) string {
	return topic + "/" + strconv.FormatInt(int64(partition), 10)
}

// Outcome is how an operation ended, as the client saw it.
type Outcome uint8

const (
	// Pending: invoked and never completed. Checked like Indeterminate.
	Pending Outcome = iota
	// OK: the broker answered with success; the Reply holds the result.
	OK
	// Failed: definitely took no effect. For a send, every attempt was
	// rejected before append (see DefinitelyFailed); the caller ensures it.
	Failed
	// Indeterminate: timed out, disconnected, storage error, or any error
	// that does not prove the operation took no effect.
	Indeterminate
)

func (o Outcome) String() string {
	switch o {
	case Pending:
		return "pending"
	case OK:
		return "ok"
	case Failed:
		return "failed"
	case Indeterminate:
		return "indeterminate"
	default:
		return fmt.Sprintf("Outcome(%d)", uint8(o))
	}
}

// Record is one (offset, value) a poll returned.
type Record struct {
	Offset Offset
	Value  string
}

// Reply is the result of an OK operation; other outcomes carry only Attempts.
type Reply struct {
	// Offset is a Send's assigned offset or a ListLatest's end offset.
	Offset Offset
	// Records are what a Poll returned, in the order returned.
	Records []Record
	// Attempts is how many produce requests a Send issued (0 counts as 1).
	// A plain producer's attempts other than the acknowledged one may each
	// have appended the record once more, at any time after the invocation
	// (until CloseIndeterminate), and the model allows for that.
	Attempts int
}

// Operation is one recorded operation. Times are virtual nanoseconds from
// the caller's clock.
type Operation struct {
	ID      OpID
	Client  int
	Op      Op
	Invoke  int64
	Return  int64 // when it completed; Never while Pending
	Close   int64 // when it could no longer take effect; Never unless closed
	Outcome Outcome
	Reply   Reply
}

// History records operations in invocation order. It is not safe for
// concurrent use: the simulator records from its one thread, and a caller
// with goroutines must serialise its calls.
//
// Misuse (an unknown id, completing twice, time running backwards) is a
// programmer error and panics; what the broker returned is never checked
// here, that is the checkers' job.
type History struct {
	ops        []Operation
	lastInvoke int64
}

// Invoke records that client issued op at time at, and returns its id.
// Invocation times must not decrease.
func (h *History) Invoke(client int, op Op, at int64) OpID {
	must(op != nil, "Invoke with a nil op")
	must(client >= 0, "Invoke with negative client %d", client)
	must(at >= h.lastInvoke, "Invoke at %d before the previous invocation at %d", at, h.lastInvoke)
	if s, ok := op.(Send); ok {
		must(s.Acks == -1 || s.Acks == 1, "Send with acks %d: only -1 and 1 have replies", s.Acks)
	}
	if p, ok := op.(Poll); ok {
		must(p.From >= Continue, "Poll from %d: an offset or Continue", p.From)
	}
	id := OpID(len(h.ops))
	h.ops = append(h.ops, Operation{
		ID: id, Client: client, Op: op, Invoke: at, Return: Never, Close: Never, Outcome: Pending,
	})
	h.lastInvoke = at
	return id
}

// Complete records the final outcome of a pending operation at time at.
// For a send recorded as Failed the caller guarantees that every attempt
// was rejected before append.
func (h *History) Complete(id OpID, outcome Outcome, reply Reply, at int64) {
	op := h.at(id)
	must(op.Outcome == Pending, "Complete op %d twice (it is %s)", id, op.Outcome)
	must(outcome == OK || outcome == Failed || outcome == Indeterminate, "Complete op %d as %s", id, outcome)
	must(at >= op.Invoke, "Complete op %d at %d before its invocation at %d", id, at, op.Invoke)
	must(reply.Attempts >= 0, "Complete op %d with %d attempts", id, reply.Attempts)
	reply.Records = append([]Record(nil), reply.Records...)
	op.Outcome, op.Reply, op.Return = outcome, reply, at
}

// CloseIndeterminate records that a send can no longer take effect after
// time at (say, the simulator dropped or answered every copy of its
// requests). It applies to an Indeterminate send, and to the unacknowledged
// attempts of an OK one. Without it such a send stays open to the end of
// time, which is correct but makes the linearizability search exponential
// in the number of open sends.
func (h *History) CloseIndeterminate(id OpID, at int64) {
	op := h.at(id)
	_, isSend := op.Op.(Send)
	must(isSend, "CloseIndeterminate op %d: not a send", id)
	must(op.Outcome == Indeterminate || op.Outcome == OK, "CloseIndeterminate op %d, which is %s", id, op.Outcome)
	must(at >= op.Invoke, "CloseIndeterminate op %d at %d before its invocation at %d", id, at, op.Invoke)
	op.Close = at
}

// Len is the number of operations recorded.
func (h *History) Len() int { return len(h.ops) }

// Operations returns a copy of the operations, in invocation order.
func (h *History) Operations() []Operation {
	out := make([]Operation, len(h.ops))
	copy(out, h.ops)
	return out
}

func (h *History) at(id OpID) *Operation {
	must(id >= 0 && int(id) < len(h.ops), "unknown op %d", id)
	return &h.ops[id]
}

// attempts is how many times a send may have appended: once for an
// idempotent producer, once per attempt for a plain one.
func (o *Operation) attempts() int {
	if s, ok := o.Op.(Send); ok && !s.Idempotent && o.Reply.Attempts > 1 {
		return o.Reply.Attempts
	}
	return 1
}

// must panics on a programmer error in the use of this package. (The
// module's internal/assert is not importable here: this package depends on
// the standard library and Porcupine only.)
func must(ok bool, format string, args ...any) {
	if !ok {
		panic(fmt.Sprintf("linearizability: "+format, args...))
	}
}
