package driver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/takhin-io/takhin/broker"
	"github.com/takhin-io/takhin/controller"
	"github.com/takhin-io/takhin/driver/tcpnet"
	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/executor"
	"github.com/takhin-io/takhin/internal/bufpool"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

// NodeConfig is what a whole single-node broker needs.
type NodeConfig struct {
	FS        env.FS // the data directory
	KafkaAddr string // listener, e.g. 127.0.0.1:9092
	// AdvertisedHost/Port are what Metadata tells clients; empty/0 take
	// the listener's.
	AdvertisedHost string
	AdvertisedPort int32
	Broker         broker.Config // NodeID, limits, topic configs
	Net            tcpnet.Config
	// Broker-wide partition settings: log.retention.check.interval.ms,
	// producer.id.expiration.ms, log.flush.offset.checkpoint.interval.ms
	// (zero: Kafka's defaults).
	RetentionCheckIntervalMs, ProducerIDExpirationMs, CheckpointIntervalMs int64
	Rand                                                                   *env.Rand
	Log                                                                    *zap.Logger
	// OnFatal is called once with a process-fatal error (a failed fsync):
	// the process must exit and restart through recovery.
	OnFatal func(error)
	// Metrics, when set, is where the node's metrics go (see metrics.go).
	Metrics *Metrics
	// Readiness, when set, is updated as the node recovers (created by the
	// caller so /readyz answers during StartNode); nil: a new one.
	Readiness *Readiness
}

// Node runs one broker: the controller loop, a partition loop per
// partition, the broker machine's goroutine and the TCP listener.
type Node struct {
	cfg   NodeConfig
	log   *zap.Logger
	clock env.Clock
	ctrl  *ControllerLoop
	net   *tcpnet.Net

	inbox   *mailbox[func(env.Time) broker.Event] // the broker machine's events
	manager *mailbox[managed]                     // images and controller replies, in order
	mu      sync.RWMutex
	parts   map[partKey]*PartitionLoop
	connsMu sync.Mutex
	conns   map[env.ConnID]bool
	idle    atomic.Bool // the broker had nothing in flight after its last step

	stopc      chan struct{}
	done       sync.WaitGroup
	firstImage chan struct{} // closed once the first image is applied
	imageOnce  sync.Once
	ready      *Readiness
}

type partKey struct {
	topic     controller.TopicID
	partition int32
}

// managed is one item for the manager goroutine.
type managed struct {
	image *controller.Image
	reply *controller.Reply
}

// StartNode recovers the metadata log and every partition, then listens.
func StartNode(cfg NodeConfig) (*Node, error) {
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Readiness == nil {
		cfg.Readiness = NewReadiness()
	}
	n := &Node{cfg: cfg, log: cfg.Log, clock: NewRealClock(), inbox: newMailbox[func(env.Time) broker.Event](),
		manager: newMailbox[managed](), parts: map[partKey]*PartitionLoop{}, conns: map[env.ConnID]bool{},
		stopc: make(chan struct{}), firstImage: make(chan struct{}), ready: cfg.Readiness}
	ctrl, err := StartController(ControllerLoopConfig{
		FS: cfg.FS, Dir: controller.MetadataTopic + "-0", Storage: storage.DefaultConfig(),
		Machine: controller.DefaultConfig(cfg.Broker.NodeID), Rand: cfg.Rand, Clock: n.clock, Log: cfg.Log,
		OnPublish: func(img *controller.Image) { n.manager.put(managed{image: img}) },
		OnReply:   func(r controller.Reply) { n.manager.put(managed{reply: &r}) },
		OnFatal:   n.fatal,
	})
	if err != nil {
		return nil, err
	}
	n.ctrl = ctrl
	n.done.Add(1)
	go n.runManager()
	// Serve nobody before the metadata is loaded and every partition
	// recovered: the broker's first event is the first image.
	select {
	case <-n.firstImage:
	case <-time.After(time.Minute):
		n.stopAll(context.Background())
		return nil, errors.New("driver: the metadata log was not loaded within a minute")
	}
	netCfg := cfg.Net
	if netCfg.Sent == nil {
		netCfg.Sent = bufpool.Put // the broker's response frames come from bufpool
	}
	ln, err := tcpnet.Listen(cfg.KafkaAddr, netCfg, n.netEvent)
	if err != nil {
		n.stopAll(context.Background())
		return nil, fmt.Errorf("driver: listen on %s: %w", cfg.KafkaAddr, err)
	}
	n.net = ln
	bcfg := cfg.Broker
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if bcfg.AdvertisedHost = cfg.AdvertisedHost; bcfg.AdvertisedHost == "" {
		bcfg.AdvertisedHost = host
	}
	if bcfg.AdvertisedPort = cfg.AdvertisedPort; bcfg.AdvertisedPort == 0 {
		p, _ := strconv.Atoi(port)
		bcfg.AdvertisedPort = int32(p)
	}
	if cfg.Metrics != nil { // a nil *Metrics in the interface would not be nil
		bcfg.Observer = cfg.Metrics
	}
	n.done.Add(1)
	go n.runBroker(broker.New(bcfg, cfg.Log))
	return n, nil
}

