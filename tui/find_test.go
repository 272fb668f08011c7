package tui

import (
	"strings"
	"testing"
)

// Find in a note: ignores case unless the query has capitals, counts the
// matches, steps through them; reopening offers the last query selected, so
// typing replaces it instead of appending to it.
func TestFindCountsAndReopens(t *testing.T) {
	nb := openNotebook(t, "alice")
	id := makeNote(t, nb, "Tea", "Tea for two\nand tea for me\nTEA time")
	h := newHarness(t, nb, Options{Open: &id}, 60, 10).noteLoaded()
	h.keys("ctrl+f", "type:tea")
	if !strings.Contains(h.plain(), "Find: tea") || !strings.Contains(h.plain(), "1/3") {
		t.Fatalf("want 1/3 matches:\n%s", h.plain())
	}
	h.keys("enter")
	if !strings.Contains(h.plain(), "2/3") {
		t.Fatalf("enter should go to match 2:\n%s", h.plain())
	}
	h.keys("shift+enter", "shift+enter")
	if !strings.Contains(h.plain(), "3/3") {
		t.Fatalf("previous twice wraps to 3:\n%s", h.plain())
	}
	h.keys("esc", "ctrl+end", "ctrl+f") // no selection: the old query comes back selected
	if !strings.Contains(h.plain(), "Find: tea") {
		t.Fatalf("reopened without the last query:\n%s", h.plain())
	}
	h.keys("type:TEA")
	if !strings.Contains(h.plain(), "Find: TEA ") || !strings.Contains(h.plain(), "1/1") {
		t.Fatalf("typing should replace the old query, and capitals match case:\n%s", h.plain())
	}
}

// Replace one match and then all of them: the text on disk changes, and
// one ctrl+z takes back the whole replace-all.
func TestFindReplaceAndReplaceAll(t *testing.T) {
	nb := openNotebook(t, "alice")
	id := makeNote(t, nb, "Tea", "tea for two\nand tea for me\ntea time")
	h := newHarness(t, nb, Options{Open: &id, Policy: live}, 60, 10).noteLoaded()
	h.keys("ctrl+f", "type:tea", "tab", "type:coffee", "enter")
	if got := h.a.sess.ed.Text(); got != "coffee for two\nand tea for me\ntea time" {
		t.Fatalf("after one replace: %q", got)
	}
	if !strings.Contains(h.plain(), "1/2") {
		t.Fatalf("the next match should be selected:\n%s", h.plain())
	}
	h.keys("alt+enter")
	if got := h.a.sess.ed.Text(); got != "coffee for two\nand coffee for me\ncoffee time" {
		t.Fatalf("after replace all: %q", got)
	}
	if !strings.Contains(h.plain(), "replaced 2") {
		t.Fatalf("no word of what was replaced:\n%s", h.plain())
	}
	h.keys("esc", "ctrl+z")
	if got := h.a.sess.ed.Text(); got != "coffee for two\nand tea for me\ntea time" {
		t.Fatalf("one undo after replace all: %q", got)
	}
	h.keys("ctrl+y").saved()
	h.keys("ctrl+q").until("quit", func() bool { return h.quit })
	if got := noteText(t, nb.Dir(), id); got != "coffee for two\nand coffee for me\ncoffee time" {
		t.Fatalf("stored %q", got)
	}
}

// The cursor and the scroll position are remembered per note: reopened, the
// note shows where it was left, also after another process added text
// above the cursor meanwhile.
func TestCursorRememberedPerNote(t *testing.T) {
	nb := openNotebook(t, "alice")
	id := makeNote(t, nb, "Long", strings.Repeat("line\n", 60)+"the spot\n"+strings.Repeat("more\n", 40))
	h := newHarness(t, nb, Options{}, 40, 10).listLoaded()
	h.keys("enter").noteLoaded()
	h.keys("ctrl+f", "type:spot", "esc", "left", "left")
	pos := h.a.sess.ed.CursorPos()
	_, row, _ := h.a.sess.ed.CursorXY()
	h.keys("ctrl+q").until("the list", func() bool { return h.a.screen == screenList && h.a.sess == nil })
	h.settle()
	h.keys("enter").noteLoaded()
	if got := h.a.sess.ed.CursorPos(); got != pos {
		t.Fatalf("reopened at %d, left at %d", got, pos)
	}
	if _, r, ok := h.a.sess.ed.CursorXY(); !ok || r != row {
		t.Fatalf("cursor on row %d (visible %v), left on row %d", r, ok, row)
	}
	h.keys("ctrl+q").until("the list", func() bool { return h.a.screen == screenList && h.a.sess == nil })
	h.settle()
	// Another process inserts above: the cursor still finds "the spot".
	n, _, err := nb.OpenNote(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Splice(0, 0, "new first line\n"); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	h.keys("enter").noteLoaded()
	if got := h.a.sess.ed.CursorPos(); got != pos+len("new first line\n") {
		t.Fatalf("after an insert above, reopened at %d, want %d", got, pos+len("new first line\n"))
	}
}
