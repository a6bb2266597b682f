// Package lint enforces Takhin's structural rules over the syntax trees and
// the import graph of the module: the import layers (STYLE rule 1), the
// determinism bans of the core (rule 28), machines without I/O (rule 6) and
// the function-length ratchet (rule 5). It runs as a Go test (lint_test.go
// says which files each rule covers); production code never imports it.
//
// The escape hatch is a comment on the offending line or the line above it:
//
//	//lint:ignore RuleName why this one is fine
//
// The reason is required, and a directive that suppresses nothing is
// itself reported, so stale exemptions do not pile up.
package lint

import (
	"cmp"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Rule names, as reported and as written in //lint:ignore directives.
const (
	ruleImportLayer     = "ImportLayer"     // an import against the layer table
	ruleUnknownPackage  = "UnknownPackage"  // a package the layer table does not know
	ruleTestOnlyImport  = "TestOnlyImport"  // production code importing a harness or lint
	ruleExternalImport  = "ExternalImport"  // a third-party import in a std-only leaf
	ruleWallClock       = "WallClock"       // time.Now and friends in the core
	ruleGlobalRand      = "GlobalRand"      // math/rand's global source in the core
	ruleBannedImport    = "BannedImport"    // net, crypto/rand, os/exec, ... in the core
	ruleMachineAccess   = "MachineAccess"   // os/syscall/filepath calls that touch the machine
	ruleGoStatement     = "GoStatement"     // a go statement in the core
	ruleMultiCaseSelect = "MultiCaseSelect" // a select with several cases in the core
	rulePanicMessage    = "PanicMessage"    // panic("...") instead of internal/assert
	ruleMutex           = "Mutex"           // sync.Mutex in a machine package
	ruleMachineIO       = "MachineIO"       // env.FS, env.Network, ... inside a machine
	ruleFuncLength      = "FuncLength"      // a function over funcLinesMax lines
	ruleIgnoreDirective = "IgnoreDirective" // a malformed or unused //lint:ignore
)

// allRules lists every rule; each has a planted violation in testdata.
var allRules = []string{
	ruleImportLayer, ruleUnknownPackage, ruleTestOnlyImport, ruleExternalImport,
	ruleWallClock, ruleGlobalRand, ruleBannedImport, ruleMachineAccess,
	ruleGoStatement, ruleMultiCaseSelect, rulePanicMessage, ruleMutex,
	ruleMachineIO, ruleFuncLength, ruleIgnoreDirective,
}

// Violation is one finding.
type Violation struct {
	Rule string
	File string // slash-separated, relative to the linted root
	Line int
	Msg  string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", v.File, v.Line, v.Rule, v.Msg)
}

// pkg is the files of one directory. Test files (package x and x_test)
// belong to it too.
type pkg struct {
	dir   string // slash path relative to the root; "." for the root itself
	files []*file
}

type file struct {
	name    string // slash path relative to the root
	syntax  *ast.File
	test    bool              // a _test.go file
	imports map[string]string // local name → import path (no dot or blank imports)
	ignores []*directive
}

// directive is one //lint:ignore comment.
type directive struct {
	line   int
	rule   string
	reason string
	used   bool
}

// finding is a violation before //lint:ignore directives are applied. A
// directive on a line in [ignoreFrom, v.Line] suppresses it.
type finding struct {
	v          Violation
	ignoreFrom int
}

type linter struct {
	module   string
	fset     *token.FileSet
	findings []finding
}

// Run lints every package under root, whose import paths start with module,
// and returns the violations sorted by file and line. Directories named
// testdata, starting with "." or "_", or holding their own go.mod are
// skipped, as the go tool does.
func Run(root, module string) ([]Violation, error) {
	l := &linter{module: module, fset: token.NewFileSet()}
	pkgs, err := l.load(root)
	if err != nil {
		return nil, err
	}
	for _, p := range pkgs {
		l.checkImports(p)
		if inCore(p.dir) {
			l.checkDeterminism(p)
			l.checkMachines(p)
		}
		l.checkFuncLength(p)
	}
	return l.finish(pkgs), nil
}

func (l *linter) load(root string) ([]*pkg, error) {
	byDir := map[string]*pkg{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return skipDir(root, p, d.Name())
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := l.parse(root, p)
		if err != nil {
			return err
		}
		dir := path.Dir(f.name)
		if byDir[dir] == nil {
			byDir[dir] = &pkg{dir: dir}
		}
		byDir[dir].files = append(byDir[dir].files, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	pkgs := make([]*pkg, 0, len(byDir))
	for _, p := range byDir {
		pkgs = append(pkgs, p)
	}
	slices.SortFunc(pkgs, func(a, b *pkg) int { return cmp.Compare(a.dir, b.dir) })
	return pkgs, nil
}

func skipDir(root, p, name string) error {
	if p == root {
		return nil
	}
	if name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
		return filepath.SkipDir
	}
	if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
		return filepath.SkipDir // a nested module is linted on its own
	}
	return nil
}

func (l *linter) parse(root, p string) (*file, error) {
	syntax, err := parser.ParseFile(l.fset, p, nil, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return nil, err
	}
	f := &file{
		name:    filepath.ToSlash(rel),
		syntax:  syntax,
		test:    strings.HasSuffix(p, "_test.go"),
		imports: map[string]string{},
	}
	for _, spec := range syntax.Imports {
		if name := importName(spec); name != "." && name != "_" {
			f.imports[name] = importPath(spec)
		}
	}
	f.ignores = l.directives(syntax)
	return f, nil
}

func importPath(spec *ast.ImportSpec) string {
	p, err := strconv.Unquote(spec.Path.Value)
	if err != nil {
		return spec.Path.Value // the parser already rejected bad literals
	}
	return p
}

// importName is the name an import binds in its file. Without an explicit
// name it is the path's last element, skipping a major-version suffix
// (math/rand/v2 binds rand); that is right for every package the rules
// look at.
func importName(spec *ast.ImportSpec) string {
	if spec.Name != nil {
		return spec.Name.Name
	}
	p := importPath(spec)
	base := path.Base(p)
	if len(base) >= 2 && base[0] == 'v' && strings.Trim(base[1:], "0123456789") == "" {
		base = path.Base(path.Dir(p))
	}
	return base
}

func (l *linter) directives(syntax *ast.File) []*directive {
	var ds []*directive
	for _, group := range syntax.Comments {
		for _, c := range group.List {
			rest, ok := strings.CutPrefix(c.Text, "//lint:ignore")
			if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
				continue
			}
			d := &directive{line: l.fset.Position(c.Pos()).Line}
			if fields := strings.Fields(rest); len(fields) > 0 {
				d.rule = fields[0]
				d.reason = strings.Join(fields[1:], " ")
			}
			ds = append(ds, d)
		}
	}
	return ds
}

