package storage

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/takhin-io/takhin/storage/compression"
)

// What the cleaner does to one batch (Kafka's MemoryRecords.filterTo with
// LogCleaner's record and batch filters, KIP-534 for tombstones):
//
//   - A control batch is kept whole.
//   - A record survives when it has a key, no later offset of that key is
//     in the pass's map (the latest record per key wins), and it is not a
//     tombstone (null value) whose batch's delete horizon has passed.
//     Records without a key are removed, as Kafka does.
//   - Delete horizon (KIP-534): the first pass that keeps a tombstone of a
//     batch without one stamps the batch with horizon = now +
//     delete.retention.ms: attribute bit 6 set and the horizon written in
//     BaseTimestamp (the records' timestamp deltas are re-encoded against
//     it, so every record keeps its timestamp). A later pass removes the
//     batch's tombstones once now ≥ horizon. So a tombstone survives at
//     least delete.retention.ms after the pass that first cleaned it.
//   - A batch keeping every record (and needing no horizon) is kept as it
//     is; a batch keeping some is rewritten with the same base offset,
//     LastOffsetDelta, producer fields and MaxTimestamp (each record keeps
//     its offset; the producer's sequence range stays whole) and the same
//     codec; a batch keeping none is dropped, unless it is the newest batch
//     of a producer in the log's producer state: then it stays as an empty
//     batch (no records, uncompressed), as Kafka keeps it, so that
//     idempotence survives a restart that rebuilds the state from the log.
//   - A batch whose records do not decode within cleanDecodeBytesMax (or
//     at all) is kept whole and its keys are not mapped.

const (
	attrDeleteHorizon   = 1 << 6
	cleanDecodeBytesMax = 64 << 20
)

// cleanRecord is what the cleaner reads of one record.
type cleanRecord struct {
	raw         []byte // the whole record, its length prefix included
	offsetDelta int32
	key         []byte // nil: a null key
	tombstone   bool
	tsDelta     int64
	rest        int // where the fields after the timestamp delta start in raw
}

var errBadRecord = errors.New("malformed record")

// parseCleanRecord reads the record at the start of b and returns its
// length.
func parseCleanRecord(b []byte) (cleanRecord, int, error) {
	length, used := binary.Varint(b)
	if used <= 0 || length < 1 || length > int64(len(b)-used) {
		return cleanRecord{}, 0, errBadRecord
	}
	total := used + int(length)
	r := cleanRecord{raw: b[:total]}
	pos := used + 1 // the attributes byte
	var n int
	if r.tsDelta, n = binary.Varint(b[pos:total]); n <= 0 {
		return r, 0, errBadRecord
	}
	pos += n
	r.rest = pos
	delta, n := binary.Varint(b[pos:total])
	if n <= 0 || delta < 0 || delta > math.MaxInt32 {
		return r, 0, errBadRecord
	}
	r.offsetDelta, pos = int32(delta), pos+n
	keyLen, n := binary.Varint(b[pos:total])
	if n <= 0 || keyLen < -1 || keyLen > int64(total-pos-n) {
		return r, 0, errBadRecord
	}
	pos += n
	if keyLen >= 0 {
		r.key = b[pos : pos+int(keyLen) : pos+int(keyLen)]
		pos += int(keyLen)
	}
	valueLen, n := binary.Varint(b[pos:total])
	if n <= 0 || valueLen < -1 || valueLen > int64(total-pos-n) {
		return r, 0, errBadRecord
	}
	r.tombstone = valueLen < 0
	return r, total, nil
}

// batchFilter filters batches for one pass; see the comment above.
type batchFilter struct {
	keys      map[string]Offset // key → its latest offset in the mapped dirty section
	keyBytes  int64             // what keys costs, against CleanPolicy.MapBytesMax
	nowMs     int64
	horizonMs int64            // the horizon a batch gets when its tombstones are first kept
	newest    map[int64]Offset // producer id → the last offset of its newest batch
	dec       compression.Decoders
	enc       compression.Encoders
	raw, body []byte // scratch: decompressed records, a rewritten body
	recs      []cleanRecord
}

func newBatchFilter(p CleanPolicy, producers *ProducerState) *batchFilter {
	horizon := p.NowMs + p.DeleteRetentionMs
	if p.DeleteRetentionMs > math.MaxInt64-p.NowMs {
		horizon = math.MaxInt64
	}
	f := &batchFilter{keys: map[string]Offset{}, nowMs: p.NowMs, horizonMs: horizon, newest: map[int64]Offset{}}
	for _, id := range producers.sortedIDs() {
		f.newest[id] = producers.producers[id].newest().LastOffset
	}
	return f
}

// records decodes the records of a valid batch into f.recs; ok=false when
// they do not decode (the batch is then left alone).
func (f *batchFilter) records(b []byte, h *BatchHeader) bool {
	codec := compression.Codec(h.Attributes & attrCompression)
	raw, err := f.dec.DecodeAll(f.raw, codec, b[BatchHeaderSize:], cleanDecodeBytesMax)
	if codec != compression.CodecNone {
		f.raw = raw
	}
	f.dec.Release(4 << 20)
	if err != nil {
		return false
	}
	f.recs = f.recs[:0]
	for i := int32(0); i < h.RecordCount; i++ {
		r, n, err := parseCleanRecord(raw)
		if err != nil || r.offsetDelta > h.LastOffsetDelta || (i > 0 && r.offsetDelta <= f.recs[i-1].offsetDelta) {
			return false
		}
		f.recs = append(f.recs, r)
		raw = raw[n:]
	}
	return len(raw) == 0
}

