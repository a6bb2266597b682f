package sim

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/takhin-io/takhin/controller"
	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

// checker holds what clients were told and checks every answer, and every
// reboot, against it:
//
//   - an acks=all produce acknowledged at base b stays at b, byte for byte,
//     through every crash (until its topic is deleted);
//   - the high watermark a partition reports never goes backwards, across
//     crashes too (recovery must find every synced batch);
//   - a fetch serves only valid batches below the high watermark it
//     reports, holding values that were sent, and at an acknowledged
//     offset exactly the acknowledged values;
//   - an acknowledged topic creation or deletion survives every crash.
type checker struct {
	violations []string
	acked      map[string]map[storage.Offset]string // partition key → base → payload
	hw         map[string]storage.Offset
	sentValues map[string]bool
	created    map[controller.TopicID]string // acknowledged, not yet deleted: id → name
	deleted    map[controller.TopicID]bool
	// mayBeGone holds topics a delete was sent for and not answered: the
	// delete may have been applied before a crash ate its reply.
	mayBeGone map[controller.TopicID]bool
}

func newChecker() *checker {
	return &checker{
		acked: map[string]map[storage.Offset]string{}, hw: map[string]storage.Offset{},
		sentValues: map[string]bool{}, created: map[controller.TopicID]string{}, deleted: map[controller.TopicID]bool{},
		mayBeGone: map[controller.TopicID]bool{},
	}
}

func (c *checker) violation(format string, args ...any) {
	if len(c.violations) < 20 {
		c.violations = append(c.violations, fmt.Sprintf(format, args...))
	}
}

func (c *checker) sent(payload string) { c.sentValues[payload] = true }

// fetchOffset picks where a consumer fetches from: anywhere up to the
// high watermark seen, sometimes past it (a long-poll).
func (c *checker) fetchOffset(key string, rng *env.Rand) storage.Offset {
	hw := c.hw[key]
	return storage.Offset(rng.Int64N(int64(hw) + 1))
}

func (c *checker) observeHW(key string, hw storage.Offset, what string) {
	if hw < c.hw[key] {
		c.violation("%s: high watermark went back from %d to %d (%s)", key, c.hw[key], hw, what)
		return
	}
	c.hw[key] = hw
}

func (c *checker) producedAll(key string, base storage.Offset, payload string) {
	m := c.acked[key]
	if m == nil {
		m = map[storage.Offset]string{}
		c.acked[key] = m
	}
	if old, ok := m[base]; ok {
		c.violation("%s: offset %d acknowledged twice (%s, then %s)", key, base, old, payload)
	}
	m[base] = payload
}

// fetched checks one fetch answer.
func (c *checker) fetched(key string, r replication.Reply) int {
	n := 0
	for b := r.Batches; len(b) > 0; n++ {
		if len(b) < storage.BatchHeaderSize {
			c.violation("%s: fetch returned %d trailing bytes", key, len(b))
			return n
		}
		h, err := storage.ValidateBatch(b[:min(int64(len(b)), storage.DecodeBatchHeader(b).Size())])
		if err != nil {
			c.violation("%s: fetch returned an invalid batch: %v", key, err)
			return n
		}
		if h.LastOffset() >= r.HighWatermark {
			c.violation("%s: fetch returned offset %d at or above the high watermark %d", key, h.LastOffset(), r.HighWatermark)
		}
		c.checkValues(key, h.BaseOffset, b[:h.Size()], "fetch")
		b = b[h.Size():]
	}
	return n
}

// checkValues checks a stored batch's values against what was sent and
// acknowledged.
func (c *checker) checkValues(key string, base storage.Offset, batch []byte, where string) {
	records, err := storage.ReadRecords(batch)
	if err != nil || len(records) == 0 {
		c.violation("%s: %s: batch at %d undecodable: %v", key, where, base, err)
		return
	}
	payload, _, _ := strings.Cut(string(records[0].Value), ".")
	if !c.sentValues[payload] {
		c.violation("%s: %s: batch at %d holds %q, which nobody sent", key, where, base, payload)
	}
	if want, ok := c.acked[key][base]; ok && want != payload {
		c.violation("%s: %s: offset %d holds %q, but %q was acknowledged there", key, where, base, payload, want)
	}
}

// booted checks a node after a recovery: acknowledged topics and records.
func (c *checker) booted(n *node) {
	for _, id := range sortedIDs(c.created) {
		if t, ok := n.image.TopicByID(id); (!ok && !c.mayBeGone[id]) || (ok && t.Name != c.created[id]) {
			c.violation("topic %s (%s) acknowledged but missing after recovery", c.created[id], id)
		}
	}
	for _, id := range sortedIDs(c.deleted) {
		if _, ok := n.image.TopicByID(id); ok {
			c.violation("topic %s acknowledged deleted but back after recovery", id)
		}
	}
	for _, p := range n.parts {
		if !clientTopic(p.topic) { // the Kafka clients' topics are checked through their histories
			c.checkRecovered(n, p)
		}
	}
}

