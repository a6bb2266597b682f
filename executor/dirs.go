package executor

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/replication"
	"github.com/takhin-io/takhin/storage"
)

// A partition directory is named <topic>-<partition>, as in Kafka, and
// holds a partition.metadata file naming its topic id (Kafka's KIP-516
// file). A directory whose file names another id belongs to a deleted
// topic of the same name: it is removed before the new topic's log opens,
// so a recreated topic never sees its predecessor's records.
const partitionMetadataName = "partition.metadata"

// OpenPartition opens the log of topic id's partition in dir (see above),
// creating the marker durably on first open.
func OpenPartition(fs env.FS, dir, topicID string, cfg storage.Config, now env.Time, epoch storage.Epoch) (*Store, replication.Recovered, error) {
	lines, found, err := storage.ReadCheckpoint(fs, dir, partitionMetadataName, "partition-metadata")
	switch {
	case errors.Is(err, env.ErrNotExist):
	case err != nil:
		return nil, replication.Recovered{}, err
	case found && (len(lines) != 1 || lines[0] != "topic-id "+topicID):
		if err := RemoveDir(fs, dir); err != nil {
			return nil, replication.Recovered{}, err
		}
		found = false
	}
	s, rec, err := Open(fs, dir, cfg, now, epoch)
	if err != nil || found {
		return s, rec, err
	}
	if _, err := storage.WriteCheckpoint(fs, dir, partitionMetadataName, "partition-metadata", []string{"topic-id " + topicID}); err != nil {
		_ = s.Close()
		return nil, replication.Recovered{}, err
	}
	return s, rec, nil
}

// RemoveDir deletes dir and its files, as Kafka deletes a log: the
// directory is first renamed to dir+DeletingSuffix and the parent synced,
// so from then on it is garbage as a whole; only then do its files go.
// Removing them in place could leave, after a power loss that keeps some
// unsynced unlinks and not others, segments without their topic-id marker
// (adopted by a recreated topic of the same name) or a checkpoint without
// its segments. A dir+DeletingSuffix left by an earlier attempt is
// removed first; RemoveDir of such a name just removes it. Any error
// leaves files behind for the next attempt; an error from a directory
// sync is fatal, as every sync error is.
func RemoveDir(fs env.FS, dir string) error {
	parent := path.Dir(dir)
	if strings.HasSuffix(dir, DeletingSuffix) {
		return removeTree(fs, dir, parent)
	}
	doomed := dir + DeletingSuffix
	if err := removeTree(fs, doomed, parent); err != nil {
		return err
	}
	err := fs.Rename(dir, doomed)
	if errors.Is(err, env.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("executor: rename %s: %w", dir, err)
	}
	if err := fs.SyncDir(parent); err != nil {
		return fmt.Errorf("executor: sync dir %s: %w", parent, err)
	}
	return removeTree(fs, doomed, parent)
}

// DeletingSuffix marks a partition directory being deleted (Kafka's
// "-delete"); a boot removes any such directory it finds.
const DeletingSuffix = "-delete"

// removeTree removes dir's files and dir, then syncs parent; a missing dir
// is already removed.
func removeTree(fs env.FS, dir, parent string) error {
	names, err := fs.List(dir)
	if errors.Is(err, env.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("executor: list %s: %w", dir, err)
	}
	for _, name := range names {
		if err := fs.Remove(path.Join(dir, name)); err != nil && !errors.Is(err, env.ErrNotExist) {
			return fmt.Errorf("executor: remove %s/%s: %w", dir, name, err)
		}
	}
	if err := fs.Remove(dir); err != nil && !errors.Is(err, env.ErrNotExist) {
		return fmt.Errorf("executor: remove %s: %w", dir, err)
	}
	if err := fs.SyncDir(parent); err != nil {
		return fmt.Errorf("executor: sync dir %s: %w", parent, err)
	}
	return nil
}
