// These tables pin each rule's edges on small modules written to a temp
// dir: what is caught, what is a near miss, and what each kind of file is
// exempt from. The fixture in testdata/src/bad shows one violation per
// rule; these cases show the boundaries.
package lint

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// lines joins source lines, so that argument i is line i+1.
func lines(src ...string) string {
	return strings.Join(src, "\n") + "\n"
}

// longFunc is a function of n lines (func line to closing brace) with the
// given doc comment lines before it.
func longFunc(name string, n int) string {
	body := []string{"func " + name + "() int {", "\tx := 0"}
	for len(body) < n-2 {
		body = append(body, "\tx++")
	}
	return strings.Join(append(body, "\treturn x", "}"), "\n")
}

// flatSwitch is a single-switch function of about n lines; caseBody is the
// body of each case.
func flatSwitch(n int, caseBody string) string {
	out := []string{"func dispatch(k int) int {", "\tswitch k {"}
	for i := 0; len(out) < n-2; i++ {
		out = append(out, fmt.Sprintf("\tcase %d:", i), "\t\t"+caseBody)
	}
	return strings.Join(append(out, "\t}", "\treturn 0", "}"), "\n")
}

type lintCase struct {
	name  string
	files map[string]string // slash path → source
	want  []string          // "file:line Rule"
}

func runCases(t *testing.T, cases []lintCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			for name, src := range c.files {
				p := filepath.Join(root, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			violations, err := Run(root, "example.com/m")
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, v := range violations {
				got = append(got, fmt.Sprintf("%s:%d %s", v.File, v.Line, v.Rule))
			}
			want := append([]string{}, c.want...)
			slices.Sort(got) // as text: the order does not matter here
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got %q\nwant %q\nviolations: %v", got, want, violations)
			}
		})
	}
}

func TestImportRules(t *testing.T) {
	imp := func(pkg, path string) string {
		return lines("package "+pkg, "", `import _ "example.com/m/`+path+`"`)
	}
	runCases(t, []lintCase{
		{"down is fine", map[string]string{"broker/a.go": imp("broker", "storage")}, nil},
		{"up is not", map[string]string{"storage/a.go": imp("storage", "broker")},
			[]string{"storage/a.go:3 ImportLayer"}},
		{"sub-package to parent", map[string]string{"broker/group/a.go": imp("group", "broker")}, nil},
		{"sim to its doubles", map[string]string{"sim/a.go": imp("sim", "sim/simfs")}, nil},
		{"double to sim", map[string]string{"sim/simfs/a.go": imp("simfs", "sim")},
			[]string{"sim/simfs/a.go:3 ImportLayer"}},
		{"double to internal/invariants", map[string]string{"sim/simnet/a.go": imp("simnet", "internal/invariants")},
			[]string{"sim/simnet/a.go:3 ImportLayer"}},
		{"env is a leaf", map[string]string{"env/a.go": imp("env", "internal/assert")},
			[]string{"env/a.go:3 ImportLayer"}},
		{"cmd imports anything", map[string]string{"cmd/takhin/main.go": imp("main", "sim")}, nil},
		{"scenarios may use harnesses", map[string]string{"scenarios/a.go": imp("scenarios", "storage/storagetest")}, nil},
		{"cmd must not use harnesses", map[string]string{"cmd/takhin/main.go": imp("main", "replication/rafttest")},
			[]string{"cmd/takhin/main.go:3 TestOnlyImport"}},
		{"production must not import lint", map[string]string{"driver/a.go": imp("driver", "internal/lint")},
			[]string{"driver/a.go:3 TestOnlyImport"}},
		{"harness imports its package", map[string]string{"storage/storagetest/a.go": imp("storagetest", "storage")}, nil},
		{"harness imports a lower harness", map[string]string{
			"replication/replicationtest/a.go": imp("replicationtest", "storage/storagetest")}, nil},
		{"harness imports an upper layer", map[string]string{"storage/storagetest/a.go": imp("storagetest", "broker")},
			[]string{"storage/storagetest/a.go:3 ImportLayer"}},
		{"test imports a leaf double", map[string]string{"storage/a_test.go": imp("storage_test", "driver/osfs")}, nil},
		{"test imports a lower harness", map[string]string{"broker/a_test.go": imp("broker_test", "storage/storagetest")}, nil},
		{"test imports an upper harness", map[string]string{"storage/a_test.go": imp("storage_test", "broker/brokertest")},
			[]string{"storage/a_test.go:3 ImportLayer"}},
		{"test imports an upper layer", map[string]string{"storage/a_test.go": imp("storage_test", "broker")},
			[]string{"storage/a_test.go:3 ImportLayer"}},
		{"unknown top-level package", map[string]string{"util/a.go": imp("util", "env")},
			[]string{"util/a.go:1 UnknownPackage"}},
		{"unknown internal package", map[string]string{"internal/pool/a_test.go": lines("package pool"),
			"internal/pool/a.go": lines("// Package pool.", "package pool")},
			[]string{"internal/pool/a.go:2 UnknownPackage"}},
		{"module root package", map[string]string{"a.go": lines("package m")}, []string{"a.go:1 UnknownPackage"}},
		{"linearizability: porcupine only", map[string]string{"linearizability/a.go": lines("package linearizability",
			`import _ "github.com/anishathalye/porcupine"`, `import _ "go.uber.org/zap"`)},
			[]string{"linearizability/a.go:3 ExternalImport"}},
		{"test files may import any module", map[string]string{"env/a_test.go": lines("package env",
			`import _ "pgregory.net/rapid"`)}, nil},
		{"testdata and nested modules are skipped", map[string]string{"storage/testdata/a.go": imp("a", "broker"),
			"tools/go.mod": "module tools\n", "tools/a.go": lines("package tools")}, nil},
	})
}

