//go:build simbug

// Package simbug holds the switches of the deliberately broken variants
// that prove the simulator's checkers catch real bugs (see off.go).
package simbug

var selected string

// Active reports whether the named broken variant is switched on.
func Active(name string) bool { return selected == name }

// Set switches one variant on ("" for none). The simulator is single
// threaded, so a package variable is enough in these test builds.
func Set(name string) { selected = name }

// Enabled reports whether this build can switch variants on.
const Enabled = true
