package editor

import (
	"fmt"
	"strings"
	"testing"
)

// Issue 7: a collaborator deleting the line above leaves your cursor on
// the same text (it was left mid-word in the next line).
func TestRemoteDeleteAboveKeepsCursorOnItsText(t *testing.T) {
	e := newEd(t, 40, 5, "first line\nsecond line\nthird")
	e.m.SetCursorPos(len("first line\nsecond li")) // inside "line"
	e.remote(Splice{Pos: 0, Delete: len("first line\n")})
	e.wantText("second line\nthird")
	e.wantCursor(len("second li"))
	e.typ("X")
	e.wantText("second liXne\nthird")
}

// A collaborator typing at your cursor types after it: you keep typing
// before their text, and neither your cursor nor your view moves.
func TestRemoteInsertAtCursorKeepsCursorAndView(t *testing.T) {
	var lines []string
	for i := range 60 {
		lines = append(lines, fmt.Sprintf("line %02d", i))
	}
	e := newEd(t, 20, 6, strings.Join(lines, "\n"))
	for range 40 {
		e.keys("down")
	}
	e.keys("end")
	_, y0, ok := e.m.CursorXY()
	if !ok {
		t.Fatal("cursor not visible")
	}
	at := e.m.CursorPos()
	e.remote(Splice{Pos: at, Insert: "\nremote one\nremote two\nremote three\nremote four\nremote five\nremote six"})
	e.wantCursor(at)
	if _, y, ok := e.m.CursorXY(); !ok || y != y0 {
		t.Fatalf("cursor on row %d (visible %v), was on row %d", y, ok, y0)
	}
	e.typ("!")
	if !strings.Contains(e.m.Text(), "line 40!\nremote one") {
		t.Fatalf("typed text landed elsewhere:\n%s", e.m.Text())
	}
}

// Remote text arriving above the cursor (on screen) keeps the cursor's row;
// with the cursor scrolled out of view, the first visible text stays at the
// top instead.
func TestRemoteAboveKeepsWhatTheUserLooksAt(t *testing.T) {
	var lines []string
	for i := range 60 {
		lines = append(lines, fmt.Sprintf("line %02d", i))
	}
	e := newEd(t, 20, 6, strings.Join(lines, "\n"))
	for range 30 {
		e.keys("down")
	}
	_, y0, _ := e.m.CursorXY()
	e.remote(Splice{Pos: 0, Insert: "a\nb\nc\n"})
	if _, y, ok := e.m.CursorXY(); !ok || y != y0 {
		t.Fatalf("cursor on row %d (visible %v), was %d", y, ok, y0)
	}
	// Scroll the cursor away: the top text stays.
	e.m.ScrollBy(-20)
	first := e.trimmed()[0]
	e.remote(Splice{Pos: 0, Insert: "x\ny\n"})
	if got := e.trimmed()[0]; got != first {
		t.Fatalf("top row %q, was %q", got, first)
	}
}

// Joining a large note: its text arrives into an empty editor, and the
// view opens where the cursor is, at the start (it opened at the end with
// the cursor hidden at the start).
func TestTextArrivingIntoEmptyEditorShowsTheStart(t *testing.T) {
	e := newEd(t, 20, 5, "")
	var lines []string
	for i := range 100 {
		lines = append(lines, fmt.Sprintf("line %02d", i))
	}
	e.m.SetTextFromRemote(strings.Join(lines, "\n"))
	if got := e.trimmed()[0]; got != "line 00" {
		t.Fatalf("first row %q, want the start of the note", got)
	}
	e.wantXY(0, 0)
}
