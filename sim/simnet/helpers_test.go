// Helpers shared by the simnet tests: a tiny deterministic scheduler (a
// heap of (time, seeded tie-break, sequence, fn), as the simulator's world
// is), a recorder of each node's events that checks the Handler contract,
// and a harness tying them to a Net.
package simnet

import (
	"container/heap"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"testing"

	"github.com/takhin-io/takhin/env"
)

// tb is what the helpers need of *testing.T and *rapid.T alike.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

const ms = int64(1_000_000) // one millisecond in ns

// scheduler runs actions in (time, seeded priority, sequence) order: ties
// at one instant run in a seeded order, so a test passes only if simnet
// does not depend on the order of simultaneous actions.
type scheduler struct {
	now   int64
	queue actionHeap
	seq   uint64
	rng   *env.Rand
	steps int
}

type action struct {
	at        int64
	prio, seq uint64
	fn        func()
}

func newScheduler(seed uint64) *scheduler {
	return &scheduler{rng: env.NewRand(seed, "test-scheduler")}
}

func (s *scheduler) Now() int64 { return s.now }

func (s *scheduler) At(t int64, fn func()) {
	if t < s.now {
		panic(fmt.Sprintf("scheduled in the past: %d < %d", t, s.now))
	}
	heap.Push(&s.queue, &action{at: t, prio: s.rng.Uint64(), seq: s.seq, fn: fn})
	s.seq++
}

// runUntil runs every action due by t, then sets the clock to t.
func (s *scheduler) runUntil(t int64) {
	for s.queue.Len() > 0 && s.queue[0].at <= t {
		a := heap.Pop(&s.queue).(*action)
		s.now = a.at
		s.steps++
		if s.steps > 10_000_000 {
			panic("scheduler: runaway")
		}
		a.fn()
	}
	s.now = max(s.now, t)
}

// run runs until no action is left.
func (s *scheduler) run() {
	for s.queue.Len() > 0 {
		s.runUntil(s.queue[0].at)
	}
}

func (s *scheduler) advance(d int64) { s.runUntil(s.now + d) }

type actionHeap []*action

func (q actionHeap) Len() int { return len(q) }
func (q actionHeap) Less(i, j int) bool {
	a, b := q[i], q[j]
	if a.at != b.at {
		return a.at < b.at
	}
	if a.prio != b.prio {
		return a.prio < b.prio
	}
	return a.seq < b.seq
}
func (q actionHeap) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *actionHeap) Push(x any)   { *q = append(*q, x.(*action)) }
func (q *actionHeap) Pop() any {
	old := *q
	a := old[len(old)-1]
	*q = old[:len(old)-1]
	return a
}

// endLog is everything one end received.
type endLog struct {
	opened bool
	remote string
	frames [][]byte
	closed bool
	err    error
}

// recorder is one node's Handler: it logs events per end and fails the
// test on a contract breach (an event after ConnClosed, a frame before
// ConnOpened, a second ConnOpened). onFrame, if set, runs after a FrameIn
// is logged.
type recorder struct {
	t       tb
	node    string
	ends    map[env.ConnID]*endLog
	onFrame func(FrameIn)
}

func (r *recorder) log(id env.ConnID) *endLog {
	l := r.ends[id]
	if l == nil {
		l = &endLog{}
		r.ends[id] = l
	}
	return l
}

func (r *recorder) handle(ev Event) {
	r.t.Helper()
	switch ev := ev.(type) {
	case ConnOpened:
		l := r.log(ev.Conn)
		if l.opened || l.closed || len(l.frames) > 0 {
			r.t.Fatalf("%s: ConnOpened %d out of order", r.node, ev.Conn)
		}
		l.opened, l.remote = true, ev.Remote
	case FrameIn:
		l := r.log(ev.Conn)
		if !l.opened || l.closed {
			r.t.Fatalf("%s: FrameIn on %d before ConnOpened or after ConnClosed", r.node, ev.Conn)
		}
		l.frames = append(l.frames, ev.Frame)
		if r.onFrame != nil {
			r.onFrame(ev)
		}
	case ConnClosed:
		l := r.log(ev.Conn)
		if l.closed {
			r.t.Fatalf("%s: second ConnClosed on %d", r.node, ev.Conn)
		}
		l.closed, l.err = true, ev.Err
	}
}

