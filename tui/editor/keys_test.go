package editor

import (
	"slices"
	"testing"
)

// The Emacs line keys people's shells taught them.
func TestEmacsLineKeys(t *testing.T) {
	e := newEd(t, 40, 4, "one two three\nfour five")
	e.keys("ctrl+e")
	e.wantCursor(13)
	e.keys("ctrl+a")
	e.wantCursor(0)
	e.keys("alt+f", "alt+f")
	e.wantCursor(7)
	e.keys("alt+b")
	e.wantCursor(4)
	e.keys("ctrl+f", "ctrl+b", "ctrl+b")
	e.wantCursor(3)
	// ctrl+k cuts to the end; again at the end it joins the next line, and
	// the two kills are one clipboard text.
	e.keys("ctrl+k")
	e.wantText("one\nfour five")
	e.keys("ctrl+k")
	e.wantText("onefour five")
	if got := e.m.Clipboard(); got != " two three\n" {
		t.Fatalf("clipboard after two kills %q", got)
	}
	e.keys("ctrl+v")
	e.wantText("one two three\nfour five")
	// ctrl+u cuts back to the line's start.
	e.keys("ctrl+end", "alt+b", "ctrl+u")
	e.wantText("one two three\nfive")
	if got := e.m.Clipboard(); got != "four " {
		t.Fatalf("clipboard after ctrl+u %q", got)
	}
	// ctrl+w and alt+d delete words, ctrl+h and ctrl+d characters.
	e.keys("ctrl+e", "ctrl+w")
	e.wantText("one two three\n")
	e.keys("ctrl+home", "alt+d")
	e.wantText(" two three\n")
	e.keys("ctrl+d")
	e.wantText("two three\n")
	e.keys("ctrl+e", "ctrl+h")
	e.wantText("two thre\n")
	// Each is one undo step.
	for _, want := range []string{"two three\n", " two three\n", "one two three\n"} {
		e.keys("ctrl+z")
		e.wantText(want)
	}
	// Select all moved to alt+a (ctrl+a is the line start).
	e.keys("alt+a")
	if s, end, ok := e.m.Selection(); !ok || s != 0 || end != e.m.Len() {
		t.Fatalf("alt+a selected %d..%d %v", s, end, ok)
	}
}

func md(t *testing.T, text string) *ed {
	return newEd(t, 40, 8, text, WithMarkdown(true))
}

// Enter continues a list item (numbers count up, a checkbox comes back
// unticked, quotes continue), and ends the list on an empty item.
func TestEnterContinuesLists(t *testing.T) {
	e := md(t, "- milk")
	e.keys("end", "enter")
	e.typ("eggs")
	e.wantText("- milk\n- eggs")
	e.keys("enter", "enter") // an empty item: the list ends
	e.wantText("- milk\n- eggs\n")
	e.wantCursor(e.m.Len())

	e = md(t, "1. one")
	e.keys("end", "enter")
	e.typ("two")
	e.wantText("1. one\n2. two")

	e = md(t, "  - [x] done")
	e.keys("end", "enter")
	e.typ("next")
	e.wantText("  - [x] done\n  - [ ] next")
	e.keys("enter", "enter") // empty nested item: outdent, not end
	e.wantText("  - [x] done\n  - [ ] next\n- [ ] ")

	e = md(t, "> quoted")
	e.keys("end", "enter")
	e.typ("more")
	e.wantText("> quoted\n> more")

	// Enter inside the marker, shift+enter, and plain lines: a newline only.
	e = md(t, "- item")
	e.keys("home", "enter")
	e.wantText("\n- item")
	e = md(t, "- item")
	e.keys("end", "shift+enter")
	e.wantText("- item\n")
	e = md(t, "plain")
	e.keys("end", "enter")
	e.wantText("plain\n")
	// Without Markdown (a one-line input, say) nothing is continued.
	e = newEd(t, 40, 2, "- item")
	e.keys("end", "enter")
	e.wantText("- item\n")
}

// Tab indents a list item wherever the cursor is, and every line of a
// selection; shift+tab outdents; elsewhere Tab still inserts spaces to the
// next stop. Each is one undo step.
func TestTabIndentsListsAndSelections(t *testing.T) {
	e := md(t, "- a\n- b\nplain")
	e.keys("down", "end", "tab")
	e.wantText("- a\n    - b\nplain")
	e.wantCursor(11) // still after "b"
	e.keys("shift+tab")
	e.wantText("- a\n- b\nplain")
	e.keys("ctrl+end", "tab")
	e.wantText("- a\n- b\nplain   ") // spaces to the next stop
	e.keys("ctrl+z")
	e.wantText("- a\n- b\nplain")
	// A selection over lines: each line indented, the selection kept.
	e.keys("ctrl+home", "shift+down", "shift+down", "tab")
	e.wantText("    - a\n    - b\nplain")
	if s, end, ok := e.m.Selection(); !ok || e.m.Slice(s, end) != "- a\n    - b\n" && e.m.Slice(s, end) != "    - a\n    - b\n" {
		t.Fatalf("selection after tab: %q", e.m.Slice(s, end))
	}
	e.keys("shift+tab")
	e.wantText("- a\n- b\nplain")
	e.keys("ctrl+z")
	e.wantText("    - a\n    - b\nplain")
	e.keys("ctrl+z")
	e.wantText("- a\n- b\nplain")
	// shift+tab outdents any line, at most one stop.
	e = md(t, "      deep")
	e.keys("shift+tab")
	e.wantText("  deep")
}

// The checkbox key ticks and unticks, adds a box to a list item and makes
// any other line an item with a box; the text never moves under the cursor.
func TestToggleCheckbox(t *testing.T) {
	e := md(t, "- [ ] book flight\n- pack\nbuy film")
	e.keys("end", "alt+x")
	e.wantText("- [x] book flight\n- pack\nbuy film")
	e.wantCursor(17)
	e.keys("alt+enter")
	e.wantText("- [ ] book flight\n- pack\nbuy film")
	e.keys("down", "alt+x")
	e.wantText("- [ ] book flight\n- [ ] pack\nbuy film")
	e.keys("down", "home", "alt+x")
	e.wantText("- [ ] book flight\n- [ ] pack\n- [ ] buy film")
	e.wantCursor(35) // before "buy", as it was
	for _, want := range []string{"- [ ] book flight\n- [ ] pack\nbuy film", "- [ ] book flight\n- pack\nbuy film"} {
		e.keys("ctrl+z")
		e.wantText(want)
	}
}

// Replace-all is one undo step; its splices rebuild the text.
func TestReplaceAllIsOneUndoStep(t *testing.T) {
	e := newEd(t, 40, 4, "Tea for two, tea for me")
	splices, n := e.m.ReplaceAll("tea", "coffee")
	if n != 2 {
		t.Fatalf("replaced %d", n)
	}
	for _, s := range splices {
		e.shadow = applySplice(t, e.shadow, s)
	}
	e.wantText("coffee for two, coffee for me")
	if string(e.shadow) != e.m.Text() {
		t.Fatalf("splices rebuild %q", string(e.shadow))
	}
	e.keys("ctrl+z")
	e.wantText("Tea for two, tea for me")
	e.keys("ctrl+y")
	e.wantText("coffee for two, coffee for me")
	if got := e.m.FindAll("Tea"); len(got) != 0 {
		t.Fatalf("case-sensitive Tea still found at %v", got)
	}
	if got := e.m.FindAll("coffee"); !slices.Equal(got, [][2]int{{0, 6}, {16, 22}}) {
		t.Fatalf("FindAll %v", got)
	}
}
