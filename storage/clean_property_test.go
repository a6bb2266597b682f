package storage

// Goal: a model-based property test of log compaction (issue 6, first
// bullet). Random actions append keyed batches (values, tombstones, some
// keyless records, each codec, some of idempotent producers, some control
// batches), sync, advance the clock, run whole clean passes (random high
// watermark, delete.retention.ms, min.compaction.lag.ms, map budget and
// step budget) and crash and reopen the synced log.
//
// The model is the list of batches with their records (offset, key, value,
// timestamp) and each batch's KIP-534 delete horizon. A pass cleans, in the
// model, every batch below the pass's mapped end E (a segment base, which
// the test reads from the pass and checks against CleanableOffsets), with
// the latest offset per key taken over the dirty records [firstDirty, E):
//
//   - a record survives iff it has a key, no later record of its key is in
//     the dirty section, and it is not a tombstone whose batch's horizon
//     (set, by the pass that first kept it, to now + delete.retention.ms)
//     has passed;
//   - every kept record keeps its offset and timestamp; a batch keeping
//     none is gone, unless it is the newest batch of its producer: then it
//     stays, empty, with its offsets and producer fields;
//   - control batches and every batch at or above E stay byte for byte.
//
// After every action the log read from its start must equal the model
// exactly (batch by batch: offsets, producer fields, records), and the
// log's producer state must name, for every producer, its newest batch.

import (
	"bytes"
	"flag"
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/sim/simfs"
	"github.com/takhin-io/takhin/storage/compression"
)

type cleanModelBatch struct {
	base, last Offset
	control    bool
	pid        int64
	epoch      int16
	seq        int32
	horizon    int64 // -1: none
	recs       []readRecord
	bytes      []byte // the batch as appended; nil once the cleaner rewrote it
}

type cleanMachine struct {
	fs      *simfs.FS
	rng     *env.Rand
	log     *Log
	nowMs   int64
	batches []cleanModelBatch
	seqs    map[int64]int32
	passes  int
}

var cleanStats struct{ passes, rewritten, dropped, crashes, tombstonesExpired int }

func cleanPropConfig() Config {
	return Config{SegmentBytes: 700, SegmentMs: 1 << 40, IndexIntervalBytes: 100, ProducerIDExpirationMs: 1 << 40}
}

func (m *cleanMachine) open(t *rapid.T) {
	l, err := Open(m.fs, "c", cleanPropConfig(), m.nowMs)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	m.log = l
}

func (m *cleanMachine) Append(t *rapid.T) {
	n := rapid.IntRange(1, 4).Draw(t, "records")
	recs := make([]kv, n)
	for i := range recs {
		k := rapid.IntRange(-1, 5).Draw(t, "key")
		recs[i] = kv{ts: m.nowMs + int64(i)}
		if k >= 0 {
			recs[i].key = []byte(fmt.Sprintf("k%d", k))
		}
		if !rapid.Bool().Draw(t, "tombstone") || k < 0 {
			recs[i].value = bytes.Repeat([]byte{byte(len(m.batches))}, rapid.IntRange(0, 40).Draw(t, "size"))
		}
	}
	codec := compression.Codec(rapid.IntRange(0, 4).Draw(t, "codec"))
	pid := int64(rapid.IntRange(-1, 1).Draw(t, "producer"))
	control := rapid.IntRange(0, 9).Draw(t, "control") == 0
	if control {
		pid = -1
	}
	seq := int32(0)
	if pid >= 0 {
		seq = m.seqs[pid]
		m.seqs[pid] = seq + int32(n)
	}
	b := keyedBatch(t, recs, codec, pid, 0, seq, control)
	r, err := m.log.Append(b, AppendOptions{NowMs: m.nowMs})
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	mb := cleanModelBatch{base: r.Base, last: r.Last, control: control, pid: pid, seq: seq, horizon: -1,
		bytes: append([]byte(nil), b...)}
	mb.recs = decodeBatchRecords(t, b)
	m.batches = append(m.batches, mb)
}

