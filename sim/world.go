package sim

import (
	"container/heap"
	"encoding/binary"
	"hash"
	"hash/fnv"

	"github.com/takhin-io/takhin/env"
)

// world is the simulator's single thread of control: a queue of actions
// ordered by (virtual time, seeded random priority, sequence), so actions
// due at the same instant run in a seeded, varying order.
type world struct {
	now     int64 // virtual nanoseconds since the run started
	rng     *env.Rand
	queue   actionQueue
	seq     uint64
	trace   hash.Hash64
	scratch []byte // record's buffer, reused
	steps   int
}

// action is one scheduled step. node and incarnation scope it: an action of
// a node that crashed since it was scheduled is dropped, as a crash drops
// everything in flight.
type action struct {
	at          int64
	prio        uint64
	seq         uint64
	node        *node
	incarnation uint64
	fn          func()
}

func newWorld(seed uint64) *world {
	return &world{rng: env.NewRand(seed, "scheduler"), trace: fnv.New64a()}
}

// schedule runs fn at virtual time at (never in the past). A nil node
// means the action belongs to no node (the workload, the fault injector).
func (w *world) schedule(at int64, n *node, fn func()) {
	at = max(at, w.now)
	a := &action{at: at, prio: w.rng.Uint64(), seq: w.seq, node: n, fn: fn}
	if n != nil {
		a.incarnation = n.incarnation
	}
	w.seq++
	heap.Push(&w.queue, a)
}

// step runs the next action; false when none is left.
func (w *world) step() bool {
	for w.queue.Len() > 0 {
		a := heap.Pop(&w.queue).(*action)
		if a.node != nil && (a.incarnation != a.node.incarnation || !a.node.up) {
			continue // its node crashed since: the action died with it
		}
		if a.node != nil && a.node.pausedUntil > a.at {
			a.at = a.node.pausedUntil // the node is paused: it runs when it resumes
			heap.Push(&w.queue, a)
			continue
		}
		w.now = a.at
		w.steps++
		a.fn()
		return true
	}
	return false
}

// record hashes one event or I/O into the trace: the trace hash is the
// run's fingerprint (two runs of one seed must agree bit for bit). Only
// data goes in, never log text.
func (w *world) record(kind string, values ...int64) {
	w.recordPrefixed("", kind, values...)
}

// recordPrefixed is record of prefix+kind, without building the string:
// the trace is written on every event, so it allocates nothing.
func (w *world) recordPrefixed(prefix, kind string, values ...int64) {
	b := binary.BigEndian.AppendUint64(w.scratch[:0], uint64(w.now))
	b = append(append(b, prefix...), kind...)
	for _, v := range values {
		b = binary.BigEndian.AppendUint64(b, uint64(v))
	}
	w.trace.Write(b)
	w.scratch = b
}

type actionQueue []*action

func (q actionQueue) Len() int { return len(q) }
func (q actionQueue) Less(i, j int) bool {
	a, b := q[i], q[j]
	if a.at != b.at {
		return a.at < b.at
	}
	if a.prio != b.prio {
		return a.prio < b.prio
	}
	return a.seq < b.seq
}
func (q actionQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *actionQueue) Push(x any)   { *q = append(*q, x.(*action)) }
func (q *actionQueue) Pop() any {
	old := *q
	a := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return a
}
