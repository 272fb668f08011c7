package crdt

import (
	"errors"
	"testing"
)

// Two copies of a note cut at the same heads begin the same epoch (the
// same root, so peers need not send it); the first document holds the
// title and text; Reset makes a note that document, and refuses while
// edits are open.
func TestBeginEpochIsTheSameOnEveryCopy(t *testing.T) {
	a, err := New("plan", "ann")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, s := range []string{"first line\n", "second line\n", "third"} {
		if err := a.Splice(a.Len(), 0, s); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	saved, err := a.Save()
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Load(saved, nil, "bob")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	id := NewDocumentID()
	archiveA, ea, firstA, err := a.BeginEpoch(id, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, eb, _, err := b.BeginEpoch(id, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ea.Root != eb.Root || !SameHeads(ea.Heads, eb.Heads) {
		t.Fatalf("two copies begin different epochs: %v / %v", ea, eb)
	}
	if _, other, _, _ := a.BeginEpoch(NewDocumentID(), 1); other.Root == ea.Root {
		t.Fatal("another note's epoch has the same root")
	}
	hist, err := ArchiveHistory(archiveA)
	if err != nil || len(hist) != 4 {
		t.Fatalf("the archive lists %d changes (%v), want 4", len(hist), err)
	}
	if _, text, err := ArchiveAt(archiveA, hist[2].Hash); err != nil || text != "first line\nsecond line\n" {
		t.Fatalf("the archive at its third change: %q, %v", text, err)
	}

	if err := b.Splice(0, 0, "typing "); err != nil {
		t.Fatal(err)
	}
	if err := b.Reset(firstA); !errors.Is(err, ErrEditsOpen) {
		t.Fatalf("Reset with an edit open: %v", err)
	}
	if err := a.Reset(firstA); err != nil {
		t.Fatal(err)
	}
	text, _ := a.Text()
	if text != "first line\nsecond line\nthird" || a.Title() != "plan" {
		t.Fatalf("after the reset: %q %q", a.Title(), text)
	}
	heads, err := a.Heads()
	if err != nil || len(heads) != 1 || heads[0] != ea.Root {
		t.Fatalf("after the reset the heads are %v, want the root %v", heads, ea.Root)
	}
	// Edits go on in the new epoch.
	if err := a.Splice(0, 0, "new "); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Commit(); err != nil {
		t.Fatal(err)
	}
}

// A copy that went on typing after the heads an epoch began at follows it:
// same root, and its late edit translated into the epoch. A claim whose
// root those heads do not give, or heads the copy lacks, are refused.
func TestFollowEpoch(t *testing.T) {
	a, err := New("plan", "ann")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.Splice(0, 0, "shared text\n"))
	_, err = a.Commit()
	must(err)
	saved, err := a.Save()
	must(err)
	b, _, err := Load(saved, nil, "bob")
	must(err)
	defer b.Close()
	must(b.Splice(b.Len(), 0, "bob was offline\n"))
	_, err = b.Commit()
	must(err)

	id := NewDocumentID()
	_, e, first, err := a.BeginEpoch(id, 1)
	must(err)
	_, bFirst, late, err := b.FollowEpoch(id, e)
	must(err)
	if string(bFirst) != string(first) || len(late) != 1 {
		t.Fatalf("bob's cut: same first document %v, %d late changes (want 1)", string(bFirst) == string(first), len(late))
	}
	must(a.Reset(first))
	for _, c := range late {
		must(a.Apply(c))
	}
	if text, _ := a.Text(); text != "shared text\nbob was offline\n" {
		t.Fatalf("ann after bob's late edit: %q", text)
	}

	forged := e
	forged.Root[0] ^= 1
	if _, _, _, err := b.FollowEpoch(id, forged); !errors.Is(err, ErrEpochMismatch) {
		t.Errorf("a forged root: %v, want ErrEpochMismatch", err)
	}
	other := e
	other.Heads = []ChangeHash{{1, 2, 3}}
	if _, _, _, err := b.FollowEpoch(id, other); !errors.Is(err, ErrNotCovered) {
		t.Errorf("heads bob lacks: %v, want ErrNotCovered", err)
	}
}
