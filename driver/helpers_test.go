package driver_test

// Goal: the doubles the driver tests share. recordFS wraps the simulated
// disk (sim/simfs, single-threaded by contract, so every call is
// serialized here) and records, in one sequence, every batch written to a
// segment and every segment fsync, next to the replies and images the
// tests note from the loops' callbacks: "was this reply released after
// the fsync that covers its batch" is then a question about that
// sequence. It can also hold segment fsyncs on a gate (an fsync in flight,
// deterministically) and fail them.

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/env"
	"github.com/takhin-io/takhin/sim/simfs"
	"github.com/takhin-io/takhin/storage"
)

type opKind int

const (
	opWrite   opKind = iota // a batch appended to a segment
	opSync                  // a segment fsync that succeeded
	opReply                 // a successful reply noted by a test
	opPublish               // an image noted by a test
)

type op struct {
	kind opKind
	file string
	// base is the batch's base offset (opWrite) or the offset a reply
	// covers (opReply).
	base storage.Offset
	note string
}

type recordFS struct {
	ops list[op] // its own lock: notes come from callbacks at any time

	mu      sync.Mutex // serializes every call into fs
	fs      *simfs.FS
	gate    chan struct{} // when set, segment fsyncs wait until it closes
	syncErr error         // when set, segment fsyncs fail with it
}

func newRecordFS(seed uint64) *recordFS {
	return &recordFS{fs: simfs.New(env.NewRand(seed, "disk"), simfs.Options{})}
}

func isSegment(name string) bool { return strings.HasSuffix(name, ".log") }

// hold makes every segment fsync from now on wait for release.
func (r *recordFS) hold() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gate = make(chan struct{})
}

func (r *recordFS) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	close(r.gate)
	r.gate = nil
}

// releaseIfHeld is for cleanups: a test that fails with an fsync held
// must still let its loop stop, or the bubble deadlocks and hides the
// failure.
func (r *recordFS) releaseIfHeld() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gate != nil {
		close(r.gate)
		r.gate = nil
	}
}

func (r *recordFS) failSyncs(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.syncErr = err
}

func (r *recordFS) note(o op) { r.ops.add(o) }

func (r *recordFS) snapshot() []op { return r.ops.all() }

// count returns how many ops of kind were recorded from index from on.
func (r *recordFS) count(kind opKind, from int) int {
	n := 0
	for _, o := range r.snapshot()[from:] {
		if o.kind == kind {
			n++
		}
	}
	return n
}

// crash is a power loss: unsynced data may be lost or torn.
func (r *recordFS) crash(seed uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fs.Crash(env.NewRand(seed, "crash"))
}

// allDurable reports whether every segment under dir is durable to its
// current size.
func (r *recordFS) allDurable(t *testing.T, dir string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	names, err := r.fs.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !isSegment(n) {
			continue
		}
		f, err := r.fs.Open(dir + "/" + n)
		if err != nil {
			t.Fatal(err)
		}
		size, _ := f.Size()
		durable, _ := r.fs.DurableSize(dir + "/" + n)
		_ = f.Close()
		if size != durable {
			return false
		}
	}
	return true
}

// checkDurableBeforeReplies fails unless every noted reply comes after a
// segment fsync that itself comes after the write of the batch holding the
// reply's offset.
func checkDurableBeforeReplies(t *testing.T, ops []op) {
	t.Helper()
	for i, o := range ops {
		if o.kind != opReply {
			continue
		}
		w := -1
		for j := range i {
			if ops[j].kind == opWrite && ops[j].base <= o.base {
				w = j // batches are written in offset order: the last one holds it
			}
		}
		if w < 0 {
			t.Fatalf("reply %s at offset %d: no write of its batch before it", o.note, o.base)
		}
		synced := false
		for j := w + 1; j < i; j++ {
			synced = synced || ops[j].kind == opSync && ops[j].file == ops[w].file
		}
		if !synced {
			t.Fatalf("reply %s at offset %d released before the fsync of %s covering it", o.note, o.base, ops[w].file)
		}
	}
}

func (r *recordFS) wrap(f env.File, err error) (env.File, error) {
	if err != nil {
		return nil, err
	}
	return &recordFile{r: r, f: f}, nil
}

// locked runs f under the disk's lock: simfs is single-threaded.
func locked[T any](r *recordFS, f func() (T, error)) (T, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return f()
}

func none(err error) (struct{}, error) { return struct{}{}, err }

func (r *recordFS) Create(name string) (env.File, error) {
	return locked(r, func() (env.File, error) { return r.wrap(r.fs.Create(name)) })
}

func (r *recordFS) Open(name string) (env.File, error) {
	return locked(r, func() (env.File, error) { return r.wrap(r.fs.Open(name)) })
}

