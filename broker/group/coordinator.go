package group

import (
	"container/heap"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"go.uber.org/zap"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/storage"
)

// Config holds the broker configs the coordinator honours.
type Config struct {
	InitialRebalanceDelayMs int32 // group.initial.rebalance.delay.ms
	MinSessionTimeoutMs     int32 // group.min.session.timeout.ms
	MaxSessionTimeoutMs     int32 // group.max.session.timeout.ms
	MaxSize                 int32 // group.max.size
	OffsetsRetentionMs      int64 // offsets.retention.minutes, in ms
	OffsetsRetentionCheckMs int64 // offsets.retention.check.interval.ms
	OffsetMetadataMaxBytes  int32 // offset.metadata.max.bytes
}

// DefaultConfig returns Kafka's defaults.
func DefaultConfig() Config {
	return Config{InitialRebalanceDelayMs: 3000, MinSessionTimeoutMs: 6000, MaxSessionTimeoutMs: 1_800_000,
		MaxSize: 1<<31 - 1, OffsetsRetentionMs: 7 * 24 * 3600 * 1000, OffsetsRetentionCheckMs: 600_000,
		OffsetMetadataMaxBytes: 4096}
}

// ReadStatus classifies a read of a shard's partition.
type ReadStatus int8

const (
	ReadOK         ReadStatus = iota
	ReadRetry                 // not recovered yet, or not created yet: try again
	ReadOutOfRange            // below the log start: start from LogStart
	ReadFailed                // the partition failed: the shard cannot load
)

// ReadResult is a read of a shard's partition: whole batches from the
// offset asked, below the high watermark.
type ReadResult struct {
	Status        ReadStatus
	Batches       []byte
	HighWatermark int64
	LogStart      int64
}

// Host is the coordinator's way to its log: partition p of
// __consumer_offsets. Callbacks run later, on the caller's thread, with
// the time of their completion.
type Host interface {
	// Append writes one batch with acks=all; done gets 0 once it is
	// durable, else the Kafka error code of the produce.
	Append(partition int32, batch []byte, done func(now env.Time, code int16))
	// Read reads from offset from; done gets the batches.
	Read(partition int32, from int64, done func(now env.Time, r ReadResult))
}

// Coordinator is the group coordinator of one node: one shard per
// __consumer_offsets partition. Not safe for concurrent use.
type Coordinator struct {
	cfg    Config
	rand   *env.Rand
	log    *zap.Logger
	host   Host
	shards []*shard
	timers timers
	seq    uint64 // orders timers with equal deadlines
	// answers are the replies owed to the broker, delivered when the
	// outermost call into the coordinator returns (depth 0): a reply may
	// run the broker's queued requests inline, which call back in, and
	// must find the coordinator's state whole.
	answers []func()
	depth   int
}

// enter and leave bracket every call into the coordinator; leaving the
// outermost one delivers the answers owed, in order.
func (c *Coordinator) enter() { c.depth++ }

func (c *Coordinator) leave() {
	c.depth--
	for c.depth == 0 && len(c.answers) > 0 {
		f := c.answers[0]
		c.answers[0] = nil
		c.answers = c.answers[1:]
		f()
	}
}

// later wraps a reply callback so that calling it queues the reply (see
// answers).
func later[T any](c *Coordinator, f func(T)) func(T) {
	return func(v T) { c.answers = append(c.answers, func() { f(v) }) }
}

// append and read reach the log; their completions re-enter the
// coordinator.
func (c *Coordinator) append(partition int32, b []byte, done func(env.Time, int16)) {
	c.host.Append(partition, b, func(now env.Time, code int16) {
		c.enter()
		defer c.leave()
		done(now, code)
	})
}

func (c *Coordinator) read(partition int32, from int64, done func(env.Time, ReadResult)) {
	c.host.Read(partition, from, func(now env.Time, r ReadResult) {
		c.enter()
		defer c.leave()
		done(now, r)
	})
}

// New returns a coordinator with no shards: Partitions creates them once
// __consumer_offsets exists.
func New(cfg Config, rand *env.Rand, log *zap.Logger, host Host) *Coordinator {
	return &Coordinator{cfg: cfg, rand: rand, log: log, host: host}
}

type loadState int8

const (
	loading loadState = iota
	loaded
	failed
)

