package driver

// Goal: issue 6, criterion 1. kgo group consumers, 3 members over 6
// partitions, eager (range) and cooperative-sticky: a member joins, one
// leaves, one is cut off (its connections stall, as behind a dead proxy)
// so its 6 s session expires; each rebalance converges (every partition
// owned by exactly one live member); within one generation no record is
// consumed twice, and in the end none is skipped. A restarted static
// member gets its partitions back without a rebalance.

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// consumption records which member consumed which record in which
// generation.
type consumption struct {
	mu   sync.Mutex
	seen map[string][]string // value → "generation/member" of each consumption
}

func (c *consumption) add(value string, gen int32, member string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[value] = append(c.seen[value], fmt.Sprintf("%d/%s", gen, member))
}

func (c *consumption) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// check: no record twice in one generation; every value in want.
func (c *consumption) check(t *testing.T, want int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for v, by := range c.seen {
		gens := map[string]bool{}
		for _, s := range by {
			gen := s[:slices.Index([]byte(s), '/')]
			if gens[gen] {
				t.Errorf("record %s consumed twice in generation %s: %v", v, gen, by)
			}
			gens[gen] = true
		}
	}
	if len(c.seen) != want {
		t.Errorf("consumed %d distinct records, want %d", len(c.seen), want)
	}
}

// cuttable is a dialer whose connections can all be stalled at once: a
// test TCP proxy in the client's process.
type cuttable struct {
	cut atomic.Bool
}

func (d *cuttable) dial(ctx context.Context, network, host string) (net.Conn, error) {
	if d.cut.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	c, err := (&net.Dialer{}).DialContext(ctx, network, host)
	if err != nil {
		return nil, err
	}
	return &stallConn{Conn: c, d: d}, nil
}

type stallConn struct {
	net.Conn
	d *cuttable
}

func (c *stallConn) Write(p []byte) (int, error) {
	for c.d.cut.Load() {
		time.Sleep(10 * time.Millisecond) // stalled: nothing reaches the broker
	}
	return c.Conn.Write(p)
}

// groupMember runs one kgo group consumer until stopped.
type groupMember struct {
	name string
	cl   *kgo.Client
	stop context.CancelFunc
	done chan struct{}
}

func startMember(t *testing.T, addr, name string, c *consumption, opts ...kgo.Opt) *groupMember {
	t.Helper()
	base := []kgo.Opt{kgo.SeedBrokers(addr), kgo.ConsumerGroup("rebalance"), kgo.ConsumeTopics("events"),
		kgo.SessionTimeout(6 * time.Second), kgo.HeartbeatInterval(500 * time.Millisecond),
		kgo.FetchMaxWait(200 * time.Millisecond), kgo.ClientID(name), kgo.BlockRebalanceOnPoll(),
		kgo.DisableAutoCommit()}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &groupMember{name: name, cl: cl, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			_, gen := cl.GroupMetadata()
			fs.EachRecord(func(r *kgo.Record) { c.add(string(r.Value), gen, name) })
			// Commit what this poll returned before any rebalance can
			// take the partitions away (BlockRebalanceOnPoll).
			if !fs.Empty() {
				_ = cl.CommitUncommittedOffsets(ctx)
			}
			cl.AllowRebalance()
		}
	}()
	return m
}

func (m *groupMember) close() {
	m.stop()
	<-m.done
	m.cl.Close()
}

// waitMembers polls DescribeGroups until the group is Stable with want
// members whose assignments cover the 6 partitions exactly once.
func waitMembers(t *testing.T, ctx context.Context, adm *kadm.Client, want int) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		d, err := adm.DescribeGroups(ctx, "rebalance")
		if err == nil {
			g := d["rebalance"]
			owned := map[int32]int{}
			for _, m := range g.Members {
				if a, ok := m.Assigned.AsConsumer(); ok {
					for _, tp := range a.Topics {
						for _, p := range tp.Partitions {
							owned[p]++
						}
					}
				}
			}
			ok := g.State == "Stable" && len(g.Members) == want && len(owned) == 6
			for _, n := range owned {
				ok = ok && n == 1
			}
			if ok {
				return
			}
			last = fmt.Sprintf("state %s, %d members, owned %v", g.State, len(g.Members), owned)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("group did not converge to %d members: %s", want, last)
}

