package sim

import (
	"errors"
	"fmt"
	"slices"

	"go.uber.org/zap"

	"github.com/takhin-io/takhin/broker"
	"github.com/takhin-io/takhin/broker/config"
	"github.com/takhin-io/takhin/controller"
	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/executor"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/sim/simfs"
	"github.com/takhin-io/takhin/sim/simnet"
	"github.com/takhin-io/takhin/storage"
)

// node is one simulated broker: the real controller and partition
// machines, driven by the shared executor code over a crash-faithful disk,
// on the world's thread.
type node struct {
	w    *world
	id   int32
	opts *Options
	rng  *env.Rand // latencies and crash draws
	fs   *simfs.FS
	sink sink

	incarnation uint64
	crashedAt   []int64 // virtual time of the crash that ended incarnation i+1
	up          bool
	pausedUntil int64          // virtual ns: a paused node runs nothing before it
	heldNet     []simnet.Event // network events that arrived while paused
	wallBaseMs  int64
	skewMs      int64 // the wall clock's offset from the clients' (true) clock
	maxWallMs   int64 // the latest wall time its clock showed

	ctrl      *controller.Controller
	ctrlStore *executor.Store
	ctrlArmed int64
	image     *controller.Image
	parts     []*part // sorted by dir
	// offline lists partitions whose recovery found a flipped bit below
	// the recovery point: they stay closed (fail-stopped) until the next
	// boot tries again.
	offline []string

	net         *simnet.Net
	broker      *broker.Broker // nil while the node is down
	brokerArmed int64
	conns       []env.ConnID // the broker's open connections
	// toParts and toBroker are the FIFOs between the broker and the
	// partition machines (see toPartition).
	toParts  []broker.PartitionRequest
	toBroker []replication.Reply
}

// part is one partition replica on the node.
type part struct {
	topic   string
	topicID controller.TopicID
	index   int32
	dir     string
	m       *replication.Partition
	store   *executor.Store
	armed   int64
	failed  bool
	removed bool
}

// sink receives what the node's machines answer: the workload and the
// checker behind it.
type sink interface {
	partitionReply(n *node, p *part, r replication.Reply)
	controllerReply(n *node, r controller.Reply, img *controller.Image)
	booted(n *node)
	// corruptedPartition: the fault injector flipped a bit in the Kafka
	// clients' partition index, which may then fail-stop.
	corruptedPartition(index int32) bool
	// deleted checks a Retention or SetStart chunk (retention_check.go);
	// cleaned counts a Clean chunk of the Kafka clients' topic or of
	// __consumer_offsets.
	deleted(d deletion)
	cleaned(topic string)
	violation(format string, args ...any)
}

const metadataDir = controller.MetadataTopic + "-0"

// now is the node's clock: the monotonic one is virtual time, the wall
// one is skewed (and jumps, see maybeJumpClock).
func (n *node) now() env.Time {
	t := env.Time{Mono: n.w.now, WallMs: n.trueWallMs() + n.skewMs}
	n.maxWallMs = max(n.maxWallMs, t.WallMs)
	return t
}

// trueWallMs is the clients' wall clock: unskewed.
func (n *node) trueWallMs() int64 { return n.wallBaseMs + n.w.now/1_000_000 }

func (n *node) storageConfig(topic string) storage.Config {
	cfg := storage.DefaultConfig()
	cfg.SegmentBytes = n.opts.SegmentBytes
	if topic == kTopic && n.opts.TopicSegmentBytes > 0 {
		cfg.SegmentBytes = n.opts.TopicSegmentBytes
	}
	if topic == offsetsTopic && n.opts.OffsetsSegmentBytes > 0 {
		cfg.SegmentBytes = n.opts.OffsetsSegmentBytes
	}
	cfg.IndexIntervalBytes = 256
	return cfg
}

// diskLatency draws one disk operation's latency.
func (n *node) diskLatency() int64 {
	return 1_000 * (1 + n.rng.Int64N(n.opts.DiskLatencyUs))
}

