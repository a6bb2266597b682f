package sim

import (
	"fmt"
	"strings"

	"github.com/takhin-io/takhin/env"
)

// Options is one run's configuration. Swarm draws it from the seed (swarm
// testing: each seed picks which faults are on and how often), so a seed
// alone reproduces a run.
type Options struct {
	Seed uint64
	// Steps bounds the run: actions executed, all kinds counted.
	Steps int
	// Topics is how many topics the workload keeps around (it creates,
	// deletes and alters them); Partitions is each new topic's count.
	Topics, Partitions int
	// ClientGapUs is the mean virtual time between client operations.
	ClientGapUs int64
	// Clients is how many Kafka-protocol clients talk to the broker.
	Clients int
	// DiskLatencyUs bounds one simulated disk operation's latency.
	DiskLatencyUs int64
	// SegmentBytes is small so that segments roll and recovery crosses them.
	SegmentBytes int64
	// Faults.
	CrashPerMille    int     // chance, per client operation, of a crash at a random later instant
	SyncFailure      float64 // per fsync: EIO (fatal: the node crashes and recovers)
	DiskFullPerMille int     // chance, per client operation, of a disk-full episode
	// Network faults, per chunk of bytes simnet moves: a connection reset
	// (clients retry on a new one), a latency spike, a stall.
	NetReset, NetSpike, NetStall float64
	// NetPartitionPerMille is the chance, per workload tick, that a Kafka
	// client is cut from the node (one way or both) until a drawn heal.
	NetPartitionPerMille int
	// ClockSkewMs is the node's wall clock's initial offset from the
	// clients'; ClockJumpPerMille the chance, per workload tick, that it
	// jumps (forward or back) to a new offset. Offsets stay within
	// clockSkewMaxMs, so the clients' timestamps stay within
	// message.timestamp.after.max.ms of the node's clock. The monotonic
	// clock never jumps.
	ClockSkewMs       int64
	ClockJumpPerMille int
	// BitFlipPerMille is the chance, per workload tick, of one flipped bit
	// in a synced batch of the Kafka clients' topic (see bitflip.go).
	BitFlipPerMille int
	// PausePerMille is the chance, per millisecond of virtual time, that
	// the node stops for 1-20 ms (a GC pause, SIGSTOP, a stalled VM):
	// nothing of it runs meanwhile, then everything resumes in order.
	PausePerMille int
	// Groups is how many consumer groups run (0: none), each of
	// GroupMembers members (see kgroup.go) with a session timeout of
	// SessionTimeoutMs; OffsetsPartitions is __consumer_offsets'
	// partition count. LeavePerMille and MemberCrashPerMille are the
	// chances, per member action, that a member leaves the group (then
	// rejoins) or crashes (and a new one starts later).
	Groups, GroupMembers, OffsetsPartitions int
	SessionTimeoutMs                        int32
	LeavePerMille, MemberCrashPerMille      int
	// Retention of the Kafka clients' topic (see retention.go): its
	// retention.ms and retention.bytes (-1: unlimited), checked every
	// RetentionCheckMs of virtual time (0: retention as Kafka's defaults,
	// never due in a run); DeleteRecordsPerMille is the chance, per
	// client operation, of a DeleteRecords request.
	RetentionMs, RetentionBytes, RetentionCheckMs int64
	DeleteRecordsPerMille                         int
	// TopicSegmentBytes, when set, is the Kafka clients' topic's segment
	// size (small, so that segments roll and retention or the cleaner has
	// work); other logs keep SegmentBytes.
	TopicSegmentBytes int64
	// Compacted makes the Kafka clients' topic cleanup.policy=compact
	// (see compaction.go): keyed records from KeySpace keys, a clean check
	// every CleanerBackoffMs of virtual time.
	Compacted        bool
	KeySpace         int
	CleanerBackoffMs int64
	// SimpleGroups is how many groups of SimpleConsumers simple consumers
	// (see kgroup_simple.go) run: they commit with generation -1, read,
	// and delete their group (DeleteGroups) and its offsets
	// (OffsetDelete).
	SimpleGroups, SimpleConsumers int
	// OffsetsCleanerBackoffMs, when set, compacts __consumer_offsets as
	// the run's scale needs: a clean check that often, tombstones kept
	// OffsetsDeleteRetentionMs (delete.retention.ms) after the pass that
	// first keeps them, min.cleanable.dirty.ratio 0.01, and segments of
	// OffsetsSegmentBytes, so that a deleted group's tombstones are gone
	// from the log before a later restart reloads it.
	OffsetsCleanerBackoffMs, OffsetsDeleteRetentionMs, OffsetsSegmentBytes int64
}

