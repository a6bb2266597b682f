package records

import (
	"errors"
	"io"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
)

// recordReader hands out a batch's records one at a time. For an
// uncompressed batch (or a bare snappy block) buf is every record and src
// is nil. For a compressed batch it pulls from the decompressing src into
// buf, which holds the unread part of the current read plus, at most, one
// record: a record larger than buf grows it to that record's size, never
// to the batch's. Everything pulled from src counts against limit.
type recordReader struct {
	src    io.Reader
	buf    []byte // buf[pos:] is decompressed and unread
	pos    int
	pulled int64 // bytes read from src so far
	limit  int64
	srcErr error // sticky: io.EOF at the stream's end, or why it failed
}

// readChunkBytes is buf's initial room for a stream: one read from the
// decompressor, and the largest record that needs no growth.
const readChunkBytes = 64 << 10

// maxVarintBytes is the longest varint32 encoding.
const maxVarintBytes = 5

func (r *recordReader) resetSlice(records []byte) {
	r.src, r.buf, r.pos, r.pulled, r.srcErr = nil, records, 0, int64(len(records)), io.EOF
}

func (r *recordReader) resetStream(src io.Reader, scratch []byte, limit int64) {
	if cap(scratch) < readChunkBytes {
		scratch = make([]byte, 0, readChunkBytes)
	}
	r.src, r.buf, r.pos, r.pulled, r.limit, r.srcErr = src, scratch[:0], 0, 0, limit, nil
}

// fill makes n unread bytes available if the data has them. It reports
// false when the data ends (or fails: see srcErr) first.
func (r *recordReader) fill(n int) bool {
	for stalls := 0; len(r.buf)-r.pos < n; {
		if r.srcErr != nil {
			return false
		}
		r.makeRoom(n)
		room := r.buf[len(r.buf):cap(r.buf)]
		if allowed := r.limit + 1 - r.pulled; int64(len(room)) > allowed {
			room = room[:allowed] // one byte over the bound proves it is exceeded
		}
		k, err := r.src.Read(room)
		r.buf = r.buf[:len(r.buf)+k]
		r.pulled += int64(k)
		stalls++
		if k > 0 {
			stalls = 0
		}
		switch {
		case r.pulled > r.limit:
			r.srcErr = errTooLarge
		case err != nil:
			r.srcErr = err
		case stalls == readStallsMax:
			r.srcErr = io.ErrNoProgress
		}
	}
	return true
}

// readStallsMax is how many empty reads in a row end a stream that
// neither yields bytes nor fails (io.Reader discourages, not forbids, it).
const readStallsMax = 100

// makeRoom prepares buf to read into before it holds n unread bytes: it
// grows buf to n when n exceeds it (the record is larger than any before),
// and moves the unread bytes to the start when the record would not fit
// after them or little room is left to read into.
func (r *recordReader) makeRoom(n int) {
	if n > cap(r.buf) {
		grown := make([]byte, 0, n)
		r.buf, r.pos = append(grown, r.buf[r.pos:]...), 0
		return
	}
	if r.pos > 0 && (cap(r.buf)-r.pos < n || cap(r.buf)-len(r.buf) < readChunkBytes/4) {
		r.buf, r.pos = append(r.buf[:0], r.buf[r.pos:]...), 0
	}
}

// next returns the next record, its length prefix excluded, valid until
// the following call, and its size with the prefix. index is for messages.
func (r *recordReader) next(index int32) ([]byte, int, error) {
	r.fill(maxVarintBytes)
	length, used := kbin.Varint(r.buf[r.pos:])
	if used <= 0 {
		if len(r.buf)-r.pos < maxVarintBytes && r.srcErr != nil {
			return nil, 0, r.ended(index) // the data ended (or failed) first
		}
		return nil, 0, reject(kerr.InvalidRecord, "record %d: malformed length varint", index)
	}
	if length < 0 {
		return nil, 0, reject(kerr.InvalidRecord, "record %d: negative length %d", index, length)
	}
	total := used + int(length)
	if r.src != nil {
		before := r.pulled - int64(len(r.buf)-r.pos) // decompressed bytes before this record
		if before+int64(total) > r.limit {
			return nil, 0, reject(kerr.MessageTooLarge,
				"record %d declares %d bytes, past the %d-byte bound on decompressed records", index, length, r.limit)
		}
	}
	if !r.fill(total) {
		return nil, 0, r.ended(index)
	}
	body := r.buf[r.pos+used : r.pos+total]
	r.pos += total
	return body, total, nil
}

// ended explains why the data stopped before record index.
func (r *recordReader) ended(index int32) error {
	switch {
	case errors.Is(r.srcErr, io.EOF):
		return reject(kerr.InvalidRecord, "incorrect declared batch size, premature end of records at record %d", index)
	case isTooLarge(r.srcErr):
		return reject(kerr.MessageTooLarge,
			"the records decompress to more than the %d-byte bound", r.limit)
	}
	return reject(kerr.CorruptMessage, "failed to decompress the records: %v", r.srcErr)
}

// finish checks that nothing follows the last record. Reading a stream to
// its end also makes the codec verify its trailer (gzip's CRC and size,
// zstd's and lz4's checksums).
func (r *recordReader) finish() error {
	if r.fill(1) {
		return reject(kerr.InvalidRecord, "incorrect declared batch size, records still remaining")
	}
	if errors.Is(r.srcErr, io.EOF) {
		return nil
	}
	return r.ended(-1)
}
