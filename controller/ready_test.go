package controller

// The Ready/Advance protocol as a RawNode-style driver uses it: Step any
// number of events, and look at Ready only when HasReady says so. A moved
// deadline is work; work stepped in between Ready and Advance survives the
// Advance; a failure withdraws the I/O no Ready has shown.

import (
	"errors"
	"fmt"
	"testing"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
)

func TestHasReadyWhenTheDeadlineMoves(t *testing.T) {
	h := bootstrapped(t, 1)
	h.propose(1, AllocateProducerIDs{Count: 1})
	h.drain()
	h.write(fmt.Errorf("write: %w", env.ErrNoSpace))
	h.sync()
	before := h.deadline
	// A proposal during the backoff: no reply, no Persist, only an earlier
	// deadline, which the driver must learn about.
	h.propose(2, AllocateProducerIDs{Count: 1})
	if !h.c.HasReady() {
		t.Fatal("HasReady false, but the retry deadline moved")
	}
	h.drain()
	if want := h.now.Mono + h.cfg.RetryBackoffMs*1_000_000; h.deadline != want || h.deadline == before {
		t.Fatalf("deadline %d, want the retry at %d", h.deadline, want)
	}
	h.tick(h.cfg.RetryBackoffMs)
	if h.phase != 1 {
		t.Fatal("the retry did not start a batch")
	}
}

func TestAdvanceKeepsWorkSteppedAfterReady(t *testing.T) {
	h := bootstrapped(t, 1)
	h.propose(1, AllocateProducerIDs{Count: 1})
	rd := h.c.Ready()
	if rd.Persist == nil {
		t.Fatal("no Persist")
	}
	h.c.Advance(rd)
	h.take(rd)
	h.write(nil)
	// Ready, then the sync completes the batch and starts the next one,
	// then the stale Ready is advanced.
	h.propose(2, AllocateProducerIDs{Count: 1})
	stale := h.c.Ready()
	h.phase = 0
	h.step(replication.Synced{Now: h.now, Op: h.persist.Op, UpTo: h.logEnd()})
	h.c.Advance(stale)
	rd = h.c.Ready()
	if rd.Persist == nil || rd.Published == nil || len(rd.Replies) != 1 || rd.Replies[0].ID != 1 {
		t.Fatalf("work stepped after Ready was dropped by Advance: %+v", rd)
	}
}

func TestFailureWithdrawsWorkNotShown(t *testing.T) {
	h := bootstrapped(t, 1)
	h.propose(1, AllocateProducerIDs{Count: 1})
	h.drain()
	h.write(nil)
	h.propose(2, AllocateProducerIDs{Count: 1}) // waits for the next batch
	// The retention check starts; the executor takes its task.
	h.now = h.now.AddMs(300_000)
	h.step(replication.Tick{Now: h.now})
	rd := h.c.Ready()
	if len(rd.Background) != 1 {
		t.Fatalf("no retention task: %+v", rd)
	}
	h.c.Advance(rd)
	// Before the next Ready: the sync (which builds Persist 3 for
	// proposal 2), then the retention chunk fails.
	h.step(replication.Synced{Now: h.now, Op: h.persist.Op, UpTo: h.logEnd()})
	h.step(replication.BackgroundDone{Now: h.now, Task: rd.Background[0].ID, Err: fmt.Errorf("unlink: %w", env.ErrIO)})
	rd = h.c.Ready()
	if rd.Failure == nil || rd.Persist != nil {
		t.Fatalf("want the failure and no Persist, got %+v", rd)
	}
	if len(rd.Replies) != 2 || rd.Replies[0].Err != nil || !errors.Is(rd.Replies[1].Err, ErrFailed) {
		t.Fatalf("replies %+v: want 1 ok (durable), 2 failed", rd.Replies)
	}
}
