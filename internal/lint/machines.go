package lint

import (
	"go/ast"
	"slices"
)

// machineMethods define a machine, mechanically: a named type of a core
// package with all three methods is a RawNode-style state machine (STYLE
// rule 6) and must do no I/O.
var machineMethods = []string{"Step", "Ready", "Advance"}

// machineIOTypes are the env seams a machine must not hold or use: I/O
// belongs to the driver and the executors, which get env.Env; machines get
// {Rand, Log, config} and take now from their events.
var machineIOTypes = set("FS", "File", "Network", "Env", "Clock")

// typeDecl is a named type and the file declaring it.
type typeDecl struct {
	f    *file
	spec *ast.TypeSpec
}

// machineTypes returns the names of p's machine types, from its non-test
// files.
func machineTypes(p *pkg) map[string]bool {
	methods := map[string][]string{}
	for _, f := range p.files {
		for _, decl := range f.syntax.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && !f.test && fd.Recv != nil {
				recv := receiverType(fd)
				methods[recv] = append(methods[recv], fd.Name.Name)
			}
		}
	}
	machines := map[string]bool{}
	for name, ms := range methods {
		if hasAll(ms, machineMethods) {
			machines[name] = true
		}
	}
	return machines
}

func hasAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// receiverType is the type name of a method's receiver: T for T, *T, T[K]
// and *T[K].
func receiverType(fd *ast.FuncDecl) string {
	expr := fd.Recv.List[0].Type
	for {
		switch e := expr.(type) {
		case *ast.StarExpr:
			expr = e.X
		case *ast.IndexExpr:
			expr = e.X
		case *ast.IndexListExpr:
			expr = e.X
		case *ast.ParenExpr:
			expr = e.X
		case *ast.Ident:
			return e.Name
		default:
			return ""
		}
	}
}

// checkMachines reports env seams used in the methods of machine types and
// in their fields, following the package's own named types the fields
// contain (a machine cannot hide an env.File in a helper struct).
func (l *linter) checkMachines(p *pkg) {
	machines := machineTypes(p)
	if len(machines) == 0 {
		return
	}
	types := map[string]typeDecl{}
	for _, f := range p.files {
		for _, decl := range f.syntax.Decls {
			l.collectMachineDecl(f, decl, machines, types)
		}
	}
	visited := map[string]bool{}
	for _, name := range sortedKeys(machines) {
		if decl, ok := types[name]; ok {
			l.checkFields(decl, name, types, visited)
		}
	}
}

// collectMachineDecl checks decl if it is a method of a machine, and
// records it in types if it declares named types.
func (l *linter) collectMachineDecl(f *file, decl ast.Decl, machines map[string]bool, types map[string]typeDecl) {
	if f.test {
		return
	}
	switch decl := decl.(type) {
	case *ast.FuncDecl:
		if decl.Recv != nil && machines[receiverType(decl)] {
			what := "method " + receiverType(decl) + "." + decl.Name.Name
			ast.Inspect(decl, func(n ast.Node) bool { return l.checkEnvUse(f, n, what) })
		}
	case *ast.GenDecl:
		for _, spec := range decl.Specs {
			if ts, ok := spec.(*ast.TypeSpec); ok {
				types[ts.Name.Name] = typeDecl{f: f, spec: ts}
			}
		}
	}
}

// checkFields walks the field types of decl, reached from machine.
func (l *linter) checkFields(decl typeDecl, machine string, types map[string]typeDecl, visited map[string]bool) {
	if visited[decl.spec.Name.Name] {
		return
	}
	visited[decl.spec.Name.Name] = true
	what := "the fields of machine " + machine
	if decl.spec.Name.Name != machine {
		what += " (via " + decl.spec.Name.Name + ")"
	}
	var walk func(ast.Node) bool
	walk = func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Field:
			ast.Inspect(n.Type, walk) // field names are not types
			return false
		case *ast.SelectorExpr:
			l.checkEnvUse(decl.f, n, what)
			return false // env.File is not the package's own File
		case *ast.Ident:
			if inner, ok := types[n.Name]; ok {
				l.checkFields(inner, machine, types, visited)
			}
		}
		return true
	}
	ast.Inspect(decl.spec.Type, walk)
}

// checkEnvUse reports n if it names one of machineIOTypes on the env
// import. It returns whether to keep inspecting below n.
func (l *linter) checkEnvUse(f *file, n ast.Node, what string) bool {
	sel, ok := n.(*ast.SelectorExpr)
	if !ok {
		return true
	}
	if imp, ok := f.pkgOf(sel); ok && imp == l.module+"/env" && machineIOTypes[sel.Sel.Name] {
		l.report(f, sel.Pos(), ruleMachineIO,
			"env.%s in %s: machines do no I/O; put a request in Ready for the executor", sel.Sel.Name, what)
	}
	return true
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
