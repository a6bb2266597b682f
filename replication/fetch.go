package replication

import (
	"errors"
	"fmt"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/simbug"
	"github.com/takhin-io/takhin/storage"
)

func (p *Partition) stepFetch(e Fetch) {
	switch {
	case !p.recovered:
		p.reply(Reply{ID: e.ID, Err: ErrNotReady})
	case e.From < p.start || e.From > p.written:
		p.reply(Reply{ID: e.ID, Err: fmt.Errorf("%w: %d not in [%d, %d]", ErrOffsetOutOfRange, e.From, p.start, p.written),
			HighWatermark: p.hw, LogStart: p.start})
	case p.fetchSatisfied(e) || e.Deadline <= e.Now.Mono:
		p.serveFetch(e)
	default:
		p.fetches = append(p.fetches, e)
	}
}

// fetchSatisfied reports whether at least MinBytes (at least one batch)
// lie between From and the high watermark. Beyond the tail the bytes are
// not known here; the disk holds at least one batch, which is taken as
// enough.
func (p *Partition) fetchSatisfied(e Fetch) bool {
	if e.From >= p.visible() {
		return false
	}
	if bytes, ok := p.tail.bytesBetween(e.From, p.visible()); ok {
		return bytes >= max(e.MinBytes, 1)
	}
	return true
}

// serveFetch answers from the tail when it covers From, or asks the
// executor to read.
func (p *Partition) serveFetch(e Fetch) {
	if e.From < p.start { // retention moved the start while it was parked
		p.reply(Reply{ID: e.ID, Err: fmt.Errorf("%w: %d below the log start %d", ErrOffsetOutOfRange, e.From, p.start),
			HighWatermark: p.hw, LogStart: p.start})
		return
	}
	if e.From >= p.visible() {
		p.reply(Reply{ID: e.ID, HighWatermark: p.hw, LogStart: p.start})
		return
	}
	if batches, ok := p.tail.read(e.From, e.MaxBytes, p.visible()); ok {
		p.reply(Reply{ID: e.ID, Batches: batches, HighWatermark: p.hw, LogStart: p.start})
		return
	}
	p.reads[e.ID] = true
	p.ready.Reads = append(p.ready.Reads, Read{ID: e.ID, From: e.From, MaxBytes: e.MaxBytes, UpTo: p.visible()})
}

// visible is where fetches stop: the high watermark (in the simbug
// variant fetch-past-hw, the written end).
func (p *Partition) visible() storage.Offset {
	if simbug.Active(simbug.FetchPastHighWatermark) {
		return p.written
	}
	return p.hw
}

// wakeFetches serves the parked fetches that are now satisfied or due.
func (p *Partition) wakeFetches(now env.Time) {
	kept := p.fetches[:0]
	for _, f := range p.fetches {
		if p.fetchSatisfied(f) || f.Deadline <= now.Mono {
			p.serveFetch(f)
			continue
		}
		kept = append(kept, f)
	}
	clear(p.fetches[len(kept):])
	p.fetches = kept
}

func (p *Partition) stepReadDone(e ReadDone) {
	if !p.reads[e.ID] {
		return // answered already (the partition failed meanwhile)
	}
	delete(p.reads, e.ID)
	if e.Stat {
		p.reply(Reply{ID: e.ID, SizeBytes: e.SizeBytes, TotalBytes: e.TotalBytes, UsableBytes: e.UsableBytes,
			HighWatermark: p.hw, LogStart: p.start, Err: statErr(e.Err)})
		return
	}
	if e.ByTimestamp {
		p.reply(p.timestampReply(e))
		return
	}
	switch {
	case e.Err == nil:
		p.reply(Reply{ID: e.ID, Batches: e.Result.Batches, Recyclable: true, HighWatermark: p.hw, LogStart: p.start})
	case errors.Is(e.Err, storage.ErrOffsetOutOfRange):
		p.reply(Reply{ID: e.ID, Err: fmt.Errorf("%w: %v", ErrOffsetOutOfRange, e.Err), HighWatermark: p.hw, LogStart: p.start})
	case errors.Is(e.Err, storage.ErrCorrupt) || errors.Is(e.Err, storage.ErrFailed):
		p.reply(Reply{ID: e.ID, Err: fmt.Errorf("%w: %v", ErrFailed, e.Err)})
		p.fail(e.Err, false)
	default:
		p.reply(Reply{ID: e.ID, Err: fmt.Errorf("%w: %v", ErrStorage, e.Err)})
	}
}

func statErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %v", ErrStorage, err)
}
