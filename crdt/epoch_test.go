package crdt

import (
	"bytes"
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

// A note with no worker running is cut from its stored bytes in Go (a
// history too long for the core is cut so): the epoch, its root and the
// first document are the ones the core's path makes from the same note,
// the archive (its saved document and records after it, here stored out
// of dependency order) reads back whole, and the note stays asleep until
// used, then reads the same.
func TestBeginEpochOfASleepingNoteMatchesTheCore(t *testing.T) {
	a, err := New("plan", "ann")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var snapshot []byte
	var records [][]byte
	for i, s := range []string{"first line\n", "second line\n", "third", " and more"} {
		if err := a.Splice(a.Len(), 0, s); err != nil {
			t.Fatal(err)
		}
		cs, err := a.Commit()
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 { // the snapshot holds the first two lines
			if snapshot, err = a.Save(); err != nil {
				t.Fatal(err)
			}
		}
		if i >= 2 {
			for _, c := range cs {
				records = append([][]byte{c.Bytes}, records...) // newest first
			}
		}
	}
	full, err := a.Save()
	if err != nil {
		t.Fatal(err)
	}
	hist, err := ArchiveHistory(full)
	if err != nil || len(hist) != 5 {
		t.Fatalf("history %d, %v", len(hist), err)
	}
	text, _ := a.Text()
	heads, err := a.Heads()
	if err != nil {
		t.Fatal(err)
	}
	asleep := LoadKnown(snapshot, records, "ann", Known{Title: "plan", Text: text, Heads: heads})
	defer asleep.Close()
	awake, _, err := Load(snapshot, records, "ann")
	if err != nil {
		t.Fatal(err)
	}
	defer awake.Close()

	id := NewDocumentID()
	archive, e, first, err := asleep.BeginEpoch(id, 1)
	if err != nil {
		t.Fatal(err)
	}
	if asleep.Awake() {
		t.Fatal("the cut loaded the sleeping note in the core")
	}
	// Through the core: the document it saves, decoded change by change
	// (the path a note with edits open takes).
	coreSaved, coreHeads, err := awake.saveWithHeads()
	if err != nil {
		t.Fatal(err)
	}
	wantRoot, _, err := startEpoch(id, 1, coreSaved, nil, coreHeads)
	if err != nil {
		t.Fatal(err)
	}
	if e.Root != ChangeHash(wantRoot.Hash) || !SameHeads(e.Heads, coreHeads) {
		t.Fatalf("cut in Go: %v; through the core: root %s at %v", e, ChangeHash(wantRoot.Hash), coreHeads)
	}
	// A loaded note with nothing open is cut from its recipe too, alike.
	_, loaded, loadedFirst, err := awake.BeginEpoch(id, 1)
	if err != nil || loaded.Root != e.Root || !bytes.Equal(loadedFirst, first) {
		t.Fatalf("a loaded copy's cut: %v, %v", loaded, err)
	}
	got, err := ArchiveHistory(archive)
	if err != nil || len(got) != len(hist) {
		t.Fatalf("the archive lists %d changes (%v), want %d", len(got), err, len(hist))
	}
	seen := map[ChangeHash]bool{}
	for _, c := range got {
		for _, d := range c.Deps {
			if !seen[d] {
				t.Fatalf("change %s comes before its dep %s", c.Hash, d)
			}
		}
		seen[c.Hash] = true
	}
	if _, at, err := ArchiveAt(archive, hist[3].Hash); err != nil || at != "first line\nsecond line\nthird" {
		t.Fatalf("the archive at its fourth change: %q, %v", at, err)
	}
	// FollowEpoch on a copy that holds the archive agrees too.
	c, _, err := Load(archive, nil, "cy")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, _, _, err := c.FollowEpoch(id, e); err != nil {
		t.Fatalf("a copy of the archive cannot follow the epoch: %v", err)
	}
	// A peer lacking some of it is sent the archive (PROTOCOL.md 9.5) and
	// merges it as it merges any document.
	d, _, err := Load(nil, nil, "dee")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Apply(archive); err != nil {
		t.Fatalf("merge the archive: %v", err)
	}
	if got, err := d.Heads(); err != nil || !SameHeads(got, e.Heads) || mustText(t, d) != text {
		t.Fatalf("merged archive: heads %v (%v), want %v", got, err, e.Heads)
	}
	// So does a sleeping copy, from its stored bytes and without loading.
	sleeper := LoadKnown(snapshot, records, "dee", Known{Title: "plan", Text: text, Heads: heads})
	defer sleeper.Close()
	if _, f, late, err := sleeper.FollowEpoch(id, e); err != nil || !bytes.Equal(f, first) || len(late) != 0 || sleeper.Awake() {
		t.Fatalf("a sleeping copy follows: %v (same first document %v, %d late, awake %v)", err, bytes.Equal(f, first), len(late), sleeper.Awake())
	}

	if err := asleep.Reset(first); err != nil {
		t.Fatal(err)
	}
	if asleep.Awake() {
		t.Fatal("Reset loaded the sleeping note")
	}
	if h, ok := asleep.CommittedHeads(); !ok || !SameHeads(h, []ChangeHash{e.Root}) || asleep.Awake() {
		t.Fatalf("heads after the cut %v (%v), want the root %s, without loading", h, ok, e.Root)
	}
	if err := asleep.Splice(asleep.Len(), 0, "!"); err != nil {
		t.Fatal(err)
	}
	committed, err := asleep.Commit()
	if err != nil || len(committed) != 1 {
		t.Fatalf("commit: %d changes, %v", len(committed), err)
	}
	// Committed in Go, on the cut's model: still asleep, and the core,
	// loading later, takes the change with the same text and heads.
	if got, _, _ := asleep.ReadText(); got != text+"!" || asleep.Awake() {
		t.Fatalf("after an edit: %q (awake %v)", got, asleep.Awake())
	}
	if err := asleep.Wake(); err != nil {
		t.Fatal(err)
	}
	if got, _ := asleep.Text(); got != text+"!" || !asleep.Awake() {
		t.Fatalf("after loading: %q (awake %v)", got, asleep.Awake())
	}
	if h, err := asleep.Heads(); err != nil || !SameHeads(h, []ChangeHash{committed[0].Hash}) {
		t.Fatalf("heads after loading %v (%v), want the change made in Go", h, err)
	}
}
