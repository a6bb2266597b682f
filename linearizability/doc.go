// Package linearizability records what clients of a Kafka-like log saw and
// checks it. It knows nothing of the broker: it imports only the standard
// library and Porcupine, and takes times as virtual nanoseconds from the
// caller.
//
// # Recording
//
// A History holds one Operation per logical client operation, from its
// first attempt's invocation to its final outcome, retries included (as
// Jepsen's kafka workload records them):
//
//	id := h.Invoke(client, Send{Partition: "t/0", Value: "v7", Acks: -1, Idempotent: true}, now)
//	...
//	h.Complete(id, OK, Reply{Offset: 42}, later)        // or Failed, Indeterminate
//	h.CloseIndeterminate(id, when)                      // optional, for an indeterminate send
//
// Operations act on one partition each, named by a key (PartitionKey):
// Send (one record; its result is the offset), ListLatest (the end offset)
// and Poll (one fetch/consume step from an offset; its result is the
// records read). The outcome is OK, Failed (definitely took no effect:
// every attempt was rejected before append, see DefinitelyFailed) or
// Indeterminate (timeouts, disconnects, storage errors).
//
// # Checking
//
// CheckLinearizable checks each partition with Porcupine against a model
// whose state is the end offset, fed with acks=all sends, list-offsets and
// polls (see model.go). Result.Visualize writes Porcupine's HTML view.
//
// Check runs content checkers named after Jepsen's kafka workload
// (lost-write, unseen, duplicate, inconsistent-offsets, nonmonotonic-send,
// nonmonotonic-poll, poll-skip, aborted-read) and returns a Report with
// structured anomalies, counts and the values exempted by Options (acks=1
// values in runs with crashes; windows of legitimate storage loss).
//
// # Registers
//
// RegisterHistory and CheckRegisters (register.go) check keys that behave
// as read/write registers of int64 — a consumer group's committed offset
// per partition — with writes that are OK, Failed or Indeterminate (closed
// by CloseRegisterWrite once they can no longer land) and reads that must
// return the latest write, or one of the indeterminate ones that may have
// landed.
//
// Determinism: nothing here reads the clock or global randomness, and map
// order never reaches a result (keys are sorted). Porcupine's own search
// runs on goroutines under a wall-clock timeout; its verdict does not
// depend on scheduling, only whether it finishes in time does.
package linearizability
