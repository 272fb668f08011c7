package tui

import (
	"strings"
	"testing"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/notebook"
)

// peerSplice makes an edit as another copy of the note would and returns
// the change bytes a peer would send.
func peerSplice(t *testing.T, n *notebook.Note, pos, del int, ins string) []byte {
	t.Helper()
	saved, err := n.Save()
	if err != nil {
		t.Fatal(err)
	}
	peer, _, err := crdt.Load(saved, nil, "ann")
	if err != nil {
		t.Fatal(err)
	}
	if err := peer.Splice(pos, del, ins); err != nil {
		t.Fatal(err)
	}
	changes, err := peer.Commit()
	if err != nil || len(changes) != 1 {
		t.Fatalf("%d changes, %v", len(changes), err)
	}
	return changes[0].Bytes
}

// Issue 7: changes from above and below the cursor reach the editor in one
// frame; the cursor stays on its text and what the user types next lands
// there (one splice covering both moved it into the line above).
func TestRemoteChangesAroundCursorKeepIt(t *testing.T) {
	nb := openNotebook(t, "bob")
	id := makeNote(t, nb, "Standup", "ann: one two\nbob: mine\ncem: three\n")
	net := newFakeNet(t, nb)
	h := newHarness(t, nb, Options{Open: &id, Network: net}, 60, 10).noteLoaded().settle()
	h.keys("ctrl+home", "down", "end") // end of bob's line
	note, _ := net.Open(id)
	// cem adds a word on his line and ann deletes one on hers: both merged
	// before the editor looks.
	if err := note.ApplyRemote("cem", peerSplice(t, note, len("ann: one two\nbob: mine\ncem: three"), 0, " four")); err != nil {
		t.Fatal(err)
	}
	if err := note.ApplyRemote("ann", peerSplice(t, note, len("ann: one"), len(" two"), "")); err != nil {
		t.Fatal(err)
	}
	h.settle()
	if got := h.a.sess.ed.Text(); got != "ann: one\nbob: mine\ncem: three four\n" {
		t.Fatalf("editor shows %q", got)
	}
	h.keys("type: and more")
	want := "ann: one\nbob: mine and more\ncem: three four\n"
	if got, _ := note.Text(); got != want || h.a.sess.ed.Text() != want {
		t.Fatalf("note %q, editor %q, want %q", got, h.a.sess.ed.Text(), want)
	}
}

// Issue 7: ctrl+z right after a history restore undoes the restore exactly
// (it replayed the old undo stack on the restored text: "one two three"
// became "one two threethree", on every peer).
func TestUndoAfterRestore(t *testing.T) {
	nb := openNotebook(t, "alice")
	id := makeNote(t, nb, "Draft", "")
	h := newHarness(t, nb, Options{Open: &id, Policy: live}, 60, 14).noteLoaded()
	h.keys("type:one two").saved()
	h.keys("type: three").saved()
	h.keys("ctrl+r").historyShown()
	h.findVersion("one two")
	h.keys("enter", "y")
	if got := h.a.sess.ed.Text(); got != "one two" {
		t.Fatalf("restored %q", got)
	}
	h.keys("ctrl+z")
	if got := h.a.sess.ed.Text(); got != "one two three" {
		t.Fatalf("undo after restore gives %q, want %q", got, "one two three")
	}
	h.keys("ctrl+z")
	if got := h.a.sess.ed.Text(); got != "one two" {
		t.Fatalf("a second undo gives %q, want %q (the typing before the restore)", got, "one two")
	}
	h.keys("ctrl+y", "ctrl+y")
	if got := h.a.sess.ed.Text(); got != "one two" {
		t.Fatalf("redoing both gives %q, want the restore again", got)
	}
	h.saved()
	if got := noteText(t, nb.Dir(), id); got != "one two" {
		t.Fatalf("stored %q", got)
	}
}

// Issue 7: after an offline merge the history's newest entry is the merged
// text (it previewed one branch, so restoring "the latest" dropped the
// other's edits).
func TestHistoryNewestIsTheMergedText(t *testing.T) {
	nb := openNotebook(t, "alice")
	id := makeNote(t, nb, "Trip", "plan\n")
	n, _, err := nb.OpenNote(id)
	if err != nil {
		t.Fatal(err)
	}
	theirs := peerSplice(t, n, len("plan\n"), 0, "bob: offline edit\n") // made on bob's copy
	if err := n.Splice(0, 0, "alice: offline edit\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := n.ApplyRemote("bob", theirs); err != nil {
		t.Fatal(err)
	}
	want, _ := n.Text()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, nb, Options{Open: &id}, 60, 14).noteLoaded()
	h.keys("ctrl+r").historyShown()
	if got := h.a.hist.preview.text; got != want {
		t.Fatalf("the newest history entry shows %q, the note is %q", got, want)
	}
	if !strings.Contains(h.plain(), "merged") {
		t.Fatalf("the newest entry does not say it is the merge:\n%s", h.plain())
	}
}
