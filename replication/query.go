package replication

import (
	"errors"
	"fmt"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/storage"
)

// ListOffset asks where a ListOffsets request points (Kafka's special
// timestamps, or a real one).
type ListOffset struct {
	Now       env.Time
	ID        RequestID
	Timestamp int64
}

// EpochEnd asks OffsetForLeaderEpoch's question: the end offset of the
// largest epoch ≤ Epoch.
type EpochEnd struct {
	Now   env.Time
	ID    RequestID
	Epoch storage.Epoch
}

func (e ListOffset) When() env.Time { return e.Now }
func (e EpochEnd) When() env.Time   { return e.Now }

// Kafka's special ListOffsets timestamps.
const (
	TimestampLatest        int64 = -1
	TimestampEarliest      int64 = -2
	TimestampMax           int64 = -3
	TimestampEarliestLocal int64 = -4
	TimestampLatestTiered  int64 = -5
)

// stepListOffset answers from state where it can: latest is the high
// watermark (read_uncommitted, as Kafka), earliest and earliest-local the
// log start; without tiered storage latest-tiered is (-1, -1). A real
// timestamp or the max-timestamp query needs the disk: a Read by time,
// whose batch the broker then searches record by record.
func (p *Partition) stepListOffset(e ListOffset) {
	switch {
	case !p.recovered:
		p.reply(Reply{ID: e.ID, Err: ErrNotReady})
	case e.Timestamp == TimestampLatest:
		p.reply(Reply{ID: e.ID, Base: p.hw, HighWatermark: p.hw, LogStart: p.start, Timestamp: -1})
	case e.Timestamp == TimestampEarliest || e.Timestamp == TimestampEarliestLocal:
		p.reply(Reply{ID: e.ID, Base: p.start, HighWatermark: p.hw, LogStart: p.start, Timestamp: -1})
	case e.Timestamp == TimestampLatestTiered:
		p.reply(Reply{ID: e.ID, Base: -1, HighWatermark: p.hw, LogStart: p.start, Timestamp: -1})
	case e.Timestamp >= 0 || e.Timestamp == TimestampMax:
		ts := e.Timestamp
		p.reads[e.ID] = true
		p.ready.Reads = append(p.ready.Reads, Read{ID: e.ID, From: p.start, UpTo: p.hw, ByTimestamp: &ts})
	default:
		p.reply(Reply{ID: e.ID, Err: fmt.Errorf("%w: timestamp %d", ErrInvalidRequest, e.Timestamp)})
	}
}

// stepEpochEnd answers KIP-279's question as Kafka's
// LeaderEpochFileCache.endOffsetFor does. One node has one epoch: it ends
// at the log end; an epoch past it (above any known) and UNDEFINED (-1)
// get UNDEFINED (-1, -1).
func (p *Partition) stepEpochEnd(e EpochEnd) {
	switch {
	case !p.recovered:
		p.reply(Reply{ID: e.ID, Err: ErrNotReady})
	case e.Epoch == p.cfg.Epoch:
		p.reply(Reply{ID: e.ID, Epoch: p.cfg.Epoch, Base: p.written, HighWatermark: p.hw, LogStart: p.start})
	default:
		p.reply(Reply{ID: e.ID, Epoch: -1, Base: -1, HighWatermark: p.hw, LogStart: p.start})
	}
}

// timestampReply answers a by-time Read: the batch found, or none (-1).
func (p *Partition) timestampReply(e ReadDone) Reply {
	r := Reply{ID: e.ID, HighWatermark: p.hw, LogStart: p.start, Base: -1, Timestamp: -1}
	if e.Err != nil && !errors.Is(e.Err, storage.ErrOffsetOutOfRange) {
		r.Err = fmt.Errorf("%w: %v", ErrStorage, e.Err)
		return r
	}
	if len(e.Result.Batches) >= storage.BatchHeaderSize {
		h := storage.DecodeBatchHeader(e.Result.Batches)
		if h.BaseOffset < p.hw {
			r.Base, r.Batches, r.Timestamp = h.BaseOffset, e.Result.Batches, h.MaxTimestamp
		}
	}
	return r
}

// ErrInvalidRequest: a request the partition cannot make sense of
// (INVALID_REQUEST).
var ErrInvalidRequest = errors.New("replication: invalid request")
