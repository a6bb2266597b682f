package storage

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/takhin-io/takhin/env"
)

// Checkpoint files are small text files, written whole and atomically:
// temp file → write → fsync → rename over the old file → fsync the
// directory. Until the directory sync, a crash may leave the old file or the
// new one, never a mix; a leftover temp file is removed on Open. The last
// line is a CRC32C of everything before it, so a bit flip on the medium is
// corruption rather than a wrong number.
//
//	takhin-checkpoint <kind> v1
//	<line>
//	...
//	crc <8 hex digits>
const (
	checkpointMagic = "takhin-checkpoint"
	tempSuffix      = ".tmp"
)

// WriteCheckpoint is writeCheckpoint for the executors' own small files
// (a partition's topic-id marker).
func WriteCheckpoint(fs env.FS, dir, name, kind string, lines []string) (fatal bool, err error) {
	return writeCheckpoint(fs, dir, name, kind, lines)
}

// ReadCheckpoint is readCheckpoint for the executors' own small files.
func ReadCheckpoint(fs env.FS, dir, name, kind string) (lines []string, found bool, err error) {
	return readCheckpoint(fs, dir, name, kind)
}

// writeCheckpoint replaces dir/name with lines. An error from Create or
// Write (ENOSPC) leaves the old checkpoint in place; an error from Sync or
// SyncDir must be treated as fatal by the caller.
func writeCheckpoint(fs env.FS, dir, name, kind string, lines []string) (fatal bool, err error) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s v1\n", checkpointMagic, kind)
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	body := b.String()
	body += fmt.Sprintf("crc %08x\n", crc32.Checksum([]byte(body), castagnoli))
	return writeFileAtomic(fs, dir, name, []byte(body), true)
}

// writeFileAtomic replaces dir/name with body: temp file → write → fsync →
// rename, then, when syncDir is set, fsync the directory. An error from
// Create or Write (ENOSPC) leaves the old file in place; an error from Sync
// or SyncDir is fatal. Without syncDir the rename is durable only after
// the caller's next directory sync (a crash may keep the old file).
func writeFileAtomic(fs env.FS, dir, name string, body []byte, syncDir bool) (fatal bool, err error) {
	tmp := path.Join(dir, name+tempSuffix)
	f, err := fs.Create(tmp)
	if err != nil {
		return false, fmt.Errorf("storage: create %s: %w", tmp, err)
	}
	if _, err := f.Write(body); err != nil {
		_ = f.Close()
		_ = fs.Remove(tmp)
		return false, fmt.Errorf("storage: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return true, fmt.Errorf("storage: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return false, fmt.Errorf("storage: close %s: %w", tmp, err)
	}
	if err := fs.Rename(tmp, path.Join(dir, name)); err != nil {
		return false, fmt.Errorf("storage: rename %s: %w", tmp, err)
	}
	if !syncDir {
		return false, nil
	}
	if err := fs.SyncDir(dir); err != nil {
		return true, fmt.Errorf("storage: sync dir %s: %w", dir, err)
	}
	return false, nil
}

// readCheckpoint returns the lines of dir/name, or found=false when the
// file does not exist. A file that does not decode is ErrCorrupt: it was
// written whole and synced before it was renamed into place.
func readCheckpoint(fs env.FS, dir, name, kind string) (lines []string, found bool, err error) {
	p := path.Join(dir, name)
	buf, found, err := readWholeFile(fs, p, 1<<20)
	if err != nil || !found {
		return nil, found, err
	}
	lines, err = decodeCheckpoint(string(buf), kind)
	if err != nil {
		return nil, false, fmt.Errorf("%w: checkpoint %s: %v", ErrCorrupt, p, err)
	}
	return lines, true, nil
}

// readWholeFile returns the contents of p, or found=false when it does not
// exist. A file larger than limit bytes is ErrCorrupt (these files are
// written whole by this package).
func readWholeFile(fs env.FS, p string, limit int64) ([]byte, bool, error) {
	f, err := fs.Open(p)
	if errors.Is(err, env.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("storage: open %s: %w", p, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, false, fmt.Errorf("storage: size %s: %w", p, err)
	}
	if size > limit {
		return nil, false, fmt.Errorf("%w: %s is %d bytes", ErrCorrupt, p, size)
	}
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil && !(errors.Is(err, io.EOF) && size == 0) {
		return nil, false, fmt.Errorf("storage: read %s: %w", p, err)
	}
	return buf, true, nil
}

func decodeCheckpoint(body, kind string) ([]string, error) {
	all := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	if len(all) < 2 {
		return nil, errors.New("too short")
	}
	last := all[len(all)-1]
	covered := body[:len(body)-len(last)-1]
	want := fmt.Sprintf("crc %08x", crc32.Checksum([]byte(covered), castagnoli))
	if last != want || !strings.HasSuffix(body, "\n") {
		return nil, fmt.Errorf("crc line %q, want %q", last, want)
	}
	if all[0] != fmt.Sprintf("%s %s v1", checkpointMagic, kind) {
		return nil, fmt.Errorf("header %q", all[0])
	}
	return all[1 : len(all)-1], nil
}

// parseField decodes a "name value" line holding an int64.
func parseField(line, name string) (int64, error) {
	v, ok := strings.CutPrefix(line, name+" ")
	if !ok {
		return 0, fmt.Errorf("%w: want field %q, got %q", ErrCorrupt, name, line)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: field %q: %v", ErrCorrupt, name, err)
	}
	return n, nil
}
