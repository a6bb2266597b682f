// Package executor carries out what a partition machine's Ready asks of the
// disk, with storage. It is the one piece of I/O code the production driver
// and the simulator share: both call these functions, so the simulator runs
// the production executor's logic, only on simfs and with its own timing.
//
// Every function returns the completion event to deliver; the caller stamps
// it with the time it delivers it (now). The functions are synchronous and
// not safe for concurrent use on one Store.
package executor

import (
	"errors"
	"fmt"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

// Store is one partition's log as an executor holds it.
type Store struct {
	Log *storage.Log
	fs  env.FS
	dir string

	// The compaction pass in progress between its chunks, and its number
	// (Task.CleanPass). A crash loses it; the next pass starts over.
	clean     *storage.CleanPass
	cleanPass uint64
}

// Open opens the log in dir through recovery and returns the Recovered
// event for the machine.
func Open(fs env.FS, dir string, cfg storage.Config, now env.Time, epoch storage.Epoch) (*Store, replication.Recovered, error) {
	l, err := storage.Open(fs, dir, cfg, now.WallMs)
	if err != nil {
		return nil, replication.Recovered{}, err
	}
	return &Store{Log: l, fs: fs, dir: dir}, replication.Recovered{
		Now: now, Start: l.StartOffset(), End: l.EndOffset(), Epoch: epoch, Producers: l.ProducerState(),
		Segments: l.Segments(), CleanedTo: l.CleanedTo(),
	}, nil
}

// Write appends the Persist's batches (offsets already assigned) and
// reports how far it got. It stops at the first failure: ENOSPC leaves the
// log as it was before that batch (storage truncates partial writes).
func (s *Store) Write(p *replication.Persist, now env.Time) replication.Written {
	w := replication.Written{Now: now, Op: p.Op}
	rolled := false
	for _, b := range p.Batches {
		// A Produce's batch is validated before it reaches the machine
		// (replication.Produce), so its CRC is not computed twice.
		r, err := s.Log.AppendAssigned(b, storage.AppendOptions{NowMs: now.WallMs, CRCVerified: true})
		if err != nil {
			w.Err = err
			break
		}
		rolled = rolled || r.Rolled
	}
	w.UpTo = s.Log.EndOffset()
	// A failed write that left the log fail-stopped, not by corruption (a
	// roll's sync failed, or a partial write could not be undone), is for
	// recovery: the process restarts.
	if f := s.Log.Failed(); w.Err != nil && f != nil && !errors.Is(f, storage.ErrCorrupt) {
		w.Fatal = true
	}
	if rolled {
		w.Segments = s.Log.Segments() // the cleaner's view changed
	}
	return w
}

// Sync makes what Write wrote durable and, when asked, checkpoints. A sync
// error is fatal (the machine fail-stops the process); a checkpoint that
// only ran out of space is not: the old checkpoint stays valid.
func (s *Store) Sync(p *replication.Persist, now env.Time) replication.Synced {
	if err := s.Log.Sync(); err != nil {
		return replication.Synced{Now: now, Op: p.Op, Err: err}
	}
	if p.Checkpoint {
		if err := s.Log.Checkpoint(); err != nil && (s.Log.Failed() != nil || !env.IsNoSpace(err)) {
			return replication.Synced{Now: now, Op: p.Op, Err: err}
		}
	}
	return replication.Synced{Now: now, Op: p.Op, UpTo: s.Log.SyncedEnd()}
}

// Read carries out one Read: by offset, or by timestamp (the first batch
// whose MaxTimestamp reaches it, returned whole; -3 looks for the largest
// timestamp in the log).
func (s *Store) Read(r replication.Read, now env.Time) replication.ReadDone {
	if r.Stat {
		var size int64
		for _, seg := range s.Log.Segments() {
			size += seg.SizeBytes
		}
		done := replication.ReadDone{Now: now, ID: r.ID, Stat: true, SizeBytes: size, TotalBytes: -1, UsableBytes: -1}
		if u, err := s.fs.Usage(s.dir); err == nil {
			done.TotalBytes, done.UsableBytes = u.TotalBytes, u.UsableBytes
		}
		return done
	}
	if r.ByTimestamp == nil {
		res, err := s.Log.Read(r.From, r.MaxBytes, r.UpTo)
		return replication.ReadDone{Now: now, ID: r.ID, Result: res, Err: err}
	}
	done := replication.ReadDone{Now: now, ID: r.ID, ByTimestamp: true}
	ts := *r.ByTimestamp
	if ts == replication.TimestampMax {
		ts = -1
		for _, seg := range s.Log.Segments() {
			ts = max(ts, seg.LargestTimestamp)
		}
		if ts < 0 {
			return done
		}
	}
	h, found, err := s.Log.FindTimestamp(ts)
	if err != nil || !found || h.BaseOffset >= r.UpTo {
		done.Err = err
		return done
	}
	// The batch found may start below the log start (a DeleteRecords cut
	// it): read it from the start, which Read allows; the broker skips its
	// records below the start.
	done.Result, done.Err = s.Log.Read(max(h.BaseOffset, s.Log.StartOffset()), 1, r.UpTo)
	return done
}

// Background runs one chunk of a background task.
func (s *Store) Background(t replication.Task, now env.Time) replication.BackgroundDone {
	done := replication.BackgroundDone{Now: now, Task: t.ID}
	switch {
	case t.SetStart > 0:
		done.Err = s.Log.SetStartOffset(t.SetStart)
	case t.Clean != nil:
		done.More, done.Err = s.cleanChunk(t)
	case t.Retention != nil:
		segs := s.Log.Segments()
		n := storage.DeletableSegments(segs, s.Log.StartOffset(), *t.Retention)
		if n > 0 {
			chunk := min(n, max(t.ChunkSegments, 1))
			if _, err := s.Log.DeleteSegmentsBelow(segs[chunk].Base, chunk); err != nil {
				done.Err = err
			}
			done.More = n > chunk
		}
	default:
		done.Err = errors.New("executor: empty background task")
	}
	done.Start = s.Log.StartOffset()
	if done.Err != nil && !errors.Is(done.Err, storage.ErrCorrupt) {
		if s.Log.Failed() != nil {
			done.Fatal = true // a failed sync: restart through recovery
		} else {
			done.Transient, done.Err = done.Err, nil // the log is still usable (a full disk)
		}
	}
	if done.Err == nil {
		done.Segments, done.CleanedTo = s.Log.Segments(), s.Log.CleanedTo()
	}
	return done
}

// cleanChunk runs one chunk of compaction pass t.CleanPass, starting the
// pass at its first chunk. ENOSPC ends the pass without an error (the log
// is as it was; a later pass retries); any other error is the task's.
func (s *Store) cleanChunk(t replication.Task) (more bool, err error) {
	if s.clean == nil || s.cleanPass != t.CleanPass {
		// Only what is below the recovery point is cleaned: a bad batch
		// there fail-stops the partition at recovery, where above it
		// recovery would truncate, and truncating behind the gaps a clean
		// leaves would hand out their offsets again (simulator seed 559).
		policy := *t.Clean
		policy.HighWatermark = min(policy.HighWatermark, s.Log.RecoveryPoint())
		pass, err := s.Log.StartClean(policy)
		if err != nil {
			return false, err
		}
		s.clean, s.cleanPass = pass, t.CleanPass
	}
	done, err := s.Log.CleanStep(s.clean, t.ChunkBytes)
	if done || err != nil {
		s.clean = nil
	}
	if err != nil && env.IsNoSpace(err) && s.Log.Failed() == nil {
		return false, nil
	}
	return !done && err == nil, err
}

// ReadAll reads every batch of the log, for machines (the metadata log)
// that replay their whole log at start.
func (s *Store) ReadAll() ([]byte, error) {
	var out []byte
	for from := s.Log.StartOffset(); from < s.Log.EndOffset(); {
		r, err := s.Log.Read(from, 1<<20, s.Log.EndOffset())
		if err != nil {
			return nil, err
		}
		if len(r.Batches) == 0 {
			return nil, fmt.Errorf("executor: read at %d returned nothing below the end %d", from, s.Log.EndOffset())
		}
		out = append(out, r.Batches...)
		from = r.Next
	}
	return out, nil
}

// Close closes the log's files.
func (s *Store) Close() error { return s.Log.Close() }