// mapBatch adds the keys of a batch of the dirty section to the map.
func (f *batchFilter) mapBatch(b []byte, h *BatchHeader) {
	if h.IsControl() || !f.records(b, h) {
		return
	}
	for i := range f.recs {
		r := &f.recs[i]
		if r.key == nil {
			continue
		}
		offset := h.BaseOffset + Offset(r.offsetDelta)
		if _, seen := f.keys[string(r.key)]; !seen {
			f.keyBytes += int64(len(r.key)) + 64 // the string, its header and the map's slot
		}
		f.keys[string(r.key)] = offset
	}
}

// keep is the record filter: LogCleaner.shouldRetainRecord.
func (f *batchFilter) keep(r *cleanRecord, offset Offset, horizon int64, hasHorizon bool) bool {
	if r.key == nil {
		return false
	}
	if latest, ok := f.keys[string(r.key)]; ok && offset < latest {
		return false
	}
	return !r.tombstone || !hasHorizon || f.nowMs < horizon
}

// filter appends to dst what replaces batch b (valid, header h): b itself,
// a rewritten batch, or nothing.
func (f *batchFilter) filter(dst, b []byte, h *BatchHeader) ([]byte, error) {
	if h.IsControl() || !f.records(b, h) {
		return append(dst, b...), nil
	}
	hasHorizon := h.Attributes&attrDeleteHorizon != 0
	kept, tombstones := 0, false
	for i := range f.recs {
		r := &f.recs[i]
		if f.keep(r, h.BaseOffset+Offset(r.offsetDelta), h.BaseTimestamp, hasHorizon) {
			f.recs[kept] = *r
			kept++
			tombstones = tombstones || r.tombstone
		}
	}
	setHorizon := tombstones && !hasHorizon
	switch {
	case kept == 0 && h.ProducerID >= 0 && f.isNewestOfProducer(h):
		if h.RecordCount == 0 {
			return append(dst, b...), nil // already emptied by an earlier pass
		}
		return appendEmptyBatch(dst, b), nil
	case kept == 0:
		return dst, nil // an emptied batch goes too once its producer moved on
	case kept == len(f.recs) && !setHorizon:
		return append(dst, b...), nil
	}
	return f.rewrite(dst, b, h, f.recs[:kept], setHorizon)
}

func (f *batchFilter) isNewestOfProducer(h *BatchHeader) bool {
	last, ok := f.newest[h.ProducerID]
	return ok && last == h.LastOffset()
}

// rewrite appends b rebuilt with only the records kept, re-encoded with
// its codec; with setHorizon, stamped with the pass's delete horizon.
func (f *batchFilter) rewrite(dst, b []byte, h *BatchHeader, kept []cleanRecord, setHorizon bool) ([]byte, error) {
	attrs, base := h.Attributes, h.BaseTimestamp
	if setHorizon {
		attrs, base = attrs|attrDeleteHorizon, f.horizonMs
	}
	body := f.body[:0]
	for i := range kept {
		body = appendRetimed(body, &kept[i], h.BaseTimestamp-base)
	}
	f.body = body
	start := len(dst)
	dst = append(dst, b[:BatchHeaderSize]...)
	dst, err := f.enc.Encode(dst, compression.Codec(attrs&attrCompression), body)
	if err != nil {
		return dst[:start], err
	}
	out := dst[start:]
	be := binary.BigEndian
	be.PutUint32(out[offBatchLength:], uint32(len(out)-batchLengthBase))
	be.PutUint16(out[offAttributes:], uint16(attrs))
	be.PutUint64(out[offBaseTimestamp:], uint64(base))
	be.PutUint32(out[offRecordCount:], uint32(len(kept)))
	be.PutUint32(out[offCRC:], BatchCRC(out))
	return dst, nil
}

// appendRetimed appends a record whose timestamp delta grows by shift
// (its batch's base timestamp moved back by shift); shift 0 copies it.
func appendRetimed(dst []byte, r *cleanRecord, shift int64) []byte {
	if shift == 0 {
		return append(dst, r.raw...)
	}
	_, used := binary.Varint(r.raw)
	var delta [binary.MaxVarintLen64]byte
	n := binary.PutVarint(delta[:], r.tsDelta+shift)
	rest := r.raw[r.rest:]
	dst = binary.AppendVarint(dst, int64(1+n+len(rest)))
	dst = append(dst, r.raw[used]) // attributes
	dst = append(dst, delta[:n]...)
	return append(dst, rest...)
}

// appendEmptyBatch appends b's header with no records, as Kafka's
// writeEmptyHeader: uncompressed, base timestamp = MaxTimestamp, the same
// offsets and producer fields.
func appendEmptyBatch(dst, b []byte) []byte {
	start := len(dst)
	dst = append(dst, b[:BatchHeaderSize]...)
	out := dst[start:]
	be := binary.BigEndian
	be.PutUint32(out[offBatchLength:], BatchHeaderSize-batchLengthBase)
	attrs := be.Uint16(out[offAttributes:]) &^ (attrCompression | attrDeleteHorizon)
	be.PutUint16(out[offAttributes:], attrs)
	copy(out[offBaseTimestamp:offBaseTimestamp+8], out[offMaxTimestamp:offMaxTimestamp+8])
	be.PutUint32(out[offRecordCount:], 0)
	be.PutUint32(out[offCRC:], BatchCRC(out))
	return dst
}