// clockSkewMaxMs bounds the node's clock offset: 50 minutes, under
// message.timestamp.after.max.ms (one hour), so INVALID_TIMESTAMP never
// arises from skew alone.
const clockSkewMaxMs = 50 * 60 * 1000

// Swarm picks the options of seed.
func Swarm(seed uint64) Options {
	r := env.NewRand(seed, "options")
	o := Options{
		Seed:          seed,
		Steps:         40_000,
		Topics:        1 + r.IntN(3),
		Partitions:    1 + r.IntN(3),
		ClientGapUs:   []int64{50, 200, 1000}[r.IntN(3)],
		DiskLatencyUs: []int64{10, 100, 2000}[r.IntN(3)],
		SegmentBytes:  []int64{1024, 4096, 1 << 20}[r.IntN(3)],
		Clients:       8 + r.IntN(9),
	}
	if r.Chance(0.7) {
		o.CrashPerMille = 1 + r.IntN(10)
	}
	if r.Chance(0.4) {
		o.SyncFailure = []float64{0.001, 0.01}[r.IntN(2)]
	}
	if r.Chance(0.4) {
		o.DiskFullPerMille = 1 + r.IntN(5)
	}
	if r.Chance(0.5) {
		o.NetReset = []float64{0.0005, 0.002}[r.IntN(2)]
	}
	if r.Chance(0.5) {
		o.NetSpike, o.NetStall = 0.01, 0.005
	}
	if r.Chance(0.5) {
		o.NetPartitionPerMille = 2 + r.IntN(20)
	}
	if r.Chance(0.5) {
		o.ClockSkewMs = r.Int64N(2*clockSkewMaxMs+1) - clockSkewMaxMs
	}
	if r.Chance(0.4) {
		o.ClockJumpPerMille = 1 + r.IntN(10)
	}
	if perMille := 1 + r.IntN(5); r.Chance(0.3) {
		o.BitFlipPerMille = perMille
	}
	if r.Chance(0.4) {
		o.PausePerMille = 1 + r.IntN(10)
	}
	swarmGroups(r, &o)
	swarmRetention(r, &o)
	swarmCompaction(r, &o)
	swarmSimpleGroups(r, &o)
	return o
}

// swarmRetention draws retention and DeleteRecords for the Kafka
// clients' topic, after the group options (seeds without it keep theirs).
// Retention needs segments that roll: the largest segment size drops.
func swarmRetention(r *env.Rand, o *Options) {
	if !r.Chance(0.3) {
		return
	}
	o.RetentionMs = []int64{-1, 20, 200, 600_000}[r.IntN(4)]
	o.RetentionBytes = []int64{-1, 2048, 8192}[r.IntN(3)]
	o.RetentionCheckMs = []int64{1, 2, 5}[r.IntN(3)]
	if r.Chance(0.6) {
		o.DeleteRecordsPerMille = []int{10, 50}[r.IntN(2)]
	}
	o.TopicSegmentBytes = min(o.SegmentBytes, 4096)
}

// swarmCompaction draws compaction of the Kafka clients' topic, last. A
// compacted topic has no delete policy here: Kafka refuses DeleteRecords
// on it, and retention stays off.
func swarmCompaction(r *env.Rand, o *Options) {
	if !r.Chance(0.25) {
		return
	}
	o.Compacted = true
	o.KeySpace = []int{2, 8, 32}[r.IntN(3)]
	o.CleanerBackoffMs = 5 + r.Int64N(16)
	o.RetentionMs, o.RetentionBytes, o.RetentionCheckMs, o.DeleteRecordsPerMille = 0, 0, 0, 0
	o.TopicSegmentBytes = min(o.SegmentBytes, 4096)
}

// swarmSimpleGroups draws the simple consumers and the compaction of
// __consumer_offsets, after every other draw so that seeds keep their
// other options. Compaction is drawn for seeds with any group, so that
// members' commits are compacted too.
func swarmSimpleGroups(r *env.Rand, o *Options) {
	if r.Chance(0.4) {
		o.SimpleGroups = 1 + r.IntN(2)
		o.SimpleConsumers = 2 + r.IntN(2)
	}
	if (o.Groups > 0 || o.SimpleGroups > 0) && r.Chance(0.7) {
		o.OffsetsCleanerBackoffMs = 2 + r.Int64N(10)
		o.OffsetsDeleteRetentionMs = []int64{0, 5, 50}[r.IntN(3)]
		o.OffsetsSegmentBytes = min(o.SegmentBytes, 4096)
	}
}

