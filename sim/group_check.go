package sim

import (
	"slices"

	"github.com/takhin-io/takhin/linearizability"
)

// groupChecker holds what the consumer-group members were told and checks
// it:
//
//   - no partition is owned by two members of one generation (each
//     member's assignment is recorded when its SyncGroup answers; a member
//     answered twice in one generation must get the same assignment);
//   - a generation whose every member (as the leader's JoinGroup answer
//     listed them) got its SyncGroup answer covers the workload topic's
//     partitions exactly once; a generation some member never heard from
//     (it crashed, or the group moved on) is checked for overlaps only;
//   - each (group, partition) committed offset is a linearizable register
//     (OffsetCommit writes, DeleteGroups and OffsetDelete write
//     NoCommittedOffset, OffsetFetch reads): the history it records is
//     checked with Porcupine by the caller (it needs a wall-clock budget),
//     after close closes each lost write at the crash that ended the
//     node's incarnation it was sent to;
//   - on every run, without a search, no read returns a value that a later
//     acknowledged operation already replaced (checkStale): a deleted
//     offset never comes back, an acknowledged commit is never lost.
type groupChecker struct {
	chk  *checker
	hist *linearizability.RegisterHistory
	gens map[genKey]*genRecord
	// sentTo is the node incarnation each register write was sent to.
	sentTo map[linearizability.OpID]uint64
	// readAt is, per register key, the invocation of its last OK read
	// (the drain phase waits for reads after the final crash).
	readAt map[string]int64
	// value is the last value a simple consumer committed: each commit
	// writes a new one.
	value  int64
	counts GroupCounts
}

// GroupCounts is what the consumer groups did in a run.
type GroupCounts struct {
	Joins, Syncs, GenerationsCovered    int
	CommitsAcked, CommitsFailed, Reads  int
	CommitsIndeterminate, Fetched       int
	MemberCrashes, MemberLeaves, Errors int
	// CommitsBeforeTopic: commits refused UNKNOWN_TOPIC_OR_PARTITION
	// because the clients' topic did not exist yet (as Kafka refuses).
	CommitsBeforeTopic int
	// The simple consumers' DeleteGroups (sent, answered NONE, answered
	// GROUP_ID_NOT_FOUND) and OffsetDeletes (sent, answered NONE for
	// every partition); ReadsAfterDelete counts the reads invoked after
	// an acknowledged deletion of what they read (checkStale).
	Deletes, DeletesAcked, DeletesNotFound int
	OffsetDeletes, OffsetDeletesAcked      int
	ReadsAfterDelete                       int
}

type genKey struct {
	group      string
	generation int32
}

// genRecord is one generation of one group: the leader's member list
// (once the leader's SyncGroup answered) and each answered member's
// partitions.
type genRecord struct {
	members  []string
	assigned map[string][]int32
	covered  bool
}

func newGroupChecker(chk *checker) *groupChecker {
	return &groupChecker{chk: chk, hist: &linearizability.RegisterHistory{}, gens: map[genKey]*genRecord{},
		sentTo: map[linearizability.OpID]uint64{}, readAt: map[string]int64{}}
}

// registerKey names the committed offset of one group's partition.
func registerKey(group string, p int32) string {
	return group + "/" + linearizability.PartitionKey(kTopic, p)
}

// synced records member's assignment in generation gen;
// leaderView is the leader's member list (nil for a follower).
func (gc *groupChecker) synced(group string, gen int32, member string, parts []int32, leaderView []string) {
	gc.counts.Syncs++
	k := genKey{group, gen}
	rec := gc.gens[k]
	if rec == nil {
		rec = &genRecord{assigned: map[string][]int32{}}
		gc.gens[k] = rec
	}
	if old, ok := rec.assigned[member]; ok && !slices.Equal(old, parts) {
		gc.chk.violation("group %s generation %d: member %s was assigned %v, then %v", group, gen, member, old, parts)
	}
	for _, other := range sortedStrings(rec.assigned) {
		if other == member {
			continue
		}
		for _, p := range parts {
			if slices.Contains(rec.assigned[other], p) {
				gc.chk.violation("group %s generation %d: partition %d owned by both %s and %s", group, gen, p, other, member)
			}
		}
	}
	rec.assigned[member] = parts
	if leaderView != nil {
		if rec.members != nil && !slices.Equal(rec.members, leaderView) {
			gc.chk.violation("group %s generation %d: two member lists %v and %v", group, gen, rec.members, leaderView)
		}
		rec.members = leaderView
	}
	gc.checkCoverage(k, rec)
}

