package driver_test

// Goal: the partition loop keeps the machine's promises on real
// goroutines. An acks=-1 produce is answered only after the fsync that
// covers its batch; produces that arrive during a slow fsync share the
// next one (group commit); a long-poll fetch is answered at its deadline
// or when data arrives; retention runs in chunks when its timer fires; a
// failed fsync calls OnFatal once while the partition keeps answering;
// Stop syncs what acks=1 acknowledged. Every
// test runs in a synctest bubble: timers run on fake time, and
// synctest.Wait replaces sleeping until "everything that can happen has".

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/takhin-io/takhin/driver"
	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

const partitionDir = "topic-0"

type partitionRig struct {
	t       *testing.T
	fs      *recordFS
	clock   *driver.RealClock
	p       *driver.PartitionLoop
	replies *inbox[replication.RequestID, replication.Reply]
	fatals  *list[error]

	mu   sync.Mutex
	acks map[replication.RequestID]int16
}

// startPartition starts a loop on fs, with the config changed by tweaks;
// call it inside the bubble.
func startPartition(t *testing.T, fs *recordFS, tweaks ...func(*driver.PartitionLoopConfig)) *partitionRig {
	t.Helper()
	r := &partitionRig{t: t, fs: fs, clock: driver.NewRealClock(), fatals: &list[error]{},
		replies: newInbox[replication.RequestID, replication.Reply](), acks: map[replication.RequestID]int16{}}
	cfg := driver.PartitionLoopConfig{
		FS: fs, Dir: partitionDir,
		Storage: storage.Config{SegmentBytes: 1 << 20, SegmentMs: 1 << 40, IndexIntervalBytes: 4096},
		Machine: replication.DefaultPartitionConfig("topic", 0),
		Clock:   r.clock, OnReply: r.onReply, OnFatal: r.fatals.add,
	}
	for _, tweak := range tweaks {
		tweak(&cfg)
	}
	p, err := driver.StartPartition(cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	r.p = p
	t.Cleanup(func() {
		fs.releaseIfHeld()
		_ = p.Stop(context.Background())
	})
	return r
}

// onReply notes successful acks=-1 replies in the disk's sequence, for
// checkDurableBeforeReplies.
func (r *partitionRig) onReply(rep replication.Reply) {
	r.mu.Lock()
	acks, produced := r.acks[rep.ID]
	r.mu.Unlock()
	if produced && acks == -1 && rep.Err == nil {
		r.fs.note(op{kind: opReply, base: rep.Base, note: fmt.Sprint("produce ", rep.ID)})
	}
	r.replies.put(rep.ID, rep)
}

func (r *partitionRig) produce(id replication.RequestID, value string, acks int16) {
	r.t.Helper()
	r.mu.Lock()
	r.acks[id] = acks
	r.mu.Unlock()
	if err := r.p.Produce(id, batch(value), acks); err != nil {
		r.t.Errorf("produce %d: %v", id, err) // Errorf: some tests produce from several goroutines
	}
}

func (r *partitionRig) reply(id replication.RequestID) replication.Reply {
	r.t.Helper()
	got, ok := r.replies.get(id)
	if !ok {
		r.t.Fatalf("request %d not answered", id)
	}
	return got.reply
}

func (r *partitionRig) stop() {
	r.t.Helper()
	if err := r.p.Stop(context.Background()); err != nil {
		r.t.Fatalf("stop: %v", err)
	}
	r.replies.checkNoDuplicates(r.t)
}

// startHeld starts a loop, holds segment fsyncs, and produces request 1
// (acks=-1): when it returns, that batch's fsync is in flight.
func startHeld(t *testing.T, seed uint64) *partitionRig {
	t.Helper()
	r := startPartition(t, newRecordFS(seed))
	r.fs.hold()
	r.produce(1, "held", -1)
	synctest.Wait()
	return r
}

func TestAcksAllAnsweredOnlyAfterItsFsync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startHeld(t, 1)
		if r.fs.count(opWrite, 0) != 1 {
			t.Fatalf("the batch was not written while its fsync is held: %v", r.fs.snapshot())
		}
		if _, ok := r.replies.get(1); ok {
			t.Fatal("acks=-1 answered while its fsync is in flight")
		}
		r.fs.release()
		synctest.Wait()
		if rep := r.reply(1); rep.Err != nil || rep.Base != 0 || rep.HighWatermark != 1 {
			t.Fatalf("reply %+v", rep)
		}

		for id := replication.RequestID(2); id <= 40; id++ {
			r.produce(id, fmt.Sprint("v", id), []int16{-1, 0, 1}[id%3])
		}
		synctest.Wait()
		if n := r.replies.len(); n != 40 {
			t.Fatalf("%d of 40 produces answered", n)
		}
		checkDurableBeforeReplies(t, r.fs.snapshot())
		r.stop()
	})
}

