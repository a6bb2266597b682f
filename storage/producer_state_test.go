package storage

// Goal: the pure idempotent-producer state follows Kafka's rules exactly —
// every Check rule (unknown producer at any sequence, next sequence,
// duplicates of each of the last five batches but not the sixth-oldest,
// gaps, lower and higher epochs, the 2^31−1 → 0 wrap for both the next
// sequence and duplicate detection, control and non-idempotent batches
// skipped, malformed ones rejected), Apply's bookkeeping, Expire's
// boundary, Clone's independence, Undo's exactness, and the snapshot codec
// (round trip, determinism, and every kind of corruption is ErrCorrupt).

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"testing"
)

// ph is the header of an idempotent batch of n records at base.
func ph(pid int64, epoch int16, seq int32, n int32, base Offset) BatchHeader {
	return BatchHeader{BaseOffset: base, Magic: 2, LastOffsetDelta: n - 1, RecordCount: n,
		ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq}
}

// stateOf applies hs in order at 1000 ms.
func stateOf(hs ...BatchHeader) *ProducerState {
	s := NewProducerState()
	for _, h := range hs {
		s.Apply(h, 1000)
	}
	return s
}

// sixBatches: producer 7, epoch 3, six batches of two records, sequences
// 0..11 at offsets 100, 110, ...: the cache holds the last five (seq 2..11).
func sixBatches() []BatchHeader {
	var hs []BatchHeader
	for i := int32(0); i < 6; i++ {
		hs = append(hs, ph(7, 3, 2*i, 2, Offset(100+10*i)))
	}
	return hs
}

func TestProducerStateCheck(t *testing.T) {
	six := stateOf(sixBatches()...)
	// Producer 9's last batch runs from MaxInt32-1 over the wrap to 1:
	// MaxInt32-1, MaxInt32, 0, 1.
	wrapped := stateOf(ph(9, 0, math.MaxInt32-5, 4, 10), ph(9, 0, math.MaxInt32-1, 4, 20))
	control := ph(7, 3, 999, 1, 0)
	control.Attributes = attrControl
	txn := ph(7, 3, 13, 1, 0)
	txn.Attributes = attrTransactional
	type checkCase struct {
		name  string
		s     *ProducerState
		h     BatchHeader
		want  Verdict
		batch ProducerBatch
	}
	cases := []checkCase{
		{"no producer id", six, ph(-1, -1, -1, 3, 0), Accept, ProducerBatch{}},
		{"control batch skipped", six, control, Accept, ProducerBatch{}},
		{"negative sequence", six, ph(7, 3, -1, 1, 0), InvalidRecord, ProducerBatch{}},
		{"negative epoch", six, ph(7, -1, 12, 1, 0), InvalidRecord, ProducerBatch{}},
		{"unknown producer at 0", six, ph(8, 0, 0, 1, 0), Accept, ProducerBatch{}},
		{"unknown producer at any sequence", six, ph(8, 5, 123456, 1, 0), Accept, ProducerBatch{}},
		{"next sequence", six, ph(7, 3, 12, 3, 0), Accept, ProducerBatch{}},
		{"gap", six, ph(7, 3, 13, 1, 0), OutOfOrder, ProducerBatch{}},
		{"transactional gap", six, txn, OutOfOrder, ProducerBatch{}},
		{"behind but no cached batch matches", six, ph(7, 3, 3, 2, 0), OutOfOrder, ProducerBatch{}},
		{"same first sequence, other last", six, ph(7, 3, 10, 1, 0), OutOfOrder, ProducerBatch{}},
		{"sixth-oldest is no longer a duplicate", six, ph(7, 3, 0, 2, 0), OutOfOrder, ProducerBatch{}},
		{"lower epoch", six, ph(7, 2, 12, 1, 0), InvalidEpoch, ProducerBatch{}},
		{"lower epoch with a cached sequence", six, ph(7, 2, 10, 2, 0), InvalidEpoch, ProducerBatch{}},
		{"higher epoch at 0", six, ph(7, 4, 0, 1, 0), Accept, ProducerBatch{}},
		{"higher epoch at the next sequence", six, ph(7, 4, 12, 1, 0), OutOfOrder, ProducerBatch{}},
		{"higher epoch, a cached sequence", six, ph(7, 4, 10, 2, 0), OutOfOrder, ProducerBatch{}},
		{"next after the wrap", wrapped, ph(9, 0, 2, 1, 0), Accept, ProducerBatch{}},
		{"zero is a gap after the wrap", wrapped, ph(9, 0, 0, 1, 0), OutOfOrder, ProducerBatch{}},
		{"duplicate across the wrap", wrapped, ph(9, 0, math.MaxInt32-1, 4, 0), Duplicate,
			ProducerBatch{FirstSeq: math.MaxInt32 - 1, LastSeq: 1, FirstOffset: 20, LastOffset: 23}},
		{"duplicate ending at MaxInt32", wrapped, ph(9, 0, math.MaxInt32-5, 4, 0), Duplicate,
			ProducerBatch{FirstSeq: math.MaxInt32 - 5, LastSeq: math.MaxInt32 - 2, FirstOffset: 10, LastOffset: 13}},
	}
	for i := int32(1); i <= 5; i++ { // the five cached batches, oldest first
		cases = append(cases, checkCase{fmt.Sprintf("duplicate of cached batch %d", i), six, ph(7, 3, 2*i, 2, 0), Duplicate,
			ProducerBatch{FirstSeq: 2 * i, LastSeq: 2*i + 1, FirstOffset: Offset(100 + 10*i), LastOffset: Offset(101 + 10*i)}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, b := c.s.Check(c.h)
			if v != c.want || b != c.batch {
				t.Fatalf("Check = %v %+v, want %v %+v", v, b, c.want, c.batch)
			}
		})
	}
}

