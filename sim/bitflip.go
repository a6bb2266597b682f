package sim

import (
	"fmt"
	"path"
	"slices"

	"github.com/takhin-io/takhin/linearizability"
	"github.com/takhin-io/takhin/storage"
)

// Bit flips in synced data of the Kafka clients' topic. A flip below the
// partition's checkpointed recovery point must fail-stop the partition at
// its next read or recovery (never serve the flipped bytes); a flip at or
// above it may be truncated away by the next recovery, with everything
// after it. The checkpoint may later move the recovery point over a flip
// made above it, so either outcome is allowed for any flipped partition:
// its acknowledged records from the flipped batch on may be lost (an
// AllowedLoss window), and it may be fail-stopped when the run drains.

// crcStart is where a v2 batch's CRC-covered bytes begin (attributes).
const crcStart = 21

// corruption is one flip the injector made.
type corruption struct {
	partition int32
	base      storage.Offset // the flipped batch's
	belowRP   bool           // below the recovery point when flipped
}

// maybeFlipBit flips one bit inside the CRC-covered bytes of a synced
// batch of a partition of the Kafka clients' topic.
func (wl *workload) maybeFlipBit() {
	if wl.opts.BitFlipPerMille == 0 || wl.rng.IntN(1000) >= wl.opts.BitFlipPerMille || !wl.n.up {
		return
	}
	var cands []*part
	for _, p := range wl.n.parts {
		if p.topic == kTopic && !p.failed && !p.removed {
			cands = append(cands, p)
		}
	}
	if len(cands) == 0 {
		return
	}
	p := cands[wl.rng.IntN(len(cands))]
	log := p.store.Log
	segs := log.Segments()
	seg := segs[wl.rng.IntN(len(segs))]
	// storage names segments by their base offset, 20 digits.
	name := path.Join(p.dir, fmt.Sprintf("%020d.log", seg.Base))
	pos, h, ok := wl.syncedBatch(name, log.SyncedEnd())
	if !ok {
		return
	}
	off, bit := pos+crcStart+wl.rng.Int64N(h.Size()-crcStart), uint8(wl.rng.IntN(8))
	if err := wl.n.fs.Corrupt(name, off, bit); err != nil {
		wl.chk.violation("bit flip in %s at %d: %v", name, off, err)
		return
	}
	c := corruption{partition: p.index, base: h.BaseOffset, belowRP: h.BaseOffset < log.RecoveryPoint()}
	wl.corrupted = append(wl.corrupted, c)
	wl.counts.BitFlips++
	where := "above"
	if c.belowRP {
		where = "below"
	}
	wl.fault("bit-flip", fmt.Sprintf("%s batch %d (%s the recovery point %d) byte %d bit %d",
		p.dir, h.BaseOffset, where, log.RecoveryPoint(), off, bit))
}

// syncedBatch draws a batch of segment file name that is synced (below
// syncedEnd and whole on the medium), and returns its position. It reads
// the file as the disk holds it, outside any machine.
func (wl *workload) syncedBatch(name string, syncedEnd storage.Offset) (int64, storage.BatchHeader, bool) {
	durable, err := wl.n.fs.DurableSize(name)
	if err != nil {
		return 0, storage.BatchHeader{}, false
	}
	f, err := wl.n.fs.Open(name)
	if err != nil {
		return 0, storage.BatchHeader{}, false
	}
	defer f.Close()
	var positions []int64
	var headers []storage.BatchHeader
	buf := make([]byte, storage.BatchHeaderSize)
	for pos := int64(0); pos+storage.BatchHeaderSize <= durable; {
		if _, err := f.ReadAt(buf, pos); err != nil {
			break
		}
		h := storage.DecodeBatchHeader(buf)
		if h.Size() < storage.BatchHeaderSize || pos+h.Size() > durable || h.LastOffset() >= syncedEnd {
			break
		}
		positions, headers = append(positions, pos), append(headers, h)
		pos += h.Size()
	}
	if len(positions) == 0 {
		return 0, storage.BatchHeader{}, false
	}
	i := wl.rng.IntN(len(positions))
	return positions[i], headers[i], true
}

// corruptedPartition reports whether the injector flipped a bit in the
// Kafka clients' partition index.
func (wl *workload) corruptedPartition(index int32) bool {
	for _, c := range wl.corrupted {
		if c.partition == index {
			return true
		}
	}
	return false
}

// allowedLoss is one window per flipped partition, from its lowest
// flipped batch — or from 0 when the flip fail-stopped the partition: then
// none of it can be read (the drain checked the fail-stop was one the
// injector caused).
func (wl *workload) allowedLoss() []linearizability.LossWindow {
	var out []linearizability.LossWindow
	for p := int32(0); p < kPartitions; p++ {
		from, any := storage.Offset(0), false
		for _, c := range wl.corrupted {
			if c.partition == p && (!any || c.base < from) {
				from, any = c.base, true
			}
		}
		if any && wl.n.up && wl.n.failedPartition(fmt.Sprintf("%s-%d", kTopic, p)) {
			from = 0
		}
		if any {
			out = append(out, linearizability.LossWindow{Partition: linearizability.PartitionKey(kTopic, p), From: linearizability.Offset(from)})
		}
	}
	return out
}

// truncationExcuses reports whether anomaly a follows from a recovery
// truncating a flipped batch and what came after it: the truncated
// offsets are then given to new records (two values at one offset, an
// idempotent producer's later send at a lower offset, a send written
// again once the producer state was truncated with it). linearizability's
// AllowedLoss excuses only lost and unseen values, so the run excuses
// these when every offset involved lies in the partition's window.
func truncationExcuses(a linearizability.Anomaly, windows []linearizability.LossWindow) bool {
	switch a.Checker {
	case linearizability.InconsistentOffsets, linearizability.NonmonotonicSend, linearizability.Duplicate:
	default:
		return false
	}
	for _, w := range windows {
		if w.Partition == a.Partition && len(a.Offsets) > 0 && slices.Min(a.Offsets) >= w.From {
			return true
		}
	}
	return false
}
