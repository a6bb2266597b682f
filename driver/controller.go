package driver

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/takhin-io/takhin/controller"
	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/executor"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

// ControllerLoopConfig is what StartController needs.
type ControllerLoopConfig struct {
	// FS and Dir are where the metadata log lives; Storage configures it.
	FS      env.FS
	Dir     string
	Storage storage.Config
	// Machine configures the controller; Rand is its random stream (cluster
	// and topic ids), seeded at process start.
	Machine controller.Config
	Rand    *env.Rand
	// Clock, Log and InboxMax are as in PartitionLoopConfig.
	Clock    env.Clock
	Log      *zap.Logger
	InboxMax int
	// OnPublish receives every new Image, on the machine goroutine, before
	// the replies of the same Ready: a proposer that reads the image after
	// its reply sees its change. Everything in an Image is durable. nil
	// drops them.
	OnPublish func(*controller.Image)
	// OnReply receives every reply to a proposal; a successful change's
	// reply comes only after its record is durable. nil drops replies.
	OnReply func(controller.Reply)
	// OnFatal is called once with the first failure of the running
	// controller (a failed fsync, a corrupt record): the process must exit
	// and restart through recovery. Required.
	OnFatal func(error)
}

// ControllerLoop runs the controller machine over the metadata log (see
// the package comment). Its methods are safe for concurrent use.
type ControllerLoop struct {
	l *loop[controller.Ready]
}

// StartController opens the metadata log through recovery, reads all of
// it, steps Loaded and starts the loop. When Loaded fails the controller
// (a log bootstrapped by another node id, a corrupt record) it returns
// that failure, which wraps controller.ErrNodeIDMismatch or ErrCorrupt:
// the node refuses to start. On error nothing is left running or open.
func StartController(cfg ControllerLoopConfig) (*ControllerLoop, error) {
	if cfg.FS == nil || cfg.Rand == nil || cfg.OnFatal == nil {
		return nil, errors.New("driver: a controller loop needs FS, Rand and OnFatal")
	}
	lc := newLoopConfig(cfg.Clock, cfg.Log, cfg.InboxMax, cfg.OnFatal)
	loaded, store, err := openMetadata(cfg, lc.clock.Now())
	if err != nil {
		return nil, err
	}
	m := controller.New(cfg.Machine, cfg.Rand, lc.log)
	l, err := start(m, controllerAdapter(cfg.OnPublish, cfg.OnReply), store, loaded, lc)
	if err != nil {
		return nil, err
	}
	return &ControllerLoop{l: l}, nil
}

// openMetadata opens the metadata log and reads all of it into Loaded.
func openMetadata(cfg ControllerLoopConfig, now env.Time) (controller.Loaded, *executor.Store, error) {
	store, rec, err := executor.Open(cfg.FS, cfg.Dir, cfg.Storage, now, cfg.Machine.Log.Epoch)
	if err != nil {
		return controller.Loaded{}, nil, fmt.Errorf("driver: open the metadata log: %w", err)
	}
	batches, err := store.ReadAll()
	if err != nil {
		return controller.Loaded{}, nil, errors.Join(fmt.Errorf("driver: read the metadata log: %w", err), store.Close())
	}
	return controller.Loaded{Now: now, Start: rec.Start, End: rec.End, Epoch: rec.Epoch, Batches: batches}, store, nil
}

// controllerAdapter reads a controller Ready. Any controller failure stops
// the node; the image goes out before the replies.
func controllerAdapter(onPublish func(*controller.Image), onReply func(controller.Reply)) adapter[controller.Ready] {
	return adapter[controller.Ready]{
		work: func(rd controller.Ready) work {
			w := work{persist: rd.Persist, reads: rd.Reads, background: rd.Background, deadline: rd.Deadline}
			if rd.Failure != nil {
				w.failure, w.fatal = rd.Failure.Err, true
			}
			return w
		},
		release: func(rd controller.Ready) {
			if rd.Published != nil && onPublish != nil {
				onPublish(rd.Published)
			}
			for _, r := range rd.Replies {
				if onReply != nil {
					onReply(r)
				}
			}
		},
	}
}

// Propose posts one metadata change.
func (c *ControllerLoop) Propose(id controller.RequestID, change controller.Change) error {
	return c.l.post(func(now env.Time) replication.Event {
		return controller.Propose{Now: now, ID: id, Change: change}
	})
}

// Stop stops accepting proposals, steps the ones already posted, lets the
// metadata writes in flight finish and closes the log, as
// PartitionLoop.Stop does. Proposals waiting for a retry after a failed
// write are not answered.
func (c *ControllerLoop) Stop(ctx context.Context) error { return c.l.stop(ctx) }