// Ready reports whether the node has loaded its metadata image and
// recovered (or reported offline) every partition the image names, with a
// short reason (see Readiness).
func (n *Node) Ready() (bool, string) { return n.ready.Ready() }

// Addr is the listener's address.
func (n *Node) Addr() string { return n.net.Addr().String() }

func (n *Node) fatal(err error) {
	n.log.Error("fatal storage error: the process must restart through recovery", zap.Error(err))
	if n.cfg.OnFatal != nil {
		n.cfg.OnFatal(err)
	}
}

// netEvent turns the listener's events into broker events.
func (n *Node) netEvent(ev tcpnet.Event) {
	switch e := ev.(type) {
	case tcpnet.ConnOpened:
		n.cfg.Metrics.ConnOpened()
		n.connsMu.Lock()
		n.conns[e.Conn] = true
		n.connsMu.Unlock()
		n.inbox.put(func(now env.Time) broker.Event { return broker.ConnOpened{Now: now, Conn: e.Conn, Remote: e.Remote} })
	case tcpnet.FrameIn:
		n.inbox.put(func(now env.Time) broker.Event { return broker.FrameIn{Now: now, Conn: e.Conn, Frame: e.Frame} })
	case tcpnet.ConnClosed:
		n.cfg.Metrics.ConnClosed()
		n.connsMu.Lock()
		delete(n.conns, e.Conn)
		n.connsMu.Unlock()
		n.inbox.put(func(now env.Time) broker.Event { return broker.ConnClosed{Now: now, Conn: e.Conn} })
	}
}

// runManager applies published images (starting and stopping partition
// loops) and forwards controller replies, in the controller's order, so a
// topic's partitions exist before anyone hears it was created.
func (n *Node) runManager() {
	defer n.done.Done()
	for {
		select {
		case <-n.stopc:
			return
		case <-n.manager.wake:
		}
		for _, item := range n.manager.take() {
			if item.image != nil {
				img := item.image
				n.applyImage(img)
				n.inbox.put(func(now env.Time) broker.Event { return broker.ImagePublished{Now: now, Image: img} })
				n.imageOnce.Do(func() { n.ready.loaded(); close(n.firstImage) })
				continue
			}
			rep := *item.reply
			n.inbox.put(func(now env.Time) broker.Event { return broker.ControllerReply{Now: now, Reply: rep} })
		}
	}
}