func TestDeterminismRules(t *testing.T) {
	file := func(pkg string, src ...string) string {
		return lines(append([]string{"package " + pkg, ""}, src...)...)
	}
	runCases(t, []lintCase{
		{"time.Now", map[string]string{"storage/a.go": file("storage", `import "time"`, "var t = time.Now()")},
			[]string{"storage/a.go:4 WallClock"}},
		{"time function value", map[string]string{"broker/group/a.go": file("group", `import "time"`, "var now = time.Now")},
			[]string{"broker/group/a.go:4 WallClock"}},
		{"time types and constants", map[string]string{"storage/a.go": file("storage", `import "time"`,
			"var d time.Duration = time.Second", "var u = time.Unix(0, 0)")}, nil},
		{"shadowed time", map[string]string{"storage/a.go": file("storage", `import "time"`,
			"var _ time.Duration", "func f(time interface{ Now() int }) int { return time.Now() }")}, nil},
		{"time in a test file", map[string]string{"storage/a_test.go": file("storage", `import "time"`,
			"func f() { time.Sleep(time.Second) }")}, nil},
		{"time outside the core", map[string]string{"driver/a.go": file("driver", `import "time"`, "var t = time.Now()"),
			"env/a.go": file("env", `import "time"`, "var t = time.Now()")}, nil},
		{"dot import", map[string]string{"sim/a.go": file("sim", `import . "time"`)},
			[]string{"sim/a.go:3 BannedImport"}},
		{"math/rand v1", map[string]string{"replication/a.go": file("replication", `import "math/rand"`,
			"var r = rand.New(rand.NewSource(1))", "var n = rand.Intn(3)")},
			[]string{"replication/a.go:5 GlobalRand"}},
		{"net subpackages", map[string]string{"controller/a.go": file("controller",
			`import _ "net/http"`, `import _ "net/netip"`, `import _ "os/signal"`)},
			[]string{"controller/a.go:3 BannedImport", "controller/a.go:5 BannedImport"}},
		{"os, syscall and filepath", map[string]string{"storage/a.go": file("storage",
			`import ("os"; "syscall"; "path/filepath")`,
			"var _, _ = os.Stdout, os.ErrNotExist",
			"var _, _ = syscall.EIO, syscall.Getpid",
			"var _, _ = filepath.Join, filepath.Glob")},
			[]string{"storage/a.go:4 MachineAccess", "storage/a.go:5 MachineAccess", "storage/a.go:6 MachineAccess"}},
		{"one-case select", map[string]string{"sim/a.go": file("sim",
			"func f(c chan int) { select { case <-c: } }")}, nil},
		{"select with default", map[string]string{"sim/a.go": file("sim",
			"func f(c chan int) { select { case <-c:", "default: } }")},
			[]string{"sim/a.go:3 MultiCaseSelect"}},
		{"panic messages", map[string]string{"storage/a.go": file("storage", `import ("errors"; f "fmt")`,
			`func a(s string) { panic("bad: " + s) }`,
			`func b() { panic(errors.New("x")) }`,
			`func c() { panic(f.Errorf("x")) }`,
			`func d(err error) { panic(err) }`)},
			[]string{"storage/a.go:4 PanicMessage", "storage/a.go:5 PanicMessage", "storage/a.go:6 PanicMessage"}},
		{"mutex outside a machine package", map[string]string{"storage/a.go": file("storage",
			`import "sync"`, "var mu sync.Mutex")}, nil},
	})
}

