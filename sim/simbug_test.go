//go:build simbug

package sim

// Goal: the checkers catch real bugs. Each deliberately broken variant
// (internal/simbug, compiled only with -tags simbug) must fail its pinned
// seed; `make simbug-search` finds a first catching seed for each.

import (
	"flag"
	"testing"
	"time"

	"github.com/takhin-io/takhin/internal/simbug"
	"github.com/takhin-io/takhin/linearizability"
)

// pinned is each variant's first catching seed, as make simbug-search
// found it. Re-pin after a change that shifts the runs.
var pinned = map[string]uint64{
	simbug.AckBeforeFsync:             1,
	simbug.FetchPastHighWatermark:     1,
	simbug.ProducerStateLost:          1,
	simbug.SkipDirSync:                2,
	simbug.RecoverySkipsCRC:           1,
	simbug.CommitBeforeDurable:        1,
	simbug.SharedAssignment:           3,
	simbug.RetentionIgnoresTime:       4,
	simbug.DeleteSkipsCommitsInFlight: 36,
}

var searchSeeds = flag.Int("simbug.search", 0, "search this many seeds for each variant's first catching seed")

// caught runs seed with the variant on and reports whether any checker
// (the Porcupine one included) fails.
func caught(t *testing.T, bug string, seed uint64) (yes bool) {
	simbug.Set(bug)
	defer simbug.Set("")
	defer func() {
		if recover() != nil {
			yes = true // an assertion caught it: invariants are checkers too
		}
	}()
	r := Run(Swarm(seed))
	if !r.OK() {
		return true
	}
	if regs, err := linearizability.CheckRegisters(r.Offsets, NoCommittedOffset, 20*time.Second); err == nil && !regs.OK {
		return true
	}
	if len(r.AllowedLoss) > 0 {
		return false // a bit flip may have truncated acknowledged records: Porcupine's model knows no loss
	}
	res, err := linearizability.CheckLinearizable(r.History, 20*time.Second)
	return err == nil && !res.OK
}

func TestSimbugPinnedSeedsCatch(t *testing.T) {
	for _, bug := range simbug.All {
		seed, ok := pinned[bug]
		if !ok {
			t.Errorf("%s: no pinned seed (run make simbug-search)", bug)
			continue
		}
		if !caught(t, bug, seed) {
			t.Errorf("%s: seed %d no longer catches it (re-run make simbug-search)", bug, seed)
		}
	}
}

func TestSimbugSearch(t *testing.T) {
	if *searchSeeds == 0 {
		t.Skip("pass -simbug.search=N")
	}
	for _, bug := range simbug.All {
		found := false
		for seed := uint64(1); seed <= uint64(*searchSeeds); seed++ {
			if caught(t, bug, seed) {
				t.Logf("%s: first caught by seed %d", bug, seed)
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: not caught within %d seeds", bug, *searchSeeds)
		}
	}
}
