package storage

import clock "time"

// retentionDeadline reads the clock through a renamed import: caught.
func retentionDeadline() clock.Time {
	return clock.Now().Add(clock.Hour) // planted: WallClock
}

// age makes the same mistake, exempted.
func age(t clock.Time) clock.Duration {
	//lint:ignore WallClock fixture: proves the escape hatch suppresses
	return clock.Since(t)
}

// expired does arithmetic on times the events carried: fine.
func expired(now, deadline clock.Time) bool {
	return now.After(deadline.Add(5 * clock.Millisecond))
}
