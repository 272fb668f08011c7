package notebook

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Close on a note whose edit is durably in the log but whose view cache
// cannot be written reports ErrHousekeeping (a warning for the caller), and
// the edit is there after reopening. The cache write fails for real, also as
// root: a non-empty directory sits where the cache file is renamed to.
func TestCloseReportsViewCacheFailureAsHousekeeping(t *testing.T) {
	dir := t.TempDir()
	nb := openNB(t, dir, "a")
	n, err := nb.Create("Upkeep")
	if err != nil {
		t.Fatal(err)
	}
	id := n.ID
	view := filepath.Join(dir, "notes", id.String(), "view")
	if err := os.Remove(view); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(view, "blocker"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := n.Append("kept\n"); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); !errors.Is(err, ErrHousekeeping) {
		t.Fatalf("Close = %v, want an error wrapping ErrHousekeeping", err)
	}
	if err := os.RemoveAll(view); err != nil {
		t.Fatal(err)
	}
	if got := text(t, openNote(t, openNB(t, dir, "a"), id)); got != "kept\n" {
		t.Fatalf("after reopening: %q", got)
	}
}
