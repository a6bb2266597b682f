// Goal: pin fault injection and the disk's limits: a failed Sync leaves the
// pages clean but not durable (fsyncgate), Sync/SyncDir faults wrap the env
// errors, read faults are transient, a full disk cuts writes short and
// recovers, and Corrupt is persistent.
package simfs

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/takhin-io/takhin/env"
)

func TestFailedSyncPagesCountAsClean(t *testing.T) {
	a, b, c := bytesOf('A', 600), bytesOf('B', 600), bytesOf('C', 600)
	seen := overSeeds(t, Options{}, func(fs *FS) {
		durableFile(t, fs, "f", a)
		f, err := fs.OpenReadWrite("f")
		ok(t, err)
		_, err = f.Write(b)
		ok(t, err)
		fs.InjectNext(OpSync, FaultIO)
		if err := f.Sync(); !errors.Is(err, env.ErrIO) {
			t.Fatalf("Sync = %v, want EIO", err)
		}
		if got, _ := get(t, fs, "f"); !bytes.Equal(got, append(a, b...)) {
			t.Fatal("reads must still see the data of a failed Sync")
		}
		ok(t, f.Sync())
		if fs.IsDurable("f") {
			t.Fatal("a Sync after a failed one must not make the failed data durable")
		}
		_, err = f.Write(c)
		ok(t, err)
		ok(t, f.Sync())
	}, func(fs *FS) string {
		got, _ := get(t, fs, "f")
		// [0,600) synced; [600,1024) lost by the failed Sync: old (zeros) or
		// new; the sector [1024,1536) was rewritten whole with the C bytes,
		// so from 1024 on everything is durable.
		checkTorn(t, got[:1024], append(a, make([]byte, 424)...), append(a, b[:424]...), 512)
		if len(got) != 1800 || !bytes.Equal(got[1024:], append(b[424:], c...)) {
			t.Fatalf("data written after the failure was not durable: len %d", len(got))
		}
		if bytes.Equal(got[600:1024], b[:424]) {
			return "kept"
		}
		return "lost"
	})
	if seen["lost"] == 0 || seen["kept"] == 0 {
		t.Fatalf("want both lost and kept outcomes of the failed pages: %v", seen)
	}
}

func TestSyncFaults(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		queue Fault
		op    Op
		want  error
	}{
		{"next Sync EIO", Options{}, FaultIO, OpSync, env.ErrIO},
		{"next Sync ENOSPC", Options{}, FaultNoSpace, OpSync, env.ErrNoSpace},
		{"next SyncDir EIO", Options{}, FaultIO, OpSyncDir, env.ErrIO},
		{"next SyncDir ENOSPC", Options{}, FaultNoSpace, OpSyncDir, env.ErrNoSpace},
		{"always EIO", Options{Faults: Probabilities{SyncIO: 1}}, NoFault, OpSync, env.ErrIO},
		{"always ENOSPC", Options{Faults: Probabilities{SyncNoSpace: 1}}, NoFault, OpSyncDir, env.ErrNoSpace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFS(t, tt.opts)
			f, err := fs.Create("f")
			ok(t, err)
			if tt.queue != NoFault {
				fs.InjectNext(tt.op, tt.queue)
			}
			if tt.op == OpSync {
				err = f.Sync()
			} else {
				err = fs.SyncDir(".")
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if env.IsNoSpace(err) != (tt.want == env.ErrNoSpace) {
				t.Fatalf("IsNoSpace(%v) wrong", err)
			}
			if fs.IsDurable("f") || fs.Stats().Faults != 1 {
				t.Fatalf("durable after a failed sync, or faults = %d", fs.Stats().Faults)
			}
		})
	}
}

// failLogs is a custom Injector: every Sync of a .log file fails.
type failLogs struct{}

func (failLogs) Inject(op Op, name string) Fault {
	if op == OpSync && strings.HasSuffix(name, ".log") {
		return FaultIO
	}
	return NoFault
}

