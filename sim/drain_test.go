package sim

// Goal: the drain phase is fault-free, disk faults included, so that its
// liveness checks fail only on a real bug. Found by seed 148310558492043:
// fsync failures stayed on in the drain, each crashing the node, which
// then never lived 60 ms at a time; group-1's stored generation still held
// a crashed member, whose session every coordinator load restarts (as
// Kafka's does), so each rejoin waited for it and the group never settled.

import "testing"

// A run whose every fsync fails gets nothing durable until the drain: the
// node crashes at its first fsync, over and over. The drain turns the
// failures off, so the node then stays up and the group settles.
func TestDrainHasNoFsyncFailures(t *testing.T) {
	o := Swarm(3)
	o.SyncFailure = 1
	o.CrashPerMille, o.DiskFullPerMille, o.BitFlipPerMille, o.PausePerMille = 0, 0, 0, 0
	o.Groups, o.GroupMembers, o.OffsetsPartitions, o.SessionTimeoutMs = 1, 2, 3, 60
	o.LeavePerMille, o.MemberCrashPerMille = 0, 0
	r := Run(o)
	if !r.OK() {
		t.Fatalf("%s", r.Summary())
	}
	if r.Counts.Groups.GenerationsCovered == 0 {
		t.Fatalf("want a covered generation in the drain:\n%s", r.Summary())
	}
}
