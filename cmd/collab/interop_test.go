package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// nodeInterop returns the directory of the Node side of interop tests, or
// skips when Node or its packages are missing (under CI that is a failure:
// .ci/run installs them).
func nodeInterop(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs(filepath.Join("..", "..", "interop"))
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not installed"
	} else if _, err := os.Stat(filepath.Join(dir, "node_modules", "@automerge", "automerge")); err != nil {
		missing = "interop/node_modules is missing: run 'npm ci' in interop/"
	}
	if missing != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("interop test cannot run under CI: %s", missing)
		}
		t.Skip(missing)
	}
	return dir
}

func node(t *testing.T, dir, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("node", append([]string{filepath.Join(dir, "doc.mjs")}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("node doc.mjs %v: %v\n%s", args, err, stderr)
	}
	return string(out)
}

// TestExportOpensInJavaScriptAutomerge: a note exported by collab opens in
// the official @automerge/automerge, body as Text under "text"; a note made
// in JavaScript imports into collab; edits made in JavaScript merge back.
func TestExportOpensInJavaScriptAutomerge(t *testing.T) {
	dir := nodeInterop(t)
	home := t.TempDir()
	files := t.TempDir()
	binOK(t, home, "new", "Interop ☃")
	binOK(t, home, "append", "Interop ☃", "héllo wörld 日本 👍🏽")
	exported := filepath.Join(files, "note.automerge")
	binOK(t, home, "export", "Interop ☃", "-o", exported)

	var got struct {
		Title, Text string
		TextIsText  bool
	}
	if err := json.Unmarshal([]byte(node(t, dir, "", "read", exported)), &got); err != nil {
		t.Fatal(err)
	}
	if got.Title != "Interop ☃" || got.Text != "héllo wörld 日本 👍🏽\n" || !got.TextIsText {
		t.Fatalf("JavaScript read %+v", got)
	}

	// JavaScript edits that copy; collab merges the edit back.
	edited := filepath.Join(files, "edited.automerge")
	node(t, dir, "", "edit", exported, edited, "from js\n")
	binOK(t, home, "merge", "Interop ☃", edited)
	if text := binOK(t, home, "cat", "Interop ☃"); text != "héllo wörld 日本 👍🏽\nfrom js\n" {
		t.Fatalf("after merging the JS edit: %q", text)
	}

	// A note created in JavaScript imports as a collab note.
	created := filepath.Join(files, "js.automerge")
	node(t, dir, "written in node\n", "create", created, "From JS")
	binOK(t, home, "import", created)
	if text := binOK(t, home, "cat", "From JS"); text != "written in node\n" {
		t.Fatalf("imported JS note: %q", text)
	}
}
