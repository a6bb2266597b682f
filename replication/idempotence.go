package replication

import (
	"fmt"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/storage"
)

// Idempotent producers, with Kafka's rules (storage.ProducerState holds
// them): a batch is checked when it is about to be given offsets, in
// arrival order, against the state that already includes the batches in
// flight. A retried duplicate gets its original offsets (for acks=-1 once
// they are below the high watermark); a sequence gap is
// OUT_OF_ORDER_SEQUENCE_NUMBER; a lower epoch INVALID_PRODUCER_EPOCH.

// duplicate is a retry answered with the original batch's offsets once the
// high watermark covers them.
type duplicate struct {
	id         RequestID
	base, next storage.Offset
}

// admit reports whether m is to be appended; if not, it was answered.
func (p *Partition) admit(m *produce, h storage.BatchHeader) bool {
	if h.ProducerID < 0 {
		return true
	}
	verdict, original := p.producers.Check(h)
	switch verdict {
	case storage.Accept:
		return true
	case storage.Duplicate:
		d := duplicate{id: m.id, base: original.FirstOffset, next: original.LastOffset + 1}
		if m.acks != -1 || d.next <= p.hw {
			p.reply(Reply{ID: d.id, Base: d.base, HighWatermark: p.hw, LogStart: p.start, Timestamp: -1})
		} else {
			p.duplicates = append(p.duplicates, d)
		}
	case storage.OutOfOrder:
		p.reply(Reply{ID: m.id, Err: fmt.Errorf("%w: producer %d epoch %d sequence %d", ErrOutOfOrderSequence, h.ProducerID, h.ProducerEpoch, h.BaseSequence)})
	case storage.InvalidEpoch:
		p.reply(Reply{ID: m.id, Err: fmt.Errorf("%w: producer %d epoch %d", ErrInvalidProducerEpoch, h.ProducerID, h.ProducerEpoch)})
	default:
		p.reply(Reply{ID: m.id, Err: fmt.Errorf("%w: producer %d with a negative epoch or sequence", ErrInvalidBatch, h.ProducerID)})
	}
	return false
}

// recordProducer applies an admitted batch, now carrying its offsets.
func (p *Partition) recordProducer(m *produce, now env.Time) {
	h := storage.DecodeBatchHeader(m.batch)
	if h.ProducerID < 0 {
		return
	}
	m.undo, m.hasUndo = p.producers.Apply(h, now.WallMs), true
}

// releaseDuplicates answers the duplicates the high watermark now covers.
func (p *Partition) releaseDuplicates() {
	kept := p.duplicates[:0]
	for _, d := range p.duplicates {
		if d.next <= p.hw {
			p.reply(Reply{ID: d.id, Base: d.base, HighWatermark: p.hw, LogStart: p.start, Timestamp: -1})
			continue
		}
		kept = append(kept, d)
	}
	p.duplicates = kept
}

// expireProducers forgets producers idle past producer.id.expiration.ms.
func (p *Partition) expireProducers(nowMs int64) {
	if p.producers != nil && p.cfg.ProducerIDExpirationMs > 0 {
		p.producers.Expire(nowMs, p.cfg.ProducerIDExpirationMs)
	}
}
