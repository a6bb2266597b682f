package replication

import (
	"slices"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/storage"
)

// The administrative requests: DeleteRecords moves the log start offset,
// durably; Producers lists the idempotent producers (DescribeProducers);
// LogSize asks the executor for the log's bytes (DescribeLogDirs);
// Reconfigure applies a topic config change to the running machine.

// DeleteRecords moves the log start offset to Offset (-1: the high
// watermark), as Kafka's DeleteRecords does. It is answered, with the new
// log start in LogStart, once the move is durable; an offset above the
// high watermark is ErrOffsetOutOfRange; one at or below the log start is
// answered at once.
type DeleteRecords struct {
	Now    env.Time
	ID     RequestID
	Offset storage.Offset
}

// Producers asks for the idempotent producers' state (Reply.Producers).
type Producers struct {
	Now env.Time
	ID  RequestID
}

// LogSize asks for the log's size on disk (Reply.SizeBytes), which the
// executor measures.
type LogSize struct {
	Now env.Time
	ID  RequestID
}

// Reconfigure replaces the machine's topic-derived settings (retention,
// compaction, timestamps) with those of Config; identity and sizing fields
// (topic, partition, epoch, tail and persist sizes) are kept.
type Reconfigure struct {
	Now    env.Time
	Config PartitionConfig
}

func (e DeleteRecords) When() env.Time { return e.Now }
func (e Producers) When() env.Time     { return e.Now }
func (e LogSize) When() env.Time       { return e.Now }
func (e Reconfigure) When() env.Time   { return e.Now }

// pendingDelete is a DeleteRecords waiting for its start offset to be
// durable.
type pendingDelete struct {
	id     RequestID
	offset storage.Offset
}

func (p *Partition) stepDeleteRecords(e DeleteRecords) {
	off := e.Offset
	if off == -1 {
		off = p.hw
	}
	switch {
	case !p.recovered:
		p.reply(Reply{ID: e.ID, Err: ErrNotReady})
	case off < 0 || off > p.hw:
		p.reply(Reply{ID: e.ID, Err: ErrOffsetOutOfRange, HighWatermark: p.hw, LogStart: p.start})
	case off <= p.start:
		p.reply(Reply{ID: e.ID, HighWatermark: p.hw, LogStart: p.start})
	default:
		p.deletes = append(p.deletes, pendingDelete{id: e.ID, offset: off})
		p.maybeStartDelete()
	}
}

// maybeStartDelete moves the start offset to the largest one asked for,
// as a background task, when no other task is in flight.
func (p *Partition) maybeStartDelete() {
	if p.task != nil || len(p.deletes) == 0 {
		return
	}
	target := p.deletes[0].offset
	for _, d := range p.deletes[1:] {
		target = max(target, d.offset)
	}
	p.nextTask++
	p.task = &Task{ID: p.nextTask, SetStart: target}
	p.ready.Background = append(p.ready.Background, *p.task)
}

// answerDeletes answers the DeleteRecords the log start now covers.
func (p *Partition) answerDeletes() {
	p.deletes = slices.DeleteFunc(p.deletes, func(d pendingDelete) bool {
		if d.offset > p.start {
			return false
		}
		p.reply(Reply{ID: d.id, HighWatermark: p.hw, LogStart: p.start})
		return true
	})
}

func (p *Partition) stepProducers(e Producers) {
	if !p.recovered {
		p.reply(Reply{ID: e.ID, Err: ErrNotReady})
		return
	}
	var out []storage.ProducerEntry
	if p.producers != nil {
		out = p.producers.Producers()
	}
	p.reply(Reply{ID: e.ID, Producers: out, HighWatermark: p.hw, LogStart: p.start})
}

func (p *Partition) stepLogSize(e LogSize) {
	if !p.recovered {
		p.reply(Reply{ID: e.ID, Err: ErrNotReady})
		return
	}
	p.reads[e.ID] = true
	p.ready.Reads = append(p.ready.Reads, Read{ID: e.ID, Stat: true})
}

// stepReconfigure takes the new topic-derived settings. A retention or
// cleaner check uses them from its next run; a shorter interval applies
// from the next tick.
func (p *Partition) stepReconfigure(e Reconfigure) {
	c := e.Config
	c.Topic, c.Partition, c.Epoch = p.cfg.Topic, p.cfg.Partition, p.cfg.Epoch
	c.TailBytesMax, c.PersistBytesMax = p.cfg.TailBytesMax, p.cfg.PersistBytesMax
	if c.Compact && c.CleanerBackoffMs <= 0 {
		c.CleanerBackoffMs = p.cfg.CleanerBackoffMs
	}
	if c.RetentionCheckIntervalMs <= 0 {
		c.RetentionCheckIntervalMs = p.cfg.RetentionCheckIntervalMs
	}
	if c.Compact && !p.cfg.Compact {
		p.nextCleanMono = e.Now.Mono // check at once
	}
	p.nextRetentionMono = min(p.nextRetentionMono, e.Now.Mono+c.RetentionCheckIntervalMs*1_000_000)
	p.cfg = c
}

// failDeletes answers every waiting DeleteRecords with err.
func (p *Partition) failDeletes(err error) {
	for _, d := range p.deletes {
		p.reply(Reply{ID: d.id, Err: err})
	}
	p.deletes = nil
}
