package collab_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestArchitecture checks ARCHITECTURE.md's import table against what the
// code imports: every package with non-test code has one row, each row
// lists exactly the package's direct imports of this module's packages and
// of third-party modules, and imports point down the table (test support
// at its end excepted, which only tests may import).
func TestArchitecture(t *testing.T) {
	doc, err := os.ReadFile("ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	table, err := parseArchitecture(string(doc))
	if err != nil {
		t.Fatalf("ARCHITECTURE.md: %v", err)
	}
	pkgs := listPackages(t)

	rowOf := map[string]int{}
	for i, r := range table.rows {
		if _, dup := rowOf[r.pkg]; dup {
			t.Errorf("ARCHITECTURE.md: %s has two rows", r.pkg)
		}
		rowOf[r.pkg] = i
	}
	for _, p := range pkgs {
		if _, ok := rowOf[p.rel]; !ok && p.hasCode {
			t.Errorf("ARCHITECTURE.md: package %s has no row", p.rel)
		}
	}
	byRel := map[string]listedPackage{}
	for _, p := range pkgs {
		byRel[p.rel] = p
	}
	for i, r := range table.rows {
		p, ok := byRel[r.pkg]
		if !ok {
			t.Errorf("ARCHITECTURE.md: row %s names no package of this module", r.pkg)
			continue
		}
		if d := diff(r.own, p.own); d != "" {
			t.Errorf("%s: its row's project imports differ from the code's (- only in the table, + only in the code):\n%s", r.pkg, d)
		}
		var mods []string
		for _, name := range r.modules {
			path, ok := table.modules[name]
			if !ok {
				t.Errorf("%s: module name %q is not in ARCHITECTURE.md's list of module names", r.pkg, name)
				continue
			}
			mods = append(mods, path)
		}
		if d := diff(mods, p.modules); d != "" {
			t.Errorf("%s: its row's third-party modules differ from the code's (- only in the table, + only in the code):\n%s", r.pkg, d)
		}
		for _, imp := range p.own {
			j, ok := rowOf[imp]
			switch {
			case !ok:
				// Reported above as a package with no row.
			case !r.support && table.rows[j].support:
				t.Errorf("%s imports %s, which is test support", r.pkg, imp)
			case j <= i && !(r.support && !table.rows[j].support):
				t.Errorf("%s imports %s, which is not below it in the table", r.pkg, imp)
			}
		}
	}
}

type archRow struct {
	pkg     string
	own     []string // this module's packages, relative to the module
	modules []string // third-party modules, by their name in the document
	support bool     // test support: only tests import it
}

type archTable struct {
	rows    []archRow
	modules map[string]string // name in the document → module path
}

var (
	rowRE     = regexp.MustCompile("^\\| `([^`]+)` \\|(.*)\\|([^|]*)\\|$")
	codeRE    = regexp.MustCompile("`([^`]+)`")
	supportRE = regexp.MustCompile(`The last (\w+) rows are test support`)
)

var numbers = map[string]int{"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}

// parseArchitecture reads the import table, the count of support rows at
// its end, and the paragraph naming third-party modules
// ("Third-party modules by name: Name = module/path; ...").
func parseArchitecture(doc string) (archTable, error) {
	var tab archTable
	for line := range strings.SplitSeq(doc, "\n") {
		m := rowRE.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		r := archRow{pkg: m[1]}
		imports := strings.TrimSpace(m[3])
		own, third, _ := strings.Cut(imports, ";")
		if !strings.Contains(imports, ";") && !strings.Contains(imports, "`") {
			own, third = "", imports
		}
		for _, c := range codeRE.FindAllStringSubmatch(own, -1) {
			r.own = append(r.own, c[1])
		}
		for name := range strings.SplitSeq(third, ",") {
			if name = strings.TrimSpace(name); name != "" {
				r.modules = append(r.modules, name)
			}
		}
		tab.rows = append(tab.rows, r)
	}
	if len(tab.rows) == 0 {
		return tab, fmt.Errorf("no import table")
	}

	m := supportRE.FindStringSubmatch(doc)
	if m == nil {
		return tab, fmt.Errorf("no sentence %q", "The last N rows are test support")
	}
	n, ok := numbers[m[1]]
	if !ok || n > len(tab.rows) {
		return tab, fmt.Errorf("cannot read %q as a number of rows", m[1])
	}
	for i := len(tab.rows) - n; i < len(tab.rows); i++ {
		tab.rows[i].support = true
	}

	const intro = "Third-party modules by name:"
	start := strings.Index(doc, intro)
	if start < 0 {
		return tab, fmt.Errorf("no paragraph %q", intro)
	}
	para, _, _ := strings.Cut(doc[start+len(intro):], "\n\n")
	para = strings.TrimSuffix(strings.Join(strings.Fields(para), " "), ".")
	tab.modules = map[string]string{}
	for entry := range strings.SplitSeq(para, ";") {
		name, path, ok := strings.Cut(entry, "=")
		if !ok {
			return tab, fmt.Errorf("module entry %q is not Name = path", entry)
		}
		tab.modules[strings.TrimSpace(name)] = strings.TrimSpace(path)
	}
	return tab, nil
}

type listedPackage struct {
	rel     string   // import path relative to the module
	hasCode bool     // has non-test Go files
	own     []string // direct imports of this module's packages
	modules []string // modules of its direct third-party imports
}

// listPackages runs `go list` over the module: each package's direct
// (non-test) imports, sorted into this module's and third-party modules.
func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goBin); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("no go command to list packages with")
			}
			t.Skip("no go command to list packages with")
		}
	}
	cmd := exec.Command(goBin, "list", "-deps", "-json=ImportPath,Standard,Module,Imports,GoFiles,DepOnly", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	type module struct {
		Path string
		Main bool
	}
	type pkg struct {
		ImportPath string
		Standard   bool
		Module     *module
		Imports    []string
		GoFiles    []string
		DepOnly    bool
	}
	var all []pkg
	moduleOf := map[string]*module{}
	mainPath := ""
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		moduleOf[p.ImportPath] = p.Module
		if p.Module != nil && p.Module.Main {
			mainPath = p.Module.Path
		}
		all = append(all, p)
	}
	var pkgs []listedPackage
	for _, p := range all {
		if p.DepOnly || p.Module == nil || !p.Module.Main {
			continue
		}
		lp := listedPackage{rel: strings.TrimPrefix(p.ImportPath, mainPath+"/"), hasCode: len(p.GoFiles) > 0}
		for _, imp := range p.Imports {
			m := moduleOf[imp]
			switch {
			case m == nil: // the standard library
			case m.Main:
				lp.own = append(lp.own, strings.TrimPrefix(imp, mainPath+"/"))
			case !slices.Contains(lp.modules, m.Path):
				lp.modules = append(lp.modules, m.Path)
			}
		}
		pkgs = append(pkgs, lp)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages of this module")
	}
	return pkgs
}

// diff lists what only want has (-) and what only got has (+), one a line.
func diff(want, got []string) string {
	var b strings.Builder
	for _, w := range want {
		if !slices.Contains(got, w) {
			fmt.Fprintf(&b, "\t- %s\n", w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			fmt.Fprintf(&b, "\t+ %s\n", g)
		}
	}
	return b.String()
}
