package tui

import (
	"strings"
	"testing"
)

// Issue 7, through the app and a real peer's change: a remote delete of
// the line above leaves the cursor on the same letter of its word. The
// editor was given one splice made by trimming the common prefix and
// suffix of the old and new text; with repeated text ("line one",
// "line two") that splice started inside the wrong line and the cursor
// fell to the middle of it ("line |two").
func TestRemoteDeleteOfLineAboveKeepsCursorInItsWord(t *testing.T) {
	nb := openNotebook(t, "bob")
	id := makeNote(t, nb, "Lines", "line one\nline two\n")
	net := newFakeNet(t, nb)
	h := newHarness(t, nb, Options{Open: &id, Network: net}, 40, 10).noteLoaded().settle()
	h.keys("ctrl+home", "down", "right", "right") // li|ne two
	note, _ := net.Open(id)
	if err := note.ApplyRemote("ann", peerSplice(t, note, 0, len("line one\n"), "")); err != nil {
		t.Fatal(err)
	}
	h.settle()
	if got := h.a.sess.ed.Text(); got != "line two\n" {
		t.Fatalf("editor shows %q", got)
	}
	if c := h.a.sess.ed.CursorPos(); c != 2 {
		t.Fatalf("cursor at %d, want 2 (li|ne two)", c)
	}
	h.keys("type:X")
	if got, _ := note.Text(); got != "liXne two\n" {
		t.Fatalf("typed X: note %q, want %q", got, "liXne two\n")
	}
}

// Issue 7, through the app and a real peer's change: a remote insert of
// several lines right at the cursor, the cursor on the first visible row,
// keeps the cursor in view on its row (the viewport's anchor moved past
// the inserted text while the cursor stayed before it, so the view
// scrolled away and the cursor was hidden above it).
func TestRemoteInsertAtCursorKeepsItInView(t *testing.T) {
	nb := openNotebook(t, "bob")
	text := strings.Repeat("line one\nline two\n", 20)
	id := makeNote(t, nb, "Lines", text)
	net := newFakeNet(t, nb)
	h := newHarness(t, nb, Options{Open: &id, Network: net}, 40, 10).noteLoaded().settle()
	h.keys("ctrl+end")
	for range 7 {
		h.keys("up")
	}
	h.keys("home")
	c := h.a.sess.cursor()
	if c == nil || c.Y != 1 {
		t.Fatalf("setup: cursor %+v, want on the first editor row", c)
	}
	pos := h.a.sess.ed.CursorPos()
	note, _ := net.Open(id)
	if err := note.ApplyRemote("ann", peerSplice(t, note, pos, 0, "new\nline ")); err != nil {
		t.Fatal(err)
	}
	h.settle()
	if got, want := h.a.sess.ed.Text(), text[:pos]+"new\nline "+text[pos:]; got != want {
		t.Fatalf("editor shows %q, want %q", got, want)
	}
	if c := h.a.sess.cursor(); c == nil || c.Y != 1 || c.X != 0 {
		t.Fatalf("cursor %+v after the insert, want still on the first editor row:\n%s", c, h.plain())
	}
	if row := strings.Split(h.plain(), "\n")[1]; row != "new" {
		t.Fatalf("first editor row %q, want the inserted text after the cursor:\n%s", row, h.plain())
	}
	h.keys("type:X")
	if got, want := h.a.sess.ed.Text(), text[:pos]+"Xnew\nline "+text[pos:]; got != want {
		t.Fatalf("typed X: %q, want it before the inserted text", got)
	}
}