// pkgOf resolves x.Sel to the import path of the package x names in f. A
// local declaration named like an import (a variable "time") shadows it:
// the parser resolves such identifiers to an object, and import names to
// none. (ast.Object is deprecated because it cannot resolve struct literal
// keys without types; for "is this identifier a local?" it is exact.)
func (f *file) pkgOf(sel *ast.SelectorExpr) (string, bool) {
	x, ok := sel.X.(*ast.Ident)
	if !ok || x.Obj != nil {
		return "", false
	}
	p, ok := f.imports[x.Name]
	return p, ok
}

func (l *linter) line(pos token.Pos) int {
	return l.fset.Position(pos).Line
}

func (l *linter) report(f *file, pos token.Pos, rule, format string, args ...any) {
	line := l.line(pos)
	l.reportFrom(f, line, line-1, rule, format, args...)
}

func (l *linter) reportFrom(f *file, line, ignoreFrom int, rule, format string, args ...any) {
	v := Violation{Rule: rule, File: f.name, Line: line, Msg: fmt.Sprintf(format, args...)}
	l.findings = append(l.findings, finding{v: v, ignoreFrom: ignoreFrom})
}

// finish applies the //lint:ignore directives, reports the malformed and
// unused ones, and sorts the result.
func (l *linter) finish(pkgs []*pkg) []Violation {
	files := map[string]*file{}
	for _, p := range pkgs {
		for _, f := range p.files {
			files[f.name] = f
		}
	}
	var out []Violation
	for _, fd := range l.findings {
		if !suppress(files[fd.v.File], fd) {
			out = append(out, fd.v)
		}
	}
	for _, p := range pkgs {
		for _, f := range p.files {
			out = append(out, badDirectives(f)...)
		}
	}
	slices.SortFunc(out, func(a, b Violation) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Msg, b.Msg))
	})
	return slices.Compact(out)
}

func suppress(f *file, fd finding) bool {
	suppressed := false
	for _, d := range f.ignores {
		if d.rule == fd.v.Rule && d.reason != "" && fd.ignoreFrom <= d.line && d.line <= fd.v.Line {
			d.used = true
			suppressed = true
		}
	}
	return suppressed
}

func badDirectives(f *file) []Violation {
	var out []Violation
	for _, d := range f.ignores {
		msg := ""
		switch {
		case d.rule == "" || d.reason == "":
			msg = "//lint:ignore needs a rule and a reason: //lint:ignore Rule why"
		case !slices.Contains(allRules, d.rule):
			msg = fmt.Sprintf("//lint:ignore names no rule %q (rules: %s)", d.rule, strings.Join(allRules, ", "))
		case !d.used:
			msg = fmt.Sprintf("//lint:ignore %s suppresses nothing: remove it", d.rule)
		default:
			continue
		}
		out = append(out, Violation{Rule: ruleIgnoreDirective, File: f.name, Line: d.line, Msg: msg})
	}
	return out
}
