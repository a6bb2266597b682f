package sim

import (
	"fmt"
	"slices"

	"go.uber.org/zap"

	"github.com/takhin-io/takhin/broker"
	"github.com/takhin-io/takhin/broker/config"
	"github.com/takhin-io/takhin/broker/group"
	"github.com/takhin-io/takhin/controller"
	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/sim/simnet"
)

// The node's Kafka front end in the simulator: the real broker machine,
// its connections on simnet, its requests to the node's partition and
// controller machines delivered as world actions (never re-entrantly).

// directID marks the request ids of the direct (storage-level) workload,
// so a machine's replies are routed to it rather than to the broker.
const directID = 1 << 62

func (n *node) startBroker() {
	cfg, err := config.LoadBroker(nil, map[string]string{"node.id": "1"})
	if err != nil {
		n.sink.violation("node %d: broker config: %v", n.id, err)
		return
	}
	n.broker = broker.New(broker.Config{
		NodeID: n.id, AdvertisedHost: n.name(), AdvertisedPort: 9092, MaxRequestBytes: env.DefaultMaxFrameBytes,
		NonDataRequestBytesMax: 1 << 20, QueuedRequestBytesMax: 8 << 20, AutoCreateTopics: true, NumPartitions: 1,
		ProducerIDBlock: 20, FetchMaxWaitMsMax: 1000, Topics: config.TopicConfigs{Broker: cfg},
		Groups: simGroupConfig(), OffsetsPartitions: int32(max(n.opts.OffsetsPartitions, 1)),
		// One stream per incarnation: a stream restarted at each boot would
		// hand a new member the id of one the reloaded group still holds.
		Rand: env.NewRand(n.opts.Seed, fmt.Sprintf("broker/%s/%d", n.name(), n.incarnation)),
	}, zap.NewNop())
	n.brokerArmed, n.conns = 0, nil
	n.net.Listen(n.name(), n.netEvent)
}

func (n *node) name() string { return "node-1" }

// simGroupConfig is Kafka's group defaults scaled to a run of a few
// hundred virtual milliseconds: sessions of tens of ms must be allowed,
// and the first rebalance waits 3 ms for more members, not 3 s.
func simGroupConfig() group.Config {
	cfg := group.DefaultConfig()
	cfg.InitialRebalanceDelayMs = 3
	cfg.MinSessionTimeoutMs = 5
	return cfg
}

// netEvent turns simnet's events into broker events.
func (n *node) netEvent(ev simnet.Event) {
	if !n.up || n.broker == nil {
		return
	}
	if n.pausedUntil > n.w.now || len(n.heldNet) > 0 {
		// Paused: the events wait, in order, as bytes in its socket buffers.
		n.heldNet = append(n.heldNet, ev)
		if len(n.heldNet) == 1 {
			n.w.schedule(n.pausedUntil, n, n.releaseNet)
		}
		return
	}
	now := n.now()
	switch e := ev.(type) {
	case simnet.ConnOpened:
		n.conns = append(n.conns, e.Conn)
		n.stepBroker(broker.ConnOpened{Now: now, Conn: e.Conn, Remote: e.Remote})
	case simnet.FrameIn:
		n.stepBroker(broker.FrameIn{Now: now, Conn: e.Conn, Frame: e.Frame})
	case simnet.ConnClosed:
		n.conns = slices.DeleteFunc(n.conns, func(c env.ConnID) bool { return c == e.Conn })
		n.stepBroker(broker.ConnClosed{Now: now, Conn: e.Conn})
	}
}

// releaseNet delivers, in arrival order, the network events held while
// the node was paused.
func (n *node) releaseNet() {
	held := n.heldNet
	n.heldNet = nil
	for _, ev := range held {
		if !n.up || n.broker == nil {
			return
		}
		n.netEvent(ev)
	}
}

// stepBroker delivers one event to the broker and carries out its Ready.
func (n *node) stepBroker(ev broker.Event) {
	n.broker.Step(ev)
	for n.up && n.broker.HasReady() {
		rd := n.broker.Ready()
		n.broker.Advance(rd)
		n.w.record("broker", int64(len(rd.ToPartitions)), int64(len(rd.Proposals)), int64(len(rd.Sends)))
		for _, pr := range rd.ToPartitions {
			n.toPartition(pr)
		}
		for _, p := range rd.Proposals {
			n.w.schedule(n.w.now, n, func() { n.stepController(controller.Propose{Now: n.now(), ID: p.ID, Change: p.Change}) })
		}
		ep := n.net.Endpoint(n.name())
		for _, s := range rd.Sends {
			_ = ep.Send(s.Conn, s.Frame[env.FrameHeaderBytes:])
		}
		for _, c := range rd.Closes {
			_ = ep.Close(c)
		}
		if rd.Pause || rd.Resume {
			for _, c := range n.conns {
				if rd.Pause {
					ep.Pause(c)
				} else {
					ep.Resume(c)
				}
			}
		}
		n.arm(&n.brokerArmed, rd.Deadline, func(now env.Time) { n.stepBroker(broker.Tick{Now: now}) })
	}
}

// Between the broker and the partition machines each direction is a FIFO,
// as the driver's mailboxes are: a request or reply joins its queue, and
// an action at the same instant delivers the queue's head. Deliveries
// interleave with other actions in a seeded order but never overtake one
// another: the group coordinator relies on its appends reaching its
// partition in the order it issued them, and on their completions coming
// back in that order (its memory follows its log).

// toPartition delivers a broker request to its partition machine, as a
// world action; a partition the node does not host answers at once.
func (n *node) toPartition(pr broker.PartitionRequest) {
	n.toParts = append(n.toParts, pr)
	n.w.schedule(n.w.now, n, func() {
		pr := n.toParts[0]
		n.toParts = n.toParts[1:]
		for _, p := range n.parts {
			if p.topicID == pr.TopicID && p.index == pr.Partition && !p.removed {
				n.stepPartition(p, replication.WithNow(pr.Event, n.now()))
				return
			}
		}
		rep := replication.Reply{ID: replication.RequestIDOf(pr.Event), Err: broker.ErrUnknownPartition}
		n.stepBroker(broker.PartitionReply{Now: n.now(), Reply: rep})
	})
}

// partitionReply routes a partition's reply to the direct workload or to
// the broker.
func (n *node) partitionReply(p *part, r replication.Reply) {
	if r.ID&directID != 0 {
		n.sink.partitionReply(n, p, r)
		return
	}
	if n.broker != nil {
		n.toBroker = append(n.toBroker, r)
		n.w.schedule(n.w.now, n, func() {
			r := n.toBroker[0]
			n.toBroker = n.toBroker[1:]
			n.stepBroker(broker.PartitionReply{Now: n.now(), Reply: r})
		})
	}
}

// controllerReply routes a controller reply likewise.
func (n *node) controllerReply(r controller.Reply) {
	if r.ID&directID != 0 {
		n.sink.controllerReply(n, r, n.image)
		return
	}
	if n.broker != nil {
		n.w.schedule(n.w.now, n, func() { n.stepBroker(broker.ControllerReply{Now: n.now(), Reply: r}) })
	}
}

// imagePublished hands a new image to the broker after the node applied it.
func (n *node) imagePublished(img *controller.Image) {
	if n.broker != nil {
		n.stepBroker(broker.ImagePublished{Now: n.now(), Image: img})
	}
}