func TestNextExpectedAtMaxInt32(t *testing.T) {
	s := stateOf(ph(1, 0, math.MaxInt32-1, 2, 0)) // last sequence MaxInt32
	if v, _ := s.Check(ph(1, 0, 0, 1, 5)); v != Accept {
		t.Fatalf("sequence 0 after MaxInt32: %v, want accept", v)
	}
	if v, _ := s.Check(ph(1, 0, math.MaxInt32, 1, 5)); v != OutOfOrder {
		t.Fatalf("MaxInt32 again: %v, want out-of-order", v)
	}
}

func TestApplyBookkeeping(t *testing.T) {
	s := stateOf(sixBatches()...)
	e, _ := s.Producer(7)
	if len(e.Batches) != ProducerBatchesRetained || e.Batches[0].FirstSeq != 2 || e.Batches[4].LastSeq != 11 {
		t.Fatalf("kept %+v, want the last five batches", e.Batches)
	}
	s.Apply(ph(7, 4, 0, 1, 200), 2000) // a bump starts a new list
	e, _ = s.Producer(7)
	if e.Epoch != 4 || len(e.Batches) != 1 || e.Batches[0] != (ProducerBatch{0, 0, 200, 200}) || e.LastAppendMs != 2000 {
		t.Fatalf("after the bump: %+v", e)
	}
	control := ph(8, 0, 0, 1, 300)
	control.Attributes = attrControl
	for _, h := range []BatchHeader{control, ph(-1, -1, -1, 1, 300), ph(8, 0, -5, 1, 300)} {
		if u := s.Apply(h, 3000); !s.Undo(u) || s.Len() != 1 {
			t.Fatalf("%+v changed the state: %d producers", h, s.Len())
		}
	}
	if got := ph(1, 0, math.MaxInt32-2, 5, 0).LastSequence(); got != 1 {
		t.Fatalf("LastSequence across the wrap = %d, want 1", got)
	}
}

func TestExpire(t *testing.T) {
	s := NewProducerState()
	for i, ms := range []int64{100, 250, 300, 400} {
		s.Apply(ph(int64(i), 0, 0, 1, Offset(i)), ms)
	}
	// now 1300, expiration 1000: ages 1200, 1050, 1000 (expired, as Kafka's
	// >=) and 900 (kept).
	if n := s.Expire(1300, 1000); n != 3 {
		t.Fatalf("expired %d, want 3", n)
	}
	if got := s.Producers(); len(got) != 1 || got[0].ProducerID != 3 {
		t.Fatalf("left %+v, want producer 3", got)
	}
	if n := s.Expire(1300, 1000); n != 0 {
		t.Fatalf("expired %d more", n)
	}
	if v, _ := s.Check(ph(0, 0, 77, 1, 9)); v != Accept {
		t.Fatalf("an expired producer is unknown: accept at any sequence, got %v", v)
	}
}

func TestCloneIsIndependent(t *testing.T) {
	s := stateOf(sixBatches()...)
	c := s.Clone()
	c.Apply(ph(7, 3, 12, 1, 200), 5000)
	c.Apply(ph(8, 0, 0, 1, 201), 5000)
	if !s.Equal(stateOf(sixBatches()...)) {
		t.Fatalf("applying to a clone changed the original")
	}
	s.Expire(1<<40, 1)
	if c.Len() != 2 {
		t.Fatalf("expiring the original changed the clone: %d producers", c.Len())
	}
}

