package sim

import (
	"flag"
	"testing"
)

var sweep = flag.Int("sim.sweep", 0, "run this many more seeds (make sim-sweep)")

// TestSweep runs seeds ciSeeds+1 … ciSeeds+N when -sim.sweep=N is given.
func TestSweep(t *testing.T) {
	if *sweep == 0 {
		t.Skip("pass -sim.sweep=N to run N more seeds")
	}
	for seed := uint64(ciSeeds + 1); seed <= uint64(ciSeeds+*sweep); seed++ {
		r := Run(Swarm(seed))
		if !r.OK() {
			t.Errorf("seed %d:\n%s", seed, r.Summary())
		}
		checkLinearizable(t, seed, r)
	}
}
