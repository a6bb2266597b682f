package controller

import (
	"github.com/takhin-io/takhin/internal/assert"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

// Ready is what the controller wants done, in field order. The first
// three fields are the metadata log partition's own (replication.Ready),
// passed through unchanged and carried out by the same executor code as
// any partition's.
type Ready struct {
	// 1. Persist is the metadata log's group commit: append Batches
	// (offsets assigned), report replication.Written, fsync, report
	// replication.Synced, then checkpoint if asked. At most one is in
	// flight. Metadata batches are produced with acks=-1, so nothing a
	// Persist carries is applied or answered before its Synced.
	Persist *replication.Persist
	// 2. Reads and Background are the metadata log's reads and retention
	// chunks (retention is off for it: it deletes nothing); report
	// ReadDone and BackgroundDone.
	Reads      []replication.Read
	Background []replication.Task
	// 3. Published is the new Image, set whenever applied state changed
	// (and once at Loaded when the log was bootstrapped). Everything in it
	// is durable: it only ever follows the Synced of the batch holding its
	// records. Hand it to the broker before the Replies below, so a
	// proposer that reads the image after its reply sees its change.
	Published *Image
	// 4. Replies answer proposals. A successful change's reply is released
	// only after the Synced covering its record, together with the Image
	// that holds it; an error reply (validation, a failed write) may come
	// earlier, and a failed write's proposers see nothing applied.
	Replies []Reply
	// 5. Deadline is the monotonic ns of the next Tick (0 for none): the
	// metadata log's retention check, or the retry of a batch after a
	// failed write. Arm one timer for it; HasReady is true when it moved
	// since the last Advance, even with no other work.
	Deadline int64
	// 6. Failure, when set, stops the controller, and with it the node:
	// the process exits, and restarts through recovery (or, for a node id
	// mismatch or a log from a newer format, refuses to start).
	Failure *Failure
}

// Reply answers one Propose.
type Reply struct {
	ID  RequestID
	Err error
	// TopicID is the topic created, deleted, grown or altered.
	TopicID TopicID
	// ProducerIDs is the block AllocateProducerIDs got.
	ProducerIDs ProducerIDBlock
	// Offset is the metadata log offset of the change's record, or -1
	// when nothing was written (an error, validate-only, a no-op alter).
	// Every Image with End() > Offset holds the change.
	Offset storage.Offset
}

// Failure is a fail-stop of the controller. Err wraps ErrCorrupt,
// ErrNodeIDMismatch, or the metadata log partition's failure.
type Failure struct {
	Err error
}

func (r *Ready) empty() bool {
	return r.Persist == nil && len(r.Reads) == 0 && len(r.Background) == 0 &&
		r.Published == nil && len(r.Replies) == 0 && r.Failure == nil
}

// shown is how much of the accumulated Ready the last Ready call returned:
// what the driver may already be acting on. A failure withdraws the rest.
type shown struct {
	persist           *replication.Persist
	reads, background int
}

// HasReady reports whether Ready has work, or a deadline other than the
// one the driver armed at the last Advance.
func (c *Controller) HasReady() bool { return !c.ready.empty() || c.deadline() != c.armed }

// Ready returns the work accumulated since the last Advance, and the next
// deadline. It returns the same work until Advance, plus whatever later
// Steps add.
func (c *Controller) Ready() Ready {
	c.shown = shown{persist: c.ready.Persist, reads: len(c.ready.Reads), background: len(c.ready.Background)}
	rd := c.ready
	rd.Deadline = c.deadline()
	return rd
}

// Advance acknowledges rd, a Ready this controller returned: its work has
// been handed to the executor and the broker. Work stepped in after that
// Ready stays for the next one.
func (c *Controller) Advance(rd Ready) {
	assert.That(len(rd.Replies) <= len(c.ready.Replies) && len(rd.Reads) <= len(c.ready.Reads) &&
		len(rd.Background) <= len(c.ready.Background), "Advance gets a Ready of this controller")
	if rd.Persist == c.ready.Persist {
		c.ready.Persist = nil
	}
	if rd.Published == c.ready.Published {
		c.ready.Published = nil
	}
	if rd.Failure == c.ready.Failure {
		c.ready.Failure = nil
	}
	c.ready.Reads = nilIfEmpty(c.ready.Reads[len(rd.Reads):])
	c.ready.Background = nilIfEmpty(c.ready.Background[len(rd.Background):])
	c.ready.Replies = nilIfEmpty(c.ready.Replies[len(rd.Replies):])
	c.shown = shown{}
	c.armed = rd.Deadline
}

// withdraw drops the I/O no Ready has shown yet: after a failure, nobody
// may act on it (the proposals it carried were answered ErrFailed).
func (c *Controller) withdraw() {
	if c.ready.Persist != c.shown.persist {
		c.ready.Persist = nil
	}
	c.ready.Reads = nilIfEmpty(c.ready.Reads[:c.shown.reads])
	c.ready.Background = nilIfEmpty(c.ready.Background[:c.shown.background])
}

// deadline is the metadata log's, or the retry of a failed write when
// proposals wait for it, whichever is first.
func (c *Controller) deadline() int64 {
	if !c.loaded || c.failure != nil {
		return 0
	}
	d := c.inner.Ready().Deadline
	if c.waiting() && c.round == nil && c.retryAtMono > 0 && (d == 0 || c.retryAtMono < d) {
		d = c.retryAtMono
	}
	return d
}
