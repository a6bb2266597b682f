package driver

import (
	"time"

	"github.com/takhin-io/takhin/env"
)

// RealClock is the production env.Clock. Mono is the nanoseconds since the
// clock was created, read on Go's monotonic clock (time.Since), so it never
// goes backwards when the wall clock is stepped; WallMs is the wall clock,
// which may. It is safe for concurrent use.
type RealClock struct {
	start time.Time // carries a monotonic reading
}

// NewRealClock returns a clock whose Mono starts at zero now.
func NewRealClock() *RealClock { return &RealClock{start: time.Now()} }

// Now reads both clocks.
func (c *RealClock) Now() env.Time {
	return env.Time{Mono: int64(time.Since(c.start)), WallMs: time.Now().UnixMilli()}
}