// applyImage starts the loops of new partitions and stops and deletes
// those of deleted topics.
func (n *Node) applyImage(img *controller.Image) {
	want := map[partKey]controller.Topic{}
	for _, t := range img.Topics() {
		for i := int32(0); i < t.Partitions; i++ {
			want[partKey{t.ID, i}] = t
		}
	}
	n.mu.Lock()
	var gone []*PartitionLoop
	var goneDirs []string
	for k, p := range n.parts {
		if _, ok := want[k]; !ok {
			gone = append(gone, p)
			goneDirs = append(goneDirs, p.dir)
			delete(n.parts, k)
		}
	}
	n.mu.Unlock()
	for i, p := range gone {
		_ = p.Stop(context.Background())
		p.metrics.forget()
		if err := executor.RemoveDir(n.cfg.FS, goneDirs[i]); err != nil {
			n.log.Warn("removing a deleted partition's files", zap.String("dir", goneDirs[i]), zap.Error(err))
		}
	}
	keys := make([]partKey, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b partKey) int {
		return cmpStrings(fmt.Sprintf("%s-%d", want[a].Name, a.partition), fmt.Sprintf("%s-%d", want[b].Name, b.partition))
	})
	opening := n.expectPartitions(want, keys)
	for _, k := range keys {
		if opening[k] {
			n.startPartition(img, want[k], k.partition)
			n.ready.opened(partitionDir(want[k], k), n.running(k))
		} else {
			n.reconfigure(img, want[k], k)
		}
	}
	n.cfg.Metrics.setPartitionCounts(len(want), n.ready.offline())
	n.removeOrphans(img)
}

// expectPartitions tells readiness which partitions the image names and
// which of them are about to be opened (those without a running loop).
func (n *Node) expectPartitions(want map[partKey]controller.Topic, keys []partKey) map[partKey]bool {
	dirs := map[string]bool{}
	opening := map[partKey]bool{}
	var names []string
	for _, k := range keys {
		dirs[partitionDir(want[k], k)] = true
		if !n.running(k) {
			opening[k] = true
			names = append(names, partitionDir(want[k], k))
		}
	}
	n.ready.expect(dirs, names)
	return opening
}

func (n *Node) running(k partKey) bool {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.parts[k] != nil
}

// partitionDir is the partition's directory name, <topic>-<partition>.
func partitionDir(t controller.Topic, k partKey) string {
	return fmt.Sprintf("%s-%d", t.Name, k.partition)
}

func cmpStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// partitionConfigs resolves a partition's storage and machine configs
// from its topic's overrides over the image's dynamic broker configs.
func (n *Node) partitionConfigs(img *controller.Image, t controller.Topic, index int32) (storage.Config, replication.PartitionConfig) {
	topics := n.cfg.Broker.Topics
	if img != nil {
		topics = topics.WithDynamic(img.BrokerConfigs(n.cfg.Broker.NodeID), img.BrokerConfigs(controller.ClusterDefault))
	}
	tc := topics.Effective(t.Configs)
	sc := storage.DefaultConfig()
	sc.SegmentBytes, sc.SegmentMs, sc.IndexIntervalBytes = tc.SegmentBytes, tc.SegmentMs, tc.IndexIntervalBytes
	if tc.Compacted && tc.MaxCompactionLagMs > 0 {
		// KIP-354 (Kafka's LogConfig.maxSegmentMs): the active segment is
		// never cleaned, so it rolls by max.compaction.lag.ms at the latest.
		sc.SegmentMs = min(sc.SegmentMs, tc.MaxCompactionLagMs)
	}
	sc.SegmentJitterMs = tc.SegmentJitterMs
	mc := replication.DefaultPartitionConfig(t.Name, index)
	mc.RetentionMs, mc.RetentionBytes, mc.LogAppendTime = tc.RetentionMs, tc.RetentionBytes, tc.LogAppendTime
	if tc.DeleteOff { // cleanup.policy without delete: only the log start offset deletes segments
		mc.RetentionMs, mc.RetentionBytes = -1, -1
	}
	mc.Compact = tc.Compacted && !tc.CleanerOff
	mc.DeleteRetentionMs, mc.MinCleanableDirtyRatio = tc.DeleteRetentionMs, tc.MinCleanableDirtyRatio
	mc.MinCompactionLagMs, mc.MaxCompactionLagMs = tc.MinCompactionLagMs, tc.MaxCompactionLagMs
	mc.FlushMessages = tc.FlushMessages
	if v := n.cfg.RetentionCheckIntervalMs; v > 0 {
		mc.RetentionCheckIntervalMs = v
	}
	if v := n.cfg.ProducerIDExpirationMs; v > 0 {
		// The machine forgets idle producers by it, and the log's state,
		// its snapshots and the cleaner (which keeps each live producer's
		// last batch) must keep them as long.
		mc.ProducerIDExpirationMs, sc.ProducerIDExpirationMs = v, v
	}
	if v := n.cfg.CheckpointIntervalMs; v > 0 {
		mc.CheckpointIntervalMs = v
	}
	return sc, mc
}

