// Helpers shared by the simfs tests: building a disk, writing and reading
// whole files, and running one scenario over many crash seeds.
package simfs

import (
	"errors"
	"io"
	"testing"

	"github.com/takhin-io/takhin/env"
)

// tb is what the helpers need of *testing.T and *rapid.T alike.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

const seeds = 300 // crash seeds per scenario: enough to see every outcome

func newFS(t tb, opts Options) *FS {
	t.Helper()
	return New(env.NewRand(1, "simfs-test"), opts)
}

func ok(t tb, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// put creates name with data and Syncs it when sync is set.
func put(t tb, fs *FS, name string, data []byte, sync bool) {
	t.Helper()
	f, err := fs.Create(name)
	ok(t, err)
	n, err := f.Write(data)
	ok(t, err)
	if n != len(data) {
		t.Fatalf("wrote %d of %d", n, len(data))
	}
	if sync {
		ok(t, f.Sync())
	}
	ok(t, f.Close())
}

// appendTo appends data to an existing file and Syncs it when sync is set.
func appendTo(t tb, fs *FS, name string, data []byte, sync bool) {
	t.Helper()
	f, err := fs.OpenReadWrite(name)
	ok(t, err)
	_, err = f.Write(data)
	ok(t, err)
	if sync {
		ok(t, f.Sync())
	}
	ok(t, f.Close())
}

// get returns the whole content of name, or nil and false if it is missing.
func get(t tb, fs *FS, name string) ([]byte, bool) {
	t.Helper()
	f, err := fs.Open(name)
	if errors.Is(err, env.ErrNotExist) {
		return nil, false
	}
	ok(t, err)
	defer func() { ok(t, f.Close()) }()
	size, err := f.Size()
	ok(t, err)
	buf := make([]byte, size)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !(err == io.EOF && size == 0) {
		t.Fatal(err)
	}
	if int64(n) != size {
		t.Fatalf("read %d of %d", n, size)
	}
	return buf, true
}

// overSeeds builds a disk with setup, crashes it with each seed and passes
// the result to check, which returns a label for the outcome; it returns
// how often each label was seen.
func overSeeds(t *testing.T, opts Options, setup func(*FS), check func(*FS) string) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for seed := range uint64(seeds) {
		fs := New(env.NewRand(seed, "fs"), opts)
		setup(fs)
		fs.Crash(env.NewRand(seed, "crash"))
		seen[check(fs)]++
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
	return seen
}

// bytesOf returns n copies of c.
func bytesOf(c byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return b
}