// shard is the groups of one __consumer_offsets partition.
type shard struct {
	partition int32
	state     loadState
	next      int64 // the next offset to load
	retryAt   int64 // mono ns of the next load attempt after a retry
	expireAt  int64 // mono ns of the next offset-expiry pass
	groups    map[string]*group
}

// Partitions tells the coordinator that __consumer_offsets has n
// partitions: shards not yet known start loading.
func (c *Coordinator) Partitions(now env.Time, n int32) {
	c.enter()
	defer c.leave()
	for p := int32(len(c.shards)); p < n; p++ {
		s := &shard{partition: p, groups: map[string]*group{}}
		c.shards = append(c.shards, s)
		c.load(now, s)
	}
}

// NumPartitions is the shard count (0 until __consumer_offsets exists).
func (c *Coordinator) NumPartitions() int32 { return int32(len(c.shards)) }

// shardFor returns the loaded shard owning groupID, or the error code a
// request for it gets: NOT_COORDINATOR when there is no such shard (the
// topic does not exist yet) or it failed, COORDINATOR_LOAD_IN_PROGRESS
// while it loads.
func (c *Coordinator) shardFor(groupID string) (*shard, int16) {
	if len(c.shards) == 0 {
		return nil, kerr.CoordinatorNotAvailable.Code
	}
	s := c.shards[PartitionFor(groupID, int32(len(c.shards)))]
	switch s.state {
	case loading:
		return nil, kerr.CoordinatorLoadInProgress.Code
	case failed:
		return nil, kerr.NotCoordinator.Code
	}
	return s, 0
}

const loadRetryNs = 100 * 1_000_000

func (c *Coordinator) load(now env.Time, s *shard) {
	c.read(s.partition, s.next, func(now env.Time, r ReadResult) {
		switch r.Status {
		case ReadRetry:
			s.retryAt = now.Mono + loadRetryNs
			c.addTimer(timer{at: s.retryAt, kind: timerRetry, shard: s.partition})
		case ReadOutOfRange:
			if r.LogStart <= s.next {
				c.fail(s, fmt.Errorf("read at %d out of range, log start %d", s.next, r.LogStart))
				return
			}
			s.next = r.LogStart
			c.load(now, s)
		case ReadFailed:
			c.fail(s, fmt.Errorf("partition %d failed", s.partition))
		case ReadOK:
			c.loaded(now, s, r)
		}
	})
}

// loaded replays one read; the shard is loaded once it reaches the high
// watermark.
func (c *Coordinator) loaded(now env.Time, s *shard, r ReadResult) {
	for b := r.Batches; len(b) > 0; {
		h := storage.DecodeBatchHeader(b)
		size := h.Size()
		if size > int64(len(b)) || size < storage.BatchHeaderSize {
			c.fail(s, fmt.Errorf("a truncated batch at %d", s.next))
			return
		}
		if !h.IsControl() {
			if err := c.replay(now, s, b[:size]); err != nil {
				c.fail(s, fmt.Errorf("batch at %d: %w", h.BaseOffset, err))
				return
			}
		}
		s.next = int64(h.NextOffset())
		b = b[size:]
	}
	if len(r.Batches) > 0 && s.next < r.HighWatermark {
		c.load(now, s)
		return
	}
	s.state = loaded
	c.afterLoad(now, s)
	c.log.Info("group coordinator shard loaded", zap.Int32("partition", s.partition),
		zap.Int("groups", len(s.groups)), zap.Int64("next", s.next))
}

func (c *Coordinator) fail(s *shard, err error) {
	s.state = failed
	c.log.Error("group coordinator shard failed: its groups are unavailable", zap.Int32("partition", s.partition), zap.Error(err))
}

// Deadline is the earliest timer (monotonic ns; 0 for none).
func (c *Coordinator) Deadline() int64 {
	if len(c.timers) == 0 {
		return 0
	}
	return c.timers[0].at
}

// Tick runs every timer due at now.
func (c *Coordinator) Tick(now env.Time) {
	c.enter()
	defer c.leave()
	for len(c.timers) > 0 && c.timers[0].at <= now.Mono {
		t := heap.Pop(&c.timers).(timer)
		c.fire(now, t)
	}
}

