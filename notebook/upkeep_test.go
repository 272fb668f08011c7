package notebook

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/collab-editor/collab/crdt"
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

// Run rewrites a view that is behind, without holding the note while the
// cache is written: a note edited and stored under Run has a current view
// soon after, showing what is stored.
func TestRunBringsTheViewUpToDate(t *testing.T) {
	dir := t.TempDir()
	nb := openNB(t, dir, "a")
	n, err := nb.Create("Live")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx, func() crdt.CommitPolicy { return crdt.LivePolicy }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		n.Close()
	}()
	if err := n.Append("typed live\n"); err != nil {
		t.Fatal(err)
	}
	n.Kick()
	deadline := time.Now().Add(viewEvery + 10*PollInterval + 5*time.Second)
	for {
		v, current, err := nb.PeekView(n.ID)
		if err == nil && current && v.Text == "typed live\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the view never caught up: %q current=%v err=%v", v.Text, current, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
