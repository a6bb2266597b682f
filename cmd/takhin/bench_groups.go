package main

// `takhin bench --groups`: issue 6's group benchmark, against kfake and an
// in-process Takhin node in the same run:
//   - consume: 3 kgo members of one group read N x 100 B (1M at --scale 1)
//     from a 6-partition topic; records/s from the first record to the
//     last (the initial rebalance delay is excluded: it is reported as
//     the time to the first record);
//   - stable: M members (--group-members, 1,000) join one group over a
//     topic of as many partitions, each on its own connection, speaking
//     JoinGroup/SyncGroup directly (the leader assigns round-robin); the
//     time from the first JoinGroup until every member has its
//     assignment. Takhin runs with group.initial.rebalance.delay.ms 3000
//     (Kafka's default) and 0; kfake has no initial delay.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/takhin-io/takhin/broker/config"
	"github.com/takhin-io/takhin/driver"
)

// groupBenchResult is one broker's numbers.
type groupBenchResult struct {
	Broker         string  `json:"broker"`
	Records        int     `json:"records"`
	FirstRecordMs  float64 `json:"first_record_ms"`
	ConsumePerSec  float64 `json:"consume_records_per_sec"`
	Members        int     `json:"members"`
	StableMs       float64 `json:"stable_ms"`
	InitialDelayMs int     `json:"initial_delay_ms"`
}

func runGroupBench(ctx context.Context, f benchFlags, stdout io.Writer) error {
	records := max(int(1_000_000*f.scale), 1000)
	var results []groupBenchResult
	targets := []struct {
		name    string
		delayMs int
		consume bool
	}{{brokerKfake, 0, true}, {brokerTakhin, 3000, true}, {brokerTakhin, 0, false}}
	for _, tg := range targets {
		b, err := startGroupBenchBroker(tg.name, tg.delayMs)
		if err != nil {
			return err
		}
		res := groupBenchResult{Broker: tg.name, Members: f.groupMembers, InitialDelayMs: tg.delayMs}
		if tg.consume {
			res.Records = records
			res.FirstRecordMs, res.ConsumePerSec, err = benchGroupConsume(ctx, b.addr, records)
		}
		if err == nil {
			res.StableMs, err = benchGroupStable(ctx, b.addr, f.groupMembers)
		}
		err = errors.Join(err, b.stop())
		if err != nil {
			return fmt.Errorf("%s: %w", tg.name, err)
		}
		results = append(results, res)
	}
	if f.format == "json" {
		writeJSON(stdout, results)
		return nil
	}
	tw := newTable(stdout)
	fmt.Fprintln(tw, "broker\tinitial delay\tconsume (3 members)\tfirst record\ttime to stable")
	for _, r := range results {
		consume := "-"
		first := "-"
		if r.Records > 0 {
			consume = fmt.Sprintf("%s rec/s (%d records)", human(r.ConsumePerSec), r.Records)
			first = fmt.Sprintf("%.0f ms", r.FirstRecordMs)
		}
		fmt.Fprintf(tw, "%s\t%d ms\t%s\t%s\t%.0f ms (%d members, %d partitions)\n", r.Broker, r.InitialDelayMs,
			consume, first, r.StableMs, r.Members, r.Members)
	}
	return tw.Flush()
}

// startGroupBenchBroker starts kfake, or a Takhin node with the given
// initial rebalance delay.
func startGroupBenchBroker(name string, delayMs int) (*benchBroker, error) {
	if name == brokerKfake {
		return startKfake()
	}
	dir, err := os.MkdirTemp("", "takhin-groupbench-")
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadBroker(nil, map[string]string{"node.id": "1",
		"group.initial.rebalance.delay.ms": strconv.Itoa(delayMs)})
	if err != nil {
		return nil, err
	}
	node, err := driver.StartNode(nodeConfig(cfg, dir, "127.0.0.1:0", zap.NewNop(), func(error) {}))
	if err != nil {
		return nil, err
	}
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return errors.Join(node.Stop(ctx), os.RemoveAll(dir))
	}
	return &benchBroker{name: brokerTakhin, addr: node.Addr(), stop: stop}, nil
}

// benchGroupConsume produces n records to a 6-partition topic, then reads
// them with 3 members of one group.
func benchGroupConsume(ctx context.Context, addr string, n int) (firstMs, perSec float64, err error) {
	w := workload{Topic: "group-bench", Records: n, RecordBytes: 100, Acks: "1", Partitions: 6, MaxInflight: 5, ReplicationFactor: -1}
	if _, err := ensureTopic(ctx, []string{addr}, w); err != nil {
		return 0, 0, err
	}
	if _, err := produce(ctx, []string{addr}, w, cpuMeter{}); err != nil {
		return 0, 0, err
	}
	var got atomic.Int64
	var first, last atomic.Int64
	start := time.Now()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup("bench"), kgo.ConsumeTopics(w.Topic))
		if err != nil {
			return 0, 0, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cl.Close()
			for cctx.Err() == nil {
				fs := cl.PollFetches(cctx)
				if k := int64(fs.NumRecords()); k > 0 {
					now := time.Since(start).Nanoseconds()
					first.CompareAndSwap(0, now)
					if got.Add(k) >= int64(n) {
						last.Store(now)
						cancel()
					}
				}
			}
		}()
	}
	wg.Wait()
	if got.Load() < int64(n) {
		return 0, 0, fmt.Errorf("consumed %d of %d records: %w", got.Load(), n, ctx.Err())
	}
	secs := float64(last.Load()-first.Load()) / 1e9
	return float64(first.Load()) / 1e6, float64(n) / secs, nil
}

