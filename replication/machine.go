package replication

import (
	"fmt"
	"slices"

	"go.uber.org/zap"

	"github.com/takhin-io/takhin/internal/assert"
	"github.com/takhin-io/takhin/storage"
)

func (p *Partition) reply(r Reply) { p.ready.Replies = append(p.ready.Replies, r) }

// stepTick runs what is due: parked fetches past their deadline, then,
// when no background task is in flight, the retention check or else the
// cleaner check (so when both are due they run one after the other).
func (p *Partition) stepTick(e Tick) {
	if !p.recovered {
		return
	}
	p.wakeFetches(e.Now)
	p.maybeStartDelete()
	if p.task != nil {
		return
	}
	switch {
	case e.Now.Mono >= p.nextRetentionMono:
		p.expireProducers(e.Now.WallMs)
		p.startRetention(e.Now.WallMs)
	case p.cfg.Compact && e.Now.Mono >= p.nextCleanMono:
		if !p.startClean(e.Now.WallMs) {
			p.nextCleanMono = e.Now.Mono + p.cfg.CleanerBackoffMs*1_000_000
		}
	}
}

// cleanPolicy is the topic's compaction policy as of now.
func (p *Partition) cleanPolicy(nowMs int64) storage.CleanPolicy {
	return storage.CleanPolicy{
		HighWatermark: p.hw, NowMs: nowMs,
		DeleteRetentionMs: p.cfg.DeleteRetentionMs, MinCompactionLagMs: p.cfg.MinCompactionLagMs,
		MaxCompactionLagMs: p.cfg.MaxCompactionLagMs, MinCleanableRatio: p.cfg.MinCleanableDirtyRatio,
		MapBytesMax: p.cfg.CleanerMapBytes,
	}
}

// startClean starts a compaction pass if one is due (Kafka's
// grabFilthiestCompactedLog for one log), from the segments the executor
// last reported, and reports whether it did.
func (p *Partition) startClean(nowMs int64) bool {
	policy := p.cleanPolicy(nowMs)
	if !storage.CleanableOffsets(p.segments, p.start, p.cleanedTo, policy).Due(policy) {
		return false
	}
	p.cleanPass++
	p.nextTask++
	p.task = &Task{ID: p.nextTask, Clean: &policy, CleanPass: p.cleanPass, ChunkBytes: p.cfg.CleanChunkBytes}
	p.ready.Background = append(p.ready.Background, *p.task)
	return true
}

// continueClean emits the next chunk of the pass in flight.
func (p *Partition) continueClean(prev *Task) {
	p.nextTask++
	next := *prev
	next.ID = p.nextTask
	p.task = &next
	p.ready.Background = append(p.ready.Background, next)
}

func (p *Partition) startRetention(nowMs int64) {
	p.nextTask++
	p.task = &Task{
		ID: p.nextTask,
		Retention: &storage.RetentionPolicy{
			RetentionMs: p.cfg.RetentionMs, RetentionBytes: p.cfg.RetentionBytes,
			HighWatermark: p.hw, NowMs: nowMs,
		},
		ChunkSegments: p.cfg.RetentionChunkSegments,
	}
	p.ready.Background = append(p.ready.Background, *p.task)
}

func (p *Partition) stepBackgroundDone(e BackgroundDone) error {
	if p.task == nil || p.task.ID != e.Task {
		return fmt.Errorf("replication: unexpected BackgroundDone for task %d", e.Task)
	}
	task := p.task
	p.task = nil
	if e.Err != nil {
		p.fail(e.Err, e.Fatal)
		return nil
	}
	if e.Transient != nil {
		p.log.Warn("background work failed; it will be retried", zap.String("topic", p.cfg.Topic),
			zap.Int32("partition", p.cfg.Partition), zap.Error(e.Transient))
		if task.SetStart > 0 {
			p.failDeletes(fmt.Errorf("%w: %v", ErrStorage, e.Transient))
		}
	}
	if e.Start < p.start {
		assert.Failf("log start went back from %d to %d", p.start, e.Start)
	}
	p.start = e.Start
	if e.Segments != nil {
		p.segments, p.cleanedTo = e.Segments, e.CleanedTo
	}
	p.answerDeletes()
	defer p.maybeStartDelete() // DeleteRecords go before the next check
	switch {
	case task.Clean != nil && e.More:
		p.continueClean(task)
	case task.Clean != nil:
		p.nextCleanMono = e.Now.Mono + p.cfg.CleanerBackoffMs*1_000_000
	case task.SetStart > 0:
		// A DeleteRecords: the retention schedule is untouched.
	case e.More && len(p.deletes) > 0:
		p.nextRetentionMono = e.Now.Mono // waiting DeleteRecords first; retention resumes next tick
	case e.More:
		p.startRetention(e.Now.WallMs)
	default:
		p.nextRetentionMono = e.Now.Mono + p.cfg.RetentionCheckIntervalMs*1_000_000
	}
	return nil
}

