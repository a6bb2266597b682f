// Package simfs is a leaf double: env only. It is inside sim, so the
// determinism bans apply; os's error values are fine.
package simfs

import (
	"os"

	_ "example.com/takhin/env"
)

// ErrNotExist is the error a missing file gives.
var ErrNotExist = os.ErrNotExist
