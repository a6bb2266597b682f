package storage

import "math/rand/v2"

// pickSegment draws from the global source: caught.
func pickSegment(n int) int {
	return rand.IntN(n) // planted: GlobalRand
}

func jitter() int64 {
	//lint:ignore GlobalRand fixture: proves the escape hatch suppresses
	return rand.Int64()
}

// seeded builds its own generator, and a local named like the package is
// not the package: both fine.
func seeded(seed uint64) int {
	r := rand.New(rand.NewPCG(seed, 1))
	rand := r
	return rand.IntN(10)
}
