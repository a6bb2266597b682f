package storage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// The producer-state snapshot format, version 1, big-endian:
//
//	magic        4 bytes "TKPS"
//	version      uint16 (1)
//	crc          uint32: CRC32C (Castagnoli) of every byte after this field
//	count        uint32: producers
//	count × producer, sorted by strictly increasing producer id:
//	  producerID    int64 (≥ 0)
//	  epoch         int16 (≥ 0)
//	  lastAppendMs  int64
//	  batches       uint8 (1..5)
//	  batches × (firstSeq int32, lastSeq int32, firstOffset int64, lastOffset int64),
//	                oldest first, offsets increasing
//
// Unlike Kafka, which snapshots only each producer's last batch, every
// cached batch is kept, so a retry of any of the last five batches is still
// a duplicate after a restart. The file is named <offset:020d>.snapshot
// after the offset it describes (the state of every batch below it).
const (
	snapshotMagic         = "TKPS"
	snapshotVersion       = 1
	snapshotHeaderSize    = 4 + 2 + 4 + 4
	snapshotProducerSize  = 8 + 2 + 8 + 1
	snapshotBatchSize     = 4 + 4 + 8 + 8
	snapshotOffCRC        = 6
	snapshotOffCRCCovered = 10
)

// Encode returns the snapshot bytes of the state; equal states encode to
// equal bytes.
func (s *ProducerState) Encode() []byte {
	ids := s.sortedIDs()
	b := make([]byte, 0, snapshotHeaderSize+len(ids)*(snapshotProducerSize+2*snapshotBatchSize))
	be := binary.BigEndian
	b = append(b, snapshotMagic...)
	b = be.AppendUint16(b, snapshotVersion)
	b = be.AppendUint32(b, 0) // the CRC, filled in below
	b = be.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		e := s.producers[id]
		b = be.AppendUint64(b, uint64(id))
		b = be.AppendUint16(b, uint16(e.epoch))
		b = be.AppendUint64(b, uint64(e.lastAppendMs))
		b = append(b, uint8(e.count))
		for _, pb := range e.batches[:e.count] {
			b = be.AppendUint32(b, uint32(pb.FirstSeq))
			b = be.AppendUint32(b, uint32(pb.LastSeq))
			b = be.AppendUint64(b, uint64(pb.FirstOffset))
			b = be.AppendUint64(b, uint64(pb.LastOffset))
		}
	}
	be.PutUint32(b[snapshotOffCRC:], crc32.Checksum(b[snapshotOffCRCCovered:], castagnoli))
	return b
}

// DecodeProducerState decodes a snapshot written by Encode. Anything that
// does not decode to a state Apply could have built is an error wrapping
// ErrCorrupt.
func DecodeProducerState(b []byte) (*ProducerState, error) {
	s, err := decodeProducerState(b)
	if err != nil {
		return nil, fmt.Errorf("%w: producer snapshot: %v", ErrCorrupt, err)
	}
	return s, nil
}

func decodeProducerState(b []byte) (*ProducerState, error) {
	be := binary.BigEndian
	if len(b) < snapshotHeaderSize {
		return nil, fmt.Errorf("%d bytes, shorter than the header", len(b))
	}
	if string(b[:4]) != snapshotMagic || be.Uint16(b[4:]) != snapshotVersion {
		return nil, fmt.Errorf("magic %q version %d", b[:4], be.Uint16(b[4:]))
	}
	if got, want := crc32.Checksum(b[snapshotOffCRCCovered:], castagnoli), be.Uint32(b[snapshotOffCRC:]); got != want {
		return nil, fmt.Errorf("crc %08x, header says %08x", got, want)
	}
	count := be.Uint32(b[snapshotOffCRCCovered:])
	if uint64(count)*snapshotProducerSize > uint64(len(b)) {
		return nil, fmt.Errorf("%d producers in %d bytes", count, len(b))
	}
	s := &ProducerState{producers: make(map[int64]*producerEntry, count)}
	rest, prevID := b[snapshotHeaderSize:], int64(-1)
	for i := uint32(0); i < count; i++ {
		id, e, n, err := decodeProducer(rest)
		if err != nil {
			return nil, fmt.Errorf("producer %d of %d: %v", i, count, err)
		}
		if id <= prevID {
			return nil, fmt.Errorf("producer id %d after %d", id, prevID)
		}
		s.producers[id], prevID, rest = e, id, rest[n:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d bytes after the last producer", len(rest))
	}
	return s, nil
}

// decodeProducer decodes one producer record and returns its length.
func decodeProducer(b []byte) (int64, *producerEntry, int, error) {
	be := binary.BigEndian
	if len(b) < snapshotProducerSize {
		return 0, nil, 0, fmt.Errorf("truncated")
	}
	id := int64(be.Uint64(b))
	e := &producerEntry{epoch: int16(be.Uint16(b[8:])), lastAppendMs: int64(be.Uint64(b[10:])), count: int(b[18])}
	n := snapshotProducerSize + e.count*snapshotBatchSize
	switch {
	case id < 0 || e.epoch < 0:
		return 0, nil, 0, fmt.Errorf("producer id %d epoch %d", id, e.epoch)
	case e.count < 1 || e.count > ProducerBatchesRetained:
		return 0, nil, 0, fmt.Errorf("%d batches", e.count)
	case len(b) < n:
		return 0, nil, 0, fmt.Errorf("truncated batches")
	}
	for i := range e.batches[:e.count] {
		p := b[snapshotProducerSize+i*snapshotBatchSize:]
		pb := ProducerBatch{FirstSeq: int32(be.Uint32(p)), LastSeq: int32(be.Uint32(p[4:])),
			FirstOffset: Offset(be.Uint64(p[8:])), LastOffset: Offset(be.Uint64(p[16:]))}
		if err := checkProducerBatch(pb, e.batches[:i]); err != nil {
			return 0, nil, 0, err
		}
		e.batches[i] = pb
	}
	return id, e, n, nil
}

// checkProducerBatch checks a decoded batch against what Apply builds.
func checkProducerBatch(pb ProducerBatch, before []ProducerBatch) error {
	delta := pb.LastOffset - pb.FirstOffset
	switch {
	case pb.FirstSeq < 0 || pb.LastSeq < 0 || pb.FirstOffset < 0 || delta < 0 || delta > 1<<31-1:
		return fmt.Errorf("batch %+v", pb)
	case incrementSequence(pb.FirstSeq, int32(delta)) != pb.LastSeq:
		return fmt.Errorf("batch %+v: sequences do not match its offsets", pb)
	case len(before) > 0 && pb.FirstOffset <= before[len(before)-1].LastOffset:
		return fmt.Errorf("batch %+v out of offset order", pb)
	}
	return nil
}