// boot starts a new incarnation from what the disk holds: the metadata
// log is recovered and replayed, and the partitions it names are opened.
func (n *node) boot() {
	n.incarnation++
	n.up = true
	n.offline = nil
	n.w.record("boot", int64(n.id), int64(n.incarnation))
	now := n.now()
	store, rec, err := executor.Open(n.fs, metadataDir, n.storageConfig(controller.MetadataTopic), now, 0)
	if err != nil {
		n.bootFailed("metadata log did not recover", err)
		return
	}
	batches, err := store.ReadAll()
	if err != nil {
		_ = store.Close()
		n.bootFailed("metadata log unreadable after recovery", err)
		return
	}
	n.ctrlStore, n.ctrlArmed, n.image = store, 0, nil
	n.startBroker()
	n.ctrl = controller.New(controller.DefaultConfig(n.id), env.NewRand(n.opts.Seed, fmt.Sprintf("node-%d/controller", n.id)), zap.NewNop())
	n.stepController(controller.Loaded{Now: now, Start: rec.Start, End: rec.End, Batches: batches})
	if n.up {
		n.removeOrphans()
	}
	if n.up {
		n.sink.booted(n)
	}
}

// bootFailed handles a recovery error: corruption is a violation (this
// loop injects none), any other error is the disk's fault (a failed fsync
// or read): the process dies again and retries, as in production.
func (n *node) bootFailed(what string, err error) {
	if errors.Is(err, storage.ErrCorrupt) {
		n.sink.violation("node %d: %s: %v", n.id, what, err)
		return
	}
	n.crash(what)
}

// removeOrphans deletes partition directories the image no longer names
// (a crash interrupted their topic's deletion).
func (n *node) removeOrphans() {
	names, err := n.fs.List(".")
	if err != nil {
		n.sink.violation("node %d: list the data dir: %v", n.id, err)
		return
	}
	for _, name := range names {
		if name == metadataDir || n.partition(name) != nil || slices.Contains(n.offline, name) {
			continue
		}
		if err := executor.RemoveDir(n.fs, name); err != nil {
			n.crash("remove an orphan partition")
			return
		}
	}
}

// crash is a power loss: every machine and in-flight action of the node
// dies, the disk keeps only what it must, and the node boots again later.
func (n *node) crash(why string) {
	if !n.up {
		return
	}
	n.w.record("crash", int64(n.id), int64(len(why)))
	n.up = false
	n.crashedAt = append(n.crashedAt, n.w.now)
	// The stores are dropped, not closed: Close does I/O (it cuts a log's
	// reserved zeros and may sync the cut) that a power loss never gets;
	// the crash makes every handle stale.
	n.parts, n.ctrl, n.ctrlStore, n.image, n.broker, n.heldNet = nil, nil, nil, nil, nil, nil
	n.toParts, n.toBroker = nil, nil
	n.net.Crash(n.name())
	n.fs.Crash(n.rng)
	n.w.schedule(n.w.now+1_000_000+n.rng.Int64N(5_000_000), nil, func() {
		if !n.up {
			n.boot()
		}
	})
}

// stepController delivers one event to the controller and carries out
// its Ready.
func (n *node) stepController(ev controller.Event) {
	if err := n.ctrl.Step(ev); err != nil {
		n.sink.violation("node %d: controller rejected %T: %v", n.id, ev, err)
		return
	}
	for n.up && n.ctrl.HasReady() {
		rd := n.ctrl.Ready()
		n.ctrl.Advance(rd)
		if rd.Failure != nil {
			n.crash("controller failure")
			return
		}
		n.execute(nil, rd.Persist, rd.Reads, rd.Background)
		if rd.Published != nil {
			n.image = rd.Published
			n.applyImage(rd.Published)
			if !n.up {
				return // it crashed applying the image: the replies died with it
			}
			n.imagePublished(rd.Published)
		}
		for _, r := range rd.Replies {
			n.controllerReply(r)
		}
		n.arm(&n.ctrlArmed, rd.Deadline, func(now env.Time) { n.stepController(replication.Tick{Now: now}) })
	}
}

