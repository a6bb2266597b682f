package env

// Time is the "now" every event carries into a machine. Machines never read
// a clock: drivers stamp events with their clock's reading (the real clock
// in production, the simulator's per-node virtual clock in simulation).
type Time struct {
	// Mono is nanoseconds on a clock that never goes backwards (per
	// process). Deadlines and timeouts are measured on it.
	Mono int64
	// WallMs is Unix milliseconds. It may jump in either direction (NTP,
	// the simulator's clock faults); Kafka record timestamps, retention and
	// LogAppendTime use it.
	WallMs int64
}

// Clock is read only by drivers.
type Clock interface {
	Now() Time
}

// AddMs returns t advanced by ms milliseconds on both clocks.
func (t Time) AddMs(ms int64) Time {
	return Time{Mono: t.Mono + ms*1_000_000, WallMs: t.WallMs + ms}
}
