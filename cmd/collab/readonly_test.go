package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The read-only commands work on a notebook the user can only read. Tests
// run as root, where permission bits stop nothing, so the notebook is made
// truly read-only: the real binary runs in a private mount namespace where
// the notebook is bind-mounted read-only onto itself, and every open for
// writing, lock-file creation or chmod fails with EROFS even for root.
func TestReadOnlyNotebookCommands(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil || os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root and unshare(1) for a read-only bind mount under CI")
		}
		t.Skip("needs root and unshare(1) for a read-only bind mount")
	}
	home := t.TempDir()
	binOK(t, home, "new", "Read only")
	binOK(t, home, "append", "Read only", "kept words")
	// Without a current view cache, ls has to summarise the note itself
	// (and must not try to write the cache back).
	views, _ := filepath.Glob(filepath.Join(home, "notes", "*", "view"))
	if len(views) != 1 {
		t.Fatalf("views: %v", views)
	}
	if err := os.Remove(views[0]); err != nil {
		t.Fatal(err)
	}

	readOnly := func(args ...string) (string, string, error) {
		script := `mount --bind -o ro "$1" "$1" && shift && exec "$@"`
		cmd := exec.Command("unshare", append([]string{"-m", "sh", "-c", script, "sh", home, collabBinary(t)}, args...)...)
		cmd.Env = append(os.Environ(), "COLLAB_HOME="+home, "COLLAB_NAME=reader")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}
	// The mount really is read-only.
	if _, errOut, err := readOnly("new", "Not allowed"); err == nil {
		t.Fatal("collab new succeeded on the read-only notebook: the mount is not read-only")
	} else if !strings.Contains(errOut, "read-only file system") {
		t.Fatalf("new on the read-only notebook failed, but not with EROFS: %s", errOut)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"cat", "Read only"}, "kept words\n"},
		{[]string{"ls"}, "Read only"},
		{[]string{"log", "Read only"}, "crash"},
		{[]string{"export", "--text", "Read only"}, "kept words\n"},
		{[]string{"search", "kept"}, "kept words"},
	} {
		out, errOut, err := readOnly(tc.args...)
		if err != nil {
			t.Errorf("collab %s on a read-only notebook: %v: %s", strings.Join(tc.args, " "), err, errOut)
			continue
		}
		if !strings.Contains(out, tc.want) {
			t.Errorf("collab %s: stdout %q, want %q", strings.Join(tc.args, " "), out, tc.want)
		}
		if errOut != "" {
			t.Errorf("collab %s: stderr %q, want nothing", strings.Join(tc.args, " "), errOut)
		}
	}
}
