// Package scenarios will hold Jepsen-style scripts against real takhin
// processes (next round).
package scenarios