// fail fail-stops the partition: every waiting request is answered with
// ErrFailed and every later one too.
func (p *Partition) fail(err error, processFatal bool) {
	if p.failure != nil {
		return
	}
	p.failure = &Failure{Err: err, ProcessFatal: processFatal}
	p.ready.Failure = p.failure
	// Work not yet taken by the executor is withdrawn: its requests are
	// answered below.
	p.ready.Persist, p.ready.Reads, p.ready.Background = nil, nil, nil
	p.log.Error("partition failed", zap.String("topic", p.cfg.Topic), zap.Int32("partition", p.cfg.Partition),
		zap.Bool("process_fatal", processFatal), zap.Error(err))
	failed := fmt.Errorf("%w: %v", ErrFailed, err)
	if p.inflight != nil {
		for _, m := range p.inflight.members {
			if !m.answered {
				p.reply(Reply{ID: m.id, Err: failed})
			}
		}
		p.inflight = nil
	}
	for _, m := range p.queue {
		p.reply(Reply{ID: m.id, Err: failed})
	}
	for _, f := range p.fetches {
		p.reply(Reply{ID: f.ID, Err: failed})
	}
	for _, id := range sortedIDs(p.reads) {
		p.reply(Reply{ID: id, Err: failed})
	}
	for _, d := range p.duplicates {
		p.reply(Reply{ID: d.id, Err: failed})
	}
	p.failDeletes(failed)
	p.duplicates = nil
	p.queue, p.fetches, p.reads = nil, nil, map[RequestID]bool{}
}

func (p *Partition) stepFailed(ev Event) error {
	switch ev.(type) {
	case Produce, Fetch, ListOffset, EpochEnd, DeleteRecords, Producers, LogSize: // every request is answered
		p.reply(Reply{ID: RequestIDOf(ev), Err: fmt.Errorf("%w: %v", ErrFailed, p.failure.Err)})
	}
	return nil // completions after a failure are dropped
}

// HasReady reports whether Ready has work, including a deadline that moved
// since the driver last armed its timer.
func (p *Partition) HasReady() bool {
	return !p.ready.empty() || p.deadline() != p.armed
}

// Ready returns the work accumulated since the last Advance, and the next
// deadline.
func (p *Partition) Ready() Ready {
	rd := p.ready
	rd.Deadline = p.deadline()
	return rd
}

// Advance acknowledges that rd, returned by Ready, has been carried out:
// its Persist, Reads and Background handed to the executor, its replies
// released, its deadline armed. Work stepped in after that Ready stays.
func (p *Partition) Advance(rd Ready) {
	// A failure stepped in between may have withdrawn work rd carried:
	// clamp rather than trust the lengths.
	p.ready.Replies = p.ready.Replies[min(len(rd.Replies), len(p.ready.Replies)):]
	p.ready.Reads = p.ready.Reads[min(len(rd.Reads), len(p.ready.Reads)):]
	p.ready.Background = p.ready.Background[min(len(rd.Background), len(p.ready.Background)):]
	if rd.Persist != nil && p.ready.Persist == rd.Persist {
		p.ready.Persist = nil
	}
	if rd.Failure != nil {
		p.ready.Failure = nil
	}
	p.armed = rd.Deadline
}

// deadline is the earliest parked fetch, the next retention check or (for
// a compacted topic) the next cleaner check.
func (p *Partition) deadline() int64 {
	if !p.recovered || p.failure != nil {
		return 0
	}
	d := p.nextRetentionMono
	if p.cfg.Compact {
		d = min(d, p.nextCleanMono)
	}
	if p.task != nil {
		d = 0
	}
	for _, f := range p.fetches {
		if d == 0 || f.Deadline < d {
			d = f.Deadline
		}
	}
	return d
}

func sortedIDs(m map[RequestID]bool) []RequestID {
	ids := make([]RequestID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
