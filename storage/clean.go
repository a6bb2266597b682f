package storage

import (
	"errors"
	"fmt"
	"math"
	"path"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/internal/assert"
)

// Log compaction (cleanup.policy=compact), Kafka's LogCleaner as chunked
// background work. A pass (CleanPass) runs in steps the executor bounds:
//
//  1. Map: read the dirty section [FirstDirty, FirstUncleanable) (see
//     CleanableOffsets) segment by segment into a key → latest offset map,
//     stopping early at a segment boundary when the map reaches
//     CleanPolicy.MapBytesMax. Steps read about budgetBytes each.
//  2. Clean: from the first segment to the end of what was mapped, one
//     group of consecutive segments per step (their sizes summing to at
//     most segment.bytes, their offsets fitting one segment), each group
//     rewritten into one segment with the first one's base offset through
//     the batch filter (clean_records.go), and swapped in (clean_swap.go).
//  3. The cleaner checkpoint records the end of the mapped section: the
//     next pass's first dirty offset.
//
// Only segments wholly below the high watermark and below the active
// segment are touched, so the tail the partition machine serves from and
// every unsynced byte stay as they are. A crash between steps loses the
// pass (the next one starts over: cleaning is idempotent) but never the
// log: see clean_swap.go.

// CleanStats counts what a pass did.
type CleanStats struct {
	SegmentsCleaned  int
	BytesRead        int64 // cleaning reads, the map's included
	BytesWritten     int64
	BatchesDropped   int
	BatchesRewritten int
	MapKeys          int
	MappedTo         Offset // the end of the dirty section the map covered: the cleaner checkpoint at the end
}

// CleanPass is one compaction pass in progress, owned by the executor
// between steps. It holds the key map, which can be large (MapBytesMax).
type CleanPass struct {
	section CleanableSection
	mapMax  int64
	filter  *batchFilter
	mapping bool   // in phase 1
	mapFrom Offset // phase 1: the next dirty offset to map
	next    Offset // phase 2: the base of the next segment to clean
	done    bool
	out     []byte // phase 2: the cleaned batches not yet written
	Stats   CleanStats
}

// Done reports that the pass has finished (or had nothing to do).
func (c *CleanPass) Done() bool { return c.done }

// Section is the dirty section the pass planned from.
func (c *CleanPass) Section() CleanableSection { return c.section }

// CleanedTo is the cleaner checkpoint: the first dirty offset of the next
// pass (segments below it were cleaned by a pass that mapped up to it).
func (l *Log) CleanedTo() Offset { return l.cleanedTo }

// StartClean plans a pass over the log as it is now. A pass with an empty
// dirty section is done at once.
func (l *Log) StartClean(p CleanPolicy) (*CleanPass, error) {
	if err := l.usable(); err != nil {
		return nil, err
	}
	section := CleanableOffsets(l.Segments(), l.startOffset, l.cleanedTo, p)
	c := &CleanPass{section: section, mapMax: p.MapBytesMax, mapping: true, mapFrom: section.FirstDirty,
		next: l.segments[0].base, filter: newBatchFilter(p, l.prod.state)}
	if c.mapMax <= 0 {
		c.mapMax = defaultMapBytesMax
	}
	c.Stats.MappedTo = section.FirstDirty
	c.done = section.FirstUncleanable <= section.FirstDirty || section.DirtyBytes == 0
	return c, nil
}

// CleanStep runs one bounded step of the pass: mapping about budgetBytes of
// the dirty section, or cleaning one group of segments. It reports whether
// the pass is done. An error ends the pass; ENOSPC leaves the log as it
// was (retryable at a later pass), any other write, sync or rename error
// fail-stops the log (recovery finishes or forgets the swap in progress).
func (l *Log) CleanStep(c *CleanPass, budgetBytes int64) (bool, error) {
	if err := l.usable(); err != nil {
		return true, err
	}
	if c.done {
		return true, nil
	}
	if c.mapping {
		return false, l.mapDirty(c, budgetBytes)
	}
	if err := l.cleanNextGroup(c); err != nil {
		c.done = true
		if errors.Is(err, errStalePass) {
			return true, nil // no checkpoint: the next pass starts over
		}
		return true, err
	}
	if c.next < c.Stats.MappedTo {
		return false, nil
	}
	c.done = true
	return true, l.writeCleanerCheckpoint(c.Stats.MappedTo)
}

// mapDirty maps dirty segments from c.mapFrom until budgetBytes were read,
// the dirty section ends or the map is full.
func (l *Log) mapDirty(c *CleanPass, budgetBytes int64) error {
	read := int64(0)
	for c.mapping && (read == 0 || read < budgetBytes) {
		i := l.segmentFor(c.mapFrom)
		s := l.segments[i]
		if s.base >= c.section.FirstUncleanable || i+1 >= len(l.segments) {
			c.mapping = false
			break
		}
		if err := l.eachBatch(s, func(h *BatchHeader, b []byte) error {
			c.filter.mapBatch(b, h)
			return nil
		}); err != nil {
			c.done = true
			return err
		}
		read += s.size
		c.mapFrom = l.segments[i+1].base
		c.Stats.MappedTo = c.mapFrom
		if c.filter.keyBytes >= c.mapMax || c.mapFrom >= c.section.FirstUncleanable {
			c.mapping = false
		}
	}
	c.Stats.BytesRead += read
	c.Stats.MapKeys = len(c.filter.keys)
	return nil
}