// stepPartition delivers one event to a partition and carries out its
// Ready.
func (n *node) stepPartition(p *part, ev replication.Event) {
	if p.removed {
		return
	}
	if err := p.m.Step(ev); err != nil {
		n.sink.violation("node %d: partition %s rejected %T: %v", n.id, p.dir, ev, err)
		return
	}
	for n.up && !p.removed && p.m.HasReady() {
		rd := p.m.Ready()
		p.m.Advance(rd)
		n.execute(p, rd.Persist, rd.Reads, rd.Background)
		for _, r := range rd.Replies {
			n.partitionReply(p, r)
		}
		n.arm(&p.armed, rd.Deadline, func(now env.Time) { n.stepPartition(p, replication.Tick{Now: now}) })
		if rd.Failure != nil {
			if rd.Failure.ProcessFatal {
				n.crash("fsync failure")
				return
			}
			p.failed = true
		}
	}
}

// arm keeps one timer per machine: a Tick at the deadline, unless the
// deadline moved before it fired.
func (n *node) arm(armed *int64, deadline int64, tick func(env.Time)) {
	if deadline == *armed {
		return
	}
	*armed = deadline
	if deadline == 0 {
		return
	}
	n.w.schedule(deadline, n, func() {
		if *armed == deadline {
			*armed = 0
			tick(n.now())
		}
	})
}

// deliver routes a completion to the machine that asked for it: p, or
// the controller when p is nil.
func (n *node) deliver(p *part, ev replication.Event) {
	if p == nil {
		n.stepController(ev)
	} else {
		n.stepPartition(p, ev)
	}
}

// execute schedules the disk work of a Ready with the shared executor:
// each operation completes after a drawn latency, on the world's thread.
func (n *node) execute(p *part, persist *replication.Persist, reads []replication.Read, tasks []replication.Task) {
	store := n.ctrlStore
	if p != nil {
		store = p.store
	}
	lat := n.diskLatency
	if persist != nil {
		n.w.schedule(n.w.now+lat(), n, func() {
			written := store.Write(persist, n.now())
			n.w.record("written", int64(written.UpTo), errCode(written.Err))
			n.deliver(p, written)
			n.w.schedule(n.w.now+lat(), n, func() {
				synced := store.Sync(persist, n.now())
				n.w.record("synced", int64(synced.UpTo), errCode(synced.Err))
				n.deliver(p, synced)
			})
		})
	}
	for _, r := range reads {
		n.w.schedule(n.w.now+lat(), n, func() { n.deliver(p, store.Read(r, n.now())) })
	}
	for _, t := range tasks {
		n.w.schedule(n.w.now+lat(), n, func() { n.deliver(p, n.background(p, store, t)) })
	}
}

func errCode(err error) int64 {
	if err == nil {
		return 0
	}
	return 1
}

