package broker

import (
	"go.uber.org/zap"

	"github.com/takhin-io/takhin/broker/group"
	"github.com/takhin-io/takhin/broker/records"
	"github.com/takhin-io/takhin/controller"
	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/assert"
	"github.com/takhin-io/takhin/replication"
)

// Config is what the broker machine needs to know.
type Config struct {
	NodeID int32
	// AdvertisedHost and AdvertisedPort are what Metadata tells clients.
	AdvertisedHost string
	AdvertisedPort int32
	// MaxRequestBytes is socket.request.max.bytes (the framer enforces
	// it); NonDataRequestBytesMax caps every API but Produce (kmsg
	// allocates arrays up front, so a small request may not claim huge
	// ones).
	MaxRequestBytes        int32
	NonDataRequestBytesMax int
	// QueuedRequestBytesMax is queued.max.request.bytes: when the bytes of
	// requests waiting on muted connections pass it, reading pauses on
	// every connection until they drain.
	QueuedRequestBytesMax int
	// AutoCreateTopics is auto.create.topics.enable; NumPartitions is
	// num.partitions, used for auto-created topics and CreateTopics
	// without a count.
	AutoCreateTopics bool
	NumPartitions    int32
	// TopicDeletionDisabled is delete.topic.enable=false: DeleteTopics
	// deletes nothing (the zero value deletes, as Kafka's default).
	TopicDeletionDisabled bool
	// ProducerIDBlock is how many producer ids InitProducerId takes from
	// the controller at once.
	ProducerIDBlock int64
	// FetchMaxWaitMsMax caps a fetch's MaxWaitMs.
	FetchMaxWaitMsMax int32
	// Topics resolves a topic's effective configs (defaults, broker
	// config, topic overrides).
	Topics TopicConfigs
	// Groups configures the group coordinator; OffsetsPartitions and
	// OffsetsSegmentBytes are offsets.topic.num.partitions and
	// offsets.topic.segment.bytes, used when __consumer_offsets is created
	// (on the first FindCoordinator). Rand draws member ids (nil: a fixed
	// stream, for tests).
	// LogDir is the data directory DescribeLogDirs reports.
	LogDir              string
	Groups              group.Config
	OffsetsPartitions   int32
	OffsetsSegmentBytes int32
	Rand                *env.Rand
	// Observer is told about every request as its answer leaves (see
	// observer.go); nil means nobody is. The simulator passes nil.
	Observer Observer
}

// Broker is the node's Kafka front end machine (see the package doc). Not
// safe for concurrent use.
type Broker struct {
	cfg       Config
	log       *zap.Logger
	apis      []apiEntry
	validator *records.Validator // reused buffers and decoders for produce validation

	image           *controller.Image
	topicConfigs    map[controller.TopicID]TopicConfig // resolved for image, on demand
	conns           map[env.ConnID]*conn
	nextSub         uint64
	subs            map[uint64]*sub
	queued          int  // bytes of requests waiting on muted connections
	paused          bool // reading is paused on every connection
	pids            producerIDs
	fetches         []*fetchWait // long-polls waiting for data or their deadline
	groups          *group.Coordinator
	creatingOffsets bool // __consumer_offsets has been proposed
	now             env.Time

	ready    Ready
	armed    int64
	stopping bool // a graceful stop is under way: fetches do not wait
}

// New returns a broker with no connections, waiting for an Image.
func New(cfg Config, log *zap.Logger) *Broker {
	assert.That(cfg.MaxRequestBytes > 0 && cfg.NonDataRequestBytesMax > 0 && cfg.QueuedRequestBytesMax > 0,
		"broker request limits are positive")
	assert.That(cfg.Topics != nil, "broker needs topic configs")
	if cfg.Rand == nil {
		cfg.Rand = env.NewRand(0, "broker")
	}
	if cfg.OffsetsPartitions <= 0 {
		cfg.OffsetsPartitions = 50
	}
	if cfg.Groups == (group.Config{}) {
		cfg.Groups = group.DefaultConfig()
	}
	b := &Broker{cfg: cfg, log: log, apis: apiTable(), validator: records.NewValidator(records.DefaultMaxUncompressedBytes),
		conns: map[env.ConnID]*conn{}, subs: map[uint64]*sub{}, topicConfigs: map[controller.TopicID]TopicConfig{}}
	b.groups = group.New(cfg.Groups, cfg.Rand.Fork("groups"), log, groupHost{b})
	return b
}

// Ready is what the broker wants done, in order:
//
//  1. ToPartitions and Proposals: deliver each event to its partition
//     machine and each proposal to the controller; their replies come back
//     as PartitionReply and ControllerReply.
//  2. Sends: write each frame (size prefix included) to its connection,
//     in order per connection.
//  3. Closes: close the connections after their sends.
//  4. Pause/Resume: stop or restart reading every connection
//     (queued.max.request.bytes back-pressure).
//  5. Deadline: deliver Tick at this monotonic ns (0: none).
type Ready struct {
	ToPartitions []PartitionRequest
	Proposals    []controller.Propose
	Sends        []Send
	Closes       []env.ConnID
	Pause        bool
	Resume       bool
	Deadline     int64
}

