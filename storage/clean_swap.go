package storage

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/takhin-io/takhin/env"
)

// Swapping a cleaned group in, crash-safely: after a crash, recovery sees
// either the group's old segments or the cleaned one, never a mix.
//
//  1. The cleaned batches go to "<base>.cleaned", which is fsynced, and
//     so is the directory: the file's name must be durable before the
//     intent's rename can be, since a disk may keep a later unsynced
//     rename and lose an earlier link. A crash before step 2 is durable
//     leaves at most that file (or its temp intent), which Open removes:
//     the old segments are untouched.
//  2. The swap intent "cleaner.swap" (base, the cleaned file's size, the
//     bases of the old segments) is written as a checkpoint: temp file →
//     fsync → rename → directory sync. The intent's durable rename is the
//     commit point.
//  3. The old segments' files (logs and index hints; the first one's log
//     is overwritten instead) are removed and "<base>.cleaned" is renamed
//     to "<base>.log"; the directory is synced.
//  4. The intent is removed and the directory synced.
//
// Open rolls a surviving intent forward before it reads the segments
// (rollSwapForward, idempotent): it removes whatever old files remain and,
// if "<base>.cleaned" is still there (its size checked against the
// intent: it was synced before the intent existed), renames it over
// "<base>.log"; then removes the intent. Without an intent, leftover
// ".cleaned" files are removed. Every rename and remove of steps 3 and 4
// may survive or revert independently in a crash; each combination leaves
// either the intent (rolled forward) or step 3 already durable.
//
// Index hints of the cleaned segment are not written here: Checkpoint
// writes them fresh, and recovery re-scans a segment without them.

const (
	swapIntentName        = "cleaner.swap"
	swapIntentKind        = "clean-swap"
	cleanerCheckpointName = "cleaner.checkpoint"
)

// swapCleaned runs steps 2 to 4 for ns replacing group (ns's file is the
// synced "<base>.cleaned"); ns is reopened as "<base>.log". ENOSPC from
// the intent leaves the old segments (and removes the cleaned file); every
// error after the commit point fail-stops the log.
func (l *Log) swapCleaned(group []*segment, ns *segment) error {
	lines := []string{fmt.Sprintf("base %d", ns.base), fmt.Sprintf("size %d", ns.size)}
	old := make([]Offset, len(group))
	for i, s := range group {
		old[i] = s.base
		lines = append(lines, fmt.Sprintf("segment %d", s.base))
	}
	_ = ns.file.Close()
	ns.file = nil
	fatal, err := writeCheckpoint(l.fs, l.dir, swapIntentName, swapIntentKind, lines)
	if err != nil {
		if fatal || !env.IsNoSpace(err) {
			return l.fail(err)
		}
		if rerr := l.fs.Remove(path.Join(l.dir, cleanedName(ns.base))); rerr != nil {
			return l.fail(fmt.Errorf("storage: remove a cleaned segment: %w (after %v)", rerr, err))
		}
		return err
	}
	for _, s := range group {
		_ = s.closeFiles()
	}
	if err := l.rollSwapForward(ns.base, ns.size, old); err != nil {
		return l.fail(err)
	}
	f, err := l.fs.OpenReadWrite(ns.path(logSuffix))
	if err != nil {
		return l.fail(fmt.Errorf("storage: reopen the cleaned segment %d: %w", ns.base, err))
	}
	ns.file = f
	return nil
}

