package lint

import (
	"go/ast"
	"go/token"
	"strings"
)

// coreDirs are the deterministic packages, with all their sub-packages:
// they run identically under the production driver and the simulator, so
// the determinism bans and the machine rules apply to them (STYLE rule 28).
// driver, cmd, env, internal and linearizability are not core.
var coreDirs = []string{"broker", "controller", "replication", "storage", "executor", "sim"}

func inCore(dir string) bool {
	for _, core := range coreDirs {
		if covers(core, dir) {
			return true
		}
	}
	return false
}

func set(names ...string) map[string]bool {
	s := make(map[string]bool, len(names))
	for _, n := range names {
		s[n] = true
	}
	return s
}

var (
	// clockReads are the time functions that read or wait on the clock.
	clockReads = set("Now", "Since", "Until", "Sleep", "After", "AfterFunc", "Tick", "NewTimer", "NewTicker")

	// randAllowed are math/rand's and math/rand/v2's constructors and types:
	// a seeded generator is deterministic, the global source is not.
	randAllowed = set("New", "NewPCG", "NewChaCha8", "NewSource", "NewZipf",
		"Rand", "Source", "Source64", "PCG", "ChaCha8", "Zipf")

	// osAllowed are the members of os that do not touch the machine: types,
	// constants, error values and pure error predicates.
	osAllowed = set(
		"FileMode", "FileInfo", "DirEntry", "PathError", "LinkError", "SyscallError",
		"ModeDir", "ModeAppend", "ModeExclusive", "ModeTemporary", "ModeSymlink",
		"ModeDevice", "ModeNamedPipe", "ModeSocket", "ModeSetuid", "ModeSetgid",
		"ModeCharDevice", "ModeSticky", "ModeIrregular", "ModeType", "ModePerm",
		"O_RDONLY", "O_WRONLY", "O_RDWR", "O_APPEND", "O_CREATE", "O_EXCL", "O_SYNC", "O_TRUNC",
		"PathSeparator", "PathListSeparator",
		"ErrNotExist", "ErrExist", "ErrClosed", "ErrPermission", "ErrInvalid",
		"ErrDeadlineExceeded", "ErrNoDeadline",
		"IsExist", "IsNotExist", "IsPermission", "IsTimeout")

	// filepathDisk are the path/filepath functions that read the disk or
	// the working directory; the rest is string manipulation.
	filepathDisk = set("Abs", "EvalSymlinks", "Glob", "Walk", "WalkDir")

	// bannedImports are banned in the core with their sub-packages, except
	// the pure value packages in pureImports.
	bannedImports = []string{"net", "crypto/rand", "os/exec", "os/signal", "os/user", "io/ioutil"}
	pureImports   = set("net/netip", "net/url")

	// watchedImports are the packages whose members the rules inspect; a
	// dot import would hide those uses.
	watchedImports = set("time", "math/rand", "math/rand/v2", "os", "syscall", "path/filepath", "sync", "fmt", "errors")

	// messageBuilders build the string of an ad-hoc panic.
	messageBuilders = map[string]map[string]bool{
		"fmt":    set("Sprintf", "Sprint", "Sprintln", "Errorf"),
		"errors": set("New"),
	}
)

func (l *linter) checkDeterminism(p *pkg) {
	machinePkg := len(machineTypes(p)) > 0
	for _, f := range p.files {
		if f.test {
			continue
		}
		for _, spec := range f.syntax.Imports {
			l.checkCoreImport(f, spec)
		}
		ast.Inspect(f.syntax, func(n ast.Node) bool {
			l.checkCoreNode(f, n, machinePkg)
			return true
		})
	}
}

func (l *linter) checkCoreImport(f *file, spec *ast.ImportSpec) {
	imp := importPath(spec)
	if importName(spec) == "." && watchedImports[imp] {
		l.report(f, spec.Pos(), ruleBannedImport, "dot import of %s hides its uses from the lint", imp)
		return
	}
	if pureImports[imp] {
		return
	}
	for _, banned := range bannedImports {
		if covers(banned, imp) {
			l.report(f, spec.Pos(), ruleBannedImport,
				"the core must not import %s: sockets, processes and entropy live in driver/", imp)
			return
		}
	}
}

func (l *linter) checkCoreNode(f *file, n ast.Node, machinePkg bool) {
	switch n := n.(type) {
	case *ast.GoStmt:
		l.report(f, n.Pos(), ruleGoStatement,
			"go statement in the core: machines are single-threaded; goroutines live in driver/")
	case *ast.SelectStmt:
		if cases := len(n.Body.List); cases > 1 {
			l.report(f, n.Pos(), ruleMultiCaseSelect,
				"select with %d cases (default counts): Go picks among ready cases at random", cases)
		}
	case *ast.CallExpr:
		if isBuiltin(n.Fun, "panic") && len(n.Args) == 1 && isMessage(f, n.Args[0]) {
			l.report(f, n.Pos(), rulePanicMessage,
				"panic with a message: state the invariant with internal/assert (assert.That, assert.Failf)")
		}
	case *ast.SelectorExpr:
		if imp, ok := f.pkgOf(n); ok {
			l.checkMember(f, n, imp, machinePkg)
		}
	}
}

func (l *linter) checkMember(f *file, sel *ast.SelectorExpr, imp string, machinePkg bool) {
	name := sel.Sel.Name
	switch {
	case imp == "time" && clockReads[name]:
		l.report(f, sel.Pos(), ruleWallClock,
			"time.%s reads or waits on the clock: use the now carried by the event, and report deadlines in Ready", name)
	case (imp == "math/rand" || imp == "math/rand/v2") && !randAllowed[name]:
		l.report(f, sel.Pos(), ruleGlobalRand,
			"%s.%s uses the global source: draw from the machine's env.Rand", imp, name)
	case imp == "os" && !osAllowed[name],
		imp == "syscall" && !isErrno(name),
		imp == "path/filepath" && filepathDisk[name]:
		l.report(f, sel.Pos(), ruleMachineAccess,
			"%s.%s touches the real machine: the core sees the world only through env and events", imp, name)
	case imp == "sync" && machinePkg && (name == "Mutex" || name == "RWMutex"):
		l.report(f, sel.Pos(), ruleMutex,
			"sync.%s in a machine package: machines are owned by one goroutine and take no locks", name)
	}
}

// isErrno reports whether a syscall member is an errno constant (EIO,
// ENOSPC, ...) or the Errno type: values, not calls.
func isErrno(name string) bool {
	return name == "Errno" || (len(name) > 1 && name[0] == 'E' && strings.ToUpper(name) == name)
}

// isBuiltin reports whether fun is the predeclared function name, not
// shadowed by a local declaration.
func isBuiltin(fun ast.Expr, name string) bool {
	id, ok := fun.(*ast.Ident)
	return ok && id.Name == name && id.Obj == nil
}

// isMessage reports whether a panic argument is an ad-hoc message: a string
// literal, a concatenation with one, or a string or error built by fmt or
// errors.New.
func isMessage(f *file, arg ast.Expr) bool {
	switch arg := arg.(type) {
	case *ast.BasicLit:
		return arg.Kind == token.STRING
	case *ast.ParenExpr:
		return isMessage(f, arg.X)
	case *ast.BinaryExpr:
		return arg.Op == token.ADD && (isMessage(f, arg.X) || isMessage(f, arg.Y))
	case *ast.CallExpr:
		sel, ok := arg.Fun.(*ast.SelectorExpr)
		if !ok {
			return false
		}
		imp, ok := f.pkgOf(sel)
		return ok && messageBuilders[imp][sel.Sel.Name]
	}
	return false
}
