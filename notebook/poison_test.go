package notebook

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collab-editor/collab/crdt"
)

// crdtTestdata holds the fixed base document and the inputs known to abort
// the Automerge core on it (see crdt/untrusted_test.go).
const crdtTestdata = "../crdt/testdata"

func abortingChange(t *testing.T) (base, bad []byte) {
	t.Helper()
	base, err := os.ReadFile(filepath.Join(crdtTestdata, "base.automerge"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(crdtTestdata, "aborts", "apply")
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("no aborting change in %s: %v", dir, err)
	}
	bad, err = os.ReadFile(filepath.Join(dir, entries[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	return base, bad
}

// A record that aborts the core, once on disk, must not brick the note:
// it opens with a warning, the record is set aside as a side file and
// compacted out of the log, and the next open is clean.
func TestPoisonedLogOpens(t *testing.T) {
	base, bad := abortingChange(t)
	dir := t.TempDir()
	nb := openNB(t, dir, "ann")
	n, err := nb.Import(crdt.DocumentID{}, base)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := n.Text()
	n.Splice(0, 0, "kept ")
	if _, err := n.Flush(); err != nil {
		t.Fatal(err)
	}
	want = "kept " + want
	// Another process (or an older collab) stored the bad record; a good
	// one follows it.
	if _, err := n.log.Append(bad); err != nil {
		t.Fatal(err)
	}
	n.Splice(0, 0, "after ")
	if _, err := n.Flush(); err != nil {
		t.Fatal(err)
	}
	want = "after " + want
	id := n.ID
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	m, warnings, err := nb.OpenNote(id)
	if err != nil {
		t.Fatalf("a poisoned note does not open: %v", err)
	}
	var rejected *crdt.Rejected
	if len(warnings) != 1 || !errors.As(warnings[0], &rejected) || string(rejected.Bytes) != string(bad) {
		t.Fatalf("warnings %v: want the bad record set aside", warnings)
	}
	if got, _ := m.Text(); got != want {
		t.Fatalf("text %q, want %q", got, want)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "notes", id.String(), "aux.rejected.*"))
	if len(files) != 1 {
		t.Fatalf("set-aside files: %v", files)
	}
	m.Splice(0, 0, "more ")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	again, warnings, err := nb.OpenNote(id)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("reopen: %v %v", err, warnings)
	}
	defer again.Close()
	if got, _ := again.Text(); !strings.HasPrefix(got, "more after kept ") {
		t.Fatalf("after reopening: %q", got)
	}
}