// benchGroupStable times m members joining one group over m partitions:
// until every member holds its assignment of one generation. Members
// heartbeat and rejoin as clients do, so a broker that rebalances once per
// arriving member (no initial delay) gets there too.
func benchGroupStable(ctx context.Context, addr string, m int) (float64, error) {
	topic := "group-stable"
	adm := kadm.NewClient(mustKgo(kgo.SeedBrokers(addr)))
	defer adm.Close()
	if _, err := adm.CreateTopic(ctx, int32(m), -1, nil, topic); err != nil {
		return 0, err
	}
	clients := make([]*kgo.Client, m)
	for i := range clients {
		clients[i] = mustKgo(kgo.SeedBrokers(addr), kgo.ClientID(fmt.Sprintf("member-%d", i)))
		defer clients[i].Close()
	}
	st := &stableState{gens: make([]int32, m), done: make(chan struct{})}
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	errs := make(chan error, m)
	for i, cl := range clients {
		go func() { errs <- (&benchMember{cl: cl, i: i, topic: topic, partitions: int32(m), st: st}).run(gctx) }()
	}
	select {
	case <-st.done:
	case err := <-errs:
		return 0, err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	elapsed := time.Since(start)
	cancel()
	for range clients {
		<-errs
	}
	return float64(elapsed.Microseconds()) / 1000, nil
}

// stableState tracks each member's last synced generation.
type stableState struct {
	mu   sync.Mutex
	gens []int32
	done chan struct{}
	once sync.Once
}

func (s *stableState) synced(i int, gen int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gens[i] = gen
	for _, g := range s.gens {
		if g != gen {
			return
		}
	}
	s.once.Do(func() { close(s.done) })
}

func mustKgo(opts ...kgo.Opt) *kgo.Client {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		panic(err) // only invalid options fail here
	}
	return cl
}

// benchMember is one member of the group "stable": join (twice: KIP-394),
// sync (the leader assigns round-robin), then heartbeat and rejoin when
// the group rebalances, until the context ends.
type benchMember struct {
	cl         *kgo.Client
	i          int
	topic      string
	partitions int32
	st         *stableState
	memberID   string
}

func (b *benchMember) run(ctx context.Context) error {
	for ctx.Err() == nil {
		gen, err := b.joinAndSync(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, kerr.RebalanceInProgress) {
				continue
			}
			return fmt.Errorf("member %d: %w", b.i, err)
		}
		b.st.synced(b.i, gen)
		for ctx.Err() == nil {
			hb := kmsg.NewPtrHeartbeatRequest()
			hb.Group, hb.Generation, hb.MemberID = "stable", gen, b.memberID
			resp, err := hb.RequestWith(ctx, b.cl)
			if err != nil || resp.ErrorCode != 0 {
				break // rebalancing (or gone): rejoin
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

func (b *benchMember) joinAndSync(ctx context.Context) (int32, error) {
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{b.topic}
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = "stable", 60_000, 120_000
	join.ProtocolType, join.MemberID = "consumer", b.memberID
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "roundrobin", Metadata: meta.AppendTo(nil)}}
	var resp *kmsg.JoinGroupResponse
	for {
		var err error
		if resp, err = join.RequestWith(ctx, b.cl); err != nil {
			return 0, err
		}
		if resp.ErrorCode == kerr.MemberIDRequired.Code {
			join.MemberID = resp.MemberID
			continue
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			b.memberID = ""
			return 0, err
		}
		break
	}
	b.memberID = resp.MemberID
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.Generation, sync.MemberID = "stable", resp.Generation, resp.MemberID
	if resp.LeaderID == resp.MemberID {
		sync.GroupAssignment = roundRobin(resp.Members, b.topic, b.partitions)
	}
	sresp, err := sync.RequestWith(ctx, b.cl)
	if err == nil {
		err = kerr.ErrorForCode(sresp.ErrorCode)
	}
	return resp.Generation, err
}

func roundRobin(members []kmsg.JoinGroupResponseMember, topic string, partitions int32) []kmsg.SyncGroupRequestGroupAssignment {
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.MemberID
	}
	slices.Sort(ids)
	owned := make([][]int32, len(ids))
	for p := int32(0); p < partitions; p++ {
		owned[int(p)%len(ids)] = append(owned[int(p)%len(ids)], p)
	}
	out := make([]kmsg.SyncGroupRequestGroupAssignment, len(ids))
	for i, id := range ids {
		a := kmsg.NewConsumerMemberAssignment()
		a.Topics = []kmsg.ConsumerMemberAssignmentTopic{{Topic: topic, Partitions: owned[i]}}
		out[i] = kmsg.SyncGroupRequestGroupAssignment{MemberID: id, MemberAssignment: a.AppendTo(nil)}
	}
	return out
}
