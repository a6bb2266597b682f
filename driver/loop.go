package driver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/executor"
	"github.com/takhin-io/takhin/internal/assert"
	"github.com/takhin-io/takhin/replication"
)

// ErrStopped is returned by a post to a loop that Stop was called on.
var ErrStopped = errors.New("driver: loop stopped")

// inboxDefault is the inbox size when a config leaves it zero: posts block
// (back-pressure) once that many events wait for the machine.
const inboxDefault = 1024

// machine is the RawNode-style surface both machines offer (STYLE rule 6);
// R is the machine's Ready type.
type machine[R any] interface {
	Step(replication.Event) error
	HasReady() bool
	Ready() R
	Advance(R)
}

// work is the part of a Ready the loop carries out the same way for every
// machine: the storage work, the deadline and the failure.
type work struct {
	persist    *replication.Persist
	reads      []replication.Read
	background []replication.Task
	deadline   int64 // monotonic ns; 0 for none
	failure    error
	fatal      bool // the failure stops the process
}

// adapter tells the loop how to read one machine's Ready: work extracts
// what the loop does itself, release hands the rest (replies, images) to
// the callbacks in the order the Ready documents.
type adapter[R any] struct {
	work    func(R) work
	release func(R)
}

// loopConfig is what every loop needs besides its machine and store.
type loopConfig struct {
	clock    env.Clock
	log      *zap.Logger
	inboxMax int
	onFatal  func(error)
	obs      loopObserver
}

// loopObserver is how a loop reports to metrics; each hook may be nil.
// written and synced run on the executor goroutine, stepped on the
// machine goroutine, so each sees a consistent state without locks.
type loopObserver struct {
	written func(*replication.Persist, replication.Written) // after a Persist's writes
	synced  func(time.Duration)                             // the duration of its sync
	stepped func()                                          // after every step, before its Readys
}

// event is an event waiting for its now: the machine goroutine stamps each
// event with the clock when it steps it, so the now a machine sees never
// goes backwards, whichever goroutine posted the event and when.
type event func(now env.Time) replication.Event

// job is one item of executor work; exactly one field is set.
type job struct {
	persist *replication.Persist
	read    *replication.Read
	task    *replication.Task
}

// loop drives one machine. The fields under "machine goroutine" are touched
// only by it; the store only by the executor goroutine (after start hands
// it over); mu and stopped are shared with posting callers.
type loop[R any] struct {
	m     machine[R]
	ad    adapter[R]
	cfg   loopConfig
	store *executor.Store

	mu      sync.RWMutex // held shared by posts, exclusively by Stop
	stopped bool

	inbox    chan event    // events callers post
	results  chan event    // completions from the executor
	jobs     chan job      // work for the executor
	stopc    chan struct{} // closed by Stop
	executed chan struct{} // closed by the executor goroutine at exit
	done     chan struct{} // closed by the machine goroutine at exit
	closeErr error         // the store's Close error, set before executed closes

	// machine goroutine. pending is why the machine goroutine never blocks
	// on the executor: work waits here and is offered in the select, so
	// the executor can always deliver its completions and never deadlocks
	// against a machine goroutine stuck handing it more work.
	pending  []job // handed out by a Ready, not yet taken by the executor
	owed     int   // completions the executor still owes
	timer    *time.Timer
	stopping bool
	fataled  bool
}

// start steps the machine's first event (Recovered or Loaded, already
// stamped) on the caller's goroutine, refuses to start when that fails the
// process, and then starts the two goroutines. On error the store is
// closed.
func start[R any](m machine[R], ad adapter[R], store *executor.Store, first replication.Event, cfg loopConfig) (*loop[R], error) {
	if err := m.Step(first); err != nil {
		return nil, errors.Join(fmt.Errorf("driver: step %T: %w", first, err), store.Close())
	}
	if w := ad.work(m.Ready()); w.fatal {
		return nil, errors.Join(fmt.Errorf("driver: refusing to start: %w", w.failure), store.Close())
	}
	if cfg.inboxMax <= 0 {
		cfg.inboxMax = inboxDefault
	}
	l := &loop[R]{
		m: m, ad: ad, cfg: cfg, store: store,
		inbox:    make(chan event, cfg.inboxMax),
		results:  make(chan event, 2),
		jobs:     make(chan job),
		stopc:    make(chan struct{}),
		executed: make(chan struct{}),
		done:     make(chan struct{}),
	}
	go l.execute()
	go l.run()
	return l, nil
}

// post queues ev for the machine, blocking while the inbox is full.
// Holding mu shared across the send guarantees that every post that
// returned nil is in the inbox before Stop closes stopc.
func (l *loop[R]) post(ev event) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.stopped {
		return ErrStopped
	}
	l.inbox <- ev
	return nil
}