func waitConsumed(t *testing.T, c *consumption, want int) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for c.count() < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
}

func TestGroupRebalancesEager(t *testing.T) {
	testRebalances(t, kgo.Balancers(kgo.RangeBalancer()))
}

func TestGroupRebalancesCooperative(t *testing.T) {
	testRebalances(t, kgo.Balancers(kgo.CooperativeStickyBalancer()))
}

func testRebalances(t *testing.T, balancer kgo.Opt) {
	if testing.Short() {
		t.Skip("session expiry takes 6 s of real time")
	}
	ctx := testCtx(t)
	n := startGroupNode(t, t.TempDir())
	defer stopNode(t, n)
	addr := n.Addr()
	adm := kadm.NewClient(mustClient(t, kgo.SeedBrokers(addr)))
	createTopic(t, ctx, adm, "events", 6)
	c := &consumption{seen: map[string][]string{}}
	produceRange(t, ctx, addr, "events", 0, 600)

	m1 := startMember(t, addr, "m1", c, balancer)
	cut := &cuttable{}
	m2 := startMember(t, addr, "m2", c, balancer, kgo.Dialer(cut.dial))
	waitMembers(t, ctx, adm, 2)
	m3 := startMember(t, addr, "m3", c, balancer)
	defer m3.close()
	waitMembers(t, ctx, adm, 3)
	produceRange(t, ctx, addr, "events", 600, 1200)

	m1.close() // leaves the group
	waitMembers(t, ctx, adm, 2)
	cut.cut.Store(true) // m2 goes silent: its session expires
	waitMembers(t, ctx, adm, 1)
	produceRange(t, ctx, addr, "events", 1200, 1800)
	waitConsumed(t, c, 1800)
	c.check(t, 1800)
	m2.stop()
	cut.cut.Store(false)
	<-m2.done
	m2.cl.Close()
}

func TestStaticMemberRestartKeepsItsPartitions(t *testing.T) {
	ctx := testCtx(t)
	n := startGroupNode(t, t.TempDir())
	defer stopNode(t, n)
	addr := n.Addr()
	adm := kadm.NewClient(mustClient(t, kgo.SeedBrokers(addr)))
	createTopic(t, ctx, adm, "events", 6)
	c := &consumption{seen: map[string][]string{}}
	static := func(i int) *groupMember {
		return startMember(t, addr, fmt.Sprintf("s%d", i), c, kgo.InstanceID(fmt.Sprintf("instance-%d", i)),
			kgo.Balancers(kgo.RangeBalancer()))
	}
	members := []*groupMember{static(0), static(1), static(2)}
	waitMembers(t, ctx, adm, 3)
	before := assignments(t, ctx, adm)
	_, gen := members[0].cl.GroupMetadata()

	members[1].close() // a static member does not leave on close
	members[1] = static(1)
	waitMembers(t, ctx, adm, 3)
	after := assignments(t, ctx, adm)
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("assignments changed across a static restart:\n before %v\n after  %v", before, after)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, g1 := members[1].cl.GroupMetadata()
		if g1 == gen || time.Now().After(deadline) {
			if g1 != gen {
				t.Fatalf("restarted static member in generation %d, want %d (no rebalance)", g1, gen)
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, g0 := members[0].cl.GroupMetadata(); g0 != gen {
		t.Fatalf("another member moved to generation %d from %d: the group rebalanced", g0, gen)
	}
	for _, m := range members {
		m.close()
	}
}

// assignments maps each instance id to its partitions.
func assignments(t *testing.T, ctx context.Context, adm *kadm.Client) map[string][]int32 {
	t.Helper()
	d, err := adm.DescribeGroups(ctx, "rebalance")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]int32{}
	for _, m := range d["rebalance"].Members {
		a, _ := m.Assigned.AsConsumer()
		for _, tp := range a.Topics {
			out[*m.InstanceID] = append(out[*m.InstanceID], tp.Partitions...)
		}
	}
	return out
}