func (r *recordFS) OpenReadWrite(name string) (env.File, error) {
	return locked(r, func() (env.File, error) { return r.wrap(r.fs.OpenReadWrite(name)) })
}

func (r *recordFS) Rename(oldname, newname string) error {
	_, err := locked(r, func() (struct{}, error) { return none(r.fs.Rename(oldname, newname)) })
	return err
}

func (r *recordFS) Remove(name string) error {
	_, err := locked(r, func() (struct{}, error) { return none(r.fs.Remove(name)) })
	return err
}

func (r *recordFS) MkdirAll(dir string) error {
	_, err := locked(r, func() (struct{}, error) { return none(r.fs.MkdirAll(dir)) })
	return err
}

func (r *recordFS) SyncDir(dir string) error {
	_, err := locked(r, func() (struct{}, error) { return none(r.fs.SyncDir(dir)) })
	return err
}

func (r *recordFS) List(dir string) ([]string, error) {
	return locked(r, func() ([]string, error) { return r.fs.List(dir) })
}

func (r *recordFS) Usage(dir string) (env.Usage, error) {
	return locked(r, func() (env.Usage, error) { return r.fs.Usage(dir) })
}

type recordFile struct {
	r *recordFS
	f env.File
}

func (f *recordFile) Write(p []byte) (int, error) {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	n, err := f.f.Write(p)
	if err == nil && isSegment(f.f.Name()) && len(p) >= storage.BatchHeaderSize {
		f.r.ops.add(op{kind: opWrite, file: f.f.Name(), base: storage.DecodeBatchHeader(p).BaseOffset})
	}
	return n, err
}

// Sync waits on the gate outside the lock, so the rest of the disk stays
// usable while an fsync is held.
func (f *recordFile) Sync() error {
	f.r.mu.Lock()
	gate := f.r.gate
	f.r.mu.Unlock()
	if gate != nil && isSegment(f.f.Name()) {
		<-gate
	}
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	if f.r.syncErr != nil && isSegment(f.f.Name()) {
		return f.r.syncErr
	}
	err := f.f.Sync()
	if err == nil && isSegment(f.f.Name()) {
		f.r.ops.add(op{kind: opSync, file: f.f.Name()})
	}
	return err
}

func (f *recordFile) ReadAt(p []byte, off int64) (int, error) {
	return locked(f.r, func() (int, error) { return f.f.ReadAt(p, off) })
}

func (f *recordFile) Truncate(size int64) error {
	_, err := locked(f.r, func() (struct{}, error) { return none(f.f.Truncate(size)) })
	return err
}

func (f *recordFile) Reserve(n int64) error {
	_, err := locked(f.r, func() (struct{}, error) { return none(f.f.Reserve(n)) })
	return err
}

func (f *recordFile) Size() (int64, error) {
	return locked(f.r, func() (int64, error) { return f.f.Size() })
}

func (f *recordFile) Close() error {
	_, err := locked(f.r, func() (struct{}, error) { return none(f.f.Close()) })
	return err
}

func (f *recordFile) Name() string { return f.f.Name() }

// batch builds a one-record v2 batch whose value is value.
func batch(value string) []byte {
	return storage.EncodeBatch([]kmsg.Record{{Value: []byte(value)}}, 1_700_000_000_000)
}

// values decodes the record values of concatenated batches.
func values(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	for len(b) > 0 {
		size := storage.DecodeBatchHeader(b).Size()
		if _, err := storage.ValidateBatch(b[:size]); err != nil {
			t.Fatalf("invalid batch: %v", err)
		}
		records, err := storage.ReadRecords(b[:size])
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range records {
			out = append(out, string(rec.Value))
		}
		b = b[size:]
	}
	return out
}

// list is a slice appended to from callbacks on the loops' goroutines.
type list[T any] struct {
	mu    sync.Mutex
	items []T
}

func (l *list[T]) add(item T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.items = append(l.items, item)
}

func (l *list[T]) all() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]T(nil), l.items...)
}

// at is a reply and when (on the bubble's fake clock) it was released.
type at[T any] struct {
	reply T
	when  time.Time
}

// inbox collects replies by request id.
type inbox[K comparable, T any] struct {
	mu      sync.Mutex
	replies map[K]at[T]
	dups    []K
}

func newInbox[K comparable, T any]() *inbox[K, T] {
	return &inbox[K, T]{replies: map[K]at[T]{}}
}

func (b *inbox[K, T]) put(id K, r T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, dup := b.replies[id]; dup {
		b.dups = append(b.dups, id)
	}
	b.replies[id] = at[T]{reply: r, when: time.Now()}
}

func (b *inbox[K, T]) get(id K) (at[T], bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.replies[id]
	return r, ok
}

func (b *inbox[K, T]) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.replies)
}

func (b *inbox[K, T]) checkNoDuplicates(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.dups) > 0 {
		t.Fatalf("requests answered twice: %v", b.dups)
	}
}
