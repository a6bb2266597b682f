// Package sim is the seeded, single-threaded simulator. Its doubles live in
// leaf sub-packages (simfs, simnet) that import only env, so storage tests
// can use them without importing the simulator.
package sim
