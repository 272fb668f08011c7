package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cli runs collab in-process against one notebook, like a user in a shell.
type cli struct {
	t    *testing.T
	home string
}

func newCLI(t *testing.T) *cli {
	t.Setenv("COLLAB_HOME", "")
	t.Setenv("COLLAB_NAME", "tester")
	return &cli{t: t, home: t.TempDir()}
}

// run returns stdout, stderr and the exit code.
func (c *cli) run(stdin string, args ...string) (string, string, int) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") && args[0] != "help" {
		args = append([]string{args[0], "--home", c.home}, args[1:]...)
	} else if len(args) == 0 {
		args = []string{"--home", c.home}
	}
	code := run(args, e)
	return out.String(), errOut.String(), code
}

// ok runs a command that must succeed and returns its stdout.
func (c *cli) ok(stdin string, args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(stdin, args...)
	if code != 0 {
		c.t.Fatalf("collab %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func TestNewAppendCatLs(t *testing.T) {
	c := newCLI(t)
	url := strings.TrimSpace(c.ok("", "new", "Groceries"))
	if !strings.HasPrefix(url, "automerge:") {
		t.Fatalf("new printed %q, want an automerge URL", url)
	}
	c.ok("", "append", "Groceries", "milk", "and", "eggs")
	c.ok("bread\n", "append", url)
	c.ok("", "append", strings.TrimPrefix(url, "automerge:")[:6], "jam")
	if got := c.ok("", "cat", "groceries"); got != "milk and eggs\nbread\njam\n" {
		t.Fatalf("cat = %q", got)
	}
	ls := c.ok("", "ls")
	if !strings.Contains(ls, "Groceries") || !strings.Contains(ls, strings.TrimPrefix(url, "automerge:")) {
		t.Fatalf("ls = %q", ls)
	}
	var notes []map[string]any
	if err := json.Unmarshal([]byte(c.ok("", "ls", "--json")), &notes); err != nil || len(notes) != 1 {
		t.Fatalf("ls --json: %v %v", notes, err)
	}
	if notes[0]["title"] != "Groceries" || notes[0]["url"] != url || notes[0]["chars"] != float64(24) {
		t.Fatalf("ls --json = %v", notes[0])
	}
	if home := c.ok(""); !strings.Contains(home, "Groceries") {
		t.Fatalf("collab with no command = %q", home)
	}
}

func TestWriteIsMinimalAndLogShowsWho(t *testing.T) {
	c := newCLI(t)
	c.ok("", "new", "Plan")
	c.ok("one\ntwo\nthree\n", "write", "Plan")
	c.ok("one\n2\nthree\n", "write", "Plan")
	if got := c.ok("", "cat", "Plan"); got != "one\n2\nthree\n" {
		t.Fatalf("cat = %q", got)
	}
	log := c.ok("", "log", "Plan")
	lines := strings.Split(strings.TrimSpace(log), "\n")
	if len(lines) != 3 {
		t.Fatalf("log has %d lines, want 3:\n%s", len(lines), log)
	}
	// Newest first, and the rewrite of "two" as "2" is a small edit, not a
	// replacement of the whole text.
	if !strings.Contains(lines[0], "tester") || !strings.Contains(lines[0], "+1 -3") {
		t.Fatalf("newest log line = %q", lines[0])
	}
	var entries []logEntry
	if err := json.Unmarshal([]byte(c.ok("", "log", "Plan", "--json")), &entries); err != nil || len(entries) != 3 {
		t.Fatalf("log --json: %v %v", entries, err)
	}
	if *entries[1].Added != 14 || entries[1].Author != "tester" {
		t.Fatalf("second entry = %+v", entries[1])
	}
}

func TestRenameRemoveRestore(t *testing.T) {
	c := newCLI(t)
	url := strings.TrimSpace(c.ok("", "new", "Old"))
	id := strings.TrimPrefix(url, "automerge:")
	c.ok("", "append", "Old", "keep me")
	c.ok("", "rename", "Old", "New", "name")
	if ls := c.ok("", "ls"); !strings.Contains(ls, "New name") || strings.Contains(ls, "Old") {
		t.Fatalf("ls after rename = %q", ls)
	}
	c.ok("", "rm", "New name")
	if ls := c.ok("", "ls"); ls != "" {
		t.Fatalf("ls after rm = %q", ls)
	}
	if trash := c.ok("", "trash"); !strings.Contains(trash, id) {
		t.Fatalf("trash = %q", trash)
	}
	c.ok("", "trash", "--restore", id)
	if got := c.ok("", "cat", id); got != "keep me\n" {
		t.Fatalf("restored text = %q", got)
	}
	c.ok("", "rm", id)
	c.ok("", "trash", "--empty")
	if trash := c.ok("", "trash"); trash != "The trash is empty.\n" {
		t.Fatalf("trash after --empty = %q", trash)
	}
}

func TestAmbiguousAndUnknownNotes(t *testing.T) {
	c := newCLI(t)
	a := strings.TrimPrefix(strings.TrimSpace(c.ok("", "new", "Same")), "automerge:")
	b := strings.TrimPrefix(strings.TrimSpace(c.ok("", "new", "Same")), "automerge:")
	_, errOut, code := c.run("", "cat", "Same")
	if code != 1 || !strings.Contains(errOut, a) || !strings.Contains(errOut, b) {
		t.Fatalf("ambiguous title: exit %d, %q", code, errOut)
	}
	if _, errOut, code := c.run("", "cat", "Nope"); code != 1 || !strings.Contains(errOut, "no such note") {
		t.Fatalf("unknown note: exit %d, %q", code, errOut)
	}
	if _, _, code := c.run("", "cat", a); code != 0 {
		t.Fatalf("cat by ID failed")
	}
}

func TestUsageAndHelp(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{{"frobnicate"}, {"cat"}, {"new"}, {"ls", "extra"}, {"merge", "x"}, {"ls", "--bogus"}} {
		if _, _, code := c.run("", args...); code != 2 {
			t.Errorf("collab %v: exit %d, want 2", args, code)
		}
	}
	for name := range commands() {
		if name == "home" {
			continue
		}
		out, _, code := c.run("", name, "--help")
		if code != 0 || !strings.Contains(out, "usage: collab "+name) {
			t.Errorf("collab %s --help: exit %d, %q", name, code, out)
		}
	}
	if out, _, code := c.run("", "help"); code != 0 || !strings.Contains(out, "append") {
		t.Errorf("collab help: exit %d", code)
	}
	if out := c.ok("", "version"); !strings.HasPrefix(out, "collab ") {
		t.Errorf("version = %q", out)
	}
}

func TestExportImportMerge(t *testing.T) {
	c := newCLI(t)
	url := strings.TrimSpace(c.ok("", "new", "Shared"))
	id := strings.TrimPrefix(url, "automerge:")
	c.ok("", "append", "Shared", "base")
	dir := t.TempDir()
	file := filepath.Join(dir, "Shared."+id+".automerge")
	c.ok("", "export", "Shared", "-o", file)
	if got := c.ok("", "export", "Shared", "--text"); got != "base\n" {
		t.Fatalf("export --text = %q", got)
	}

	// A second notebook imports the file, keeping the ID from its name, and
	// both sides edit offline.
	other := &cli{t: t, home: t.TempDir()}
	if got := strings.TrimSpace(other.ok("", "import", file)); got != url {
		t.Fatalf("import gave %s, want the same note %s", got, url)
	}
	other.ok("", "append", id, "from the other side")
	c.ok("", "append", id, "from here")
	back := filepath.Join(dir, "back.automerge")
	other.ok("", "export", id, "-o", back)
	c.ok("", "merge", id, back)
	got := c.ok("", "cat", id)
	if !strings.Contains(got, "from the other side") || !strings.Contains(got, "from here") || !strings.HasPrefix(got, "base\n") {
		t.Fatalf("merged text = %q", got)
	}
	// Importing it again would create a second copy: refuse, point at merge.
	if _, errOut, code := c.run("", "import", file); code != 1 || !strings.Contains(errOut, "collab merge") {
		t.Fatalf("re-import: exit %d, %q", code, errOut)
	}

	// A different note must never be merged in.
	c.ok("", "new", "Unrelated")
	c.ok("", "append", "Unrelated", "other text")
	unrelated := filepath.Join(dir, "unrelated.automerge")
	c.ok("", "export", "Unrelated", "-o", unrelated)
	if _, errOut, code := c.run("", "merge", id, unrelated); code != 1 || !strings.Contains(errOut, "different note") {
		t.Fatalf("merge of a different note: exit %d, %q", code, errOut)
	}
	if after := c.ok("", "cat", id); after != got {
		t.Fatalf("refused merge changed the note: %q", after)
	}

	// Plain text imports as a new note titled after the file.
	txt := filepath.Join(dir, "Ideas.md")
	os.WriteFile(txt, []byte("# Ideas\n- one\n"), 0o600)
	c.ok("", "import", txt)
	if got := c.ok("", "cat", "Ideas"); got != "# Ideas\n- one\n" {
		t.Fatalf("imported text = %q", got)
	}
	// Garbage that claims to be automerge is refused, not half-imported.
	bad := filepath.Join(dir, "bad.automerge")
	os.WriteFile(bad, append([]byte{0x85, 0x6f, 0x4a, 0x83}, "garbage"...), 0o600)
	if _, _, code := c.run("", "import", bad); code != 1 {
		t.Fatalf("importing garbage: exit %d", code)
	}
}

// A log cut off in the middle of a record (a crash, a full disk) loses only
// that unfinished record: the note opens with a warning and takes writes.
func TestTornLogStillOpens(t *testing.T) {
	c := newCLI(t)
	url := strings.TrimSpace(c.ok("", "new", "Torn"))
	id := strings.TrimPrefix(url, "automerge:")
	c.ok("", "append", "Torn", "kept")
	c.ok("", "append", "Torn", "torn away")
	logs, _ := filepath.Glob(filepath.Join(c.home, "notes", id, "log.*"))
	if len(logs) != 1 {
		t.Fatalf("logs: %v", logs)
	}
	data, _ := os.ReadFile(logs[0])
	os.WriteFile(logs[0], data[:len(data)-7], 0o600)

	out, errOut, code := c.run("", "cat", "Torn")
	if code != 0 || out != "kept\n" || !strings.Contains(errOut, "warning") {
		t.Fatalf("cat after a torn tail: exit %d, %q, stderr %q", code, out, errOut)
	}
	c.ok("", "append", "Torn", "again")
	if got := c.ok("", "cat", "Torn"); got != "kept\nagain\n" {
		t.Fatalf("after repair: %q", got)
	}
}

// A damaged snapshot falls back to the generation before it.
func TestCorruptSnapshotFallsBack(t *testing.T) {
	c := newCLI(t)
	t.Setenv("COLLAB_COMPACT_AT", "")
	url := strings.TrimSpace(c.ok("", "new", "Snap"))
	id := strings.TrimPrefix(url, "automerge:")
	t.Setenv("COLLAB_COMPACT_AT", "64")
	for _, line := range []string{"one", "two", "three", "four"} {
		c.ok("", "append", "Snap", line)
	}
	snaps, _ := filepath.Glob(filepath.Join(c.home, "notes", id, "snap.*"))
	if len(snaps) < 2 {
		t.Fatalf("want two snapshot generations, have %v", snaps)
	}
	newest := snaps[len(snaps)-1]
	data, _ := os.ReadFile(newest)
	data[len(data)/2] ^= 0xff
	os.WriteFile(newest, data, 0o600)
	// cat prints from the view cache, which the damage did not touch;
	// the next command that loads the note falls back and says so.
	if got := c.ok("", "cat", "Snap"); got != "one\ntwo\nthree\nfour\n" {
		t.Fatalf("cat with a bad snapshot: %q", got)
	}
	_, errOut, code := c.run("", "append", "Snap", "five")
	if code != 0 || !strings.Contains(errOut, "warning") {
		t.Fatalf("append with a bad snapshot: exit %d, stderr %q", code, errOut)
	}
	if got := c.ok("", "cat", "Snap"); got != "one\ntwo\nthree\nfour\nfive\n" {
		t.Fatalf("after the fallback: %q", got)
	}
}

// When the edit is durably in the log but the view cache cannot be written
// (a full disk, a read-only note directory), append succeeds and warns: it
// must not tell the user an edit failed that is stored. The cache write is
// made to fail for real, also as root (where permission bits stop nothing):
// a non-empty directory sits where the cache file is renamed to.
func TestAppendStoredButViewCacheFails(t *testing.T) {
	c := newCLI(t)
	url := strings.TrimSpace(c.ok("", "new", "Cache"))
	id := strings.TrimPrefix(url, "automerge:")
	view := filepath.Join(c.home, "notes", id, "view")
	if err := os.Remove(view); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(view, "blocker"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := c.run("", "append", id, "stored anyway")
	if code != 0 {
		t.Fatalf("append of a stored edit exited %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "warning") || !strings.Contains(errOut, "view cache") {
		t.Fatalf("append did not warn about the view cache: %q", errOut)
	}
	if err := os.RemoveAll(view); err != nil {
		t.Fatal(err)
	}
	if got := c.ok("", "cat", id); got != "stored anyway\n" {
		t.Fatalf("cat = %q, want the appended text", got)
	}
}
