package sim

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/controller"
	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

// workload is the seeded client side of a run: it produces (acks=all and
// acks=1), fetches, creates and deletes topics, and injects the faults the
// options turn on, at random instants of virtual time.
type workload struct {
	w    *world
	n    *node
	rng  *env.Rand
	opts *Options
	chk  *checker
	rc   *retentionChecker

	nextID   uint64
	produces map[uint64]sentProduce
	fetches  map[uint64]string // request id → partition key
	changes  map[uint64]controller.Change
	payloads int
	topicSeq int
	counts   Counts
	stopped  bool // the drain phase: no more operations or faults

	clients []string // the Kafka clients' network names, for partitions
	cut     []bool   // clients[i] is partitioned from the node
	faults  []string // the fault schedule, as injected
	// corrupted lists the bit flips in the Kafka clients' topic.
	corrupted []corruption
}

type sentProduce struct {
	key     string
	payload string
	acks    int16
}

// Counts is what a run did.
type Counts struct {
	Steps, Crashes, DiskFull, NetPartitions   int
	ClockJumps, BitFlips                      int
	Produced, AckedAll, AckedOne, ProduceErrs int
	Fetches, FetchedBatches                   int
	TopicChanges, TopicChangesAcked           int
	ClientOps                                 int // operations the Kafka clients recorded
	ClientRequests                            int // Kafka requests they sent (retries included)
	Pauses                                    int
	OffsetsCleanChunks                        int // Clean chunks of __consumer_offsets
	Groups                                    GroupCounts
	Retention                                 RetentionCounts
}

func newWorkload(w *world, n *node, opts *Options, chk *checker) *workload {
	return &workload{
		w: w, n: n, rng: env.NewRand(opts.Seed, "workload"), opts: opts, chk: chk, rc: newRetentionChecker(chk),
		produces: map[uint64]sentProduce{}, fetches: map[uint64]string{}, changes: map[uint64]controller.Change{},
	}
}

// tick runs one client operation and schedules the next.
func (wl *workload) tick() {
	if wl.stopped {
		return
	}
	wl.w.schedule(wl.w.now+1_000*(1+wl.rng.Int64N(2*wl.opts.ClientGapUs)), nil, wl.tick)
	wl.maybeInjectFaults()
	if !wl.n.up || wl.n.image == nil {
		return
	}
	switch r := wl.rng.IntN(100); {
	case r < 5 || len(wl.n.parts) == 0:
		wl.changeTopics()
	case r < 70:
		wl.produce()
	default:
		wl.fetch()
	}
}

func (wl *workload) maybeInjectFaults() {
	if wl.opts.CrashPerMille > 0 && wl.rng.IntN(1000) < wl.opts.CrashPerMille {
		wl.counts.Crashes++
		wl.w.schedule(wl.w.now+wl.rng.Int64N(2_000_000), wl.n, func() {
			wl.fault("crash", wl.n.name())
			wl.n.crash("injected")
		})
	}
	if wl.opts.DiskFullPerMille > 0 && wl.rng.IntN(1000) < wl.opts.DiskFullPerMille {
		wl.counts.DiskFull++
		usage, err := wl.n.fs.Usage(".")
		if err == nil {
			wl.n.fs.SetCapacity(usage.TotalBytes - usage.UsableBytes + wl.rng.Int64N(4096))
			wl.fault("disk-full", wl.n.name())
			wl.w.schedule(wl.w.now+wl.rng.Int64N(20_000_000), nil, func() { wl.n.fs.SetCapacity(0) })
		}
	}
	wl.maybePartition()
	wl.maybeJumpClock()
	wl.maybeFlipBit()
	// Pauses are per mille per millisecond of virtual time (ticks come
	// every ClientGapUs on average), of 1-20 ms, so that the node runs
	// most of the time whatever the tick rate.
	if wl.opts.PausePerMille > 0 && wl.rng.Int64N(1_000_000) < int64(wl.opts.PausePerMille)*wl.opts.ClientGapUs && wl.n.up &&
		wl.n.pausedUntil <= wl.w.now {
		wl.counts.Pauses++
		wl.n.pausedUntil = wl.w.now + 1_000_000*(1+wl.rng.Int64N(20))
		wl.fault("pause", wl.n.name())
	}
}

