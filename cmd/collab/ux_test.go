package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collab-editor/collab/notebook"
)

// `collab search`: the notes whose title or text hold the query, each with
// its matching lines (numbered), smart case; --json for scripts; a query
// nothing matches says so.
func TestSearchCommand(t *testing.T) {
	c := newCLI(t)
	c.ok("", "new", "Trip to Lisbon")
	c.ok("# Trip to Lisbon\n- [ ] book the flight\n- tram 28\n", "write", "Trip to Lisbon")
	c.ok("", "new", "Groceries")
	c.ok("eggs\nmilk\x1b[31m red\n", "write", "Groceries")
	out := c.ok("", "search", "lisbon")
	if !strings.Contains(out, "Trip to Lisbon  (1 match)") || !strings.Contains(out, "     1: # Trip to Lisbon") || strings.Contains(out, "Groceries") {
		t.Fatalf("search lisbon printed:\n%s", out)
	}
	if out := c.ok("", "search", "Lisbon", "Tram"); !strings.Contains(out, "No note holds") {
		t.Fatalf("a query with capitals matches case; printed:\n%s", out)
	}
	// A peer's control characters reach the terminal in caret notation.
	if out := c.ok("", "search", "milk"); !strings.Contains(out, "2: milk^[[31m red") {
		t.Fatalf("search milk printed %q", out)
	}
	var res []notebook.SearchResult
	if err := json.Unmarshal([]byte(c.ok("", "search", "book", "--json")), &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Title != "Trip to Lisbon" || len(res[0].Lines) != 1 || res[0].Lines[0].Line != 2 || res[0].Lines[0].Column != 6 {
		t.Fatalf("search --json: %+v", res)
	}
	if out := strings.TrimSpace(c.ok("", "search", "nothing here", "--json")); out != "[]" {
		t.Fatalf("no match as JSON: %q", out)
	}
	if _, _, code := c.run("", "search"); code != 2 {
		t.Fatalf("search without a query: exit %d, want 2", code)
	}
}

// The CLI rough edges of issue 12.
func TestCLIRoughEdges(t *testing.T) {
	c := newCLI(t)
	// CMD --help prints its usage once, on stdout.
	out, errOut, code := c.run("", "append", "--help")
	if code != 0 || strings.Count(out, "usage: collab append") != 1 || errOut != "" {
		t.Fatalf("append --help: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// A bad flag: one line and the pointer to help, no usage dump.
	if _, errOut, code := c.run("", "ls", "--bogus"); code != 2 || strings.Contains(errOut, "usage:") || !strings.Contains(errOut, "bogus") {
		t.Fatalf("ls --bogus: exit %d, stderr %q", code, errOut)
	}
	// Empty trash, peers and invitations say so.
	if out := c.ok("", "trash"); !strings.Contains(out, "The trash is empty") {
		t.Fatalf("empty trash printed %q", out)
	}
	if out := c.ok("", "invites"); !strings.Contains(out, "No invitations waiting") {
		t.Fatalf("no invitations printed %q", out)
	}
	if out := c.ok("", "peers"); !strings.Contains(out, "No peers yet") {
		t.Fatalf("no peers printed %q", out)
	}
	// The trash lists titles.
	c.ok("", "new", "Old plans")
	c.ok("", "rm", "Old plans")
	if out := c.ok("", "trash"); !strings.Contains(out, "Old plans") {
		t.Fatalf("trash without the title:\n%s", out)
	}
	// append onto a note not ending in a newline starts a new line.
	c.ok("", "new", "Diary")
	c.ok("day one", "write", "Diary")
	c.ok("", "append", "Diary", "day two")
	c.ok("day three\n", "append", "Diary")
	if got := c.ok("", "cat", "Diary"); got != "day one\nday two\nday three\n" {
		t.Fatalf("cat after appends: %q", got)
	}
	// import --title names an Automerge file's note too.
	file := filepath.Join(t.TempDir(), "diary.automerge")
	c.ok("", "export", "Diary", "-o", file)
	c.ok("", "rm", "Diary")
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}
	c.ok("", "import", file, "--title", "Diary, imported")
	if out := c.ok("", "ls"); !strings.Contains(out, "Diary, imported") {
		t.Fatalf("import --title ignored:\n%s", out)
	}
}
