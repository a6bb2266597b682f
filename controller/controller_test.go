package controller

// The machine's edges, table by table: cluster ids come from the seed;
// the Loaded event's bad inputs are failures, not panics; driver contract
// breaches are errors; an inner failure (a failed fsync) fails the
// controller and answers everyone; a published image is never mutated.

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"go.uber.org/zap"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

func bootstrapped(t *testing.T, seed uint64) *harness {
	h := newHarness(t)
	h.start(seed, DefaultConfig(1))
	h.stabilize()
	if h.published == nil {
		t.Fatal("nothing published after the bootstrap")
	}
	return h
}

func TestClusterIDFromSeed(t *testing.T) {
	ids := map[uint64]string{}
	for _, seed := range []uint64{1, 2, 3, 1, 2, 3} {
		id := bootstrapped(t, seed).published.ClusterID()
		if _, err := ParseUUID(id); err != nil {
			t.Fatalf("seed %d: cluster id %q: %v", seed, id, err)
		}
		if prev, ok := ids[seed]; ok && prev != id {
			t.Fatalf("seed %d gave %s, then %s", seed, prev, id)
		}
		ids[seed] = id
	}
	if ids[1] == ids[2] || ids[2] == ids[3] || ids[1] == ids[3] {
		t.Fatalf("different seeds, same cluster id: %v", ids)
	}
}

func TestProposeBeforeLoaded(t *testing.T) {
	c := New(DefaultConfig(1), env.NewRand(1, "c"), zap.NewNop())
	if err := c.Step(Propose{ID: 9, Change: AllocateProducerIDs{Count: 1}}); err != nil {
		t.Fatal(err)
	}
	rd := c.Ready()
	if len(rd.Replies) != 1 || !errors.Is(rd.Replies[0].Err, ErrNotReady) || rd.Persist != nil {
		t.Fatalf("ready %+v", rd)
	}
	c.Advance(rd)
	if c.HasReady() {
		t.Fatal("ready after Advance")
	}
}