func TestCustomInjector(t *testing.T) {
	fs := newFS(t, Options{Injector: failLogs{}})
	for _, tt := range []struct {
		name string
		want error
	}{{"a.log", env.ErrIO}, {"a.index", nil}} {
		f, err := fs.Create(tt.name)
		ok(t, err)
		if err := f.Sync(); !errors.Is(err, tt.want) {
			t.Fatalf("%s: Sync = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestReadFaultsAreTransient(t *testing.T) {
	data := []byte("0123456789abcdef")
	fs := newFS(t, Options{})
	durableFile(t, fs, "f", data)
	f, err := fs.Open("f")
	ok(t, err)
	buf := make([]byte, len(data))

	fs.InjectNext(OpRead, FaultIO)
	if _, err := f.ReadAt(buf, 0); !errors.Is(err, env.ErrIO) {
		t.Fatalf("ReadAt = %v, want EIO", err)
	}
	fs.InjectNext(OpRead, FaultBitFlip)
	_, err = f.ReadAt(buf, 0)
	ok(t, err)
	if flipped := bitsDiffer(buf, data); flipped != 1 {
		t.Fatalf("%d bits flipped, want 1", flipped)
	}
	fs.Crash(env.NewRand(1, "crash"))
	if got, _ := get(t, fs, "f"); !bytes.Equal(got, data) {
		t.Fatal("a read fault changed the stored data")
	}

	random := newFS(t, Options{Faults: Probabilities{ReadIO: 0.3, ReadBitFlip: 0.3}})
	durableFile(t, random, "f", data)
	g, err := random.Open("f")
	ok(t, err)
	outcomes := map[string]int{}
	for range 200 {
		_, err := g.ReadAt(buf, 0)
		switch {
		case errors.Is(err, env.ErrIO):
			outcomes["eio"]++
		case bitsDiffer(buf, data) == 1:
			outcomes["flip"]++
		case bytes.Equal(buf, data):
			outcomes["clean"]++
		default:
			t.Fatalf("read %q, err %v", buf, err)
		}
	}
	if len(outcomes) != 3 || random.Stats().Faults != int64(outcomes["eio"]+outcomes["flip"]) {
		t.Fatalf("outcomes %v, faults %d", outcomes, random.Stats().Faults)
	}
}

func bitsDiffer(a, b []byte) int {
	n := 0
	for i := range a {
		for x := a[i] ^ b[i]; x != 0; x &= x - 1 {
			n++
		}
	}
	return n
}

func TestDiskFull(t *testing.T) {
	fs := newFS(t, Options{CapacityBytes: 1000})
	f, err := fs.Create("f")
	ok(t, err)
	_, err = f.Write(bytesOf('x', 600))
	ok(t, err)
	n, err := f.Write(bytesOf('y', 600))
	if n != 400 || !env.IsNoSpace(err) {
		t.Fatalf("Write = %d, %v; want the 400 bytes that fit and ENOSPC", n, err)
	}
	if u, _ := fs.Usage("."); u.UsableBytes != 0 {
		t.Fatalf("usable %d on a full disk", u.UsableBytes)
	}
	if _, err := fs.Create("g"); !env.IsNoSpace(err) {
		t.Fatalf("Create on a full disk = %v", err)
	}
	if err := f.Truncate(1001); !env.IsNoSpace(err) {
		t.Fatalf("growing Truncate on a full disk = %v", err)
	}
	ok(t, f.Truncate(600)) // the caller truncates the partial write away
	if u, _ := fs.Usage("."); u.UsableBytes != 400 {
		t.Fatalf("usable %d after truncate, want 400", u.UsableBytes)
	}
	fs.SetCapacity(2000)
	if n, err := f.Write(bytesOf('z', 1400)); n != 1400 || err != nil {
		t.Fatalf("Write after the capacity was raised = %d, %v", n, err)
	}
	if n, err := f.Write([]byte("!")); n != 0 || !env.IsNoSpace(err) {
		t.Fatalf("Write on a full disk = %d, %v; want 0 and ENOSPC", n, err)
	}
	if got, _ := get(t, fs, "f"); len(got) != 2000 || got[599] != 'x' || got[600] != 'z' {
		t.Fatalf("content after recovery: len %d", len(got))
	}
}

func TestCorruptPersists(t *testing.T) {
	data := bytesOf(0, 100)
	fs := newFS(t, Options{})
	durableFile(t, fs, "f", data)
	ok(t, fs.Corrupt("f", 10, 3))
	want := bytes.Clone(data)
	want[10] ^= 1 << 3
	for _, crash := range []bool{false, true} {
		if crash {
			fs.Crash(env.NewRand(2, "crash"))
		}
		if got, _ := get(t, fs, "f"); !bytes.Equal(got, want) {
			t.Fatalf("crash=%v: corruption not persistent", crash)
		}
	}
	off, bit, err := fs.CorruptRandom(env.NewRand(3, "rot"), "f")
	ok(t, err)
	got, _ := get(t, fs, "f")
	if bitsDiffer(got, want) != 1 || got[off] != want[off]^(1<<bit) {
		t.Fatalf("CorruptRandom reported %d/%d, which is not the flipped bit", off, bit)
	}
	if err := fs.Corrupt("f", 100, 0); err == nil {
		t.Fatal("Corrupt past the end must fail")
	}
}

// SetFaults changes the default Injector's probabilities at run time: the
// simulator's drain phase turns fsync failures off.
func TestSetFaults(t *testing.T) {
	fs := newFS(t, Options{Faults: Probabilities{SyncIO: 1}})
	f, err := fs.Create("f")
	ok(t, err)
	if err := f.Sync(); !errors.Is(err, env.ErrIO) {
		t.Fatalf("Sync = %v, want EIO", err)
	}
	fs.SetFaults(Probabilities{})
	if err := f.Sync(); err != nil || fs.Stats().Faults != 1 {
		t.Fatalf("Sync after SetFaults = %v, faults = %d; want nil, 1", err, fs.Stats().Faults)
	}
}