// PartitionRequest is an event for one partition machine.
type PartitionRequest struct {
	TopicID   controller.TopicID
	Partition int32
	Event     replication.Event
}

// Send is one whole response frame for a connection.
type Send struct {
	Conn  env.ConnID
	Frame []byte
}

// Events.
type (
	ConnOpened struct {
		Now    env.Time
		Conn   env.ConnID
		Remote string
	}
	FrameIn struct {
		Now   env.Time
		Conn  env.ConnID
		Frame []byte
	}
	ConnClosed struct {
		Now  env.Time
		Conn env.ConnID
	}
	// PartitionReply is a partition machine's answer to a request the
	// broker sent (its ID is the broker's sub-request id).
	PartitionReply struct {
		Now   env.Time
		Reply replication.Reply
	}
	ControllerReply struct {
		Now   env.Time
		Reply controller.Reply
	}
	// ImagePublished delivers the controller's new Image. The driver
	// delivers it after it created the new partitions' machines.
	ImagePublished struct {
		Now   env.Time
		Image *controller.Image
	}
	Tick struct{ Now env.Time }
	// Stopping starts a graceful stop: parked long-polls are answered now,
	// and later fetches do not wait.
	Stopping struct{ Now env.Time }
)

// Event is an input of Step.
type Event interface{ When() env.Time }

func (e ConnOpened) When() env.Time      { return e.Now }
func (e FrameIn) When() env.Time         { return e.Now }
func (e ConnClosed) When() env.Time      { return e.Now }
func (e PartitionReply) When() env.Time  { return e.Now }
func (e ControllerReply) When() env.Time { return e.Now }
func (e ImagePublished) When() env.Time  { return e.Now }
func (e Tick) When() env.Time            { return e.Now }
func (e Stopping) When() env.Time        { return e.Now }

// Step applies one event.
func (b *Broker) Step(ev Event) {
	b.now = ev.When()
	switch e := ev.(type) {
	case ConnOpened:
		b.conns[e.Conn] = &conn{id: e.Conn, remote: e.Remote}
	case FrameIn:
		b.frameIn(e)
	case ConnClosed:
		b.connClosed(e.Conn)
	case PartitionReply:
		b.partitionReply(e.Reply)
	case ControllerReply:
		b.controllerReply(e.Reply)
	case ImagePublished:
		b.image = e.Image
		b.topicConfigs = map[controller.TopicID]TopicConfig{}
		b.pids.imagePublished(b)
		if t, ok := b.topic(offsetsTopic); ok {
			b.groups.Partitions(b.now, t.Partitions)
		}
	case Tick:
		b.tick()
	case Stopping:
		b.stopping = true
		b.groups.Stop()
		for _, f := range append([]*fetchWait(nil), b.fetches...) {
			b.wake(f)
		}
	default:
		assert.Failf("broker: unknown event %T", ev)
	}
}

// HasReady reports whether Ready has work, or a moved deadline.
func (b *Broker) HasReady() bool {
	r := &b.ready
	return len(r.ToPartitions) > 0 || len(r.Proposals) > 0 || len(r.Sends) > 0 || len(r.Closes) > 0 ||
		r.Pause || r.Resume || b.deadline() != b.armed
}

// Ready returns the work accumulated since the last Advance.
func (b *Broker) Ready() Ready {
	rd := b.ready
	rd.Deadline = b.deadline()
	return rd
}

// Advance acknowledges rd; work stepped in after it stays.
func (b *Broker) Advance(rd Ready) {
	r := &b.ready
	r.ToPartitions = r.ToPartitions[len(rd.ToPartitions):]
	r.Proposals = r.Proposals[len(rd.Proposals):]
	r.Sends = r.Sends[len(rd.Sends):]
	r.Closes = r.Closes[len(rd.Closes):]
	if rd.Pause {
		r.Pause = false
	}
	if rd.Resume {
		r.Resume = false
	}
	b.armed = rd.Deadline
}

// deadline is the earliest long-poll or group deadline.
func (b *Broker) deadline() int64 {
	d := b.groups.Deadline()
	for _, f := range b.fetches {
		if d == 0 || f.deadline < d {
			d = f.deadline
		}
	}
	return d
}

// InFlight counts the requests being served (a graceful stop waits for
// them).
func (b *Broker) InFlight() int {
	n := 0
	for _, c := range b.conns {
		n += len(c.inflight)
	}
	return n
}

func (b *Broker) tick() {
	b.expireFetches()
	b.groups.Tick(b.now)
}