func TestGroupCommitWhileAnFsyncIsSlow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startHeld(t, 2)
		from := 0 // the recovery's fsyncs came before: the ops list opens with them
		for r.fs.snapshot()[from].kind != opWrite {
			from++
		}

		const concurrent = 50
		var wg sync.WaitGroup
		for id := replication.RequestID(2); id <= concurrent+1; id++ {
			wg.Go(func() { r.produce(id, fmt.Sprint("v", id), -1) })
		}
		wg.Wait()
		synctest.Wait()
		if n := r.replies.len(); n != 0 {
			t.Fatalf("%d replies while the first fsync is held", n)
		}
		r.fs.release()
		synctest.Wait()

		if n := r.replies.len(); n != concurrent+1 {
			t.Fatalf("%d of %d produces answered", n, concurrent+1)
		}
		// The first persist, then one group commit for all the rest.
		if syncs := r.fs.count(opSync, from); syncs != 2 {
			t.Fatalf("%d segment fsyncs for %d produces, want 2", syncs, concurrent+1)
		}
		checkDurableBeforeReplies(t, r.fs.snapshot())
		r.stop()
	})
}

func TestLongPollFetch(t *testing.T) {
	for _, tc := range []struct {
		name    string
		maxWait time.Duration
		produce bool // a batch is produced at wait
		wait    time.Duration
	}{
		{name: "answered at its deadline", maxWait: 500 * time.Millisecond, wait: 500 * time.Millisecond},
		{name: "answered when data arrives", maxWait: 10 * time.Second, produce: true, wait: 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := startPartition(t, newRecordFS(3))
				posted := time.Now()
				if err := r.p.Fetch(1, 0, 1<<20, 1, tc.maxWait); err != nil {
					t.Fatal(err)
				}
				time.Sleep(tc.wait - time.Millisecond) // fake time
				synctest.Wait()
				if _, ok := r.replies.get(1); ok {
					t.Fatal("fetch answered early")
				}
				time.Sleep(time.Millisecond)
				var want []string
				if tc.produce {
					r.produce(2, "news", 1)
					want = []string{"news"}
				}
				synctest.Wait()
				got, ok := r.replies.get(1)
				if !ok || got.reply.Err != nil || !slices.Equal(values(t, got.reply.Batches), want) {
					t.Fatalf("fetch: %+v (answered %v), want %v", got.reply, ok, want)
				}
				if waited := got.when.Sub(posted); waited != tc.wait {
					t.Fatalf("answered after %v, want %v", waited, tc.wait)
				}
				r.stop()
			})
		})
	}
}

func TestRetentionRunsOnTheTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startPartition(t, newRecordFS(9), func(cfg *driver.PartitionLoopConfig) {
			cfg.Storage.SegmentBytes = 256 // a few batches a segment
			cfg.Machine.RetentionBytes = 256
			cfg.Machine.RetentionCheckIntervalMs = 1000
			cfg.Machine.RetentionChunkSegments = 1 // several chunks, one task each
		})
		for id := replication.RequestID(1); id <= 20; id++ {
			r.produce(id, fmt.Sprint("value-", id), 1)
			synctest.Wait() // one batch a persist, so segments roll between them
		}
		if err := r.p.Fetch(100, 0, 1<<20, 0, 0); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if rep := r.reply(100); rep.Err != nil || rep.LogStart != 0 {
			t.Fatalf("fetch before the retention check: %+v", rep)
		}
		time.Sleep(time.Second) // fake time: the check is due
		synctest.Wait()
		if err := r.p.Fetch(101, 0, 1<<20, 0, 0); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		rep := r.reply(101)
		if !errors.Is(rep.Err, replication.ErrOffsetOutOfRange) || rep.LogStart < 15 {
			t.Fatalf("fetch from 0 after retention: %+v, want out of range with the log start near the end", rep)
		}
		r.stop()
	})
}

func TestFsyncFailureCallsOnFatalOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startPartition(t, newRecordFS(5))
		r.fs.failSyncs(env.ErrIO)
		for id := replication.RequestID(1); id <= 3; id++ {
			r.produce(id, "doomed", -1)
		}
		synctest.Wait()
		r.produce(4, "after", 1) // the failed partition still answers
		synctest.Wait()
		for id := replication.RequestID(1); id <= 4; id++ {
			if rep := r.reply(id); !errors.Is(rep.Err, replication.ErrFailed) {
				t.Fatalf("produce %d: %+v, want ErrFailed", id, rep)
			}
		}
		if errs := r.fatals.all(); len(errs) != 1 || !errors.Is(errs[0], env.ErrIO) {
			t.Fatalf("OnFatal calls: %v, want one with EIO", errs)
		}
		r.stop()
	})
}

func TestStopSyncsAcknowledgedWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := newRecordFS(6)
		r := startPartition(t, fs)
		fs.hold()
		for id := replication.RequestID(1); id <= 5; id++ {
			r.produce(id, fmt.Sprint("v", id), 1)
		}
		synctest.Wait()
		// The first batch is written and acknowledged; its fsync is held,
		// and the other four wait for the next persist.
		if rep := r.reply(1); rep.Err != nil {
			t.Fatalf("acks=1 reply: %+v", rep)
		}
		stopped := make(chan error)
		go func() { stopped <- r.p.Stop(context.Background()) }()
		synctest.Wait()
		if err := r.p.Produce(9, batch("late"), 1); !errors.Is(err, driver.ErrStopped) {
			t.Fatalf("produce after Stop: %v, want ErrStopped", err)
		}
		fs.release()
		if err := <-stopped; err != nil {
			t.Fatalf("stop: %v", err)
		}
		if n := r.replies.len(); n != 5 {
			t.Fatalf("%d of 5 produces answered by Stop", n)
		}
		if !fs.allDurable(t, partitionDir) {
			t.Fatal("Stop returned with unsynced segment data")
		}

		fs.crash(6)
		again := startPartition(t, fs)
		if err := again.p.Fetch(1, 0, 1<<20, 0, 0); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		want := []string{"v1", "v2", "v3", "v4", "v5"}
		if got := values(t, again.reply(1).Batches); !slices.Equal(got, want) {
			t.Fatalf("read back after a crash: %v, want %v", got, want)
		}
		again.stop()
	})
}

func TestStopReturnsWhenItsContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startHeld(t, 7)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := r.p.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("stop with the fsync held: %v, want DeadlineExceeded", err)
		}
		r.fs.release() // the loop finishes on its own, syncing the batch
		synctest.Wait()
		if rep := r.reply(1); rep.Err != nil {
			t.Fatalf("reply after the late fsync: %+v", rep)
		}
		r.stop() // a second Stop returns once it is done
	})
}

func TestProduceRefusesWhatIsNotABatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startPartition(t, newRecordFS(8))
		if err := r.p.Produce(1, []byte("short"), 1); err == nil {
			t.Fatal("a 5-byte batch was accepted")
		}
		r.stop()
		if errs := r.fatals.all(); len(errs) != 0 {
			t.Fatalf("OnFatal: %v", errs)
		}
	})
}