func (m *cleanMachine) Sync(t *rapid.T) {
	if err := m.log.Sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
}

func (m *cleanMachine) Advance(t *rapid.T) {
	m.nowMs += int64(rapid.SampledFrom([]int{0, 1, 400, 3000}).Draw(t, "advance"))
}

// CrashSynced syncs, crashes and reopens: nothing may be lost, and
// recovery must accept the cleaned segments.
func (m *cleanMachine) CrashSynced(t *rapid.T) {
	m.Sync(t)
	m.log.Close()
	m.fs.Crash(m.rng)
	cleanStats.crashes++
	m.open(t)
}

func (m *cleanMachine) Clean(t *rapid.T) {
	m.Sync(t)
	var hw Offset
	if len(m.batches) > 0 {
		i := rapid.IntRange(0, len(m.batches)-1).Draw(t, "hw-batch")
		hw = m.batches[i].last + 1
	}
	p := CleanPolicy{
		HighWatermark: hw, NowMs: m.nowMs,
		DeleteRetentionMs:  int64(rapid.SampledFrom([]int{0, 500, 5000}).Draw(t, "delete-retention")),
		MinCompactionLagMs: int64(rapid.SampledFrom([]int{0, 0, 2000}).Draw(t, "min-lag")),
		MapBytesMax:        int64(rapid.SampledFrom([]int{1, 300, 0}).Draw(t, "map-bytes")),
	}
	want := CleanableOffsets(m.log.Segments(), m.log.StartOffset(), m.log.CleanedTo(), p)
	c := cleanAll(t, m.log, p, int64(rapid.IntRange(1, 3000).Draw(t, "budget")))
	if c.Section() != want {
		t.Fatalf("pass planned %+v, CleanableOffsets says %+v", c.Section(), want)
	}
	end := c.Stats.MappedTo
	if want.DirtyBytes == 0 {
		end = 0
	}
	if end > want.FirstUncleanable && want.DirtyBytes > 0 || end > hw {
		t.Fatalf("the pass mapped to %d, past the cleanable end %d (hw %d)", end, want.FirstUncleanable, hw)
	}
	if end > 0 {
		m.cleanModel(want.FirstDirty, end, p)
		cleanStats.passes++
		cleanStats.rewritten += c.Stats.BatchesRewritten
		cleanStats.dropped += c.Stats.BatchesDropped
	}
	m.passes++
}

// cleanModel applies a pass to the model.
func (m *cleanMachine) cleanModel(firstDirty, end Offset, p CleanPolicy) {
	latest := map[string]Offset{}
	newest := map[int64]Offset{}
	for _, b := range m.batches {
		if b.pid >= 0 {
			newest[b.pid] = b.last
		}
		if b.control || b.base >= end {
			continue
		}
		for _, r := range b.recs {
			if r.key != nil && r.offset >= firstDirty {
				latest[string(r.key)] = max(latest[string(r.key)], r.offset)
			}
		}
	}
	kept := m.batches[:0]
	for _, b := range m.batches {
		if b.control || b.base >= end {
			kept = append(kept, b)
			continue
		}
		recs, tombstones := []readRecord(nil), false
		for _, r := range b.recs {
			if l, ok := latest[string(r.key)]; r.key == nil || ok && r.offset < l {
				continue
			}
			if r.value == nil && b.horizon >= 0 && p.NowMs >= b.horizon {
				cleanStats.tombstonesExpired++
				continue
			}
			recs, tombstones = append(recs, r), tombstones || r.value == nil
		}
		switch {
		case len(recs) == 0 && b.pid >= 0 && newest[b.pid] == b.last:
			b.recs, b.horizon, b.bytes = nil, -1, nil
		case len(recs) == 0:
			continue
		case len(recs) < len(b.recs) || tombstones && b.horizon < 0:
			if tombstones && b.horizon < 0 {
				b.horizon = p.NowMs + p.DeleteRetentionMs
			}
			b.recs, b.bytes = recs, nil
		}
		kept = append(kept, b)
	}
	m.batches = kept
}