func TestUndoRestoresExactly(t *testing.T) {
	before := stateOf(append(sixBatches()[:5], ph(8, 1, 40, 1, 160))...) // producer 7 holds five
	s := before.Clone()
	suffix := []BatchHeader{
		ph(7, 3, 10, 2, 200), // evicts sequence 0..1
		ph(8, 2, 0, 1, 210),  // bumps producer 8's epoch
		ph(9, 0, 5, 1, 220),  // a new producer
		ph(7, 3, 12, 1, 230),
	}
	var undos []ProducerUndo
	for _, h := range suffix {
		undos = append(undos, s.Apply(h, 9000))
	}
	if v, _ := s.Check(ph(7, 3, 0, 2, 0)); v != OutOfOrder {
		t.Fatalf("the evicted batch is still cached: %v", v)
	}
	if s.Undo(undos[0]) {
		t.Fatalf("undo of a batch with a later one of its producer still applied succeeded")
	}
	for i := len(undos) - 1; i >= 0; i-- {
		if !s.Undo(undos[i]) {
			t.Fatalf("undo %d refused", i)
		}
	}
	if !s.Equal(before) || !bytes.Equal(s.Encode(), before.Encode()) {
		t.Fatalf("undo did not restore the state:\n got %+v\nwant %+v", s.Producers(), before.Producers())
	}
	if v, b := s.Check(ph(7, 3, 0, 2, 0)); v != Duplicate || b.FirstOffset != 100 {
		t.Fatalf("the evicted batch is not back: %v %+v", v, b)
	}
	u := s.Apply(ph(8, 1, 41, 1, 300), 9000)
	s.Expire(1<<40, 1)
	if s.Undo(u) || s.Len() != 0 {
		t.Fatalf("undo after expiry must refuse and leave the producer expired")
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	hs := append(sixBatches(), ph(9, 0, math.MaxInt32-1, 4, 300), ph(0, math.MaxInt16, 0, 1, 400), ph(1<<62, 0, 5, 1, 401))
	cases := map[string]*ProducerState{"empty": NewProducerState(), "full": stateOf(hs...)}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			b := s.Encode()
			d, err := DecodeProducerState(b)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !d.Equal(s) || !bytes.Equal(d.Encode(), b) {
				t.Fatalf("round trip changed the state")
			}
		})
	}
	// Producers inserted in another order encode the same.
	reordered := stateOf(append(append([]BatchHeader(nil), hs[6:]...), hs[:6]...)...)
	if !bytes.Equal(reordered.Encode(), stateOf(hs...).Encode()) {
		t.Fatalf("encoding depends on insertion order")
	}
}

// reCRC fixes the CRC of a hand-damaged snapshot, so decoding reaches the
// content checks.
func reCRC(b []byte) []byte {
	binary.BigEndian.PutUint32(b[snapshotOffCRC:], crc32.Checksum(b[snapshotOffCRCCovered:], castagnoli))
	return b
}

func TestSnapshotCorruption(t *testing.T) {
	good := stateOf(ph(3, 1, 0, 2, 10), ph(3, 1, 2, 2, 20), ph(5, 0, 0, 1, 30)).Encode()
	const p0, p1 = snapshotHeaderSize, snapshotHeaderSize + snapshotProducerSize + 2*snapshotBatchSize
	edit := func(f func(b []byte) []byte) []byte { return reCRC(f(append([]byte(nil), good...))) }
	be := binary.BigEndian
	cases := map[string][]byte{
		"empty":            nil,
		"bad magic":        edit(func(b []byte) []byte { b[0] = 'X'; return b }),
		"bad version":      edit(func(b []byte) []byte { be.PutUint16(b[4:], 2); return b }),
		"count too large":  edit(func(b []byte) []byte { be.PutUint32(b[10:], 3); return b }),
		"huge count":       edit(func(b []byte) []byte { be.PutUint32(b[10:], math.MaxUint32); return b }),
		"trailing bytes":   reCRC(append(append([]byte(nil), good...), 0)),
		"ids not sorted":   edit(func(b []byte) []byte { be.PutUint64(b[p1:], 3); return b }),
		"negative id":      edit(func(b []byte) []byte { be.PutUint64(b[p0:], math.MaxUint64); return b }),
		"negative epoch":   edit(func(b []byte) []byte { be.PutUint16(b[p0+8:], 0xffff); return b }),
		"no batches":       edit(func(b []byte) []byte { b[p1+18] = 0; return b[:p1+snapshotProducerSize] }),
		"six batches":      edit(func(b []byte) []byte { b[p1+18] = 6; return b }),
		"sequence offsets": edit(func(b []byte) []byte { be.PutUint32(b[p0+snapshotProducerSize+4:], 7); return b }),
		"offset order":     edit(func(b []byte) []byte { be.PutUint64(b[p0+snapshotProducerSize+snapshotBatchSize+8:], 0); return b }),
	}
	for i := 0; i < len(good); i++ {
		cases[fmt.Sprintf("truncated to %d bytes", i)] = good[:i]
		flipped := append([]byte(nil), good...)
		flipped[i] ^= 0x04
		cases[fmt.Sprintf("flip in byte %d", i)] = flipped
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeProducerState(b); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decode = %v, want ErrCorrupt", err)
			}
		})
	}
}
