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