// stop stops accepting events and waits, until ctx ends, for the machine
// to step what was posted before and for the executor to finish the work
// it owes (so a Persist whose writes were acknowledged is synced), then
// for the store to close. When ctx ends first, the goroutines still finish
// and close the store on their own.
func (l *loop[R]) stop(ctx context.Context) error {
	l.mu.Lock()
	if !l.stopped {
		l.stopped = true
		close(l.stopc)
	}
	l.mu.Unlock()
	select {
	case <-l.done:
		return l.closeErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the machine goroutine.
func (l *loop[R]) run() {
	defer close(l.done)
	l.timer = time.NewTimer(time.Hour)
	l.timer.Stop()
	l.drain() // the first event's Ready
	for !l.stopping || len(l.pending) > 0 || l.owed > 0 {
		l.waitOne()
	}
	l.timer.Stop()
	close(l.jobs)
	<-l.executed
}

// waitOne waits for one thing to happen and handles it. Once stopping, the
// inbox and the timer are no longer read: only the executor's work is
// finished (and whatever its completions start, like the next Persist).
func (l *loop[R]) waitOne() {
	var jobs chan<- job
	var next job
	if len(l.pending) > 0 {
		jobs, next = l.jobs, l.pending[0]
	}
	inbox, timer, stopc := l.inbox, l.timer.C, l.stopc
	if l.stopping {
		inbox, timer, stopc = nil, nil, nil
	}
	select {
	case jobs <- next:
		l.pending[0] = job{}
		l.pending = l.pending[1:]
	case ev := <-l.results:
		l.owed--
		l.step(ev)
	case ev := <-inbox:
		l.step(ev)
	case <-timer:
		l.step(tick)
	case <-stopc:
		l.beginStop()
	}
}

// beginStop steps every event posted before Stop: they were accepted, and
// Stop's exclusive lock guarantees they are all in the inbox by now.
func (l *loop[R]) beginStop() {
	l.stopping = true
	for {
		select {
		case ev := <-l.inbox:
			l.step(ev)
		default:
			return
		}
	}
}

// step stamps ev with now, steps it and carries out the Readys. A Step
// error means the driver broke the machine's contract: the process must
// not go on trusting this machine.
func (l *loop[R]) step(ev event) {
	stamped := ev(l.cfg.clock.Now())
	if err := l.m.Step(stamped); err != nil {
		l.fatal(fmt.Errorf("driver: step %T: %w", stamped, err))
	}
	l.drain()
}

// drain carries out every Ready, in the order the Ready types document:
// storage work to the executor, then replies, then the deadline, then the
// failure; Advance last. The metrics see the machine first, so a gauge
// (the high watermark) never lags a reply that implies it.
func (l *loop[R]) drain() {
	if l.cfg.obs.stepped != nil {
		l.cfg.obs.stepped()
	}
	for l.m.HasReady() {
		rd := l.m.Ready()
		w := l.ad.work(rd)
		l.handOut(w)
		l.ad.release(rd)
		l.arm(w.deadline)
		if w.failure != nil {
			l.failed(w)
		}
		l.m.Advance(rd)
	}
}

// handOut queues a Ready's storage work for the executor, in order, and
// counts the completions it owes for it.
func (l *loop[R]) handOut(w work) {
	if w.persist != nil {
		l.pending = append(l.pending, job{persist: w.persist})
		l.owed += 2 // Written, then Synced
	}
	for i := range w.reads {
		l.pending = append(l.pending, job{read: &w.reads[i]})
		l.owed++
	}
	for i := range w.background {
		l.pending = append(l.pending, job{task: &w.background[i]})
		l.owed++
	}
}

// arm points the one timer at deadline (monotonic ns on the loop's clock;
// 0 disarms it). A deadline already past fires at once.
func (l *loop[R]) arm(deadline int64) {
	if deadline == 0 {
		l.timer.Stop()
		return
	}
	l.timer.Reset(time.Duration(deadline - l.cfg.clock.Now().Mono))
}

// failed acts on a machine's Failure: a process-fatal one goes to OnFatal;
// otherwise the machine keeps answering every request with its failure.
func (l *loop[R]) failed(w work) {
	if w.fatal {
		l.fatal(w.failure)
		return
	}
	l.cfg.log.Warn("machine failed; it answers every request with the failure", zap.Error(w.failure))
}

// fatal reports the first process-fatal error to OnFatal, once: the
// process is expected to exit and restart through recovery.
func (l *loop[R]) fatal(err error) {
	if l.fataled {
		return
	}
	l.fataled = true
	l.cfg.log.Error("process-fatal failure", zap.Error(err))
	l.cfg.onFatal(err)
}

// execute is the executor goroutine: it carries out the jobs in order and
// posts each completion, then closes the store once the machine goroutine
// closes jobs.
func (l *loop[R]) execute() {
	defer close(l.executed)
	for j := range l.jobs {
		switch {
		case j.persist != nil:
			// Synced is owed even after a failed write: it syncs what was
			// written before the failure.
			written := l.store.Write(j.persist, l.cfg.clock.Now())
			if l.cfg.obs.written != nil {
				l.cfg.obs.written(j.persist, written)
			}
			l.results <- func(now env.Time) replication.Event { written.Now = now; return written }
			began := l.cfg.clock.Now()
			synced := l.store.Sync(j.persist, began)
			if l.cfg.obs.synced != nil {
				l.cfg.obs.synced(time.Duration(l.cfg.clock.Now().Mono - began.Mono))
			}
			l.results <- func(now env.Time) replication.Event { synced.Now = now; return synced }
		case j.read != nil:
			done := l.store.Read(*j.read, l.cfg.clock.Now())
			l.results <- func(now env.Time) replication.Event { done.Now = now; return done }
		default:
			assert.That(j.task != nil, "a job holds work")
			done := l.store.Background(*j.task, l.cfg.clock.Now())
			l.results <- func(now env.Time) replication.Event { done.Now = now; return done }
		}
	}
	l.closeErr = l.store.Close()
}

func tick(now env.Time) replication.Event { return replication.Tick{Now: now} }
