package main

// Goal: issue 6, criterion 2. The built binary restarted mid-way, by
// SIGTERM and by kill -9, while a committer streams offset commits: the
// groups reload, and each committed offset is exactly the last
// acknowledged commit (or, after kill -9, the one commit in flight, which
// may or may not have become durable before the kill); a consumer group
// member restarts from the committed offsets.

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// committer commits ever larger offsets of 3 partitions for a simple
// group, one commit at a time, recording the last acknowledged one and
// the one in flight.
type committer struct {
	mu       sync.Mutex
	acked    int64 // the offset of the last acknowledged commit (all partitions)
	inflight int64
	stop     chan struct{}
	done     chan struct{}
}

func startCommitter(t *testing.T, addr string) *committer {
	c := &committer{acked: -1, stop: make(chan struct{}), done: make(chan struct{})}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RetryTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	go func() {
		defer close(c.done)
		defer cl.Close()
		for next := int64(1); ; next++ {
			select {
			case <-c.stop:
				return
			default:
			}
			c.mu.Lock()
			c.inflight = next
			c.mu.Unlock()
			os := kadm.Offsets{}
			for p := int32(0); p < 3; p++ {
				os.AddOffset("g", p, next, -1)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			resp, err := adm.CommitOffsets(ctx, "simple", os)
			cancel()
			if err != nil || resp.Error() != nil {
				return // the broker went away: stop at the first failure
			}
			c.mu.Lock()
			c.acked = next
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *committer) state() (acked, inflight int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acked, c.inflight
}

func TestGroupsSurviveKill9(t *testing.T)   { testGroupsSurvive(t, syscall.SIGKILL) }
func TestGroupsSurviveSigterm(t *testing.T) { testGroupsSurvive(t, syscall.SIGTERM) }

func testGroupsSurvive(t *testing.T, sig syscall.Signal) {
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "takhin.yaml")
	if err := os.WriteFile(cfg, []byte("group.initial.rebalance.delay.ms: 100\noffsets.topic.num.partitions: 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := procServe(t, data, "--config", cfg)
	procCreateTopic(t, srv.addr, "g", 3)
	procProduceSync(t, srv.addr, "g", "r", 300)
	member, first := consumeSome(t, srv.addr, 150) // a group member commits what it read
	c := startCommitter(t, srv.addr)
	procWaitFor(t, 30*time.Second, "acknowledged commits", func() bool { a, _ := c.state(); return a >= 50 })

	srv.signal(sig)
	srv.waitExit(procExitWithin)
	<-c.done
	member.Close()
	acked, inflight := c.state()

	srv = procServe(t, data, "--config", cfg)
	adm := kadm.NewClient(procClient(t, srv.addr))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got kadm.OffsetResponses
	procWaitFor(t, 20*time.Second, "the groups to reload", func() bool {
		var err error
		got, err = adm.FetchOffsets(ctx, "simple")
		return err == nil
	})
	for p := int32(0); p < 3; p++ {
		o, ok := got.Lookup("g", p)
		if !ok || o.Err != nil || (o.At != acked && !(sig == syscall.SIGKILL && o.At == inflight)) {
			t.Errorf("partition %d: committed %+v after %v; last acknowledged %d, in flight %d", p, o, sig, acked, inflight)
		}
	}
	// The member group resumes where it committed: nothing below it again.
	committed, err := adm.FetchOffsets(ctx, "readers")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	committed.Each(func(o kadm.OffsetResponse) { total += o.At })
	if total < 150 {
		t.Fatalf("the member's commits of %d records came back as %d", 150, total)
	}
	again, second := consumeSome(t, srv.addr, int(300-total))
	again.Close()
	for v := range second {
		if first[v] {
			t.Errorf("record %s read again after the restart, below the committed offsets", v)
		}
	}
}

// consumeSome reads n records through the group "readers", committing
// synchronously, and returns the (still joined) client and the values.
func consumeSome(t *testing.T, addr string, n int) (*kgo.Client, map[string]bool) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup("readers"), kgo.ConsumeTopics("g"),
		kgo.DisableAutoCommit(), kgo.SessionTimeout(6*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	seen := map[string]bool{}
	for len(seen) < n {
		fs := cl.PollRecords(ctx, n-len(seen))
		if err := fs.Err0(); err != nil {
			t.Fatalf("poll: %v", err)
		}
		fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
	return cl, seen
}

func procClient(t *testing.T, addr string) *kgo.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}
