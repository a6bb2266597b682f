package sim

import (
	"fmt"
	"slices"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/linearizability"
	"github.com/takhin-io/takhin/sim/simfs"
	"github.com/takhin-io/takhin/sim/simnet"
)

// Result is what a run did and found.
type Result struct {
	Options    Options
	Counts     Counts
	VirtualMs  int64
	TraceHash  uint64
	Violations []string
	// Faults is the fault schedule: every fault the injector injected,
	// in order, with its virtual time and target.
	Faults []string
	// History is what the Kafka clients did, for the linearizability
	// check (run by the caller: it needs a wall-clock budget).
	History *linearizability.History
	// AllowedLoss lists the Kafka clients' partitions a bit flip may have
	// truncated, and from where (Porcupine's model knows no loss).
	AllowedLoss []linearizability.LossWindow
	// Offsets is what the consumer-group members committed and read, one
	// register per (group, partition) starting at NoCommittedOffset, for
	// linearizability.CheckRegisters (run by the caller, like History's).
	Offsets *linearizability.RegisterHistory
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
	net, err := simnet.New(scheduler{w}, env.NewRand(opts.Seed, "net"), simnet.Config{
		OnEvent: func(kind string, a, b int64) { w.recordPrefixed("net/", kind, a, b) },
		Faults: simnet.Faults{Reset: opts.NetReset, Spike: opts.NetSpike, SpikeMax: 20_000_000,
			Stall: opts.NetStall, StallMax: 50_000_000},
	})
	if err != nil {
		return Result{Options: opts, Violations: []string{"simnet: " + err.Error()}}
	}
	n := &node{w: w, id: 1, opts: &opts, rng: env.NewRand(opts.Seed, "node-1"), fs: fs, net: net, wallBaseMs: 1_700_000_000_000,
		skewMs: opts.ClockSkewMs}
	wl := newWorkload(w, n, &opts, chk)
	n.sink = wl
	hist := &linearizability.History{}
	var clients []*kclient
	for i := 0; i < opts.Clients; i++ {
		c := newKClient(w, net, n, i+1, opts.Seed, hist, wl.rc)
		clients = append(clients, c)
		wl.clients, wl.cut = append(wl.clients, c.name), append(wl.cut, false)
		w.schedule(2_000_000+int64(i)*100_000, nil, c.tick)
	}
	gc := newGroupChecker(chk)
	members := startGroups(w, net, n, gc, wl)
	w.schedule(0, nil, n.boot)
	w.schedule(1_000_000, nil, wl.tick)
	for w.steps < opts.Steps && len(chk.violations) == 0 && w.step() {
	}
	if len(chk.violations) == 0 {
		finalCheck(w, n)
		drain(w, wl, clients, members, chk)
	}
	gc.close(n.crashedAt)
	wl.counts.Retention = wl.rc.counts
	wl.counts.Steps = w.steps
	wl.counts.ClientOps = hist.Len()
	for _, c := range clients {
		wl.counts.ClientRequests += int(c.corr)
	}
	loss := wl.allowedLoss()
	if len(chk.violations) == 0 {
		wl.rc.finalStarts(n)
		wl.rc.checkKept(hist, loss, opts.Compacted)
		gc.checkStale()
	}
	wl.counts.Groups = gc.counts
	lopts := linearizability.Options{Crashes: wl.counts.Crashes > 0, AllowedLoss: loss, DeletedBelow: wl.rc.deletedBelow()}
	if opts.Compacted {
		lopts.Compacted = []string{linearizability.PartitionKey(kTopic, 0), linearizability.PartitionKey(kTopic, 1)}
	}
	checkHistory(hist, chk, lopts)
	return Result{Options: opts, Counts: wl.counts, VirtualMs: w.now / 1_000_000,
		TraceHash: w.trace.Sum64(), Violations: chk.violations, Faults: wl.faults, History: hist,
		AllowedLoss: loss, Offsets: gc.hist}
}

// drain is the run's last phase: faults off, the direct workload stopped,
// every Kafka client reads each partition to its end, so that an
// acknowledged record no client saw is a real anomaly (unseen), not the
// end of the run. The disk's fsync failures go off too: each crashes the
// node, and at sync-failure=0.01 under the simple teams' writes the node
// lived under 60 ms at a time, so a group whose stored generation still
// held a crashed member never settled (every coordinator load restarts
// the stored members' sessions, as Kafka's does: the member never timed
// out, and each rejoin waited for it; make sim SEED=148310558492043).
func drain(w *world, wl *workload, clients []*kclient, members []*kmember, chk *checker) {
	wl.stopped = true
	wl.n.net.HealAll()
	wl.n.net.SetFaults(simnet.Faults{}) // the liveness phase runs without faults
	wl.n.fs.SetFaults(simfs.Probabilities{})
	for _, c := range clients {
		c.draining = true
	}
	for _, m := range members {
		m.draining = true
	}
	from := w.now
	limit := w.steps + 50_000
	for w.steps < limit && len(chk.violations) == 0 && (!allDrained(clients) || !groupsSettled(members, from) || !wl.n.up) && w.step() {
	}
	if !allDrained(clients) && len(chk.violations) == 0 {
		chk.violation("liveness: the Kafka clients could not read every partition to its end after the faults stopped")
	}
	for _, g := range unsettled(members, from) {
		if len(chk.violations) > 0 {
			break
		}
		chk.violation("liveness: group %s did not settle (a generation covering every partition, every committed offset read) after the faults stopped", g)
	}
	for p := int32(0); p < kPartitions && wl.n.up; p++ {
		if dir := fmt.Sprintf("%s-%d", kTopic, p); wl.n.failedPartition(dir) && !wl.corruptedPartition(p) {
			chk.violation("liveness: partition %s is fail-stopped, but no bit was flipped in it", dir)
		}
	}
}

