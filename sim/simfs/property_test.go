// Goal: a rapid state-machine test of the durability contract against a
// model, over random sequences of Create, Write, Truncate, Sync (successful
// or failing), writes into a reservation with Syncs between them (and
// sometimes a Crash before its Close), Rename, Remove, SyncDir and Crash in
// one directory.
//
// The model. Each file (inode) has its content (what reads must return)
// and its guaranteed prefix: set to the content by a successful Sync, cut
// by Truncate, emptied by Create, and frozen for good (until the next
// crash) by a failed Sync — after fsyncgate nothing later is guaranteed.
// The directory has its durable bindings (the names as of the last
// SyncDir) and the set of names a namespace op touched since. Checked:
//   - always: List and every file's content match the model;
//   - after Crash: every durable, untouched name exists and starts with
//     its file's guaranteed prefix, and every name that exists is either
//     durable or touched (nothing appears from nowhere).
//
// After a crash the model is reloaded from the disk: all of it is durable.
package simfs

import (
	"bytes"
	"maps"
	"slices"
	"testing"

	"github.com/takhin-io/takhin/env"
	"pgregory.net/rapid"
)

type modelFile struct {
	content, guaranteed []byte
	frozen              bool // a Sync failed: guaranteed no longer grows
}

type model struct {
	fs      *FS
	crashes *env.Rand             // draws of every Crash
	files   map[string]*modelFile // visible names
	durable map[string]*modelFile // bindings as of the last SyncDir
	touched map[string]bool       // names changed since the last SyncDir
}

const dir = "d"

func TestPropertySyncedPrefixSurvives(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		fs := New(env.NewRand(seed, "fs"), Options{SectorSize: 64})
		ok(t, fs.MkdirAll(dir))
		ok(t, fs.SyncDir("."))
		m := &model{fs: fs, crashes: env.NewRand(seed, "crash")}
		m.reload(t)
		actions := m.dataActions()
		maps.Copy(actions, m.namespaceActions())
		actions[""] = m.check
		t.Repeat(actions)
	})
}

func (m *model) dataActions() map[string]func(*rapid.T) {
	return map[string]func(*rapid.T){
		"create": func(t *rapid.T) {
			n := rapid.SampledFrom([]string{"a", "b", "c"}).Draw(t, "name")
			f, err := m.fs.Create(dir + "/" + n)
			ok(t, err)
			ok(t, f.Close())
			if mf := m.files[n]; mf != nil {
				mf.content, mf.guaranteed = nil, nil
				return
			}
			m.files[n] = &modelFile{}
			m.touched[n] = true
		},
		"write": func(t *rapid.T) {
			n, mf := m.pick(t)
			data := rapid.SliceOfN(rapid.Byte(), 1, 300).Draw(t, "data")
			appendTo(t, m.fs, dir+"/"+n, data, false)
			mf.content = append(mf.content, data...)
		},
		"truncate": func(t *rapid.T) {
			n, mf := m.pick(t)
			size := rapid.IntRange(0, len(mf.content)).Draw(t, "size")
			f, err := m.fs.OpenReadWrite(dir + "/" + n)
			ok(t, err)
			ok(t, f.Truncate(int64(size)))
			ok(t, f.Close())
			mf.content = mf.content[:size]
			mf.guaranteed = mf.guaranteed[:min(size, len(mf.guaranteed))]
		},
		"reserved-writes": func(t *rapid.T) {
			// Reserve, write into the zeros, Sync, overwrite more of them,
			// maybe Sync again (a sync of an overwritten range only), Close
			// (which cuts the zeros left).
			n, mf := m.pick(t)
			first := rapid.SliceOfN(rapid.Byte(), 1, 100).Draw(t, "first")
			second := rapid.SliceOfN(rapid.Byte(), 1, 100).Draw(t, "second")
			syncAgain := rapid.Bool().Draw(t, "syncAgain")
			f, err := m.fs.OpenReadWrite(dir + "/" + n)
			ok(t, err)
			ok(t, f.Reserve(256))
			_, err = f.Write(first)
			ok(t, err)
			ok(t, f.Sync())
			mf.content = append(mf.content, first...)
			if !mf.frozen {
				mf.guaranteed = bytes.Clone(mf.content)
			}
			_, err = f.Write(second)
			ok(t, err)
			mf.content = append(mf.content, second...)
			if syncAgain {
				ok(t, f.Sync())
				if !mf.frozen {
					mf.guaranteed = bytes.Clone(mf.content)
				}
			}
			if rapid.IntRange(0, 3).Draw(t, "crashOpen") == 0 {
				// Power loss with the reservation open: the zeros may
				// follow the guaranteed prefix on the medium.
				m.fs.Crash(m.crashes)
				m.checkCrash(t)
				m.reload(t)
				return
			}
			ok(t, f.Close())
		},
		"sync": func(t *rapid.T) {
			n, mf := m.pick(t)
			fail := rapid.IntRange(0, 4).Draw(t, "fail") == 0
			if fail {
				m.fs.InjectNext(OpSync, FaultIO)
			}
			f, err := m.fs.Open(dir + "/" + n)
			ok(t, err)
			if err := f.Sync(); (err != nil) != fail {
				t.Fatalf("Sync = %v, injected failure %v", err, fail)
			}
			ok(t, f.Close())
			mf.frozen = mf.frozen || fail
			if !mf.frozen {
				mf.guaranteed = bytes.Clone(mf.content)
			}
		},
	}
}

