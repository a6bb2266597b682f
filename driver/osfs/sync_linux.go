package osfs

import (
	"io/fs"
	"os"
	"syscall"
)

// syncData makes f's data durable with fdatasync(2): the data and the
// metadata needed to read it back (the size after an append or a truncate),
// but not the timestamps fsync would also journal. It is all a log needs,
// and it saves a journal commit on filesystems that would otherwise write
// the inode's mtime at every group commit. The descriptor is held through
// SyscallConn for the call, as os.File.Sync holds it, so a concurrent Close
// cannot hand the sync a reused descriptor.
func syncData(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return &fs.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
	}
	var syncErr error
	if err := rc.Control(func(fd uintptr) {
		for {
			syncErr = syscall.Fdatasync(int(fd))
			if syncErr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return &fs.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
	}
	if syncErr != nil {
		return &fs.PathError{Op: "fdatasync", Path: f.Name(), Err: syncErr}
	}
	return nil
}