// eachBatch calls fn with every batch of s, CRC-checked, in order. The
// batch aliases the log's scratch buffer until the next read. A batch bad
// twice fail-stops the log (as reads do).
func (l *Log) eachBatch(s *segment, fn func(*BatchHeader, []byte) error) error {
	prevNext := s.base
	for pos := int64(0); pos < s.size; {
		var h BatchHeader
		var b []byte
		err := l.retryCorrupt(func() (err error) {
			h, b, err = s.readBatch(pos, s.size, &l.buf)
			if err == nil && (h.BaseOffset < prevNext || !s.holds(&h)) {
				err = fmt.Errorf("%w: batch %d..%d at position %d of segment %d out of order or past its end %d", errBadBatch, h.BaseOffset, h.LastOffset(), pos, s.base, s.next)
			}
			return err
		})
		if err != nil {
			return err
		}
		if err := fn(&h, b); err != nil {
			return err
		}
		prevNext, pos = h.NextOffset(), pos+h.Size()
	}
	return nil
}

// cleanGroupEnd returns the end (exclusive index) of the group of segments
// starting at i that one step cleans: consecutive segments below the
// mapped end and the active segment, whose sizes sum to at most
// segment.bytes (at least one) and whose offsets fit one segment.
func (l *Log) cleanGroupEnd(i int, mappedTo Offset) int {
	base, size := l.segments[i].base, int64(0)
	j := i
	for j+1 < len(l.segments) && l.segments[j].base < mappedTo {
		s := l.segments[j]
		if j > i && (size+s.size > l.cfg.SegmentBytes || int64(s.next-1-base) > math.MaxInt32) {
			break
		}
		size += s.size
		j++
	}
	return j
}

// errStalePass: the segments changed under the pass between its steps (a
// truncation; nothing else touches non-active segments while a pass is in
// flight).
var errStalePass = errors.New("storage: the segments changed under the clean pass")

// cleanNextGroup cleans the group at c.next and swaps it in.
func (l *Log) cleanNextGroup(c *CleanPass) error {
	i := l.segmentFor(c.next)
	if l.segments[i].base != c.next || i+1 >= len(l.segments) {
		return errStalePass
	}
	j := l.cleanGroupEnd(i, c.Stats.MappedTo)
	assert.That(j > i && j < len(l.segments), "a clean group holds at least one non-active segment")
	ns, err := l.writeCleaned(c, l.segments[i:j])
	if err != nil {
		return err
	}
	if err := l.swapCleaned(l.segments[i:j], ns); err != nil {
		return err
	}
	l.segments = append(l.segments[:i], append([]*segment{ns}, l.segments[j:]...)...)
	c.next = l.segments[i+1].base
	c.Stats.SegmentsCleaned += j - i
	l.checkInvariants()
	return nil
}

// cleanedName is where a group's cleaned segment is written before it is
// swapped in.
func cleanedName(base Offset) string { return segmentName(base, cleanedSuffix) }

const cleanedSuffix = ".cleaned"

// writeCleaned writes the filtered batches of group into a new, synced
// "<base>.cleaned" file and returns it as a segment. On an error the file
// is removed (best effort: recovery removes leftovers too).
func (l *Log) writeCleaned(c *CleanPass, group []*segment) (*segment, error) {
	base := group[0].base
	name := path.Join(l.dir, cleanedName(base))
	f, err := l.fs.Create(name)
	if err != nil {
		return nil, fmt.Errorf("storage: create %s: %w", name, err)
	}
	ns := newSegment(l.dir, base, f, group[0].createdMs)
	for _, s := range group { // Kafka keeps the group's last modification time
		ns.modifiedMs = max(ns.modifiedMs, s.modifiedMs)
	}
	err = l.filterGroup(c, group, ns)
	if err == nil {
		err = ns.sync()
		if err == nil {
			// The name is durable before the swap intent can be (see
			// clean_swap.go): a disk may keep a later rename and lose
			// an earlier link when both are unsynced.
			err = l.fs.SyncDir(l.dir)
		}
		if err != nil {
			err = l.fail(err)
		}
	}
	if err != nil {
		_ = f.Close()
		if rerr := l.fs.Remove(name); rerr != nil && !errors.Is(rerr, env.ErrNotExist) && l.failed == nil {
			return nil, l.fail(fmt.Errorf("storage: remove %s: %w (after %v)", name, rerr, err))
		}
		return nil, err
	}
	return ns, nil
}

// filterGroup runs every batch of group through the filter into ns.
func (l *Log) filterGroup(c *CleanPass, group []*segment, ns *segment) error {
	c.out = c.out[:0]
	for _, s := range group {
		err := l.eachBatch(s, func(h *BatchHeader, b []byte) error {
			before := len(c.out)
			out, err := c.filter.filter(c.out, b, h)
			if err != nil {
				return err
			}
			c.out = out
			switch n := len(out) - before; {
			case n == 0:
				c.Stats.BatchesDropped++
			case n != len(b) || string(out[before:]) != string(b):
				c.Stats.BatchesRewritten++
			}
			if len(c.out) >= 1<<20 {
				return l.flushCleaned(c, ns)
			}
			return nil
		})
		if err != nil {
			return err
		}
		c.Stats.BytesRead += s.size
	}
	return l.flushCleaned(c, ns)
}

// flushCleaned writes c.out to the cleaned segment and tracks its batches.
func (l *Log) flushCleaned(c *CleanPass, ns *segment) error {
	if len(c.out) == 0 {
		return nil
	}
	pos := ns.size
	if err := ns.write(c.out); err != nil {
		if errors.Is(err, ErrFailed) {
			return l.fail(err)
		}
		return err
	}
	for b := c.out; len(b) > 0; {
		h := DecodeBatchHeader(b)
		ns.track(&h, pos, l.cfg.IndexIntervalBytes)
		pos += h.Size()
		b = b[h.Size():]
	}
	c.Stats.BytesWritten += int64(len(c.out))
	c.out = c.out[:0]
	return nil
}
