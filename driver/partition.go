package driver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/executor"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

// PartitionLoopConfig is what StartPartition needs.
type PartitionLoopConfig struct {
	// FS and Dir are where the partition's log lives; Storage configures it.
	FS      env.FS
	Dir     string
	Storage storage.Config
	// TopicID, when set, is written to (and checked against) the
	// directory's partition.metadata marker: a directory left by a
	// deleted topic of the same name is wiped first.
	TopicID string
	// Machine configures the partition machine.
	Machine replication.PartitionConfig
	// Clock stamps every event and measures deadlines; nil means a new
	// RealClock. Its Mono must advance at real-time rate (the timer is a
	// real one) and it must be safe for concurrent use.
	Clock env.Clock
	// Log is the partition's logger; nil means none.
	Log *zap.Logger
	// InboxMax bounds the events waiting for the machine; a post beyond it
	// blocks. Zero means 1024.
	InboxMax int
	// OnReply receives every reply, in the machine's order, on the machine
	// goroutine. A durability-dependent reply (acks=-1) comes only after
	// the fsync covering its batch returned. nil drops replies.
	OnReply func(replication.Reply)
	// OnFatal is called once, on the machine goroutine, with the first
	// process-fatal error (a failed fsync): the process must exit and
	// restart through recovery. Required.
	OnFatal func(error)
	// Metrics, when set, receives the partition's bytes and messages in,
	// fsync durations and offsets (see metrics.go).
	Metrics *Metrics
}

// PartitionLoop runs one partition machine over its log (see the package
// comment). Its methods are safe for concurrent use.
type PartitionLoop struct {
	l *loop[replication.Ready]
	// machineCfg is the machine config last handed to it (the node's
	// manager goroutine owns it, to send Reconfigure on changes).
	machineCfg replication.PartitionConfig
	clock      env.Clock
	dir        string
	metrics    *partitionMetrics // nil without Metrics
}

// StartPartition opens the log through recovery, steps Recovered, and
// starts the loop. On error nothing is left running or open.
func StartPartition(cfg PartitionLoopConfig) (*PartitionLoop, error) {
	if cfg.FS == nil || cfg.OnFatal == nil {
		return nil, errors.New("driver: a partition loop needs FS and OnFatal")
	}
	lc := newLoopConfig(cfg.Clock, cfg.Log, cfg.InboxMax, cfg.OnFatal)
	open := executor.Open
	if cfg.TopicID != "" {
		open = func(fs env.FS, dir string, sc storage.Config, now env.Time, epoch storage.Epoch) (*executor.Store, replication.Recovered, error) {
			return executor.OpenPartition(fs, dir, cfg.TopicID, sc, now, epoch)
		}
	}
	store, recovered, err := open(cfg.FS, cfg.Dir, cfg.Storage, lc.clock.Now(), cfg.Machine.Epoch)
	if err != nil {
		return nil, fmt.Errorf("driver: open partition %s-%d: %w", cfg.Machine.Topic, cfg.Machine.Partition, err)
	}
	onReply := cfg.OnReply
	if onReply == nil {
		onReply = func(replication.Reply) {}
	}
	ad := adapter[replication.Ready]{
		work: partitionWork,
		release: func(rd replication.Ready) {
			for _, r := range rd.Replies {
				onReply(r)
			}
		},
	}
	m := replication.NewPartition(cfg.Machine, lc.log)
	pm := cfg.Metrics.partition(cfg.Machine.Topic, cfg.Machine.Partition)
	if pm != nil {
		pm.logEnd.Set(float64(recovered.End))
		lc.obs = loopObserver{written: pm.written, synced: pm.synced, stepped: func() { pm.stepped(m) }}
	}
	l, err := start(m, ad, store, recovered, lc)
	if err != nil {
		pm.forget()
		return nil, err
	}
	return &PartitionLoop{l: l, clock: lc.clock, dir: cfg.Dir, metrics: pm}, nil
}

// newLoopConfig fills the defaults both loops share.
func newLoopConfig(clock env.Clock, log *zap.Logger, inboxMax int, onFatal func(error)) loopConfig {
	if clock == nil {
		clock = NewRealClock()
	}
	if log == nil {
		log = zap.NewNop()
	}
	return loopConfig{clock: clock, log: log, inboxMax: inboxMax, onFatal: onFatal}
}

// partitionWork reads a partition Ready: only a ProcessFatal failure stops
// the process; any other fail-stops the partition, which keeps answering.
func partitionWork(rd replication.Ready) work {
	w := work{persist: rd.Persist, reads: rd.Reads, background: rd.Background, deadline: rd.Deadline}
	if rd.Failure != nil {
		w.failure, w.fatal = rd.Failure.Err, rd.Failure.ProcessFatal
	}
	return w
}

// Produce posts one batch, already validated by the broker; the machine
// takes ownership of it (it stamps the offsets in place). acks is Kafka's.
func (p *PartitionLoop) Produce(id replication.RequestID, batch []byte, acks int16) error {
	if len(batch) < storage.BatchHeaderSize {
		return fmt.Errorf("driver: produce %d: %d bytes is not a batch", id, len(batch))
	}
	return p.l.post(func(now env.Time) replication.Event {
		return replication.Produce{Now: now, ID: id, Batch: batch, Acks: acks}
	})
}

// Fetch posts a fetch from offset from. It is answered when minBytes are
// below the high watermark, or maxWait after now with what there is
// (maxWait ≤ 0: at once).
func (p *PartitionLoop) Fetch(id replication.RequestID, from storage.Offset, maxBytes, minBytes int, maxWait time.Duration) error {
	var deadline int64
	if maxWait > 0 {
		deadline = p.clock.Now().Mono + int64(maxWait)
	}
	return p.l.post(func(now env.Time) replication.Event {
		return replication.Fetch{Now: now, ID: id, From: from, MaxBytes: maxBytes, MinBytes: minBytes, Deadline: deadline}
	})
}

// Stop stops accepting events (later posts return ErrStopped), steps the
// ones already posted, lets the executor finish the writes and fsyncs in
// flight or queued behind them, so every batch acknowledged with acks=0/1
// is synced, and closes the log. Requests still waiting on a deadline
// (parked fetches) are not answered. When ctx ends first it returns
// ctx.Err() and the loop finishes on its own.
func (p *PartitionLoop) Stop(ctx context.Context) error { return p.l.stop(ctx) }

// Post delivers any partition event (the broker's requests), stamped with
// the loop's clock when it is stepped.
func (p *PartitionLoop) Post(ev replication.Event) error {
	return p.l.post(func(now env.Time) replication.Event { return replication.WithNow(ev, now) })
}
