package storage

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/takhin-io/takhin/internal/assert"
)

// EpochEntry says that leader epoch Epoch wrote its first batch at
// StartOffset (Kafka's leader-epoch-checkpoint, KIP-101/KIP-279).
type EpochEntry struct {
	Epoch       Epoch
	StartOffset Offset
}

// epochCache is the ordered list of epoch starts. Epochs and start offsets
// strictly increase.
type epochCache struct {
	entries []EpochEntry
	dirty   bool // changed since the last checkpoint
}

const epochCheckpointName = "leader-epoch-checkpoint"

// observe records that a batch of epoch e starts at offset.
func (c *epochCache) observe(e Epoch, offset Offset) {
	n := len(c.entries)
	if n > 0 && e <= c.entries[n-1].Epoch {
		return
	}
	if n > 0 && offset <= c.entries[n-1].StartOffset {
		// A new epoch starting where the old one did replaces it: the old
		// epoch wrote nothing that survives.
		c.entries = c.entries[:n-1]
	}
	c.entries = append(c.entries, EpochEntry{Epoch: e, StartOffset: offset})
	c.dirty = true
}

// truncateFrom drops the epochs that start at or after end.
func (c *epochCache) truncateFrom(end Offset) {
	i := len(c.entries)
	for i > 0 && c.entries[i-1].StartOffset >= end {
		i--
	}
	if i != len(c.entries) {
		c.entries = c.entries[:i]
		c.dirty = true
	}
}

// endOffsetFor answers OffsetForLeaderEpoch as Kafka does: the largest
// epoch ≤ e and the start offset of the epoch after it (or logEnd when it is
// the latest). An epoch below every known one gives (-1, -1).
func (c *epochCache) endOffsetFor(e Epoch, logEnd Offset) (Epoch, Offset) {
	for i := len(c.entries) - 1; i >= 0; i-- {
		if c.entries[i].Epoch <= e {
			if i == len(c.entries)-1 {
				return c.entries[i].Epoch, logEnd
			}
			return c.entries[i].Epoch, c.entries[i+1].StartOffset
		}
	}
	return -1, -1
}

func (c *epochCache) encode() []string {
	lines := []string{"count " + strconv.Itoa(len(c.entries))}
	for _, e := range c.entries {
		lines = append(lines, fmt.Sprintf("%d %d", e.Epoch, e.StartOffset))
	}
	return lines
}

func decodeEpochs(lines []string) ([]EpochEntry, error) {
	if len(lines) == 0 {
		return nil, fmt.Errorf("%w: empty epoch checkpoint", ErrCorrupt)
	}
	n, err := parseField(lines[0], "count")
	if err != nil || n != int64(len(lines)-1) {
		return nil, fmt.Errorf("%w: epoch checkpoint count %q for %d lines", ErrCorrupt, lines[0], len(lines)-1)
	}
	out := make([]EpochEntry, 0, n)
	for _, l := range lines[1:] {
		fields := strings.Fields(l)
		if len(fields) != 2 {
			return nil, fmt.Errorf("%w: epoch line %q", ErrCorrupt, l)
		}
		e, err1 := strconv.ParseInt(fields[0], 10, 32)
		o, err2 := strconv.ParseInt(fields[1], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: epoch line %q", ErrCorrupt, l)
		}
		if k := len(out); k > 0 && (Epoch(e) <= out[k-1].Epoch || Offset(o) <= out[k-1].StartOffset) {
			return nil, fmt.Errorf("%w: epoch line %q out of order", ErrCorrupt, l)
		}
		out = append(out, EpochEntry{Epoch: Epoch(e), StartOffset: Offset(o)})
	}
	return out, nil
}

func (c *epochCache) checkInvariants() {
	for i := 1; i < len(c.entries); i++ {
		assert.That(c.entries[i].Epoch > c.entries[i-1].Epoch, "epochs increase")
		assert.That(c.entries[i].StartOffset > c.entries[i-1].StartOffset, "epoch starts increase")
	}
}