// applyImage opens the partitions of new topics and removes those of
// deleted ones (a recreated name is a new topic id: its old files go
// first).
func (n *node) applyImage(img *controller.Image) {
	want := map[string]controller.TopicID{}
	for _, t := range img.Topics() {
		for i := int32(0); i < t.Partitions; i++ {
			want[fmt.Sprintf("%s-%d", t.Name, i)] = t.ID
		}
	}
	var gone []*part
	n.parts = slices.DeleteFunc(n.parts, func(p *part) bool {
		id, ok := want[p.dir]
		if ok && id == p.topicID {
			return false
		}
		gone = append(gone, p)
		return true
	})
	for _, p := range gone {
		if n.up {
			n.removePartition(p)
		}
	}
	for _, t := range img.Topics() {
		for i := int32(0); i < t.Partitions && n.up; i++ {
			dir := fmt.Sprintf("%s-%d", t.Name, i)
			if !slices.ContainsFunc(n.parts, func(p *part) bool { return p.dir == dir }) {
				n.openPartition(t.Name, t.ID, i, dir)
			}
		}
	}
	slices.SortFunc(n.parts, func(a, b *part) int { return compareStrings(a.dir, b.dir) })
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (n *node) openPartition(topic string, id controller.TopicID, index int32, dir string) {
	store, rec, err := executor.OpenPartition(n.fs, dir, id.String(), n.storageConfig(topic), n.now(), 0)
	if err != nil && errors.Is(err, storage.ErrCorrupt) && topic == kTopic && n.sink.corruptedPartition(index) {
		n.w.record("offline", int64(index))
		if !slices.Contains(n.offline, dir) {
			n.offline = append(n.offline, dir)
		}
		return // fail-stopped at recovery, as the flip requires
	}
	if err != nil {
		n.bootFailed("partition "+dir+" did not recover", err)
		return
	}
	cfg := n.partitionConfig(topic, index)
	p := &part{topic: topic, topicID: id, index: index, dir: dir, store: store,
		m: replication.NewPartition(cfg, zap.NewNop())}
	n.parts = append(n.parts, p)
	n.w.record("open", int64(index), int64(rec.End))
	n.stepPartition(p, rec)
}

// partitionConfig is a partition's machine config: its topic's configs
// from the image, as the driver applies them, and the run's check
// intervals for the Kafka clients' topic (log.retention.check.interval.ms
// and log.cleaner.backoff.ms, scaled to the run), and the cleaner's
// settings for __consumer_offsets when the run compacts it (scaled too:
// delete.retention.ms is a day by default).
func (n *node) partitionConfig(topic string, index int32) replication.PartitionConfig {
	cfg := replication.DefaultPartitionConfig(topic, index)
	cfg.TailBytesMax = 16 << 10
	cfg.CheckpointIntervalMs = 50
	if n.image != nil {
		t, ok := n.image.Topic(topic)
		bc, err := config.LoadBroker(nil, map[string]string{"node.id": "1"})
		if ok && err == nil {
			tc := config.TopicConfigs{Broker: bc}.Effective(t.Configs)
			cfg.RetentionMs, cfg.RetentionBytes = tc.RetentionMs, tc.RetentionBytes
			if tc.DeleteOff {
				cfg.RetentionMs, cfg.RetentionBytes = -1, -1
			}
			cfg.Compact = tc.Compacted && !tc.CleanerOff
			cfg.DeleteRetentionMs, cfg.MinCleanableDirtyRatio = tc.DeleteRetentionMs, tc.MinCleanableDirtyRatio
			cfg.MinCompactionLagMs, cfg.MaxCompactionLagMs = tc.MinCompactionLagMs, tc.MaxCompactionLagMs
		}
	}
	if topic == kTopic && n.opts.RetentionCheckMs > 0 {
		cfg.RetentionCheckIntervalMs = n.opts.RetentionCheckMs
	}
	if topic == kTopic && n.opts.Compacted {
		cfg.CleanerBackoffMs = n.opts.CleanerBackoffMs
	}
	if topic == offsetsTopic && n.opts.OffsetsCleanerBackoffMs > 0 {
		cfg.CleanerBackoffMs, cfg.DeleteRetentionMs = n.opts.OffsetsCleanerBackoffMs, n.opts.OffsetsDeleteRetentionMs
		cfg.MinCleanableDirtyRatio = 0.01
	}
	return cfg
}

// removePartition deletes a removed topic's partition files at once (the
// data path issue moves this to chunked background work). A failure
// leaves an orphan that the next boot removes; a failed sync is fatal.
func (n *node) removePartition(p *part) {
	p.removed = true
	_ = p.store.Close()
	if err := executor.RemoveDir(n.fs, p.dir); err != nil {
		n.crash("remove a deleted partition")
	}
}

// partition returns the live partition dir, or nil.
func (n *node) partition(dir string) *part {
	for _, p := range n.parts {
		if p.dir == dir {
			return p
		}
	}
	return nil
}

// failedPartition reports whether the node's partition dir is
// fail-stopped: at a read, or at recovery.
func (n *node) failedPartition(dir string) bool {
	if slices.Contains(n.offline, dir) {
		return true
	}
	p := n.partition(dir)
	return p != nil && p.failed
}
