package controller

// The random walk: many seeds, each a few hundred random steps of
// proposals, writes (some failing with ENOSPC), syncs, ticks and crashes
// (losing or keeping the unsynced batch), with swarm weights drawn from
// the seed. Besides the harness's durability checks after every step, it
// holds the model: every proposal is answered exactly once per
// incarnation (or lost with it), producer-id blocks and topic ids handed
// out never repeat across the whole run, and a restart rebuilds exactly
// the image last published — plus the unsynced batch when the crash kept
// it. A failing seed prints itself; pin it in walkSeedsPinned.

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/takhin-io/takhin/env"
)

var walkSeedsPinned = []uint64{}

func TestRandomWalk(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 30
	}
	for i := range seeds {
		seed := uint64(i)
		t.Run(fmt.Sprint(seed), func(t *testing.T) { walk(t, seed, 300) })
	}
	for _, seed := range walkSeedsPinned {
		t.Run(fmt.Sprint("pinned-", seed), func(t *testing.T) { walk(t, seed, 300) })
	}
}

type walker struct {
	*harness
	rng      *env.Rand
	weights  [6]int // propose, write, nospace, sync, tick, crash
	seed     uint64
	nextID   RequestID
	pending  map[RequestID]Change
	blocks   []ProducerIDBlock
	topicIDs map[TopicID]bool
	seen     int // replies checked so far
	last     *Image
}

func walk(t *testing.T, seed uint64, steps int) {
	rng := env.NewRand(seed, "walk")
	w := &walker{harness: newHarness(t), rng: rng, seed: seed, pending: map[RequestID]Change{}, topicIDs: map[TopicID]bool{}}
	for i := range w.weights {
		w.weights[i] = 1 + rng.IntN(10)
	}
	w.weights[5] = rng.IntN(3) // crashes are rarer
	w.restart()
	for range steps {
		w.step()
		w.checkReplies()
		if w.failure != nil {
			t.Fatalf("seed %d: failure %v", seed, w.failure.Err)
		}
		if w.published != nil {
			w.last = w.published
			if w.c.Image() != w.published {
				t.Fatalf("seed %d: the applied image is not the last published", seed)
			}
		}
	}
}

func (w *walker) step() {
	switch w.pick() {
	case 0:
		w.proposeRandom()
	case 1:
		if w.phase == 1 {
			w.write(nil)
		}
	case 2:
		if w.phase == 1 {
			w.write(fmt.Errorf("write: %w", env.ErrNoSpace))
		}
	case 3:
		if w.phase == 2 {
			w.sync()
		}
	case 4:
		w.tick(int64(w.rng.IntN(200)))
	case 5:
		w.crashAndRestart(w.rng.IntN(2) == 0)
	}
}

func (w *walker) pick() int {
	total := 0
	for _, x := range w.weights {
		total += x
	}
	n := w.rng.IntN(total)
	for i, x := range w.weights {
		if n < x {
			return i
		}
		n -= x
	}
	return 0
}

var walkNames = []string{"a", "b", "c", "d", ""}

func (w *walker) proposeRandom() {
	name := walkNames[w.rng.IntN(len(walkNames))]
	var ch Change
	switch w.rng.IntN(6) {
	case 0, 1:
		ch = CreateTopic{Name: name, Partitions: int32(w.rng.IntN(4)), ValidateOnly: w.rng.IntN(5) == 0,
			Configs: []ConfigEntry{{Name: "k", Value: name}}}
	case 2:
		ch = DeleteTopic{Name: name}
	case 3:
		ch = CreatePartitions{Name: name, Count: int32(w.rng.IntN(8))}
	case 4:
		ch = AlterConfigs{Resource: ConfigResource{Type: ResourceTopic, Name: name},
			Set: []ConfigEntry{{Name: "s", Value: name}}, Delete: []string{"k"}}
	default:
		ch = AllocateProducerIDs{Count: int64(w.rng.IntN(2000))}
	}
	w.nextID++
	w.pending[w.nextID] = ch
	w.propose(w.nextID, ch)
	w.drain()
}

// checkReplies holds the model over the replies since the last check.
func (w *walker) checkReplies() {
	for _, r := range w.replies[w.seen:] {
		ch, ok := w.pending[r.ID]
		if !ok {
			w.t.Fatalf("seed %d: reply %d answers no pending proposal", w.seed, r.ID)
		}
		delete(w.pending, r.ID)
		if r.Err != nil || r.Offset < 0 {
			continue
		}
		switch ch.(type) {
		case AllocateProducerIDs:
			for _, b := range w.blocks {
				if r.ProducerIDs.Start < b.Start+b.Size && b.Start < r.ProducerIDs.Start+r.ProducerIDs.Size {
					w.t.Fatalf("seed %d: producer-id block %+v overlaps %+v", w.seed, r.ProducerIDs, b)
				}
			}
			w.blocks = append(w.blocks, r.ProducerIDs)
		case CreateTopic:
			if w.topicIDs[r.TopicID] {
				w.t.Fatalf("seed %d: topic id %s handed out twice", w.seed, r.TopicID)
			}
			w.topicIDs[r.TopicID] = true
		}
	}
	w.seen = len(w.replies)
}

// crashAndRestart crashes and checks what the restart rebuilds.
func (w *walker) crashAndRestart(keep bool) {
	want := w.last
	if keep && len(w.written) > 0 {
		// The batch in flight survives: the restart must rebuild the image
		// its round would have published.
		next := *w.c.round.next
		next.end = w.logEnd()
		want = next.freeze()
	}
	w.crash(keep)
	w.restart()
	got := w.published
	if want == nil {
		if got != nil && got.End() != w.synced {
			w.t.Fatalf("seed %d: restart published %s from nothing published", w.seed, got)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		w.t.Fatalf("seed %d: the restart rebuilt\n%s\nwant\n%s", w.seed, got, want)
	}
}

func (w *walker) restart() {
	cfg := DefaultConfig(1)
	cfg.BatchRecordsMax = 1 + w.rng.IntN(4)
	w.start(w.seed, cfg)
	w.pending, w.seen = map[RequestID]Change{}, 0
}