// harness is a Net over a test scheduler, with a recorder per node and
// the dialer-to-listener pairing learned from the "accept" events.
type harness struct {
	t       tb
	sched   *scheduler
	net     *Net
	nodes   map[string]*recorder
	peer    map[env.ConnID]env.ConnID // both ways
	trace   hash.Hash64
	onEvent func(kind string, a, b int64)
}

func newHarness(t tb, seed uint64, cfg Config) *harness {
	t.Helper()
	h := &harness{
		t:     t,
		sched: newScheduler(seed),
		nodes: map[string]*recorder{},
		peer:  map[env.ConnID]env.ConnID{},
		trace: fnv.New64a(),
	}
	cfg.OnEvent = func(kind string, a, b int64) {
		fmt.Fprintf(h.trace, "%d %s %d %d\n", h.sched.now, kind, a, b)
		if kind == "accept" {
			h.peer[env.ConnID(a)], h.peer[env.ConnID(b)] = env.ConnID(b), env.ConnID(a)
		}
		if h.onEvent != nil {
			h.onEvent(kind, a, b)
		}
	}
	net, err := New(h.sched, env.NewRand(seed, "simnet"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.net = net
	return h
}

func (h *harness) recorder(node string) *recorder {
	r := &recorder{t: h.t, node: node, ends: map[env.ConnID]*endLog{}}
	h.nodes[node] = r
	return r
}

func (h *harness) listen(node string) *recorder {
	r := h.recorder(node)
	h.net.Listen(node, r.handle)
	return r
}

func (h *harness) attach(node string) *recorder {
	r := h.recorder(node)
	h.net.Attach(node, r.handle)
	return r
}

func (h *harness) dial(from, to string) env.ConnID {
	h.t.Helper()
	id, err := h.net.Dial(from, to)
	if err != nil {
		h.t.Fatal(err)
	}
	return id
}

// connect dials and runs until the handshake is done; it returns the
// dialer's and the listener's end.
func (h *harness) connect(from, to string) (env.ConnID, env.ConnID) {
	h.t.Helper()
	id := h.dial(from, to)
	h.sched.advance(100 * ms)
	if !h.nodes[from].log(id).opened || h.peer[id] == 0 {
		h.t.Fatalf("dial %s→%s did not complete", from, to)
	}
	return id, h.peer[id]
}

func (h *harness) send(node string, id env.ConnID, frame []byte) {
	h.t.Helper()
	if err := h.net.Endpoint(node).Send(id, frame); err != nil {
		h.t.Fatalf("send on %d: %v", id, err)
	}
}

// frameOf is frame number i of a test: its number, then size-8 bytes
// derived from it, so a frame is recognisable and any cut shows.
func frameOf(i, size int) []byte {
	f := make([]byte, max(size, 8))
	for j := range f {
		f[j] = byte(i*31 + j)
	}
	f[0], f[1] = byte(i>>8), byte(i)
	return f[:size]
}

// checkFrames fails unless got equals want frame by frame.
func checkFrames(t tb, what string, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d frames, want %d", what, len(got), len(want))
	}
	checkPrefix(t, what, got, want)
}

// checkPrefix fails unless got is a prefix of want, frame by frame.
func checkPrefix(t tb, what string, got, want [][]byte) {
	t.Helper()
	if len(got) > len(want) {
		t.Fatalf("%s: %d frames, more than the %d sent", what, len(got), len(want))
	}
	for i := range got {
		if string(got[i]) != string(want[i]) {
			t.Fatalf("%s: frame %d is %x, want %x", what, i, got[i], want[i])
		}
	}
}

func checkErr(t tb, what string, l *endLog, want error) {
	t.Helper()
	if !l.closed {
		t.Fatalf("%s: no ConnClosed, want %v", what, want)
	}
	if !errors.Is(l.err, want) { // errors.Is(nil, nil) holds
		t.Fatalf("%s: ConnClosed %v, want %v", what, l.err, want)
	}
}

// Test the test scheduler: a clock that never goes back, ties in seeded
// order.
func TestScheduler(t *testing.T) {
	s := newScheduler(1)
	var got []int64
	for _, at := range []int64{5, 1, 3, 1} {
		s.At(at, func() { got = append(got, s.Now()) })
	}
	s.run()
	if fmt.Sprint(got) != "[1 1 3 5]" {
		t.Fatalf("ran at %v", got)
	}
}