func allDrained(clients []*kclient) bool {
	for _, c := range clients {
		if !c.drained {
			return false
		}
	}
	return true
}

// checkHistory runs the Jepsen-named content checkers (deterministic; the
// linearizability check, which needs a wall-clock budget, is the
// caller's).
func checkHistory(h *linearizability.History, chk *checker, opts linearizability.Options) {
	report, err := linearizability.Check(h, opts)
	if err != nil {
		chk.violation("history: %v", err)
		return
	}
	report.Anomalies = slices.DeleteFunc(report.Anomalies, func(a linearizability.Anomaly) bool {
		return truncationExcuses(a, opts.AllowedLoss)
	})
	if !report.OK() {
		chk.violation("client history: %s", report.String())
	}
}

// scheduler lets simnet schedule on the world: its actions belong to no
// node (a crashed node's connections are reset by simnet.Crash itself).
type scheduler struct{ w *world }

func (s scheduler) Now() int64            { return s.w.now }
func (s scheduler) At(t int64, fn func()) { s.w.schedule(t, nil, fn) }

// finalCheck crashes the node once more, with faults off; it recovers in
// the drain phase, where the checker's boot checks then cover everything
// acknowledged.
func finalCheck(w *world, n *node) {
	n.fs.SetCapacity(0)
	n.crash("final check")
}

// Summary is the run's report, one fact per line, as `takhin sim` prints it.
func (r Result) Summary() string {
	c := r.Counts
	s := fmt.Sprintf("options: %s\n", r.Options)
	s += fmt.Sprintf("counts: steps=%d virtual=%dms crashes=%d disk-full=%d produced=%d acked-all=%d acked-one=%d produce-errors=%d fetches=%d fetched-batches=%d topic-changes=%d/%d kafka-client-ops=%d net-partitions=%d clock-jumps=%d bit-flips=%d\n",
		c.Steps, r.VirtualMs, c.Crashes, c.DiskFull, c.Produced, c.AckedAll, c.AckedOne, c.ProduceErrs,
		c.Fetches, c.FetchedBatches, c.TopicChangesAcked, c.TopicChanges, c.ClientOps, c.NetPartitions, c.ClockJumps, c.BitFlips)
	if g := c.Groups; r.Options.Groups > 0 || r.Options.SimpleGroups > 0 {
		s += fmt.Sprintf("groups: joins=%d syncs=%d generations-covered=%d commits=%d/%d/%d (acked/failed/indeterminate) commits-before-topic=%d offset-reads=%d fetched-batches=%d member-crashes=%d member-leaves=%d\n",
			g.Joins, g.Syncs, g.GenerationsCovered, g.CommitsAcked, g.CommitsFailed, g.CommitsIndeterminate, g.CommitsBeforeTopic, g.Reads, g.Fetched,
			g.MemberCrashes, g.MemberLeaves)
	}
	if g := c.Groups; r.Options.SimpleGroups > 0 || r.Options.OffsetsCleanerBackoffMs > 0 {
		s += fmt.Sprintf("deletions: delete-groups=%d/%d/%d (sent/acked/not-found) offset-deletes=%d/%d (sent/acked) reads-after-delete=%d offsets-clean-chunks=%d\n",
			g.Deletes, g.DeletesAcked, g.DeletesNotFound, g.OffsetDeletes, g.OffsetDeletesAcked, g.ReadsAfterDelete, c.OffsetsCleanChunks)
	}
	if rc := c.Retention; r.Options.RetentionCheckMs > 0 || r.Options.Compacted {
		s += fmt.Sprintf("retention: chunks=%d segments-deleted=%d delete-records-acked=%d resets-to-log-start=%d clean-chunks=%d\n",
			rc.RetentionChunks, rc.SegmentsDeleted, rc.DeleteRecordsAcked, rc.ResetsToStart, rc.CleanChunks)
	}
	s += fmt.Sprintf("trace-hash: %016x\n", r.TraceHash)
	if r.OK() {
		return s + "verdict: ok\n"
	}
	if len(r.Faults) > 0 {
		s += fmt.Sprintf("fault schedule (last %d of %d):\n", len(faultTail(r.Faults)), len(r.Faults))
		for _, f := range faultTail(r.Faults) {
			s += "  " + f + "\n"
		}
	}
	for _, v := range r.Violations {
		s += "violation: " + v + "\n"
	}
	return s + "verdict: FAILED\n"
}
