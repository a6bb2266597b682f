package env

import (
	"hash/fnv"
	"math/rand/v2"
)

// Rand is one independent, seeded random stream. Every machine and every
// fault injector owns its own stream, derived from the run's root seed and a
// stable stream id, so adding a draw in one place never shifts the draws of
// another. Rand is not safe for concurrent use: each stream has one owner.
type Rand struct {
	*rand.Rand
	seed   uint64
	stream string
}

// NewRand derives the stream named stream from the root seed.
func NewRand(seed uint64, stream string) *Rand {
	h := fnv.New64a()
	_, _ = h.Write([]byte(stream))
	// PCG takes two words: the root seed and the stream's hash, mixed so
	// that neighbouring seeds do not give related streams.
	return &Rand{
		Rand:   rand.New(rand.NewPCG(mix64(seed), mix64(h.Sum64()^0x9e3779b97f4a7c15))),
		seed:   seed,
		stream: stream,
	}
}

// Fork derives a sub-stream; the parent's sequence is unaffected.
func (r *Rand) Fork(name string) *Rand {
	return NewRand(r.seed, r.stream+"/"+name)
}

// Seed and Stream name the stream, for logs and traces.
func (r *Rand) Seed() uint64   { return r.seed }
func (r *Rand) Stream() string { return r.stream }

// Chance reports true with probability p (0 ≤ p ≤ 1).
func (r *Rand) Chance(p float64) bool {
	if p <= 0 {
		return false
	}
	return r.Float64() < p
}

// mix64 is SplitMix64's finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