// pick draws a partition of the direct workload's topics.
func (wl *workload) pick() *part {
	var own []*part
	for _, p := range wl.n.parts {
		if !clientTopic(p.topic) {
			own = append(own, p)
		}
	}
	if len(own) == 0 {
		return nil
	}
	return own[wl.rng.IntN(len(own))]
}

func (wl *workload) produce() {
	p := wl.pick()
	if p == nil {
		return
	}
	wl.payloads++
	payload := fmt.Sprintf("v%d", wl.payloads)
	records := make([]kmsg.Record, 1+wl.rng.IntN(3))
	for i := range records {
		records[i].Value = []byte(fmt.Sprintf("%s.%d", payload, i))
	}
	acks := int16(-1)
	if wl.rng.IntN(4) == 0 {
		acks = 1
	}
	wl.nextID++
	id := wl.nextID | directID
	key := partKey(p)
	wl.produces[id] = sentProduce{key: key, payload: payload, acks: acks}
	wl.chk.sent(payload)
	wl.counts.Produced++
	batch := storage.EncodeBatch(records, wl.n.trueWallMs())
	wl.send(func() {
		if q := wl.n.partition(p.dir); q == p {
			wl.n.stepPartition(p, replication.Produce{Now: wl.n.now(), ID: replication.RequestID(id), Batch: batch, Acks: acks})
		}
	})
}

func (wl *workload) fetch() {
	p := wl.pick()
	if p == nil {
		return
	}
	key := partKey(p)
	from := wl.chk.fetchOffset(key, wl.rng)
	wl.nextID++
	id := wl.nextID | directID
	wl.fetches[id] = key
	wl.counts.Fetches++
	deadline := wl.w.now + wl.rng.Int64N(5_000_000)
	wl.send(func() {
		if q := wl.n.partition(p.dir); q == p {
			wl.n.stepPartition(p, replication.Fetch{Now: wl.n.now(), ID: replication.RequestID(id), From: from,
				MaxBytes: 1 + wl.rng.IntN(4096), MinBytes: 1, Deadline: deadline})
		}
	})
}

func (wl *workload) changeTopics() {
	var topics []controller.Topic
	for _, t := range wl.n.image.Topics() {
		if !clientTopic(t.Name) { // the Kafka clients' topics are theirs
			topics = append(topics, t)
		}
	}
	var ch controller.Change
	switch {
	case len(topics) < wl.opts.Topics:
		wl.topicSeq++
		ch = controller.CreateTopic{Name: fmt.Sprintf("t%d", wl.topicSeq%5), Partitions: int32(wl.opts.Partitions)}
	case wl.rng.IntN(3) == 0:
		t := topics[wl.rng.IntN(len(topics))]
		ch = controller.DeleteTopic{Name: t.Name, ID: t.ID} // by both: it must be this topic
		wl.chk.mayBeGone[t.ID] = true
	default:
		t := topics[wl.rng.IntN(len(topics))]
		ch = controller.CreatePartitions{Name: t.Name, Count: t.Partitions + 1}
	}
	wl.nextID++
	id := wl.nextID | directID
	wl.changes[id] = ch
	wl.counts.TopicChanges++
	wl.send(func() {
		wl.n.stepController(controller.Propose{Now: wl.n.now(), ID: controller.RequestID(id), Change: ch})
	})
}

// send delivers a request to the node after a network delay; it is lost if
// the node crashes first, like a request on a connection that breaks.
func (wl *workload) send(fn func()) {
	wl.w.schedule(wl.w.now+10_000+wl.rng.Int64N(100_000), wl.n, fn)
}

func partKey(p *part) string { return p.dir + "@" + p.topicID.String() }

// clientTopic reports whether a topic belongs to the Kafka clients (their
// workload topic, and __consumer_offsets, the group coordinator's): the
// direct workload never touches them, and they are checked through the
// clients' histories.
func clientTopic(name string) bool { return name == kTopic || name == offsetsTopic }