// reconfigure hands a running partition its topic's settings when the
// image changed them (retention, compaction, timestamps take effect at
// once; segment settings when the partition next opens).
func (n *Node) reconfigure(img *controller.Image, t controller.Topic, k partKey) {
	n.mu.RLock()
	p := n.parts[k]
	n.mu.RUnlock()
	if p == nil {
		return
	}
	_, mc := n.partitionConfigs(img, t, k.partition)
	if mc == p.machineCfg {
		return
	}
	p.machineCfg = mc
	if err := p.Post(replication.Reconfigure{Config: mc}); err != nil {
		n.log.Warn("reconfiguring a partition", zap.String("topic", t.Name), zap.Int32("partition", k.partition), zap.Error(err))
	}
}

// startPartition opens one partition with its topic's effective configs.
func (n *Node) startPartition(img *controller.Image, t controller.Topic, index int32) {
	sc, mc := n.partitionConfigs(img, t, index)
	key := partKey{t.ID, index}
	p, err := StartPartition(PartitionLoopConfig{
		FS: n.cfg.FS, Dir: fmt.Sprintf("%s-%d", t.Name, index), TopicID: t.ID.String(),
		Storage: sc, Machine: mc, Clock: n.clock, Log: n.log,
		Metrics: n.cfg.Metrics,
		OnReply: func(r replication.Reply) {
			n.inbox.put(func(now env.Time) broker.Event { return broker.PartitionReply{Now: now, Reply: r} })
		},
		OnFatal: n.fatal,
	})
	if err != nil {
		// A partition that does not recover (corruption below its recovery
		// point) fail-stops alone: requests to it get errors.
		n.log.Error("partition did not recover", zap.String("topic", t.Name), zap.Int32("partition", index), zap.Error(err))
		return
	}
	p.machineCfg = mc
	n.mu.Lock()
	n.parts[key] = p
	n.mu.Unlock()
}

// removeOrphans deletes directories no topic names (a deletion a crash
// interrupted). Directories are named <topic>-<partition>.
func (n *Node) removeOrphans(img *controller.Image) {
	names, err := n.cfg.FS.List(".")
	if err != nil {
		return
	}
	known := map[string]bool{controller.MetadataTopic + "-0": true}
	for _, t := range img.Topics() {
		for i := int32(0); i < t.Partitions; i++ {
			known[fmt.Sprintf("%s-%d", t.Name, i)] = true
		}
	}
	for _, name := range names {
		if known[name] || !looksLikePartitionDir(name) {
			continue
		}
		if err := executor.RemoveDir(n.cfg.FS, name); err != nil {
			n.log.Warn("removing an orphan partition directory", zap.String("dir", name), zap.Error(err))
		}
	}
}

// looksLikePartitionDir matches <name>-<digits>, and such a directory
// being deleted (executor.DeletingSuffix): other files in the data
// directory (the lock file) are left alone.
func looksLikePartitionDir(name string) bool {
	name = strings.TrimSuffix(name, executor.DeletingSuffix)
	i := len(name) - 1
	for i >= 0 && name[i] >= '0' && name[i] <= '9' {
		i--
	}
	return i > 0 && i < len(name)-1 && name[i] == '-'
}

