package sim

import "fmt"

// The fault injector's schedule: every fault it injects is logged (virtual
// time, kind, target), and a failed run's summary prints the last ones
// before the violation.

// faultsShown bounds the schedule a failed run's summary prints.
const faultsShown = 30

// fault logs one injected fault.
func (wl *workload) fault(kind, target string) {
	wl.faults = append(wl.faults, fmt.Sprintf("t=%.3fms %s %s", float64(wl.w.now)/1e6, kind, target))
	wl.w.record("fault:"+kind, int64(len(wl.faults)))
}

// maybePartition cuts a Kafka client from the node, one way or both,
// and heals it after a drawn duration (1 ms to 100 ms of a run that lasts
// a few hundred: long enough to outlast a request, or several).
func (wl *workload) maybePartition() {
	if wl.opts.NetPartitionPerMille == 0 || len(wl.clients) == 0 || wl.rng.IntN(1000) >= wl.opts.NetPartitionPerMille {
		return
	}
	i := wl.rng.IntN(len(wl.clients))
	client, node := wl.clients[i], wl.n.name()
	if wl.cut[i] {
		return // already cut: its heal is scheduled
	}
	wl.cut[i] = true
	wl.counts.NetPartitions++
	switch wl.rng.IntN(3) {
	case 0:
		wl.n.net.Partition(client, node)
		wl.fault("partition", client+"<->"+node)
	case 1:
		wl.n.net.PartitionOneWay(client, node)
		wl.fault("partition", client+"->"+node)
	default:
		wl.n.net.PartitionOneWay(node, client)
		wl.fault("partition", node+"->"+client)
	}
	wl.w.schedule(wl.w.now+1_000_000*(1+wl.rng.Int64N(100)), nil, func() {
		if wl.cut[i] {
			wl.cut[i] = false
			wl.n.net.Heal(client, node)
			wl.fault("heal", client+"<->"+node)
		}
	})
}

// faultTail returns the last faultsShown entries of the schedule.
func faultTail(faults []string) []string {
	return faults[max(0, len(faults)-faultsShown):]
}

// maybeJumpClock jumps the node's wall clock to a new offset from the
// clients' clock, forward or back, within clockSkewMaxMs (the monotonic
// clock is untouched).
func (wl *workload) maybeJumpClock() {
	if wl.opts.ClockJumpPerMille == 0 || wl.rng.IntN(1000) >= wl.opts.ClockJumpPerMille {
		return
	}
	old := wl.n.skewMs
	wl.n.skewMs = wl.rng.Int64N(2*clockSkewMaxMs+1) - clockSkewMaxMs
	wl.counts.ClockJumps++
	wl.fault("clock-jump", fmt.Sprintf("%s %+dms", wl.n.name(), wl.n.skewMs-old))
}
