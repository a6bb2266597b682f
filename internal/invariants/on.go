//go:build invariants || race

// Package invariants switches expensive self-checks on in the simulator,
// under -race and with -tags invariants; cheap checks are always on.
package invariants

// Enabled is true when expensive invariant checks should run.
const Enabled = true
