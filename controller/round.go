package controller

import (
	"fmt"
	"reflect"

	"go.uber.org/zap"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/assert"
	"github.com/takhin-io/takhin/internal/invariants"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

// round is one metadata batch: the proposals it answers and the records
// it writes.
type round struct {
	produceID replication.RequestID
	batch     []byte   // as produced; the partition stamps its offsets in place
	records   []Record // in batch order
	bytes     int      // of the record values
	// next is the applied image plus this round's records: the next Image
	// once the batch is durable, discarded if its write fails.
	next     *state
	outcomes []outcome // one per proposal, in queue order
}

// outcome is one proposal's answer, released when its round completes.
type outcome struct {
	id     RequestID
	record int // index in round.records; -1 when the change wrote nothing
	res    result
	err    error
}

// waiting reports whether work waits for a batch: proposals, or the
// Bootstrap record of a new log.
func (c *Controller) waiting() bool {
	return len(c.queue) > 0 || !c.image.Bootstrapped()
}

// maybeStartRound starts the next batch when none is in flight. A round
// that writes nothing (only errors and validate-only changes) is answered
// at once: it was validated against durable state only.
func (c *Controller) maybeStartRound(now env.Time) {
	for c.loaded && c.failure == nil && c.round == nil && c.waiting() && now.Mono >= c.retryAtMono {
		r, values := c.buildRound()
		if len(r.records) == 0 {
			c.release(r, -1)
			continue
		}
		r.batch = encodeBatch(values, now.WallMs)
		c.nextProduce++
		r.produceID = c.nextProduce
		c.round = r
		err := c.inner.Step(replication.Produce{Now: now, ID: r.produceID, Batch: r.batch, Acks: -1})
		assert.That(err == nil, "the metadata log takes every batch the controller builds")
	}
}

// buildRound validates the queued proposals in order against a scratch
// copy of the image, up to the batch limits, and returns the round and
// its record values. The Bootstrap record goes first until it is durable.
func (c *Controller) buildRound() (*round, [][]byte) {
	r := &round{next: c.image.edit()}
	var values [][]byte
	if !c.image.Bootstrapped() {
		values = append(values, c.add(r, Bootstrap{ClusterID: c.clusterID, NodeID: c.cfg.NodeID, FormatVersion: FormatVersion}))
	}
	taken := 0
	for ; taken < len(c.queue) && len(r.records) < c.cfg.BatchRecordsMax && r.bytes < c.cfg.BatchBytesMax; taken++ {
		p := c.queue[taken]
		o := outcome{id: p.id, record: -1}
		rec, res, err := plan(r.next, p.change, c.rng)
		if err == nil && rec != nil {
			if value := encodeValue(rec); len(value) > c.cfg.RecordBytesMax {
				err = fmt.Errorf("%w: a %s record of %d bytes (max %d)", ErrTooLarge, rec.recordType(), len(value), c.cfg.RecordBytesMax)
			} else {
				o.record = len(r.records)
				values = append(values, c.add(r, rec))
			}
		}
		o.res, o.err = res, err
		r.outcomes = append(r.outcomes, o)
	}
	clear(c.queue[:taken])
	c.queue = c.queue[taken:]
	return r, values
}

// add applies rec to the round's scratch and returns its value. A record
// the controller planned always applies: plan checks what apply checks.
func (c *Controller) add(r *round, rec Record) []byte {
	if err := r.next.apply(rec); err != nil {
		assert.Failf("planned %s does not apply: %v", rec.recordType(), err)
	}
	value := encodeValue(rec)
	r.records = append(r.records, rec)
	r.bytes += len(value)
	return value
}

// onLogReply completes the round in flight: the metadata log answers the
// controller's acks=-1 produce once the batch is durable, or with the
// write's error.
func (c *Controller) onLogReply(lr replication.Reply, now env.Time) {
	r := c.round
	if r == nil || lr.ID != r.produceID {
		assert.Failf("metadata log reply %d, but the produce in flight is %v", lr.ID, r)
	}
	c.round = nil
	if lr.Err != nil {
		c.failRound(r, lr.Err, now)
		return
	}
	h := storage.DecodeBatchHeader(r.batch)
	if h.BaseOffset != lr.Base || h.BaseOffset < c.image.end {
		assert.Failf("metadata batch at %d (reply says %d) after applied offset %d", h.BaseOffset, lr.Base, c.image.end)
	}
	r.next.end = h.NextOffset()
	next := r.next.freeze()
	if invariants.Enabled {
		checkReplay(c.image, r.batch, next)
	}
	c.image = next
	c.ready.Published = next
	c.release(r, h.BaseOffset)
}

// checkReplay checks that decoding the batch as written and applying it
// to the previous image gives the image the controller publishes: what a
// restart would rebuild.
func checkReplay(prev *Image, batch []byte, next *Image) {
	d, err := decodeBatch(batch)
	if err != nil {
		assert.Failf("a metadata batch the controller wrote does not decode: %v", err)
	}
	s := prev.edit()
	if err := s.applyBatch(d.header.BaseOffset, d.header.NextOffset(), d.records); err != nil {
		assert.Failf("a metadata batch the controller wrote does not replay: %v", err)
	}
	if got := s.freeze(); !reflect.DeepEqual(got, next) {
		assert.Failf("replayed image differs:\n%s\npublished:\n%s", got, next)
	}
}

// failRound answers a round whose write failed: every proposer gets
// ErrStorage (the ones rejected were validated against records that never
// became durable), nothing is applied, and the next batch waits
// RetryBackoffMs. The Bootstrap, if it was in it, is retried then.
func (c *Controller) failRound(r *round, err error, now env.Time) {
	c.log.Warn("metadata write failed", zap.Int("records", len(r.records)), zap.Int("proposals", len(r.outcomes)), zap.Error(err))
	c.retryAtMono = now.Mono + c.cfg.RetryBackoffMs*1_000_000
	failed := fmt.Errorf("%w: %w", ErrStorage, err)
	for _, o := range r.outcomes {
		c.reply(Reply{ID: o.id, Offset: -1, Err: failed})
	}
}

// release answers a round's proposals; base is the offset of its first
// record.
func (c *Controller) release(r *round, base storage.Offset) {
	for _, o := range r.outcomes {
		rep := Reply{ID: o.id, Offset: -1, Err: o.err}
		if o.err == nil {
			rep.TopicID, rep.ProducerIDs = o.res.topicID, o.res.producerIDs
		}
		if o.record >= 0 {
			assert.That(base >= 0, "a written change has an offset")
			rep.Offset = base + storage.Offset(o.record)
		}
		c.reply(rep)
	}
}