func (m *model) namespaceActions() map[string]func(*rapid.T) {
	return map[string]func(*rapid.T){
		"rename": func(t *rapid.T) {
			from, mf := m.pick(t)
			to := rapid.SampledFrom([]string{"a", "b", "c"}).Draw(t, "to")
			if to == from {
				t.Skip("rename to itself")
			}
			ok(t, m.fs.Rename(dir+"/"+from, dir+"/"+to))
			delete(m.files, from)
			m.files[to] = mf
			m.touched[from], m.touched[to] = true, true
		},
		"remove": func(t *rapid.T) {
			n, _ := m.pick(t)
			ok(t, m.fs.Remove(dir+"/"+n))
			delete(m.files, n)
			m.touched[n] = true
		},
		"syncdir": func(t *rapid.T) {
			ok(t, m.fs.SyncDir(dir))
			m.durable = maps.Clone(m.files)
			clear(m.touched)
		},
		"crash": func(t *rapid.T) {
			m.fs.Crash(m.crashes)
			m.checkCrash(t)
			m.reload(t)
		},
	}
}

// pick draws an existing name, skipping the action when there is none.
func (m *model) pick(t *rapid.T) (string, *modelFile) {
	if len(m.files) == 0 {
		t.Skip("no file")
	}
	n := rapid.SampledFrom(slices.Sorted(maps.Keys(m.files))).Draw(t, "name")
	return n, m.files[n]
}

func (m *model) check(t *rapid.T) {
	fs := m.fs
	got, err := fs.List(dir)
	ok(t, err)
	if want := slices.Sorted(maps.Keys(m.files)); !slices.Equal(got, want) {
		t.Fatalf("List = %v, model %v", got, want)
	}
	for _, n := range got {
		if content, _ := get(t, fs, dir+"/"+n); !bytes.Equal(content, m.files[n].content) {
			t.Fatalf("%s: read %d bytes, model %d", n, len(content), len(m.files[n].content))
		}
	}
}

func (m *model) checkCrash(t *rapid.T) {
	fs := m.fs
	for _, n := range slices.Sorted(maps.Keys(m.durable)) {
		if m.touched[n] {
			continue
		}
		content, found := get(t, fs, dir+"/"+n)
		if !found {
			t.Fatalf("durable file %s vanished", n)
		}
		if g := m.durable[n].guaranteed; !bytes.HasPrefix(content, g) {
			t.Fatalf("%s: %d bytes after crash lack the %d-byte guaranteed prefix", n, len(content), len(g))
		}
	}
	got, err := fs.List(dir)
	ok(t, err)
	for _, n := range got {
		if m.durable[n] == nil && !m.touched[n] {
			t.Fatalf("%s appeared from nowhere", n)
		}
	}
}

// reload makes the model the disk's post-crash state, all of it durable.
func (m *model) reload(t *rapid.T) {
	fs := m.fs
	got, err := fs.List(dir)
	ok(t, err)
	m.files = map[string]*modelFile{}
	for _, n := range got {
		content, _ := get(t, fs, dir+"/"+n)
		m.files[n] = &modelFile{content: content, guaranteed: bytes.Clone(content)}
	}
	m.durable = maps.Clone(m.files)
	m.touched = map[string]bool{}
}
