package notebook

import (
	"os"
	"path/filepath"
	"testing"
)

// ReadText answers from the view cache when it covers the whole log: the
// history is not loaded. Shown by damaging every record in place (the log
// keeps its size): loading would skip them with warnings, the cached text
// comes back whole and without any.
func TestReadTextUsesACurrentViewWithoutLoading(t *testing.T) {
	dir := t.TempDir()
	nb := openNB(t, dir, "a")
	n, err := nb.Create("Cached")
	if err != nil {
		t.Fatal(err)
	}
	id := n.ID
	for _, line := range []string{"one\n", "two\n", "three\n"} {
		if err := n.Append(line); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "notes", id.String(), "log.*"))
	if len(logs) != 1 {
		t.Fatalf("logs: %v", logs)
	}
	data, err := os.ReadFile(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] ^= 0x5a
	}
	if err := os.WriteFile(logs[0], data, 0o600); err != nil {
		t.Fatal(err)
	}

	title, body, warnings, err := openNB(t, dir, "b").ReadText(id)
	if err != nil || len(warnings) > 0 || title != "Cached" || body != "one\ntwo\nthree\n" {
		t.Fatalf("ReadText = %q, %q, warnings %v, err %v", title, body, warnings, err)
	}
	if _, warnings, err := openNB(t, dir, "b").OpenNote(id); err == nil && len(warnings) == 0 {
		t.Fatal("loading the damaged log met no damage: the test shows nothing")
	}
}

// A view behind the log (another process stored edits and has not
// rewritten the cache yet) is not trusted: ReadText loads the note and
// returns what is stored, in a read-only notebook too.
func TestReadTextLoadsWhenTheViewIsBehind(t *testing.T) {
	dir := t.TempDir()
	nb := openNB(t, dir, "a")
	n, err := nb.Create("Behind")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Append("cached\n"); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n = openNote(t, openNB(t, dir, "a"), n.ID)
	if err := n.Append("stored\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Flush(); err != nil { // in the log; the view is rewritten only later
		t.Fatal(err)
	}
	if _, current, err := nb.PeekView(n.ID); err != nil || current {
		t.Fatalf("the view should be behind the log now: current=%v err=%v", current, err)
	}
	ro, err := OpenWith(dir, Options{Author: "r", ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, reader := range []*Notebook{ro, openNB(t, dir, "b")} {
		if _, body, _, err := reader.ReadText(n.ID); err != nil || body != "cached\nstored\n" {
			t.Fatalf("ReadText = %q, %v", body, err)
		}
	}
}