func (c *Coordinator) fire(now env.Time, t timer) {
	s := c.shards[t.shard]
	switch t.kind {
	case timerRetry:
		if s.state == loading && s.retryAt == t.at {
			c.load(now, s)
		}
		return
	case timerExpire:
		if s.state == loaded && s.expireAt == t.at {
			c.expireOffsets(now, s)
		}
		return
	}
	g := s.groups[t.group]
	if s.state != loaded || g == nil {
		return
	}
	switch t.kind {
	case timerSession:
		m := t.m
		if g.member(m.id) != m || m.armed != t.at {
			return // a stale timer: the member left, or another timer is armed
		}
		m.armed = 0
		switch {
		case m.session > now.Mono:
			c.armSession(s, g, m) // heartbeats moved the deadline
		case c.expires(m, now):
			c.log.Debug("member session expired", zap.String("group", g.id), zap.String("member", m.id))
			c.removeMember(now, s, g, m)
		}
	case timerPending:
		if at, ok := g.pending[t.member]; ok && at == t.at {
			delete(g.pending, t.member)
			c.tryCompleteJoin(now, s, g)
		}
	case timerJoin:
		if g.join == t.at && g.state == PreparingRebalance {
			c.joinDeadline(now, s, g)
		}
	case timerSync:
		if g.syncBy == t.at {
			c.syncDeadline(now, s, g)
		}
	}
}

// expires reports whether a member whose session deadline passed goes:
// members waiting in a rebalance are kept alive by it, unless they are
// new (Kafka's hasSatisfiedHeartbeat).
func (c *Coordinator) expires(m *member, now env.Time) bool {
	if m.isNew {
		return true
	}
	return m.joinWait == nil && m.syncWait == nil
}

// heartbeat restarts m's session.
func (c *Coordinator) heartbeat(now env.Time, s *shard, g *group, m *member) {
	m.session = now.Mono + int64(m.sessionMs)*1_000_000
	c.armSession(s, g, m)
}

// armSession makes sure a timer fires by m's session deadline. One timer
// per member: a heartbeat only moves the deadline, and the timer re-arms
// itself when it finds the deadline moved.
func (c *Coordinator) armSession(s *shard, g *group, m *member) {
	if m.armed != 0 && m.armed <= m.session {
		return
	}
	m.armed = m.session
	c.addTimer(timer{at: m.session, kind: timerSession, shard: s.partition, group: g.id, m: m})
}

// newMemberID returns clientID-<uuid>, as Kafka names members.
func (c *Coordinator) newMemberID(clientID string) string {
	var u [16]byte
	for i := 0; i < 16; i += 8 {
		v := c.rand.Uint64()
		for j := 0; j < 8; j++ {
			u[i+j] = byte(v >> (8 * j))
		}
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%s-%x-%x-%x-%x-%x", clientID, u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

type timerKind int8

const (
	timerSession timerKind = iota
	timerPending
	timerJoin
	timerSync
	timerRetry
	timerExpire
)

// timer is one deadline; it fires only if what it names still has that
// deadline (stale timers are dropped when they come up).
type timer struct {
	at     int64
	seq    uint64
	kind   timerKind
	shard  int32
	group  string
	member string  // timerPending
	m      *member // timerSession
}

// timers is a min-heap by (at, seq): equal deadlines fire in the order
// they were set.
type timers []timer

// addTimer sets a timer.
func (c *Coordinator) addTimer(t timer) {
	c.seq++
	t.seq = c.seq
	heap.Push(&c.timers, t)
}

func (h timers) Len() int { return len(h) }
func (h timers) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h timers) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timers) Push(x any)   { *h = append(*h, x.(timer)) }
func (h *timers) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

// Stop answers every parked JoinGroup and SyncGroup with NOT_COORDINATOR,
// as Kafka does when it unloads a coordinator: the node is shutting down
// and its members will find it again after the restart.
func (c *Coordinator) Stop() {
	c.enter()
	defer c.leave()
	for _, s := range c.shards {
		for _, id := range sortedGroupIDs(s) {
			for _, m := range s.groups[id].members {
				if m.joinWait != nil {
					wait := m.joinWait
					m.joinWait = nil
					wait(JoinResult{Code: kerr.NotCoordinator.Code, MemberID: m.id, Generation: -1})
				}
				if m.syncWait != nil {
					wait := m.syncWait
					m.syncWait = nil
					wait(SyncResult{Code: kerr.NotCoordinator.Code})
				}
			}
		}
	}
}
