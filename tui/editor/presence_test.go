package editor

import (
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
)

// Issue 7: a collaborator whose cursor is scrolled out of view is named at
// the top or bottom edge; the marker takes no row, so the cursor's cell and
// the scroll position are the same with and without it.
func TestOffScreenMarkersKeepScrolling(t *testing.T) {
	text := strings.Repeat("line\n", 20) + "end"
	e := newEd(t, 30, 5, text)
	e.keys("down", "down")
	before := e.trimmed()
	e.wantXY(0, 2)
	last := len([]rune(text))
	e.m.SetPeers([]PeerCursor{
		{ID: "a", Name: "ann", Color: lipgloss.Color("1"), Cursor: last, Anchor: last},
		{ID: "b", Name: "bob", Color: lipgloss.Color("2"), Cursor: last - 1, Anchor: last - 1},
	})
	rows := e.trimmed()
	if want := "line" + strings.Repeat(" ", 16) + "↓ ann, bob"; rows[4] != want {
		t.Fatalf("last row %q, want %q", rows[4], want)
	}
	for i := range 4 {
		if rows[i] != before[i] {
			t.Errorf("row %d %q changed (was %q)", i, rows[i], before[i])
		}
	}
	e.wantXY(0, 2)
	if e.m.TopPos() != 0 {
		t.Fatalf("the view scrolled to %d", e.m.TopPos())
	}

	// At the end, both are on screen with their labels, and the marker
	// names nobody above.
	e.keys("ctrl+end")
	rows = e.trimmed()
	if got, want := rows[4], "end  bob ann"; got != want { // ann's cursor after the text
		t.Fatalf("last row %q, want %q", got, want)
	}
	for _, r := range rows {
		if strings.ContainsAny(r, "↑↓") {
			t.Fatalf("a marker with everyone on screen: %q", rows)
		}
	}
	// Scrolled so ann and bob are below, a peer at the top is above.
	e.m.SetPeers([]PeerCursor{{ID: "c", Name: "cem", Color: lipgloss.Color("3"), Cursor: 0, Anchor: 0}})
	if rows := e.trimmed(); !strings.HasSuffix(rows[0], "↑ cem") {
		t.Fatalf("first row %q, want cem named above", rows[0])
	}
}

// Many collaborators below a narrow view: the names that fit, then how
// many more; never wider than the row.
func TestOffScreenMarkerCountsWhoDoesNotFit(t *testing.T) {
	e := newEd(t, 30, 2, "a\nb\nc\nd")
	var peers []PeerCursor
	for i, name := range []string{"annabel", "bob", "cem", "dee"} {
		peers = append(peers, PeerCursor{ID: name, Name: name, Color: lipgloss.Color("1"), Cursor: 6 + i%2, Anchor: 6 + i%2})
	}
	e.m.SetPeers(peers)
	if got, want := e.trimmed()[1], "b"+strings.Repeat(" ", 17)+"↓ annabel +3"; got != want {
		t.Fatalf("last row %q, want %q", got, want)
	}
}

// Several cursors on one line each keep a label, in the order of their
// cursors, also when the row is full to its last cell.
func TestSharedLineLabelsNameEveryCursor(t *testing.T) {
	for _, noColor := range []bool{false, true} {
		e := sharedLineEditor(t, WithNoColor(noColor))
		rows := e.trimmed()
		for i, want := range []string{
			"one two three  an bo ce",
			"abcdefghijklmnop dee eve",
			"",
			"ABCDEFGHIJKLMNOP gus fay",
		} {
			if rows[i] != want {
				t.Errorf("no colour %v: row %d %q, want %q", noColor, i, rows[i], want)
			}
		}
	}
}

// Issue 7: undo after a reconnect restores exactly the user's own text.
// A peer back from offline can bring more than the note remembers splice
// by splice; the app then hands the editor the whole text
// (SetTextFromRemote, a multi-hunk diff). ctrl+z takes back only what the
// user typed, however the diff split the others' text, and ctrl+y puts it
// back.
func TestUndoAfterCatchingUpFromTheWholeText(t *testing.T) {
	e := newEd(t, 40, 10, "line one\nline two\n")
	e.keys("down", "end")
	e.typ(" mine")
	e.wantText("line one\nline two mine\n")
	// Offline, ann added lines like the ones there, and a word in ours.
	theirs := "line one\nline one\nline two mine\nline two\nline one ann\n"
	e.m.SetTextFromRemote(theirs)
	e.shadow = []rune(theirs)
	e.wantText(theirs)
	e.keys("ctrl+z")
	e.wantText("line one\nline one\nline two\nline two\nline one ann\n")
	e.keys("ctrl+z") // nothing more of the user's: the others' text stays
	e.wantText("line one\nline one\nline two\nline two\nline one ann\n")
	e.keys("ctrl+y")
	e.wantText(theirs)
}

// The edge marker never hides the user's own cursor: on that row it is
// left out while the cursor is under it.
func TestOffScreenMarkerSparesTheCursor(t *testing.T) {
	text := "first\nb\nc\na line that nearly fills the row\nz"
	e := newEd(t, 34, 3, text)
	e.m.SetPeers([]PeerCursor{{ID: "a", Name: "ann", Color: lipgloss.Color("1"), Cursor: len([]rune(text)), Anchor: len([]rune(text))}})
	if rows := e.trimmed(); !strings.HasSuffix(rows[2], "↓ ann") {
		t.Fatalf("last row %q, want ann marked below", rows[2])
	}
	e.keys("down", "down", "down", "end") // the cursor at the end of the last row
	e.wantXY(32, 2)
	if rows := e.trimmed(); rows[2] != "a line that nearly fills the row" {
		t.Fatalf("the marker is over the cursor: %q", rows)
	}
	e.keys("home") // away from under it: the marker is back
	if rows := e.trimmed(); !strings.HasSuffix(rows[2], "↓ ann") {
		t.Fatalf("last row %q, want ann marked below", rows[2])
	}
}

// Labels that must overlay a full row spare the user's own cursor there
// when they can.
func TestSharedLineLabelsSpareTheCursor(t *testing.T) {
	text := "abcdefghijklmnopqrstuvwx\nend"
	e := newEd(t, 24, 3, text)
	e.keys("right", "right", "right", "right", "right", "right", "right", "right", "right", "right", "right", "right", "right", "right", "right", "right", "right") // on r
	e.m.SetPeers([]PeerCursor{
		{ID: "a", Name: "ann", Color: lipgloss.Color("1"), Cursor: 2, Anchor: 2},
		{ID: "b", Name: "bob", Color: lipgloss.Color("2"), Cursor: 5, Anchor: 5},
	})
	e.wantXY(17, 0)
	if got, want := e.trimmed()[0], "abcdefghijklmnopqr an bo"; got != want {
		t.Fatalf("row %q, want %q (labels after the cursor's cell)", got, want)
	}
}
