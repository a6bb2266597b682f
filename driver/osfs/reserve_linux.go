package osfs

import (
	"io/fs"
	"os"
	"syscall"
)

// canReserve: Reserve works here (see osFile.Reserve).
const canReserve = true

// leaveAppend clears O_APPEND on f's descriptor, so pwrite honours its
// offset (Linux appends a pwrite to an O_APPEND file regardless).
func leaveAppend(f *os.File) error {
	return onFD(f, "fcntl", func(fd int) error {
		flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFL, 0)
		if errno != 0 {
			return errno
		}
		if _, _, errno = syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFL, flags&^syscall.O_APPEND); errno != 0 {
			return errno
		}
		return nil
	})
}

// pwrite writes all of p at off, as many pwrite(2) calls as it takes.
func pwrite(f *os.File, p []byte, off int64) (int, error) {
	written := 0
	err := onFD(f, "pwrite", func(fd int) error {
		for written < len(p) {
			n, err := syscall.Pwrite(fd, p[written:], off+int64(written))
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				return err
			}
			if n == 0 {
				return syscall.EIO
			}
			written += n
		}
		return nil
	})
	return written, err
}

// onFD runs do on f's descriptor, held through SyscallConn as syncData
// holds it.
func onFD(f *os.File, op string, do func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return &fs.PathError{Op: op, Path: f.Name(), Err: err}
	}
	var opErr error
	if err := rc.Control(func(fd uintptr) { opErr = do(int(fd)) }); err != nil {
		return &fs.PathError{Op: op, Path: f.Name(), Err: err}
	}
	if opErr != nil {
		return &fs.PathError{Op: op, Path: f.Name(), Err: opErr}
	}
	return nil
}
