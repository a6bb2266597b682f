package lint

import (
	"go/ast"
	"path"
	"strings"
)

// layer is one row of the import table (STYLE rule 1, DESIGN §2).
type layer struct {
	// dir is a package directory relative to the module root. A row covers
	// its whole subtree, unless a deeper row says otherwise; every package
	// may import within its own row's subtree (broker/group → broker).
	dir string
	// may lists the other internal packages it may import, each with its
	// subtree; everything means the whole module.
	may []string
	// external lists the third-party module paths its non-test files may
	// import; anyModule allows all, nil means the standard library only.
	external []string
	// testCode marks rows whose files are all test code (see below).
	testCode bool
}

const everything = "..."

var (
	all       = []string{everything}
	anyModule = []string{everything}
	// leaf is what the leaf adapters and doubles may import.
	leaf = []string{"env", "internal/assert"}
	// leafDoubles import only env, so a test that uses one cannot pull in
	// a layer above it.
	leafDoubles = []string{"sim/simfs", "sim/simnet", "driver/osfs", "driver/tcpnet"}
)

// layers is the import table. Imports point down only: cmd → driver|sim →
// broker → controller → replication → storage → env. A new package outside
// every row fails UnknownPackage until a row says what it may import.
//
// Test code is every _test.go file, every harness package (a package whose
// name ends in "test", like storage/storagetest: rafttest's role) and
// scenarios. Besides its row, test code may import the leaf doubles and the
// harness of any package its row allows (its own included): never a harness
// of a layer above, which would import that layer. Production code may
// import neither a harness nor internal/lint (TestOnlyImport).
var layers = []layer{
	// The top: the binary, and scripts driving real takhin processes.
	{dir: "cmd", may: all, external: anyModule},
	{dir: "scenarios", may: all, external: anyModule, testCode: true},

	// The production driver and its twin, the simulator.
	{dir: "driver", may: []string{"executor", "broker", "controller", "replication", "storage", "env", "internal"}, external: anyModule},
	{dir: "sim", may: []string{"executor", "broker", "controller", "replication", "storage", "linearizability", "env", "internal"}, external: anyModule},

	// The disk half of the executors, shared by driver and sim.
	{dir: "executor", may: []string{"controller", "replication", "storage", "env", "internal"}, external: anyModule},

	// The deterministic core, top down.
	{dir: "broker", may: []string{"controller", "replication", "storage", "env", "internal"}, external: anyModule},
	{dir: "controller", may: []string{"replication", "storage", "env", "internal"}, external: anyModule},
	{dir: "replication", may: []string{"storage", "env", "internal"}, external: anyModule},
	{dir: "storage", may: []string{"env", "internal"}, external: anyModule},
	// The record-batch codecs, shared by storage (the cleaner re-encodes)
	// and broker/records (validation): a leaf.
	{dir: "storage/compression", may: []string{"internal/assert"},
		external: []string{"github.com/klauspost/compress", "github.com/pierrec/lz4/v4"}},

	// Leaf adapters (driver/) and doubles (sim/): env only.
	{dir: "driver/osfs", may: leaf, external: anyModule},
	{dir: "driver/tcpnet", may: leaf, external: anyModule},
	{dir: "sim/simfs", may: leaf, external: anyModule},
	{dir: "sim/simnet", may: leaf, external: anyModule},

	// Leaves.
	{dir: "env"},
	{dir: "linearizability", external: []string{"github.com/anishathalye/porcupine"}},
	{dir: "internal/assert"},
	{dir: "internal/invariants"},
	{dir: "internal/simbug"},
	{dir: "internal/bufpool"},
	{dir: "internal/lint"},
}

// covers reports whether pattern (a row's dir or a may entry) names dir or
// an ancestor of it.
func covers(pattern, dir string) bool {
	return pattern == everything || dir == pattern || strings.HasPrefix(dir, pattern+"/")
}

// lookupLayer returns the deepest row covering dir.
func lookupLayer(dir string) (layer, bool) {
	var best layer
	found := false
	for _, row := range layers {
		if covers(row.dir, dir) && (!found || len(row.dir) > len(best.dir)) {
			best, found = row, true
		}
	}
	return best, found
}

// isHarness reports whether dir is a test harness package (xxxtest).
func isHarness(dir string) bool {
	base := path.Base(dir)
	return len(base) > len("test") && strings.HasSuffix(base, "test")
}

func (l *linter) checkImports(p *pkg) {
	row, ok := lookupLayer(p.dir)
	if !ok {
		f := firstFile(p)
		l.report(f, f.syntax.Package, ruleUnknownPackage,
			"package %s is in no row of the layer table: add one to internal/lint/layers.go saying what it may import", p.dir)
		return
	}
	for _, f := range p.files {
		testCode := f.test || row.testCode || isHarness(p.dir)
		for _, spec := range f.syntax.Imports {
			l.checkImport(f, spec, p.dir, row, testCode)
		}
	}
}

// firstFile is where a package-level finding goes: its first non-test file.
func firstFile(p *pkg) *file {
	for _, f := range p.files {
		if !f.test {
			return f
		}
	}
	return p.files[0]
}

func (l *linter) checkImport(f *file, spec *ast.ImportSpec, dir string, row layer, testCode bool) {
	imp := importPath(spec)
	target, internal := l.relative(imp)
	switch {
	case !internal:
		if !testCode && !isStd(imp) && !allowsExternal(row, imp) {
			l.report(f, spec.Pos(), ruleExternalImport,
				"%s may import only the standard library%s, not %s", dir, externalNote(row), imp)
		}
	case (isHarness(target) || target == "internal/lint") && !testCode:
		l.report(f, spec.Pos(), ruleTestOnlyImport,
			"production code must not import %s: harnesses and the lint are for tests only", target)
	case !mayImport(row, target, testCode):
		l.report(f, spec.Pos(), ruleImportLayer,
			"%s must not import %s: imports point down only (internal/lint/layers.go)", dir, target)
	}
}

// relative returns imp's directory relative to the module root, if imp is
// in the module.
func (l *linter) relative(imp string) (string, bool) {
	if imp == l.module {
		return ".", true
	}
	rest, ok := strings.CutPrefix(imp, l.module+"/")
	return rest, ok
}

func mayImport(row layer, target string, testCode bool) bool {
	if covers(row.dir, target) {
		return true
	}
	for _, pattern := range row.may {
		if covers(pattern, target) {
			return true
		}
	}
	if !testCode {
		return false
	}
	for _, double := range leafDoubles {
		if covers(double, target) {
			return true
		}
	}
	return isHarness(target) && mayImport(row, path.Dir(target), false)
}

// isStd reports whether imp is in the standard library: its first element
// has no dot.
func isStd(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return !strings.Contains(first, ".")
}

func allowsExternal(row layer, imp string) bool {
	for _, module := range row.external {
		if covers(module, imp) {
			return true
		}
	}
	return false
}

func externalNote(row layer) string {
	if len(row.external) == 0 {
		return ""
	}
	return " and " + strings.Join(row.external, ", ")
}
