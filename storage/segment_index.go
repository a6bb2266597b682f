package storage

import (
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/takhin-io/takhin/env"
)

// Index files are hints (see index.go): failing to write one costs a longer
// scan at the next start, never data. So an ENOSPC while writing one only
// rewinds that file; an fsync error is still fatal, as everywhere.

// writeIndexes appends the entries not yet in the index files and syncs
// them. After a reset (hintsStale) each file is recreated even with no
// entry, so one written before a truncation is never left holding entries
// past the data. It returns only fatal errors.
func (s *segment) writeIndexes(fs env.FS) error {
	indexOK, timesOK := true, true
	if s.indexWritten < len(s.index) || s.hintsStale && s.indexWritten == 0 {
		var b []byte
		for _, e := range s.index[s.indexWritten:] {
			b = encodeIndexEntry(b, s.base, e)
		}
		ok, err := appendHint(fs, s.path(indexSuffix), s.indexWritten == 0, int64(s.indexWritten)*indexEntrySize, b)
		if err != nil {
			return err
		}
		if indexOK = ok; ok {
			s.indexWritten = len(s.index)
		}
	}
	if s.timesWritten < len(s.times) || s.hintsStale && s.timesWritten == 0 {
		var b []byte
		for _, e := range s.times[s.timesWritten:] {
			b = encodeTimeEntry(b, s.base, e)
		}
		ok, err := appendHint(fs, s.path(timeIndexSuffix), s.timesWritten == 0, int64(s.timesWritten)*timeEntrySize, b)
		if err != nil {
			return err
		}
		if timesOK = ok; ok {
			s.timesWritten = len(s.times)
		}
	}
	if indexOK && timesOK {
		s.hintsStale = false
	}
	return nil
}

// appendHint appends b to the hint file name, which should hold exactly
// keep bytes (recreating it when fresh), and syncs it. A failed write
// rewinds the file to keep bytes and reports ok=false; a failed sync is a
// fatal error.
func appendHint(fs env.FS, name string, fresh bool, keep int64, b []byte) (ok bool, fatal error) {
	var f env.File
	var err error
	if fresh {
		f, err = fs.Create(name)
	} else {
		f, err = fs.OpenReadWrite(name)
	}
	if err != nil {
		return false, nil
	}
	defer f.Close()
	if size, err := f.Size(); err != nil || size != keep {
		if err := f.Truncate(keep); err != nil {
			return false, nil
		}
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Truncate(keep)
		return false, nil
	}
	if err := f.Sync(); err != nil {
		return false, fmt.Errorf("storage: sync %s: %w", name, err)
	}
	return true, nil
}

// loadHint reads a whole hint file; a missing or unreadable one is empty.
func loadHint(fs env.FS, name string) []byte {
	f, err := fs.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil || size <= 0 || size > 1<<30 {
		return nil
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil
	}
	return b
}

// loadIndexes restores a trusted segment's indexes from its hint files and
// returns the position from which its tail must be re-scanned. The
// tracking state is set as if every batch before that position had been
// appended.
func (s *segment) loadIndexes(fs env.FS, fileSize int64) int64 {
	s.resetTracking()
	s.index = decodeIndex(loadHint(fs, s.path(indexSuffix)), s.base, fileSize)
	if len(s.index) == 0 {
		return 0
	}
	last := s.index[len(s.index)-1]
	s.times = decodeTimeIndex(loadHint(fs, s.path(timeIndexSuffix)), s.base, last.pos)
	s.indexWritten, s.timesWritten = len(s.index), len(s.times)
	// Re-scanning starts at the last indexed batch, which track will index
	// again: drop it here, and resume the entry rule from the one before.
	s.index = s.index[:len(s.index)-1]
	if n := len(s.index); n > 0 {
		s.lastIndexedPos = s.index[n-1].pos
	}
	if n := len(s.times); n > 0 {
		t := s.times[n-1]
		s.maxTimestamp, s.maxTsOffset, s.maxTsPos = t.ts, t.offset, t.pos
	}
	s.size, s.next = last.pos, last.offset
	return last.pos
}

func (s *segment) closeFiles() error {
	if s.file == nil {
		return nil
	}
	err := s.file.Close()
	s.file = nil
	return err
}

// dropIndexFrom forgets the index entries at and after offset (one found
// wrong) and has Checkpoint rewrite the hint file without them; reads of
// the segment then scan from an earlier entry, and the next recovery
// indexes the rest again.
func (s *segment) dropIndexFrom(offset Offset) {
	i := sort.Search(len(s.index), func(i int) bool { return s.index[i].offset >= offset })
	s.index = s.index[:i]
	s.lastIndexedPos = 0
	if i > 0 {
		s.lastIndexedPos = s.index[i-1].pos
	}
	s.indexWritten, s.hintsStale = 0, true
}

// dropTimesFrom forgets the time-index entries from i on (one found wrong)
// and has Checkpoint rewrite the hint file without them.
func (s *segment) dropTimesFrom(i int) {
	s.times = s.times[:i]
	s.timesWritten, s.hintsStale = 0, true
}