// rollSwapForward carries out steps 3 and 4 of a committed swap; running it
// again after any part of it is harmless.
func (l *Log) rollSwapForward(base Offset, size int64, old []Offset) error {
	for _, o := range old {
		for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
			if o == base && suffix == logSuffix {
				continue // overwritten by the rename below
			}
			name := path.Join(l.dir, segmentName(o, suffix))
			if err := l.fs.Remove(name); err != nil && !errors.Is(err, env.ErrNotExist) {
				return fmt.Errorf("storage: remove %s: %w", name, err)
			}
		}
	}
	cleaned := path.Join(l.dir, cleanedName(base))
	f, err := l.fs.Open(cleaned)
	switch {
	case errors.Is(err, env.ErrNotExist):
		// Renamed already: the cleaned segment must be in place.
		g, err := l.fs.Open(path.Join(l.dir, segmentName(base, logSuffix)))
		if err != nil {
			return fmt.Errorf("%w: swap of segment %d: neither the cleaned nor the swapped file: %v", ErrCorrupt, base, err)
		}
		_ = g.Close()
	case err != nil:
		return fmt.Errorf("storage: open %s: %w", cleaned, err)
	default:
		n, err := f.Size()
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("storage: size of %s: %w", cleaned, err)
		}
		if n != size {
			return fmt.Errorf("%w: %s holds %d bytes, the swap intent says %d", ErrCorrupt, cleaned, n, size)
		}
		if err := l.fs.Rename(cleaned, path.Join(l.dir, segmentName(base, logSuffix))); err != nil {
			return fmt.Errorf("storage: rename %s: %w", cleaned, err)
		}
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return fmt.Errorf("storage: sync dir %s: %w", l.dir, err)
	}
	if err := l.fs.Remove(path.Join(l.dir, swapIntentName)); err != nil && !errors.Is(err, env.ErrNotExist) {
		return fmt.Errorf("storage: remove the swap intent: %w", err)
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return fmt.Errorf("storage: sync dir %s: %w", l.dir, err)
	}
	return nil
}

// recoverSwap runs at Open, before the segments are read: it rolls a
// committed swap forward and removes uncommitted cleaned files, and
// returns the directory's names afterwards.
func (l *Log) recoverSwap(names []string) ([]string, error) {
	lines, found, err := readCheckpoint(l.fs, l.dir, swapIntentName, swapIntentKind)
	if err != nil {
		return nil, err
	}
	changed := found
	if found {
		base, size, old, err := decodeSwapIntent(lines)
		if err != nil {
			return nil, err
		}
		if err := l.rollSwapForward(base, size, old); err != nil {
			return nil, err
		}
	}
	for _, n := range names {
		if !strings.HasSuffix(n, cleanedSuffix) {
			continue
		}
		if err := l.fs.Remove(path.Join(l.dir, n)); err != nil && !errors.Is(err, env.ErrNotExist) {
			return nil, fmt.Errorf("storage: remove %s: %w", n, err)
		}
		changed, l.dirUnsynced = true, true
	}
	if !changed {
		return names, nil
	}
	names, err = l.fs.List(l.dir)
	if err != nil {
		return nil, fmt.Errorf("storage: list %s: %w", l.dir, err)
	}
	return names, nil
}

func decodeSwapIntent(lines []string) (Offset, int64, []Offset, error) {
	if len(lines) < 3 {
		return 0, 0, nil, fmt.Errorf("%w: swap intent has %d lines", ErrCorrupt, len(lines))
	}
	base, err1 := parseField(lines[0], "base")
	size, err2 := parseField(lines[1], "size")
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, nil, err
	}
	old := make([]Offset, 0, len(lines)-2)
	for _, line := range lines[2:] {
		o, err := parseField(line, "segment")
		if err != nil {
			return 0, 0, nil, err
		}
		old = append(old, Offset(o))
	}
	if base < 0 || size < 0 || old[0] != Offset(base) {
		return 0, 0, nil, fmt.Errorf("%w: swap intent base %d size %d, first segment %d", ErrCorrupt, base, size, old[0])
	}
	return Offset(base), size, old, nil
}

// writeCleanerCheckpoint records the end of a finished pass's mapped
// section: the next pass's first dirty offset. It is a hint (a lost or
// stale one costs a longer pass), so ENOSPC is ignored.
func (l *Log) writeCleanerCheckpoint(cleanedTo Offset) error {
	l.cleanedTo = cleanedTo
	fatal, err := writeCheckpoint(l.fs, l.dir, cleanerCheckpointName, "cleaner",
		[]string{fmt.Sprintf("cleaned-to %d", cleanedTo)})
	if err != nil && (fatal || !env.IsNoSpace(err)) {
		return l.fail(err)
	}
	return nil
}

// loadCleanerCheckpoint reads the cleaner checkpoint; a corrupt one is
// ignored (the next pass cleans from the log start).
func (l *Log) loadCleanerCheckpoint() error {
	lines, found, err := readCheckpoint(l.fs, l.dir, cleanerCheckpointName, "cleaner")
	if err != nil && !errors.Is(err, ErrCorrupt) {
		return err
	}
	if err != nil || !found {
		return nil
	}
	if len(lines) == 1 {
		if v, err := parseField(lines[0], "cleaned-to"); err == nil && v >= 0 {
			l.cleanedTo = Offset(v)
		}
	}
	return nil
}
