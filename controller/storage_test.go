package controller

// End to end over the real log: the controller's batches go through
// storage.Log (AppendAssigned, Sync, Checkpoint) on the crash-faithful
// simulated disk, with small segments so the log rolls, a disk that fills
// up now and then, and power losses that lose, keep or tear the unsynced
// tail. Every restart opens the log through storage recovery, reads all of
// it with Log.Read, and must rebuild the image last published, or the one
// the batch in flight would have published when recovery kept it.

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"go.uber.org/zap"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/sim/simfs"
	"github.com/takhin-io/takhin/storage"
)

type diskExec struct {
	t    *testing.T
	seed uint64
	rng  *env.Rand
	fs   *simfs.FS
	log  *storage.Log
	c    *Controller
	now  env.Time
	last *Image
}

func TestOverStorage(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			x := &diskExec{t: t, seed: seed, rng: env.NewRand(seed, "disk-test"),
				now: env.Time{Mono: 1e9, WallMs: 1_700_000_000_000}}
			x.fs = simfs.New(env.NewRand(seed, "simfs"), simfs.Options{})
			x.restart()
			for i := range 200 {
				x.step(i)
			}
		})
	}
}

func (x *diskExec) step(i int) {
	x.now = x.now.AddMs(1)
	switch n := x.rng.IntN(20); {
	case n == 0:
		x.crash()
	case n == 1:
		x.fs.SetCapacity(1) // full: the next write fails with ENOSPC
	case n == 2:
		x.fs.SetCapacity(0)
	case n < 12:
		x.mustStep(Propose{Now: x.now, ID: RequestID(i), Change: x.randomChange()})
	default:
		x.mustStep(replication.Tick{Now: x.now.AddMs(200)})
	}
	x.run()
}

func (x *diskExec) randomChange() Change {
	name := fmt.Sprint("t", x.rng.IntN(6))
	switch x.rng.IntN(4) {
	case 0:
		return CreateTopic{Name: name, Partitions: 1 + int32(x.rng.IntN(3))}
	case 1:
		return DeleteTopic{Name: name}
	case 2:
		return AlterConfigs{Resource: ConfigResource{Type: ResourceTopic, Name: name}, Set: []ConfigEntry{{"k", fmt.Sprint(x.rng.IntN(100))}}}
	default:
		return AllocateProducerIDs{Count: 1 + int64(x.rng.IntN(100))}
	}
}

func (x *diskExec) mustStep(ev Event) {
	x.t.Helper()
	if err := x.c.Step(ev); err != nil {
		x.t.Fatalf("seed %d: Step(%T): %v", x.seed, ev, err)
	}
}

// run carries out Ready until the controller has nothing more to do, but
// leaves a Persist half done (written, not synced) now and then so that
// crashes find unsynced data.
func (x *diskExec) run() {
	for x.c.HasReady() {
		rd := x.c.Ready()
		x.c.Advance(rd)
		if rd.Failure != nil {
			x.t.Fatalf("seed %d: failure %v", x.seed, rd.Failure.Err)
		}
		if rd.Published != nil {
			if rd.Published.End() > x.log.SyncedEnd() {
				x.t.Fatalf("seed %d: published end %d beyond the synced end %d", x.seed, rd.Published.End(), x.log.SyncedEnd())
			}
			x.last = rd.Published
		}
		for _, task := range rd.Background {
			x.mustStep(replication.BackgroundDone{Now: x.now, Task: task.ID, Start: x.log.StartOffset()})
		}
		if rd.Persist != nil {
			x.persist(rd.Persist)
		}
	}
}

func (x *diskExec) persist(p *replication.Persist) {
	var werr error
	for _, b := range p.Batches {
		if _, err := x.log.AppendAssigned(b, storage.AppendOptions{NowMs: x.now.WallMs}); err != nil {
			if !errors.Is(err, env.ErrNoSpace) {
				x.t.Fatalf("seed %d: append: %v", x.seed, err)
			}
			werr = err
			break
		}
	}
	x.mustStep(replication.Written{Now: x.now, Op: p.Op, UpTo: x.log.EndOffset(), Err: werr})
	if x.rng.IntN(4) == 0 {
		x.crash() // written, maybe not synced
		return
	}
	if err := x.log.Sync(); err != nil {
		x.t.Fatalf("seed %d: sync: %v", x.seed, err)
	}
	if p.Checkpoint {
		_ = x.log.Checkpoint()
	}
	x.mustStep(replication.Synced{Now: x.now, Op: p.Op, UpTo: x.log.SyncedEnd()})
}

// crash loses power and checks what the restart rebuilds.
func (x *diskExec) crash() {
	var kept *Image
	if r := x.c.round; r != nil && x.log.EndOffset() > x.log.SyncedEnd() {
		next := *r.next
		next.end = x.log.EndOffset()
		kept = next.freeze()
	}
	last := x.last
	x.fs.Crash(x.rng)
	x.fs.SetCapacity(0)
	x.restart()
	got := x.c.Image()
	switch {
	case last == nil:
	case reflect.DeepEqual(got, last):
	case kept != nil && reflect.DeepEqual(got, kept):
	default:
		x.t.Fatalf("seed %d: restart rebuilt\n%s\nlast published\n%s", x.seed, got, last)
	}
}

// restart opens the log through recovery and loads all of it.
func (x *diskExec) restart() {
	cfg := storage.DefaultConfig()
	cfg.SegmentBytes = 1024
	log, err := storage.Open(x.fs, "meta", cfg, x.now.WallMs)
	if err != nil {
		x.t.Fatalf("seed %d: open: %v", x.seed, err)
	}
	x.log = log
	var batches []byte
	for from := log.StartOffset(); from < log.EndOffset(); {
		res, err := log.Read(from, 4096, log.EndOffset())
		if err != nil {
			x.t.Fatalf("seed %d: read at %d: %v", x.seed, from, err)
		}
		batches = append(batches, res.Batches...)
		from = res.Next
	}
	x.c = New(DefaultConfig(1), env.NewRand(x.seed, "controller"), zap.NewNop())
	x.mustStep(Loaded{Now: x.now, Start: log.StartOffset(), End: log.EndOffset(), Batches: batches})
	x.run()
}
