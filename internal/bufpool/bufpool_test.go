package bufpool

// Goal: Get always returns exactly the length asked for, within a class
// capacity; Put keeps only class-sized buffers; a recycled buffer comes
// back for a request of its class.

import (
	"testing"

	"pgregory.net/rapid"
)

// Model: for any n ≥ 0, Get(n) has length n; its capacity is n below
// 32 KiB + 1 and above 64 MiB, else the smallest power of two ≥ max(n,
// 64 KiB); a buffer whose capacity is not such a class is never pooled.
func TestGetLengthsAndClasses(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 70<<20).Draw(t, "n")
		b := Get(n)
		if len(b) != n {
			t.Fatalf("Get(%d) has length %d", n, len(b))
		}
		want := n
		if n > 32<<10 && n <= 64<<20 {
			want = 64 << 10
			for want < n {
				want *= 2
			}
		}
		if cap(b) != want {
			t.Fatalf("Get(%d) has capacity %d, want %d", n, cap(b), want)
		}
		Put(b)
	})
}

func TestPutIgnoresOddCapacities(t *testing.T) {
	Put(make([]byte, 100<<10)) // not a power of two: dropped
	Put(make([]byte, 10))
	Put(make([]byte, 128<<20))
	b := make([]byte, 1, 256<<10)
	b[0] = 42
	Put(b)
	for range 100 { // sync.Pool may drop it; it must never come back resized
		got := Get(200 << 10)
		if cap(got) != 256<<10 {
			t.Fatalf("capacity %d", cap(got))
		}
	}
}
