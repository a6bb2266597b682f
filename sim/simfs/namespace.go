package simfs

import (
	iofs "io/fs"
	"math"
	"path"
	"strings"
	"syscall"

	"github.com/takhin-io/takhin/internal/assert"
)

// inode is a file or a directory. Names live in directories; data lives in
// inodes, so an open File follows its inode through renames and removes.
type inode struct {
	id    uint64
	isDir bool

	// Files. data is the page cache (what reads see); durable is what the
	// medium holds. They never share a backing array.
	data, durable []byte
	// dirtyFrom is where data starts to differ from what the last Sync
	// attempt saw: bytes of data before it are clean (durable, or lost by a
	// failed Sync). dirtyTo is where the differing bytes end when only a
	// range was overwritten (a reservation's writes), so a Sync copies that
	// range and not the zeros after it; touch sets it past any end.
	// Invariant: dirtyFrom ≤ len(data).
	dirtyFrom, dirtyTo int
	// links counts visible names, opens open Files; the file's bytes count
	// as used while either is positive.
	links, opens int

	// Directories: visible and durable name tables.
	entries, durableEntries map[string]*inode
}

// view selects the visible or the durable name tables.
type view bool

const (
	visible  view = false
	onMedium view = true
)

func (n *inode) names(v view) map[string]*inode {
	if v == onMedium {
		return n.durableEntries
	}
	return n.entries
}

// touch records that data changes from offset at on.
func (n *inode) touch(at int) {
	n.dirtyFrom, n.dirtyTo = min(n.dirtyFrom, at), math.MaxInt
}

// touchRange records that data changed in [from, to) only.
func (n *inode) touchRange(from, to int) {
	n.dirtyFrom, n.dirtyTo = min(n.dirtyFrom, from), max(n.dirtyTo, to)
}

// clean records that every byte of data counts as clean (synced, or lost).
func (n *inode) clean() { n.dirtyFrom, n.dirtyTo = len(n.data), 0 }

func (fs *FS) newInode(isDir bool) *inode {
	fs.lastID++
	n := &inode{id: fs.lastID, isDir: isDir}
	if isDir {
		n.entries = map[string]*inode{}
		n.durableEntries = map[string]*inode{}
	}
	return n
}

// release stops counting a file's bytes once nothing references it.
func (fs *FS) release(n *inode) {
	assert.That(n.links >= 0 && n.opens >= 0, "simfs: negative reference count")
	if !n.isDir && n.links == 0 && n.opens == 0 {
		fs.used -= int64(len(n.data))
	}
}

type opKind uint8

const (
	opLink   opKind = iota + 1 // bind dir/name to a new inode (Create, MkdirAll)
	opUnlink                   // remove dir/name (Remove)
	opRename                   // move dir/name to toDir/toName (Rename)
)

// nsOp is one namespace change, applied to the visible tables at once and
// to the durable ones by SyncDir or, if it survives, by Crash.
type nsOp struct {
	id           uint64
	kind         opKind
	dir          *inode
	name         string
	toDir        *inode // opRename only
	toName       string // opRename only
	node         *inode // the inode linked, unlinked or moved
	replacedNode *inode // visible target a rename replaced, for accounting
}

// apply performs op on view v and reports whether its precondition held; an
// op whose precondition fails changes nothing (Crash drops it).
func (op *nsOp) apply(v view) bool {
	entries := op.dir.names(v)
	switch op.kind {
	case opLink:
		if old := entries[op.name]; old != nil && old.isDir {
			return false
		}
		entries[op.name] = op.node
	case opUnlink:
		if entries[op.name] != op.node || (op.node.isDir && len(op.node.names(v)) > 0) {
			return false
		}
		delete(entries, op.name)
	case opRename:
		to := op.toDir.names(v)
		if entries[op.name] != op.node || (to[op.toName] != nil && to[op.toName].isDir) {
			return false
		}
		delete(entries, op.name)
		to[op.toName] = op.node
	default:
		assert.Failf("simfs: unknown op kind %d", op.kind)
	}
	return true
}

// dirs are the directories whose tables op reads or writes: an unlinked
// directory's own table is read (it must be empty).
func (op *nsOp) dirs() []*inode {
	dirs := []*inode{op.dir}
	if op.toDir != nil && op.toDir != op.dir {
		dirs = append(dirs, op.toDir)
	}
	if op.kind == opUnlink && op.node.isDir {
		dirs = append(dirs, op.node)
	}
	return dirs
}

// binds reports whether op changes the entry name of dir.
func (op *nsOp) binds(dir *inode, name string) bool {
	return (op.dir == dir && op.name == name) || (op.toDir == dir && op.toName == name)
}

// do applies op to the visible tables and queues it for the medium.
func (fs *FS) do(op *nsOp) {
	fs.lastID++
	op.id = fs.lastID
	if op.kind == opRename {
		op.replacedNode = op.toDir.entries[op.toName]
	}
	ok := op.apply(visible)
	assert.That(ok, "simfs: visible namespace op failed its precondition")
	fs.pending = append(fs.pending, op)
	switch op.kind {
	case opLink:
		op.node.links++
	case opUnlink:
		op.node.links--
		fs.release(op.node)
	case opRename:
		if r := op.replacedNode; r != nil {
			r.links--
			fs.release(r)
		}
	}
}

// commit writes to the medium, in order, the queued ops that touch dir and,
// transitively, the earlier ops sharing a directory with a committed one, so
// each directory's durable table is always its visible history cut at some
// point and every committed op's precondition holds.
func (fs *FS) commit(dir *inode) {
	hot := map[*inode]bool{dir: true}
	chosen := make([]bool, len(fs.pending))
	for i := len(fs.pending) - 1; i >= 0; i-- {
		dirs := fs.pending[i].dirs()
		for _, d := range dirs {
			chosen[i] = chosen[i] || hot[d]
		}
		if chosen[i] {
			for _, d := range dirs {
				hot[d] = true
			}
		}
	}
	var rest []*nsOp
	for i, op := range fs.pending {
		if !chosen[i] {
			rest = append(rest, op)
			continue
		}
		ok := op.apply(onMedium)
		assert.That(ok, "simfs: committed namespace op failed its precondition")
	}
	fs.pending = rest
}

// split cleans a slash-separated path relative to the root into its parts
// (none for the root itself); it refuses paths that climb out of the root.
func split(name string) ([]string, bool) {
	p := path.Clean(strings.TrimLeft(name, "/"))
	if p == "." {
		return nil, true
	}
	if p == ".." || strings.HasPrefix(p, "../") {
		return nil, false
	}
	return strings.Split(p, "/"), true
}

// walk resolves parts in the visible tables.
func (fs *FS) walk(parts []string) (*inode, error) {
	node := fs.root
	for _, part := range parts {
		if !node.isDir {
			return nil, syscall.ENOTDIR
		}
		node = node.entries[part]
		if node == nil {
			return nil, iofs.ErrNotExist
		}
	}
	return node, nil
}

func (fs *FS) lookup(name string) (*inode, error) {
	parts, ok := split(name)
	if !ok {
		return nil, iofs.ErrInvalid
	}
	return fs.walk(parts)
}

// parent resolves the directory that holds name, and name's last part.
func (fs *FS) parent(name string) (*inode, string, error) {
	parts, ok := split(name)
	if !ok || len(parts) == 0 {
		return nil, "", iofs.ErrInvalid
	}
	dir, err := fs.walk(parts[:len(parts)-1])
	if err == nil && !dir.isDir {
		err = syscall.ENOTDIR
	}
	return dir, parts[len(parts)-1], err
}