// checkCoverage checks a generation once every member of the leader's
// list has its assignment: exactly the workload's partitions, each once,
// and nobody outside the list assigned.
func (gc *groupChecker) checkCoverage(k genKey, rec *genRecord) {
	if rec.members == nil {
		return
	}
	for _, m := range sortedStrings(rec.assigned) {
		if !slices.Contains(rec.members, m) {
			gc.chk.violation("group %s generation %d: %s got an assignment but is not a member %v", k.group, k.generation, m, rec.members)
		}
	}
	var all []int32
	for _, m := range rec.members {
		parts, ok := rec.assigned[m]
		if !ok {
			return // not every member has heard yet (or ever will)
		}
		all = append(all, parts...)
	}
	slices.Sort(all)
	want := make([]int32, kPartitions)
	for i := range want {
		want[i] = int32(i)
	}
	if !slices.Equal(all, want) {
		gc.chk.violation("group %s generation %d: the members %v cover partitions %v, want each of %v once",
			k.group, k.generation, rec.members, all, want)
	}
	if !rec.covered {
		rec.covered = true
		gc.counts.GenerationsCovered++
	}
}

// write and read start register operations; incarnation is the node's
// at the invocation.
func (gc *groupChecker) write(client int, key string, offset int64, now int64, incarnation uint64) linearizability.OpID {
	id := gc.hist.Write(client, key, offset, now)
	gc.sentTo[id] = incarnation
	return id
}

func (gc *groupChecker) read(client int, key string, now int64) linearizability.OpID {
	return gc.hist.Read(client, key, now)
}

// nextValue is a simple consumer's next commit value, never written
// before in the run.
func (gc *groupChecker) nextValue() int64 {
	gc.value++
	return gc.value
}

// completed ends a register operation and counts it.
func (gc *groupChecker) completed(op registerOp, outcome linearizability.Outcome, value int64, now int64) {
	gc.hist.Complete(op.id, outcome, value, now)
	switch {
	case !op.write && outcome == linearizability.OK:
		gc.counts.Reads++
		gc.readAt[op.key] = op.invoked
	case !op.write:
	case outcome == linearizability.OK:
		gc.counts.CommitsAcked++
	case outcome == linearizability.Failed:
		gc.counts.CommitsFailed++
	default:
		gc.counts.CommitsIndeterminate++
	}
}

// close closes every write whose fate the client never learned at the
// crash that ended the incarnation it was sent to (a request in flight
// dies with the node: what it wrote is durable by then or never will be).
// crashedAt[i] is the end of incarnation i+1.
func (gc *groupChecker) close(crashedAt []int64) {
	for _, op := range gc.hist.Operations() {
		inc := gc.sentTo[op.ID]
		if !op.Write || (op.Outcome != linearizability.Indeterminate && op.Outcome != linearizability.Pending) ||
			inc == 0 || int(inc) > len(crashedAt) {
			continue
		}
		gc.hist.CloseRegisterWrite(op.ID, max(crashedAt[inc-1], op.Invoke))
	}
}

// covered reports whether the group's generation was found to cover
// every partition.
func (gc *groupChecker) covered(group string, generation int32) bool {
	rec := gc.gens[genKey{group, generation}]
	return rec != nil && rec.covered
}

// readSince reports whether every partition's committed offset of group
// was read since from.
func (gc *groupChecker) readSince(group string, from int64) bool {
	for p := int32(0); p < kPartitions; p++ {
		if at, ok := gc.readAt[registerKey(group, p)]; !ok || at < from {
			return false
		}
	}
	return true
}

// registerOp is one register operation of a request in flight.
type registerOp struct {
	id        linearizability.OpID
	key       string
	write     bool
	partition int32
	invoked   int64
}

// NoCommittedOffset is what OffsetFetch answers for a partition without
// a commit: every register's initial value, for CheckRegisters.
const NoCommittedOffset int64 = -1

func sortedStrings[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