// runBroker is the broker machine's goroutine.
func (n *Node) runBroker(b *broker.Broker) {
	defer n.done.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := int64(0)
	var groupsSampled time.Time
	for {
		select {
		case <-n.stopc:
			timer.Stop()
			return
		case <-n.inbox.wake:
			n.idle.Store(false)
			for _, ev := range n.inbox.take() {
				b.Step(ev(n.clock.Now()))
			}
		case <-timer.C:
			armed = 0
			b.Step(broker.Tick{Now: n.clock.Now()})
		}
		for b.HasReady() {
			rd := b.Ready()
			b.Advance(rd)
			n.carryOut(rd)
			if rd.Deadline != armed {
				armed = rd.Deadline
				timer.Stop()
				if armed != 0 {
					timer.Reset(time.Duration(max(armed-n.clock.Now().Mono, 0)))
				}
			}
		}
		n.idle.Store(b.InFlight() == 0)
		if n.cfg.Metrics != nil && time.Since(groupsSampled) >= groupCountEvery {
			groupsSampled = time.Now()
			for state, count := range b.GroupCounts() {
				n.cfg.Metrics.SetGroupCount(state, count)
			}
		}
	}
}

// groupCountEvery is how often the group-count gauges are refreshed (at
// most; counting walks every group).
const groupCountEvery = time.Second

// carryOut does what a broker Ready asks, in its documented order.
func (n *Node) carryOut(rd broker.Ready) {
	for _, pr := range rd.ToPartitions {
		n.mu.RLock()
		p := n.parts[partKey{pr.TopicID, pr.Partition}]
		n.mu.RUnlock()
		if p == nil || p.Post(pr.Event) != nil {
			id := replication.RequestIDOf(pr.Event)
			n.inbox.put(func(now env.Time) broker.Event {
				return broker.PartitionReply{Now: now, Reply: replication.Reply{ID: id, Err: broker.ErrUnknownPartition}}
			})
		}
	}
	for _, p := range rd.Proposals {
		if err := n.ctrl.Propose(p.ID, p.Change); err != nil {
			rep := controller.Reply{ID: p.ID, Err: controller.ErrNotReady, Offset: -1}
			n.inbox.put(func(now env.Time) broker.Event { return broker.ControllerReply{Now: now, Reply: rep} })
		}
	}
	for _, s := range rd.Sends {
		if err := n.net.SendFrame(s.Conn, s.Frame); err != nil {
			n.log.Debug("send failed", zap.Uint64("conn", uint64(s.Conn)), zap.Error(err))
		}
	}
	for _, c := range rd.Closes {
		_ = n.net.Close(c)
	}
	if rd.Pause || rd.Resume {
		n.pauseAll(rd.Pause)
	}
}

// pauseAll stops (or restarts) reading every connection.
func (n *Node) pauseAll(pause bool) {
	n.connsMu.Lock()
	ids := make([]env.ConnID, 0, len(n.conns))
	for id := range n.conns {
		ids = append(ids, id)
	}
	n.connsMu.Unlock()
	for _, id := range ids {
		if pause {
			n.net.Pause(id)
		} else {
			n.net.Resume(id)
		}
	}
}

// Stop shuts the node down gracefully: stop accepting, answer what is in
// flight, sync every partition and the metadata log, close.
func (n *Node) Stop(ctx context.Context) error {
	var errs []error
	n.ready.stop()
	if n.net != nil {
		n.net.StopAccepting() // no new clients
		n.pauseAll(true)      // no new requests on the open connections
		n.inbox.put(func(now env.Time) broker.Event { return broker.Stopping{Now: now} })
		n.waitIdle(ctx)
		errs = append(errs, n.net.Shutdown(ctx))
	}
	errs = append(errs, n.stopAll(ctx))
	return errors.Join(errs...)
}

// waitIdle waits until the broker has answered every request it read:
// its inbox empty and nothing in flight, seen on several consecutive
// checks (a reader goroutine may be handing over a frame read just before
// the pause).
func (n *Node) waitIdle(ctx context.Context) {
	for quiet := 0; quiet < 5 && ctx.Err() == nil; {
		if n.idle.Load() && n.inbox.empty() {
			quiet++
		} else {
			quiet = 0
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (n *Node) stopAll(ctx context.Context) error {
	close(n.stopc)
	n.done.Wait()
	var errs []error
	n.mu.Lock()
	parts := n.parts
	n.parts = map[partKey]*PartitionLoop{}
	n.mu.Unlock()
	for _, p := range parts {
		errs = append(errs, p.Stop(ctx))
	}
	errs = append(errs, n.ctrl.Stop(ctx))
	return errors.Join(errs...)
}
