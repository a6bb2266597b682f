package driver_test

// Goal: RealClock's Mono counts nanoseconds from the clock's creation on
// the monotonic clock and WallMs is the wall clock, read here on the
// synctest bubble's fake time so the expected values are exact.

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/takhin-io/takhin/driver"
)

func TestRealClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := driver.NewRealClock()
		if now := c.Now(); now.Mono != 0 || now.WallMs != time.Now().UnixMilli() {
			t.Fatalf("at creation: %+v", now)
		}
		time.Sleep(1500 * time.Millisecond)
		if now := c.Now(); now.Mono != int64(1500*time.Millisecond) || now.WallMs != time.Now().UnixMilli() {
			t.Fatalf("1.5s later: %+v", now)
		}
	})
}
