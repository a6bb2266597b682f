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
// the inode's mtime at every group commit.
func syncData(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			if err != nil {
				return &fs.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}
