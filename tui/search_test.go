package tui

import (
	"strings"
	"testing"
)

func tripNotebook(t *testing.T) *harnessNB {
	nb := openNotebook(t, "alice")
	makeNote(t, nb, "Groceries", "eggs\nmilk\n")
	makeNote(t, nb, "Trip to Lisbon", "# Trip\n\n- [ ] book flight\n- tram 28 in Lisbon\n")
	makeNote(t, nb, "Reading list", "Piranesi\nThe Dispossessed\n")
	return &harnessNB{nb}
}

// / filters the notes list by title or text as one types; enter opens the
// note (at the first match of its text); esc clears the filter.
func TestListFilter(t *testing.T) {
	h := newHarness(t, tripNotebook(t).nb, Options{}, 60, 12).listLoaded()
	h.keys("/", "type:milk")
	h.until("the filtered list", func() bool {
		scr := h.plain()
		return strings.Contains(scr, "Groceries") && !strings.Contains(scr, "Reading list") && strings.Contains(scr, "1 of 3 notes")
	})
	h.keys("ctrl+u", "type:zzz")
	h.until("no match", func() bool { return strings.Contains(h.plain(), "No note holds “zzz”") })
	h.keys("esc")
	if h.a.list.filter != nil || !strings.Contains(h.plain(), "Reading list") || h.quit {
		t.Fatalf("esc should clear the filter only:\n%s", h.plain())
	}
	h.keys("/", "type:tram")
	h.until("the trip note", func() bool { return strings.Contains(h.plain(), "1 of 3 notes") })
	h.keys("enter").noteLoaded()
	if got := h.a.sess.ed.SelectedText(); got != "tram" || h.a.sess.displayTitle() != "Trip to Lisbon" {
		t.Fatalf("opened %q with %q selected", h.a.sess.displayTitle(), got)
	}
}

// ctrl+f on the list searches every note's lines; enter on a line opens its
// note with the match selected.
func TestSearchAcrossNotes(t *testing.T) {
	h := newHarness(t, tripNotebook(t).nb, Options{}, 60, 14).listLoaded()
	h.keys("ctrl+f", "type:lisbon")
	h.until("results", func() bool { return strings.Contains(h.plain(), "1 match in 1 note") })
	scr := h.plain()
	if !strings.Contains(scr, "Trip to Lisbon") || !strings.Contains(scr, "4  - tram 28 in Lisbon") {
		t.Fatalf("results:\n%s", scr)
	}
	h.checkScreen()
	h.keys("down", "enter").noteLoaded()
	ed := h.a.sess.ed
	if got := ed.SelectedText(); got != "Lisbon" || ed.CursorPos() != len([]rune("# Trip\n\n- [ ] book flight\n- tram 28 in Lisbon")) {
		t.Fatalf("opened with %q selected, cursor %d", got, ed.CursorPos())
	}
	h.keys("ctrl+q").until("the list", func() bool { return h.a.screen == screenList && h.a.sess == nil })
	h.keys("ctrl+f", "type:nothing like it")
	h.until("no results", func() bool { return strings.Contains(h.plain(), "No note holds") })
	h.keys("esc")
	if h.a.screen != screenList {
		t.Fatalf("esc should go back to the list")
	}
}
