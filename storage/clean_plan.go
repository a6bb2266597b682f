package storage

import "math"

// CleanPolicy is the input of the log cleaner (Kafka's LogCleaner, for
// cleanup.policy=compact): when a pass is due and what it may remove.
type CleanPolicy struct {
	// HighWatermark bounds the pass: no segment holding an offset at or
	// above it is cleaned (and never the active segment).
	HighWatermark Offset
	// NowMs is the event's wall time: the compaction lags are measured
	// against it, and a tombstone first kept gets NowMs+DeleteRetentionMs
	// as its batch's delete horizon.
	NowMs int64
	// DeleteRetentionMs is delete.retention.ms: how long a tombstone
	// survives after the pass that first cleaned its batch.
	DeleteRetentionMs int64
	// MinCompactionLagMs is min.compaction.lag.ms: a segment holding a
	// batch younger than this is not cleaned, nor anything after it.
	MinCompactionLagMs int64
	// MaxCompactionLagMs is max.compaction.lag.ms: a dirty segment whose
	// first batch is older than this makes a pass due whatever the ratio.
	MaxCompactionLagMs int64
	// MinCleanableRatio is min.cleanable.dirty.ratio: a pass is due when
	// dirty bytes / (clean + dirty bytes) exceeds it.
	MinCleanableRatio float64
	// MapBytesMax bounds the pass's key → offset map
	// (log.cleaner.dedupe.buffer.size); 0 means 128 MiB. A dirty section
	// with more keys is cleaned up to the segment where the map filled,
	// and the rest at the next pass.
	MapBytesMax int64
}

const defaultMapBytesMax = 128 << 20

// CleanableSection is Kafka's cleanableOffsets and cleanable ratio for one
// log: [FirstDirty, FirstUncleanable) is the dirty section a pass maps
// (empty when FirstUncleanable ≤ FirstDirty); everything below FirstDirty
// was cleaned by an earlier pass. FirstUncleanable is a segment base.
type CleanableSection struct {
	FirstDirty, FirstUncleanable Offset
	// CleanBytes and DirtyBytes are the sizes of the segments wholly below
	// FirstDirty and of those in the dirty section.
	CleanBytes, DirtyBytes int64
	// OverdueMs is how far past max.compaction.lag.ms the oldest dirty
	// segment's first batch is (Kafka's maxCompactionDelay); 0 when none
	// is.
	OverdueMs int64
}

// Ratio is the dirty ratio: dirty bytes over clean plus dirty bytes.
func (c CleanableSection) Ratio() float64 {
	if c.CleanBytes+c.DirtyBytes == 0 {
		return 0
	}
	return float64(c.DirtyBytes) / float64(c.CleanBytes+c.DirtyBytes)
}

// Due is Kafka's grabFilthiestCompactedLog test for one log: there is
// something to clean, and either max.compaction.lag.ms forces it or the
// dirty ratio exceeds min.cleanable.dirty.ratio.
func (c CleanableSection) Due(p CleanPolicy) bool {
	return c.DirtyBytes > 0 && (c.OverdueMs > 0 || c.Ratio() > p.MinCleanableRatio)
}

// CleanableOffsets follows Kafka's LogCleanerManager.cleanableOffsets over
// the segments (oldest first, the active one last). The first dirty offset
// is cleanedTo (the cleaner checkpoint), reset to the log start when it
// lies outside [logStart, log end]. The first uncleanable offset is the
// base of the first segment that is active, holds an offset at or above
// the high watermark, or (from the dirty section on, when
// min.compaction.lag.ms > 0) holds a batch whose timestamp is within the
// lag of now (or, without timestamps, was appended to within it). A segment wholly below the first dirty offset is clean; one
// overlapping it is dirty.
func CleanableOffsets(segs []SegmentInfo, logStart, cleanedTo Offset, p CleanPolicy) CleanableSection {
	if len(segs) == 0 {
		return CleanableSection{FirstDirty: logStart, FirstUncleanable: logStart}
	}
	firstDirty := cleanedTo
	if firstDirty < logStart || firstDirty > segs[len(segs)-1].Next {
		firstDirty = logStart
	}
	c := CleanableSection{FirstDirty: firstDirty, FirstUncleanable: segs[len(segs)-1].Base}
	earliest := int64(math.MaxInt64)
	for _, s := range segs {
		if s.Active {
			break
		}
		dirty := s.Next > firstDirty
		if dirty && s.FirstTimestamp > 0 {
			earliest = min(earliest, s.FirstTimestamp)
		}
		if s.Base >= c.FirstUncleanable {
			continue // past the cleanable end: only the lag check above reads it
		}
		young := dirty && p.MinCompactionLagMs > 0 && s.AgeTimestamp() > p.NowMs-p.MinCompactionLagMs
		if s.Next > p.HighWatermark || young {
			c.FirstUncleanable = s.Base
			continue
		}
		if dirty {
			c.DirtyBytes += s.SizeBytes
		} else {
			c.CleanBytes += s.SizeBytes
		}
	}
	if p.MaxCompactionLagMs > 0 && earliest != math.MaxInt64 {
		if until := p.NowMs - p.MaxCompactionLagMs; earliest < until {
			c.OverdueMs = until - earliest
		}
	}
	return c
}
