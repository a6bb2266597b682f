// The lint runs as tests: TestLintRepository holds the module to Takhin's
// structural rules, and TestLintCatchesEveryPlantedViolation proves each
// rule fires, exactly once, on the fixture in testdata/src/bad.
//
// Rules and how each is detected (over go/parser syntax trees; imports
// resolve through each file's own import names, so renamed imports are
// caught and a local variable shadowing a package is not):
//
//   - ImportLayer, UnknownPackage, TestOnlyImport, ExternalImport (STYLE
//     rule 1): every import checked against the table in layers.go.
//   - WallClock, GlobalRand, BannedImport, MachineAccess, GoStatement,
//     MultiCaseSelect, PanicMessage, Mutex (rule 28): in broker, controller,
//     replication, storage and sim and all their sub-packages (not driver,
//     cmd, env, internal or linearizability); see determinism.go.
//   - MachineIO (rules 6 and 28): env.FS, env.File, env.Network, env.Env or
//     env.Clock in a method of a machine (a type with Step, Ready and
//     Advance) or in its fields; see machines.go.
//   - FuncLength (rule 5): over 70 lines, except a flat dispatch switch.
//   - IgnoreDirective: a //lint:ignore without a reason, naming no rule, or
//     suppressing nothing.
//
// Which files are covered: _test.go files are covered by the import rules
// only (with the extra imports test code may make, see layers.go). They are
// exempt from the determinism bans, MachineIO and FuncLength: a test may
// run goroutines, wait with a deadline and hold long case tables, and none
// of that ships. Non-test files of harness packages (storage/storagetest)
// are covered by every rule. Build tags are ignored: every .go file is
// linted, whatever its constraints (simbug and invariants files included).
package lint

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixtureModule is the module path the fixture's imports use.
const fixtureModule = "example.com/takhin"

// planted is where each rule's one planted violation sits in
// testdata/src/bad. Every file also holds a suppressed twin, proving the
// //lint:ignore escape hatch, and near misses that must not be reported.
var planted = map[string]string{
	ruleImportLayer:     "env/importlayer.go:5",
	ruleUnknownPackage:  "newthing/unknownpackage.go:2",
	ruleTestOnlyImport:  "broker/testonlyimport.go:6",
	ruleExternalImport:  "env/externalimport.go:7",
	ruleWallClock:       "storage/wallclock.go:7",
	ruleGlobalRand:      "storage/globalrand.go:7",
	ruleBannedImport:    "storage/bannedimport.go:4",
	ruleMachineAccess:   "storage/machineaccess.go:7",
	ruleGoStatement:     "sim/gostatement.go:5",
	ruleMultiCaseSelect: "sim/multicaseselect.go:5",
	rulePanicMessage:    "controller/panicmessage.go:10",
	ruleMutex:           "replication/mutex.go:7",
	ruleMachineIO:       "replication/machineio.go:6",
	ruleFuncLength:      "storage/funclength.go:4",
	ruleIgnoreDirective: "storage/ignoredirective.go:6",
}

func TestLintCatchesEveryPlantedViolation(t *testing.T) {
	violations, err := Run(filepath.Join("testdata", "src", "bad"), fixtureModule)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, v := range violations {
		at := fmt.Sprintf("%s:%d", v.File, v.Line)
		got[v.Rule] = append(got[v.Rule], at)
		if want, ok := planted[v.Rule]; !ok || want != at {
			t.Errorf("unexpected: %v", v)
		}
	}
	for _, rule := range allRules {
		want, ok := planted[rule]
		switch {
		case !ok:
			t.Errorf("rule %s has no planted violation: add one to testdata/src/bad and to planted", rule)
		case !slices.Equal(got[rule], []string{want}):
			t.Errorf("rule %s reported %q, want exactly [%s]", rule, got[rule], want)
		}
	}
}

func TestLintRepository(t *testing.T) {
	root, module := moduleRoot(t)
	violations, err := Run(root, module)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range violations {
		t.Error(v)
	}
}

// moduleRoot walks up from the working directory to go.mod and returns its
// directory and module path.
func moduleRoot(t *testing.T) (string, string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		module, err := modulePath(filepath.Join(dir, "go.mod"))
		if err == nil {
			return dir, module
		}
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

func modulePath(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(scanner.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	if err := scanner.Err(); err != nil {
		return "", err
	}
	return "", errors.New(gomod + " has no module line")
}