func (m *cleanMachine) Check(t *rapid.T) {
	got := readBatches(t, m.log)
	if len(got) != len(m.batches) {
		t.Fatalf("the log holds %d batches, the model %d", len(got), len(m.batches))
	}
	for i, b := range got {
		want := m.batches[i]
		h := DecodeBatchHeader(b)
		if want.bytes != nil && !bytes.Equal(b, want.bytes) {
			t.Fatalf("batch %d changed although the cleaner kept it", want.base)
		}
		if h.BaseOffset != want.base || h.LastOffset() != want.last || h.ProducerID != want.pid ||
			(want.pid >= 0 && h.BaseSequence != want.seq) || h.IsControl() != want.control {
			t.Fatalf("batch %d: header %+v, model %+v", i, h, want)
		}
		if hasH := h.Attributes&attrDeleteHorizon != 0; hasH != (want.horizon >= 0) || hasH && h.BaseTimestamp != want.horizon {
			t.Fatalf("batch %d: horizon attr %v base ts %d, model horizon %d", want.base, hasH, h.BaseTimestamp, want.horizon)
		}
		recs := decodeBatchRecords(t, b)
		if h.Attributes&attrCompression == 0 && !h.IsControl() {
			// The metadata and group loaders read with ReadRecords: it
			// must accept the cleaner's offset gaps.
			if rs, err := ReadRecords(b); err != nil || len(rs) != len(recs) {
				t.Fatalf("batch %d: ReadRecords: %d records, %v", want.base, len(rs), err)
			}
		}
		if len(recs) != len(want.recs) {
			t.Fatalf("batch %d: %d records, model %d", want.base, len(recs), len(want.recs))
		}
		for j, r := range recs {
			w := want.recs[j]
			if r.offset != w.offset || !bytes.Equal(r.key, w.key) || !bytes.Equal(r.value, w.value) ||
				(r.value == nil) != (w.value == nil) || r.ts != w.ts {
				t.Fatalf("batch %d record %d: %+v, model %+v", want.base, j, r, w)
			}
		}
	}
	m.checkProducers(t)
}

// checkProducers checks that each producer's newest batch is known to the
// log's producer state.
func (m *cleanMachine) checkProducers(t *rapid.T) {
	newest := map[int64]cleanModelBatch{}
	for _, b := range m.batches {
		if b.pid >= 0 {
			newest[b.pid] = b
		}
	}
	state := m.log.ProducerState()
	for pid, b := range newest {
		e, ok := state.Producer(pid)
		if !ok {
			t.Fatalf("producer %d lost", pid)
		}
		if last := e.Batches[len(e.Batches)-1]; last.LastOffset != b.last || last.FirstSeq != b.seq {
			t.Fatalf("producer %d: newest batch %+v, model ends at %d seq %d", pid, last, b.last, b.seq)
		}
	}
}

func TestCleanerAgainstModel(t *testing.T) {
	if f := flag.Lookup("rapid.checks"); f != nil && f.Value.String() == f.DefValue && !testing.Short() {
		_ = f.Value.Set("1000")
	}
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		m := &cleanMachine{
			fs: simfs.New(env.NewRand(seed, "disk"), simfs.Options{}), rng: env.NewRand(seed, "crash"),
			nowMs: 1_000_000, seqs: map[int64]int32{},
		}
		m.open(t)
		t.Repeat(map[string]func(*rapid.T){
			"append":  m.Append,
			"append2": m.Append,
			"append3": m.Append,
			"sync":    m.Sync,
			"advance": m.Advance,
			"clean":   m.Clean,
			"crash":   m.CrashSynced,
			"":        m.Check,
		})
	})
	t.Logf("exercised: %+v", cleanStats)
	if !testing.Short() && (cleanStats.passes == 0 || cleanStats.rewritten == 0 || cleanStats.dropped == 0 || cleanStats.tombstonesExpired == 0) {
		t.Fatalf("the run exercised too little: %+v", cleanStats)
	}
}
