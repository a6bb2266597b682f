package controller

import (
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/assert"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

// MetadataTopic is the metadata log's topic, as KRaft names it; its one
// partition is partition 0.
const MetadataTopic = "__cluster_metadata"

// Config is what the controller needs to know.
type Config struct {
	// NodeID is node.id. A metadata log bootstrapped under another id is
	// refused: the node does not start (Kafka checks meta.properties).
	NodeID int32
	// Log configures the metadata log partition. Retention must be off
	// (RetentionMs and RetentionBytes -1): there are no snapshots yet, so
	// replay needs every record from offset 0.
	Log replication.PartitionConfig
	// QueuedMax bounds the proposals waiting for the next batch; beyond it
	// a proposal is answered ErrBusy at once.
	QueuedMax int
	// BatchRecordsMax and BatchBytesMax bound one metadata batch (the
	// bytes are checked before each record is added, so a batch may pass
	// BatchBytesMax by one record); the rest waits for the next batch.
	BatchRecordsMax int
	BatchBytesMax   int
	// RecordBytesMax bounds one record's value; a larger change gets
	// ErrTooLarge.
	RecordBytesMax int
	// RetryBackoffMs is how long the next batch waits after a failed
	// metadata write (the disk is likely still full).
	RetryBackoffMs int64
}

// DefaultConfig returns the defaults for node nodeID.
func DefaultConfig(nodeID int32) Config {
	log := replication.DefaultPartitionConfig(MetadataTopic, 0)
	log.RetentionMs, log.RetentionBytes = -1, -1
	return Config{
		NodeID: nodeID, Log: log,
		QueuedMax: 10_000, BatchRecordsMax: 1_000, BatchBytesMax: 1 << 20, RecordBytesMax: 1 << 20,
		RetryBackoffMs: 100,
	}
}

// RequestID names one proposal; the proposer picks it and gets it back on
// the Reply.
type RequestID uint64

// Event is an input to Step: Loaded, Propose, or one of the metadata log
// partition's completions (replication.Written, Synced, ReadDone,
// BackgroundDone, Tick), which are forwarded to it.
type Event = replication.Event

// Loaded reports that the executor opened the metadata log through
// recovery and read all of it: Batches are the whole batches from Start to
// End, as storage.Log.Read returns them. Recovery synced what survived, so
// all of it is durable.
type Loaded struct {
	Now        env.Time
	Start, End storage.Offset
	Epoch      storage.Epoch
	Batches    []byte
}

// Propose asks for one metadata change.
type Propose struct {
	Now    env.Time
	ID     RequestID
	Change Change
}

func (e Loaded) When() env.Time  { return e.Now }
func (e Propose) When() env.Time { return e.Now }

// Controller is the metadata state machine (KRaft's role) over the
// metadata log, a replication.Partition it owns: a single-threaded machine
// with no I/O (STYLE rule 6), not safe for concurrent use.
//
// Proposals queue; when no batch is in flight, the queued ones are
// validated in order against a scratch copy of the applied Image, their
// records encoded as one batch and produced to the log with acks=-1. When
// the log answers (the batch is durable), the scratch becomes the new
// Image, which is published, and the proposers are answered. A failed
// write answers them with ErrStorage and applies nothing.
type Controller struct {
	cfg   Config
	rng   *env.Rand
	log   *zap.Logger
	inner *replication.Partition

	loaded      bool
	failure     *Failure
	image       *Image // applied: every record in it is durable
	clusterID   string // for the Bootstrap record, when the log has none
	queue       []proposal
	round       *round // the batch in flight
	nextProduce replication.RequestID
	retryAtMono int64 // after a failed write, no batch starts before it

	ready Ready // accumulated since the last Advance
	shown shown // the part of ready the last Ready call returned
	armed int64 // the Deadline acknowledged by the last Advance
}

type proposal struct {
	id     RequestID
	change Change
}

// New returns a controller waiting for its Loaded event.
func New(cfg Config, rng *env.Rand, log *zap.Logger) *Controller {
	assert.That(cfg.NodeID >= 0, "node id is not negative")
	assert.That(cfg.Log.RetentionMs < 0 && cfg.Log.RetentionBytes < 0, "the metadata log keeps every record (no snapshots yet)")
	assert.That(cfg.QueuedMax > 0 && cfg.BatchRecordsMax > 0 && cfg.BatchBytesMax > 0 && cfg.RecordBytesMax > 0 &&
		cfg.RetryBackoffMs >= 0, "controller config limits")
	return &Controller{
		cfg: cfg, rng: rng, log: log,
		inner: replication.NewPartition(cfg.Log, log),
		image: emptyImage,
	}
}

// Image is the applied image: the last one published, or an empty one
// before the log is loaded and bootstrapped.
func (c *Controller) Image() *Image { return c.image }

// Step applies one event. It returns an error only for events that break
// the driver's contract (an unknown event, Loaded twice, a completion for
// nothing in flight); bad data is a Failure in Ready, never a panic.
func (c *Controller) Step(ev Event) error {
	if c.failure != nil {
		c.stepFailed(ev)
		return nil
	}
	var err error
	switch e := ev.(type) {
	case Loaded:
		err = c.stepLoaded(e)
	case Propose:
		c.stepPropose(e)
	case replication.Written, replication.Synced, replication.ReadDone, replication.BackgroundDone, replication.Tick:
		err = c.inner.Step(ev)
	default:
		return fmt.Errorf("controller: unknown event %T", ev)
	}
	c.settle(ev.When())
	c.checkInvariants()
	return err
}

// checkInvariants states what holds after every Step (cheap: always on).
func (c *Controller) checkInvariants() {
	if c.failure != nil {
		assert.That(c.round == nil && len(c.queue) == 0, "a failed controller holds no proposals")
		return
	}
	if c.image.End() > c.inner.HighWatermark() {
		assert.Failf("applied image ends at %d, beyond the durable end %d", c.image.End(), c.inner.HighWatermark())
	}
	assert.That(c.round == nil || c.loaded, "no batch before the log is loaded")
	assert.That(c.ready.Published == nil || c.ready.Published.Bootstrapped(), "only bootstrapped images are published")
}

func (c *Controller) stepFailed(ev Event) {
	if e, ok := ev.(Propose); ok {
		c.reply(Reply{ID: e.ID, Offset: -1, Err: fmt.Errorf("%w: %w", ErrFailed, c.failure.Err)})
	}
	// Completions after a failure are dropped: the process is stopping.
}

func (c *Controller) stepLoaded(e Loaded) error {
	if c.loaded {
		return errors.New("controller: loaded twice")
	}
	c.loaded = true
	// Each incarnation draws from its own sub-stream, named by the log end
	// it starts from: a restart with the same seed (the simulator's) must
	// not draw again the ids of topics created, and maybe deleted, before
	// it. Every id that became durable lies below the next start's end,
	// so the next start's stream is a new one.
	c.rng = c.rng.Fork(fmt.Sprintf("incarnation@%d", e.End))
	img, err := replay(e)
	if err != nil {
		c.fail(fmt.Errorf("%w: %w", ErrCorrupt, err))
		return nil
	}
	if img.Bootstrapped() && img.NodeID() != c.cfg.NodeID {
		c.fail(fmt.Errorf("%w: the metadata log of cluster %s was bootstrapped by node %d, and this node is configured as node %d",
			ErrNodeIDMismatch, img.ClusterID(), img.NodeID(), c.cfg.NodeID))
		return nil
	}
	c.image = img
	if img.Bootstrapped() {
		c.ready.Published = img
		c.log.Info("metadata loaded", zap.String("cluster_id", img.ClusterID()), zap.Int32("node_id", img.NodeID()),
			zap.Int64("end", int64(img.End())), zap.Int("topics", len(img.topics)))
	} else {
		c.clusterID = randomUUID(c.rng).String()
		c.log.Info("bootstrapping metadata", zap.String("cluster_id", c.clusterID), zap.Int32("node_id", c.cfg.NodeID))
	}
	return c.inner.Step(replication.Recovered{Now: e.Now, Start: e.Start, End: e.End, Epoch: e.Epoch})
}

// replay decodes and applies every batch of a loaded log.
func replay(e Loaded) (*Image, error) {
	if e.Start != 0 {
		return nil, fmt.Errorf("the log starts at offset %d: the records below it are gone and there are no snapshots", e.Start)
	}
	batches, err := splitBatches(e.Batches)
	if err != nil {
		return nil, err
	}
	s := emptyImage.edit()
	for _, b := range batches {
		if err := s.applyBatch(b.header.BaseOffset, b.header.NextOffset(), b.records); err != nil {
			return nil, err
		}
	}
	if s.end != e.End {
		return nil, fmt.Errorf("the batches end at offset %d, the log at %d", s.end, e.End)
	}
	return s.freeze(), nil
}

func (c *Controller) stepPropose(e Propose) {
	switch {
	case !c.loaded:
		c.reply(Reply{ID: e.ID, Offset: -1, Err: ErrNotReady})
	case len(c.queue) >= c.cfg.QueuedMax:
		c.reply(Reply{ID: e.ID, Offset: -1, Err: fmt.Errorf("%w: %d waiting", ErrBusy, len(c.queue))})
	default:
		c.queue = append(c.queue, proposal{id: e.ID, change: e.Change})
	}
}

// settle starts what can start and takes in the metadata log's output,
// until neither has anything more.
func (c *Controller) settle(now env.Time) {
	for {
		c.maybeStartRound(now)
		if !c.inner.HasReady() {
			return
		}
		rd := c.inner.Ready()
		c.inner.Advance(rd)
		if rd.Persist == nil && len(rd.Reads) == 0 && len(rd.Background) == 0 && len(rd.Replies) == 0 && rd.Failure == nil {
			return // only its deadline moved: deadline reads it with every Ready
		}
		c.absorb(rd, now)
	}
}

// absorb takes the metadata log partition's Ready: its I/O goes into the
// controller's Ready unchanged, its replies (to the controller's own
// produces) complete the batch in flight, and its failure is the
// controller's.
func (c *Controller) absorb(rd replication.Ready, now env.Time) {
	if rd.Persist != nil {
		// The next Persist follows the last one's Synced, so the driver has
		// taken the last one, though maybe not yet Advanced past it.
		if old := c.ready.Persist; old != nil && (old != c.shown.persist || rd.Persist.Op <= old.Op) {
			assert.Failf("metadata Persist %d while Persist %d was never handed out", rd.Persist.Op, old.Op)
		}
		c.ready.Persist = rd.Persist
	}
	c.ready.Reads = append(c.ready.Reads, rd.Reads...)
	c.ready.Background = append(c.ready.Background, rd.Background...)
	if rd.Failure != nil {
		c.fail(fmt.Errorf("controller: metadata log failed: %w", rd.Failure.Err))
		return
	}
	for _, r := range rd.Replies {
		c.onLogReply(r, now)
	}
}

func (c *Controller) reply(r Reply) { c.ready.Replies = append(c.ready.Replies, r) }

// fail fail-stops the controller: every waiting proposal is answered
// ErrFailed, and every later one too.
func (c *Controller) fail(err error) {
	if c.failure != nil {
		return
	}
	c.failure = &Failure{Err: err}
	c.ready.Failure = c.failure
	c.withdraw()
	c.log.Error("controller failed", zap.Int32("node_id", c.cfg.NodeID), zap.Error(err))
	failed := fmt.Errorf("%w: %w", ErrFailed, err)
	if c.round != nil {
		for _, o := range c.round.outcomes {
			c.reply(Reply{ID: o.id, Offset: -1, Err: failed})
		}
		c.round = nil
	}
	for _, p := range c.queue {
		c.reply(Reply{ID: p.id, Offset: -1, Err: failed})
	}
	c.queue = nil
}