func TestLoadedFailures(t *testing.T) {
	good := bootstrapped(t, 1)
	good.propose(1, CreateTopic{Name: "a", Partitions: 1})
	good.stabilize()
	log, end := good.durable, good.synced
	for _, tc := range []struct {
		name   string
		loaded Loaded
		want   error
	}{
		{"prefix deleted", Loaded{Start: 1, End: end, Batches: log[storage.DecodeBatchHeader(log).Size():]}, ErrCorrupt},
		{"end beyond batches", Loaded{End: end + 1, Batches: log}, ErrCorrupt},
		{"end before batches", Loaded{End: end - 1, Batches: log}, ErrCorrupt},
		{"torn batch", Loaded{End: end, Batches: log[:len(log)-1]}, ErrCorrupt},
		{"garbage", Loaded{End: 0, Batches: []byte("not a batch at all, not at all")}, ErrCorrupt},
		{"flipped bit", Loaded{End: end, Batches: flip(log, len(log)-3)}, ErrCorrupt},
		{"batches out of order", Loaded{End: end, Batches: swapBatches(log)}, ErrCorrupt},
		{"no bootstrap", Loaded{End: end, Batches: log[storage.DecodeBatchHeader(log).Size():]}, ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(DefaultConfig(1), env.NewRand(1, "c"), zap.NewNop())
			if err := c.Step(tc.loaded); err != nil {
				t.Fatal(err)
			}
			rd := c.Ready()
			if rd.Failure == nil || !errors.Is(rd.Failure.Err, tc.want) || rd.Published != nil || rd.Persist != nil {
				t.Fatalf("ready %+v, want a failure wrapping %v", rd, tc.want)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	b = clone(b)
	b[i] ^= 0x10
	return b
}

// swapBatches puts the second batch first.
func swapBatches(log []byte) []byte {
	first := storage.DecodeBatchHeader(log).Size()
	return append(clone(log[first:]), log[:first]...)
}

func TestContractBreaches(t *testing.T) {
	for _, tc := range []struct {
		name string
		ev   Event
	}{
		{"loaded twice", Loaded{}},
		{"written for nothing", replication.Written{Op: 7, UpTo: 1}},
		{"synced for nothing", replication.Synced{Op: 7, UpTo: 1}},
		{"produce is the controller's own", replication.Produce{ID: 1}},
		{"recovered comes from Loaded", replication.Recovered{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := bootstrapped(t, 1)
			if err := h.c.Step(tc.ev); err == nil {
				t.Fatalf("Step(%T) accepted", tc.ev)
			}
		})
	}
}

func TestFailedSyncFailsController(t *testing.T) {
	h := bootstrapped(t, 1)
	h.propose(1, CreateTopic{Name: "a", Partitions: 1})
	h.propose(2, CreateTopic{Name: "b", Partitions: 1})
	h.drain()
	h.write(nil)
	h.step(replication.Synced{Now: h.now, Op: h.persist.Op, UpTo: h.logEnd(), Err: fmt.Errorf("fsync: %w", env.ErrIO)})
	h.drain()
	if h.failure == nil || !errors.Is(h.failure.Err, env.ErrIO) {
		t.Fatalf("failure %v", h.failure)
	}
	if len(h.replies) != 2 || !errors.Is(h.replies[0].Err, ErrFailed) || !errors.Is(h.replies[1].Err, ErrFailed) {
		t.Fatalf("replies %+v", h.replies)
	}
	if _, ok := h.c.Image().Topic("a"); ok {
		t.Fatal("a failed sync applied its batch")
	}
	h.propose(3, AllocateProducerIDs{Count: 1})
	h.drain()
	if last := h.replies[len(h.replies)-1]; last.ID != 3 || !errors.Is(last.Err, ErrFailed) {
		t.Fatalf("after failure: %+v", last)
	}
}

func TestPublishedImagesAreImmutable(t *testing.T) {
	h := bootstrapped(t, 1)
	h.propose(1, CreateTopic{Name: "a", Partitions: 1, Configs: []ConfigEntry{{"x", "1"}}})
	h.propose(2, AlterConfigs{Resource: ConfigResource{Type: ResourceBroker}, Set: []ConfigEntry{{"y", "1"}}})
	h.stabilize()
	h.stabilize()
	old := h.published
	snapshot := old.String()
	oldTopic, _ := old.Topic("a")
	copied := clonedTopic(oldTopic)
	h.propose(3, AlterConfigs{Resource: ConfigResource{Type: ResourceTopic, Name: "a"}, Set: []ConfigEntry{{"x", "2"}, {"z", "3"}}})
	h.propose(4, CreatePartitions{Name: "a", Count: 5})
	h.propose(5, AlterConfigs{Resource: ConfigResource{Type: ResourceBroker}, Delete: []string{"y"}})
	h.propose(6, CreateTopic{Name: "b", Partitions: 1})
	h.stabilize()
	h.stabilize()
	if h.published == old || h.published.String() == snapshot {
		t.Fatal("nothing changed")
	}
	if old.String() != snapshot {
		t.Fatalf("a published image changed:\n%s\nwas\n%s", old, snapshot)
	}
	if now, _ := old.Topic("a"); !reflect.DeepEqual(now, copied) {
		t.Fatalf("a published topic changed: %+v, was %+v", now, copied)
	}
	if _, ok := old.TopicByID(oldTopic.ID); !ok {
		t.Fatal("lookup by id")
	}
}

func clonedTopic(t Topic) Topic {
	t.Configs = append([]ConfigEntry(nil), t.Configs...)
	return t
}

func TestRestartRebuildsIdenticalImage(t *testing.T) {
	h := bootstrapped(t, 8)
	changes := []Change{
		CreateTopic{Name: "a", Partitions: 3, Configs: []ConfigEntry{{"z", "1"}, {"b", "2"}}},
		CreateTopic{Name: "b", Partitions: 1},
		AllocateProducerIDs{Count: 100},
		CreatePartitions{Name: "a", Count: 7},
		AlterConfigs{Resource: ConfigResource{Type: ResourceTopic, Name: "a"}, Set: []ConfigEntry{{"q", "x"}}, Delete: []string{"z"}},
		AlterConfigs{Resource: ConfigResource{Type: ResourceBroker, Name: "1"}, Set: []ConfigEntry{{"k", "v"}}},
		DeleteTopic{Name: "b"},
		CreateTopic{Name: "b", Partitions: 2},
		AllocateProducerIDs{Count: 5},
	}
	for i, ch := range changes {
		h.propose(RequestID(i+1), ch)
		if i%3 == 0 {
			h.stabilize()
		}
	}
	h.stabilize()
	h.stabilize()
	before := h.published
	for _, r := range h.replies {
		if r.Err != nil {
			t.Fatalf("reply %d: %v", r.ID, r.Err)
		}
	}
	h.crash(false)
	h.start(12345, DefaultConfig(1)) // another seed: replay draws nothing
	if !reflect.DeepEqual(h.published, before) {
		t.Fatalf("restart rebuilt\n%s\nwant\n%s", h.published, before)
	}
	if h.c.HasReady() || h.persist != nil {
		t.Fatal("a bootstrapped log proposes nothing at start")
	}
}
