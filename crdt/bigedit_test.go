package crdt

import (
	"errors"
	"strings"
	"testing"
)

// A large insert goes in as several changes of at most MaxChangeRunes, so
// peers take each and no one transaction is huge; nothing of it, or of the
// text before it, is lost.
func TestLargeInsertIsCommittedInPieces(t *testing.T) {
	n := mustNew(t, "t", "ann")
	defer n.Close()
	n.Splice(0, 0, "kept\n")
	if _, err := n.Commit(); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("é😀 wörds\n", 3*MaxChangeRunes/9+17)
	if err := n.Splice(n.Len(), 0, big); err != nil {
		t.Fatal(err)
	}
	changes, err := n.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if want := (len([]rune(big)) + MaxChangeRunes - 1) / MaxChangeRunes; len(changes) != want {
		t.Fatalf("%d changes for %d runes, want %d", len(changes), len([]rune(big)), want)
	}
	if got := mustText(t, n); got != "kept\n"+big {
		t.Fatalf("text of %d runes, want %d", len([]rune(got)), len([]rune("kept\n"+big)))
	}
	saved, err := n.Save()
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := Load(saved, nil, "bob")
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got := mustText(t, again); got != "kept\n"+big {
		t.Fatal("the saved note does not hold the whole text")
	}
}

// Open edits the worker dies on (here: its memory limit) are dropped with
// ErrEditsDropped, and nothing committed is set aside for them: a probe
// without the stored changes cannot blame them, since with no text object
// the edits fail harmlessly.
func TestEditsTheWorkerDiesOnNeverCostStoredChanges(t *testing.T) {
	saved := NoteLimits
	defer func() { NoteLimits = saved }()
	NoteLimits.Memory = 40 << 20
	n, err := New("t", "ann")
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	n.Splice(0, 0, "kept\n")
	if _, err := n.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := n.Splice(n.Len(), 0, strings.Repeat("abcdefghij", 6000)); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Commit(); !errors.Is(err, ErrEditsDropped) {
		t.Fatalf("commit of edits past the worker's memory: %v, want ErrEditsDropped", err)
	}
	if got := mustText(t, n); got != "kept\n" || len(n.SetAside()) != 0 {
		t.Fatalf("after dropping the edits: text %q, %d changes set aside", got, len(n.SetAside()))
	}
	n.Splice(n.Len(), 0, "still works\n")
	if _, err := n.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := mustText(t, n); got != "kept\nstill works\n" {
		t.Fatalf("after a new edit: %q", got)
	}
}