// checkRecovered reads a recovered partition whole and checks it holds
// every acknowledged batch.
func (c *checker) checkRecovered(n *node, p *part) {
	key := partKey(p)
	c.observeHW(key, p.m.HighWatermark(), "after recovery")
	all, err := p.store.ReadAll()
	if err != nil {
		if errors.Is(err, env.ErrIO) {
			return // a read fault of the disk model, not a lost record
		}
		c.violation("%s: unreadable after recovery: %v", key, err)
		return
	}
	found := map[storage.Offset]bool{}
	for b := all; len(b) > 0; {
		h := storage.DecodeBatchHeader(b)
		c.checkValues(key, h.BaseOffset, b[:h.Size()], "recovery")
		found[h.BaseOffset] = true
		b = b[h.Size():]
	}
	acked := c.acked[key]
	for _, base := range sortedOffsets(acked) {
		if !found[base] && base >= p.m.LogStart() {
			c.violation("%s: acknowledged batch %d (%s) lost in a crash", key, base, acked[base])
		}
	}
}

// sortedIDs and sortedOffsets return a map's keys in order: map order
// never reaches output.
func sortedIDs[V any](m map[controller.TopicID]V) []controller.TopicID {
	keys := make([]controller.TopicID, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b controller.TopicID) int { return bytes.Compare(a[:], b[:]) })
	return keys
}

func sortedOffsets[V any](m map[storage.Offset]V) []storage.Offset {
	keys := make([]storage.Offset, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (wl *workload) violation(format string, args ...any) { wl.chk.violation(format, args...) }

func (wl *workload) cleaned(topic string) {
	switch topic {
	case kTopic:
		wl.rc.counts.CleanChunks++
	case offsetsTopic:
		wl.counts.OffsetsCleanChunks++
	}
}

func (wl *workload) booted(n *node) {
	wl.chk.booted(n)
	wl.rc.booted(n)
}

func (wl *workload) partitionReply(n *node, p *part, r replication.Reply) {
	id := uint64(r.ID)
	if sp, ok := wl.produces[id]; ok {
		delete(wl.produces, id)
		wl.w.record("produced", int64(id), int64(r.Base), errCode(r.Err))
		if r.Err != nil {
			wl.counts.ProduceErrs++
			return
		}
		wl.chk.observeHW(sp.key, r.HighWatermark, "produce reply")
		if sp.acks == -1 {
			wl.counts.AckedAll++
			if r.Base >= r.HighWatermark {
				wl.chk.violation("%s: acks=all answered at %d, not below the high watermark %d", sp.key, r.Base, r.HighWatermark)
			}
			wl.chk.producedAll(sp.key, r.Base, sp.payload)
		} else {
			wl.counts.AckedOne++
		}
		return
	}
	if key, ok := wl.fetches[id]; ok {
		delete(wl.fetches, id)
		wl.w.record("fetched", int64(id), int64(len(r.Batches)), errCode(r.Err))
		if r.Err == nil {
			wl.chk.observeHW(key, r.HighWatermark, "fetch reply")
			wl.counts.FetchedBatches += wl.chk.fetched(key, r)
		}
		return
	}
	wl.chk.violation("%s: reply to unknown or already answered request %d", p.dir, id)
}

func (wl *workload) controllerReply(n *node, r controller.Reply, img *controller.Image) {
	id := uint64(r.ID)
	ch, ok := wl.changes[id]
	if !ok {
		wl.chk.violation("controller: reply to unknown or already answered proposal %d", id)
		return
	}
	delete(wl.changes, id)
	wl.w.record("changed", int64(id), errCode(r.Err))
	if r.Err != nil {
		if d, ok := ch.(controller.DeleteTopic); ok && d.ID != (controller.TopicID{}) {
			delete(wl.chk.mayBeGone, d.ID)
		}
		return
	}
	wl.counts.TopicChangesAcked++
	switch ch.(type) {
	case controller.CreateTopic:
		t, ok := img.TopicByID(r.TopicID)
		if !ok {
			wl.chk.violation("controller: created topic %s missing from the image of its reply", r.TopicID)
			return
		}
		wl.chk.created[r.TopicID] = t.Name
	case controller.DeleteTopic:
		delete(wl.chk.created, r.TopicID)
		delete(wl.chk.mayBeGone, r.TopicID)
		wl.chk.deleted[r.TopicID] = true
	}
}