func TestMachineRules(t *testing.T) {
	machine := lines("package replication", "",
		`import ("example.com/m/env"; "sync")`, "",
		"type M struct{ s *state }", // 5
		"type state struct{ net env.Network }",
		"type executor struct{ fs env.FS }",
		"func (m *M) Step(e int) error { return nil }",
		"func (m *M) Ready() int { return 0 }",
		"func (m *M) Advance(r int) {}", // 10
		"func (m *M) attach(c env.Clock) {}",
		"func (e *executor) run(f env.File) {}",
		"var mu sync.Mutex")
	generic := lines("package storage", "",
		`import "example.com/m/env"`, "",
		"type M[T any] struct{ e env.Env }", // 5
		"func (m *M[T]) Step(e T) error { return nil }",
		"func (m *M[T]) Ready() int { return 0 }",
		"func (m *M[T]) Advance(r int) {}")
	runCases(t, []lintCase{
		{"fields through a helper, methods, mutex", map[string]string{"replication/a.go": machine},
			[]string{"replication/a.go:6 MachineIO", "replication/a.go:11 MachineIO", "replication/a.go:13 Mutex"}},
		{"generic machine", map[string]string{"storage/a.go": generic}, []string{"storage/a.go:5 MachineIO"}},
		{"machines outside the core are not checked", map[string]string{"driver/a.go": strings.Replace(
			machine, "package replication", "package driver", 1)}, nil},
		{"test files define no machine", map[string]string{"replication/a_test.go": machine}, nil},
	})
}

func TestFuncLengthRule(t *testing.T) {
	file := func(src ...string) string { return lines(append([]string{"package env", ""}, src...)...) }
	runCases(t, []lintCase{
		{"70 lines is fine", map[string]string{"env/a.go": file(longFunc("f", 70))}, nil},
		{"71 lines is not", map[string]string{"env/a.go": file(longFunc("f", 71))}, []string{"env/a.go:3 FuncLength"}},
		{"every package", map[string]string{"cmd/takhin/a.go": lines("package main", "", longFunc("f", 71))},
			[]string{"cmd/takhin/a.go:3 FuncLength"}},
		{"test files are exempt", map[string]string{"env/a_test.go": file(longFunc("f", 200))}, nil},
		{"flat switch", map[string]string{"env/a.go": file(strings.Replace(flatSwitch(100, "return 1"),
			"\treturn 0\n", "", 1))}, nil},
		{"switch with nested blocks", map[string]string{"env/a.go": file(strings.Replace(
			flatSwitch(100, "if k > 1 { return 1 }"), "\treturn 0\n", "", 1))}, []string{"env/a.go:3 FuncLength"}},
		{"switch and more", map[string]string{"env/a.go": file(flatSwitch(100, "return 1"))},
			[]string{"env/a.go:3 FuncLength"}},
		{"directive in the doc comment", map[string]string{"env/a.go": file(
			"//lint:ignore FuncLength generated", "//", "// f is long.", longFunc("f", 90))}, nil},
	})
}

func TestIgnoreDirectives(t *testing.T) {
	file := func(src ...string) string {
		return lines(append([]string{"package storage", "", `import "time"`, ""}, src...)...)
	}
	runCases(t, []lintCase{
		{"same line", map[string]string{"storage/a.go": file(
			"var t = time.Now() //lint:ignore WallClock startup stamp")}, nil},
		{"line above", map[string]string{"storage/a.go": file(
			"//lint:ignore WallClock startup stamp", "var t = time.Now()")}, nil},
		{"two lines above is too far", map[string]string{"storage/a.go": file(
			"//lint:ignore WallClock startup stamp", "", "var t = time.Now()")},
			[]string{"storage/a.go:5 IgnoreDirective", "storage/a.go:7 WallClock"}},
		{"wrong rule", map[string]string{"storage/a.go": file(
			"//lint:ignore GlobalRand startup stamp", "var t = time.Now()")},
			[]string{"storage/a.go:5 IgnoreDirective", "storage/a.go:6 WallClock"}},
		{"no reason", map[string]string{"storage/a.go": file(
			"//lint:ignore WallClock", "var t = time.Now()")},
			[]string{"storage/a.go:5 IgnoreDirective", "storage/a.go:6 WallClock"}},
		{"unknown rule", map[string]string{"storage/a.go": file(
			"//lint:ignore Clock why", "var t = time.Second")},
			[]string{"storage/a.go:5 IgnoreDirective"}},
		{"in a test file, where the rule does not apply", map[string]string{"storage/a_test.go": file(
			"//lint:ignore WallClock why", "var t = time.Now()")},
			[]string{"storage/a_test.go:5 IgnoreDirective"}},
		{"not a directive", map[string]string{"storage/a.go": file(
			"//lint:ignored WallClock", "// lint:ignore WallClock x", "var t = time.Second")}, nil},
	})
}