// withoutCleanup is o without the options retention and compaction (and
// later the simple groups) added: a seed's run as it was before they
// existed (regression seeds replay the runs that found their bugs).
func (o Options) withoutCleanup() Options {
	o.RetentionMs, o.RetentionBytes, o.RetentionCheckMs, o.DeleteRecordsPerMille = 0, 0, 0, 0
	o.TopicSegmentBytes, o.Compacted, o.KeySpace, o.CleanerBackoffMs = 0, false, 0, 0
	return o.withoutSimpleGroups()
}

// withoutSimpleGroups is o without the simple consumers and the
// compaction of __consumer_offsets: a seed's run as it was before they
// existed.
func (o Options) withoutSimpleGroups() Options {
	o.SimpleGroups, o.SimpleConsumers = 0, 0
	o.OffsetsCleanerBackoffMs, o.OffsetsDeleteRetentionMs, o.OffsetsSegmentBytes = 0, 0, 0
	return o
}

// swarmGroups draws the consumer-group options, after every other draw so
// that seeds keep their other options.
func swarmGroups(r *env.Rand, o *Options) {
	if !r.Chance(0.5) {
		return
	}
	o.Groups = 1 + r.IntN(2)
	o.GroupMembers = 2 + r.IntN(3)
	o.OffsetsPartitions = 3 + r.IntN(3)
	o.SessionTimeoutMs = []int32{15, 30, 60}[r.IntN(3)]
	o.LeavePerMille = []int{0, 2, 10}[r.IntN(3)]
	o.MemberCrashPerMille = []int{0, 2, 10}[r.IntN(3)]
}

func (o Options) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed=%d steps=%d topics=%d partitions=%d client-gap=%dus disk-latency=%dus segment-bytes=%d kafka-clients=%d",
		o.Seed, o.Steps, o.Topics, o.Partitions, o.ClientGapUs, o.DiskLatencyUs, o.SegmentBytes, o.Clients)
	fmt.Fprintf(&b, " faults: crash=%d‰ sync-failure=%g disk-full=%d‰ net-reset=%g net-spike=%g net-stall=%g",
		o.CrashPerMille, o.SyncFailure, o.DiskFullPerMille, o.NetReset, o.NetSpike, o.NetStall)
	fmt.Fprintf(&b, " net-partition=%d‰ clock-skew=%dms clock-jump=%d‰ bit-flip=%d‰ pause=%d‰",
		o.NetPartitionPerMille, o.ClockSkewMs, o.ClockJumpPerMille, o.BitFlipPerMille, o.PausePerMille)
	if o.Groups > 0 {
		fmt.Fprintf(&b, " groups=%dx%d offsets-partitions=%d session=%dms leave=%d‰ member-crash=%d‰",
			o.Groups, o.GroupMembers, o.OffsetsPartitions, o.SessionTimeoutMs, o.LeavePerMille, o.MemberCrashPerMille)
	}
	if o.RetentionCheckMs > 0 {
		fmt.Fprintf(&b, " retention.ms=%d retention.bytes=%d retention-check=%dms delete-records=%d‰ topic-segment-bytes=%d",
			o.RetentionMs, o.RetentionBytes, o.RetentionCheckMs, o.DeleteRecordsPerMille, o.TopicSegmentBytes)
	}
	if o.Compacted {
		fmt.Fprintf(&b, " compacted keys=%d cleaner-backoff=%dms topic-segment-bytes=%d", o.KeySpace, o.CleanerBackoffMs, o.TopicSegmentBytes)
	}
	if o.SimpleGroups > 0 {
		fmt.Fprintf(&b, " simple-groups=%dx%d", o.SimpleGroups, o.SimpleConsumers)
	}
	if o.OffsetsCleanerBackoffMs > 0 {
		fmt.Fprintf(&b, " offsets-cleaner-backoff=%dms offsets-delete-retention=%dms offsets-segment-bytes=%d",
			o.OffsetsCleanerBackoffMs, o.OffsetsDeleteRetentionMs, o.OffsetsSegmentBytes)
	}
	return b.String()
}
