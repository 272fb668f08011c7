package store

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func newNotebook(t *testing.T) *Notebook {
	t.Helper()
	nb, err := Open(filepath.Join(t.TempDir(), "home"))
	if err != nil {
		t.Fatal(err)
	}
	return nb
}

func recs(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func strs(rs [][]byte) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

func mustAppend(t *testing.T, l *NoteLog, ss ...string) []string {
	t.Helper()
	others, err := l.Append(recs(ss...)...)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return strs(others)
}

func mustLoad(t *testing.T, l *NoteLog) (snap string, records []string, warnings []error) {
	t.Helper()
	s, r, w, err := l.Load()
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return string(s), strs(r), w
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// doc is a stand-in for a CRDT document: a set of records, each of which
// must be applied exactly once.
type doc struct {
	t    testing.TB
	name string
	have map[string]bool
}

func newDoc(t testing.TB, name string) *doc { return &doc{t: t, name: name, have: map[string]bool{}} }

func (d *doc) apply(rs ...string) {
	d.t.Helper()
	for _, r := range rs {
		if d.have[r] {
			d.t.Errorf("%s: record %q applied twice", d.name, r)
		}
		d.have[r] = true
	}
}

// save returns the document's snapshot bytes: its records, sorted, one per line.
func (d *doc) save() []byte {
	var all []string
	for r := range d.have {
		all = append(all, r)
	}
	sort.Strings(all)
	return []byte(strings.Join(all, "\n"))
}

// load replaces the document with snapshot + records.
func (d *doc) load(snapshot []byte, records [][]byte) {
	d.t.Helper()
	d.have = map[string]bool{}
	if len(snapshot) > 0 {
		d.apply(strings.Split(string(snapshot), "\n")...)
	}
	d.apply(strs(records)...)
}

// dirState captures every file under dir: name -> mode + contents.
func dirState(t *testing.T, dir string) map[string]string {
	t.Helper()
	state := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		var b []byte
		if !d.IsDir() {
			if b, err = os.ReadFile(p); err != nil {
				return err
			}
		}
		state[rel] = fmt.Sprintf("%v %x", info.Mode(), bytes.Clone(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return state
}
