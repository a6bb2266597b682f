package sim

import (
	"fmt"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/sim/simfs"
)

// Result is what a run did and found.
type Result struct {
	Options    Options
	Counts     Counts
	VirtualMs  int64
	TraceHash  uint64
	Violations []string
}

// OK reports a run without violations.
func (r Result) OK() bool { return len(r.Violations) == 0 }

// Run executes one simulation: one node over a crash-faithful disk, a
// seeded workload and the faults opts turns on; then a final crash and
// recovery, checked like every other. Same options ⇒ same run, bit for bit
// (TraceHash).
func Run(opts Options) Result {
	w := newWorld(opts.Seed)
	chk := newChecker()
	fs := simfs.New(env.NewRand(opts.Seed, "node-1/disk"), simfs.Options{
		Faults: simfs.Probabilities{SyncIO: opts.SyncFailure},
		OnOp: func(op, name string, n int, err error) {
			w.record("fs:"+op+":"+name, int64(n), errCode(err))
		},
	})
	n := &node{w: w, id: 1, opts: &opts, rng: env.NewRand(opts.Seed, "node-1"), fs: fs, wallBaseMs: 1_700_000_000_000}
	wl := newWorkload(w, n, &opts, chk)
	n.sink = wl
	w.schedule(0, nil, n.boot)
	w.schedule(1_000_000, nil, wl.tick)
	for w.steps < opts.Steps && len(chk.violations) == 0 && w.step() {
	}
	if len(chk.violations) == 0 {
		finalCheck(w, n)
	}
	wl.counts.Steps = w.steps
	return Result{Options: opts, Counts: wl.counts, VirtualMs: w.now / 1_000_000,
		TraceHash: w.trace.Sum64(), Violations: chk.violations}
}

// finalCheck crashes the node once more, with faults off, and lets it
// recover: the checker's boot checks then cover everything acknowledged.
func finalCheck(w *world, n *node) {
	n.fs.SetCapacity(0)
	n.crash("final check")
	if n.up {
		return
	}
	n.boot()
}

// Summary is the run's report, one fact per line, as `takhin sim` prints it.
func (r Result) Summary() string {
	c := r.Counts
	s := fmt.Sprintf("options: %s\n", r.Options)
	s += fmt.Sprintf("counts: steps=%d virtual=%dms crashes=%d disk-full=%d produced=%d acked-all=%d acked-one=%d produce-errors=%d fetches=%d fetched-batches=%d topic-changes=%d/%d\n",
		c.Steps, r.VirtualMs, c.Crashes, c.DiskFull, c.Produced, c.AckedAll, c.AckedOne, c.ProduceErrs,
		c.Fetches, c.FetchedBatches, c.TopicChangesAcked, c.TopicChanges)
	s += fmt.Sprintf("trace-hash: %016x\n", r.TraceHash)
	if r.OK() {
		return s + "verdict: ok\n"
	}
	for _, v := range r.Violations {
		s += "violation: " + v + "\n"
	}
	return s + "verdict: FAILED\n"
}
