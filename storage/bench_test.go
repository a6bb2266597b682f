package storage

// Goal: measure append+fsync throughput on this machine's real disk, with
// group commit (many appends, one Sync) beside the raw rate of the same
// write sizes each followed by an fsync, single-threaded, in one benchmark.
// Targets (issue 2): group commit ≥ 2× raw at 1 KiB, ≥ 0.8× at 64 KiB.
//
//	go test -run XXX -bench AppendSync -benchtime 2000x ./storage/

import (
	"fmt"
	"testing"

	"github.com/takhin-io/takhin/driver/osfs"
)

func BenchmarkAppendSync(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("raw-write+fsync/%dKiB", size>>10), func(b *testing.B) { benchRaw(b, size) })
		for _, group := range []int{1, 16} {
			name := fmt.Sprintf("log-group%d/%dKiB", group, size>>10)
			b.Run(name, func(b *testing.B) { benchLog(b, size, group) })
		}
	}
}

// benchRaw writes size bytes and fsyncs, b.N times, through the same FS.
func benchRaw(b *testing.B, size int) {
	fs := osfs.New(b.TempDir())
	f, err := fs.Create("raw")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, size)
	b.SetBytes(int64(size))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "batches/s")
}

// benchLog appends b.N batches of size bytes, syncing after every group
// (the group commit a busy partition gets for free).
func benchLog(b *testing.B, size, group int) {
	l, err := Open(osfs.New(b.TempDir()), "p", DefaultConfig(), 0)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	batch := testBatch(1, make([]byte, size-BatchHeaderSize), 0)
	b.SetBytes(int64(size))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := l.Append(batch, AppendOptions{}); err != nil {
			b.Fatal(err)
		}
		if (i+1)%group == 0 || i == b.N-1 {
			if err := l.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "batches/s")
}
