//go:build !simbug

// Package simbug holds the switches of the deliberately broken variants
// that prove the simulator's checkers catch real bugs. They exist only in
// builds with the simbug tag; in every other build Active is constant false
// and the compiler drops the broken branches, so the shipped binary never
// contains them.
package simbug

// Active reports whether the named broken variant is switched on.
func Active(string) bool { return false }

// Set switches a variant on (simbug builds only).
func Set(string) {}

// Enabled reports whether this build can switch variants on.
const Enabled = false
