// Package assert states programmer invariants. A failed assertion is a bug
// in Takhin, never bad input: input errors are returned as errors or Kafka
// codes (STYLE rule 16).
package assert

import "fmt"

// That panics with msg when ok is false.
func That(ok bool, msg string) {
	if !ok {
		panic("assertion failed: " + msg)
	}
}

// Failf panics with a formatted message. Call it behind an if on hot
// paths, so the arguments are only built on failure:
//
//	if got != want { assert.Failf("offset %d != %d", got, want) }
func Failf(format string, args ...any) {
	panic("assertion failed: " + fmt.Sprintf(format, args...))
}
