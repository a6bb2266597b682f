//go:build !linux

package osfs

import (
	"errors"
	"os"
)

// canReserve: pwrite past O_APPEND is done for Linux only.
const canReserve = false

var errNoReserve = errors.New("osfs: reservations are Linux-only")

// Off Linux a file never reserves (Reserve returns before calling these).
func leaveAppend(*os.File) error { return errNoReserve }

func pwrite(*os.File, []byte, int64) (int, error) { return 0, errNoReserve }
