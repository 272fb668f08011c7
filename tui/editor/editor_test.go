package editor

import (
	"errors"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// a, e+combining acute, b, family emoji (ZWJ), c, flag, two CJK ideographs.
const mixed = "ae\u0301b👨\u200d👩\u200d👧c🇩🇪漢字"

func TestMoveOverGraphemes(t *testing.T) {
	stops := []int{0, 1, 3, 4, 9, 10, 12, 13, 14}
	for _, tc := range []struct {
		method ansi.Method
		xs     []int
	}{
		// wcwidth sums code points: the family is three emoji wide.
		{ansi.WcWidth, []int{0, 1, 2, 3, 9, 10, 12, 14, 16}},
		{ansi.GraphemeWidth, []int{0, 1, 2, 3, 5, 6, 8, 10, 12}},
	} {
		e := newEd(t, 40, 3, mixed, WithWidthMethod(tc.method))
		for i, p := range stops {
			e.wantCursor(p)
			e.wantXY(tc.xs[i], 0)
			e.keys("right")
		}
		e.wantCursor(14) // stays at the end
		for i := len(stops) - 1; i >= 0; i-- {
			e.wantCursor(stops[i])
			e.keys("left")
		}
		e.wantCursor(0)
	}
}

func TestDeleteWholeGraphemes(t *testing.T) {
	e := newEd(t, 40, 3, mixed)
	e.keys("ctrl+end", "backspace")
	if !slices.Equal(e.last, []Splice{{Pos: 13, Delete: 1}}) {
		t.Fatalf("backspace over 字: %+v", e.last)
	}
	e.keys("left", "backspace") // deletes the flag (two regional indicators)
	if !slices.Equal(e.last, []Splice{{Pos: 10, Delete: 2}}) {
		t.Fatalf("backspace over flag: %+v", e.last)
	}
	e.keys("ctrl+home", "right", "delete") // é is two runes
	if !slices.Equal(e.last, []Splice{{Pos: 1, Delete: 2}}) {
		t.Fatalf("delete over é: %+v", e.last)
	}
	e.keys("right", "delete") // the whole family
	if !slices.Equal(e.last, []Splice{{Pos: 2, Delete: 5}}) {
		t.Fatalf("delete over family: %+v", e.last)
	}
	e.wantText("abc漢")
}

func TestTypingComposesGraphemes(t *testing.T) {
	e := newEd(t, 40, 3, "")
	e.typ("e")
	e.send(kp("\u0301")) // a combining mark typed alone joins the e
	e.wantCursor(2)
	e.wantXY(1, 0)
	e.typ("漢")
	e.wantXY(3, 0)
	e.keys("left")
	e.wantCursor(2)
	e.keys("left")
	e.wantCursor(0)
	e.wantText("e\u0301漢")
}

func TestSoftWrapLayout(t *testing.T) {
	e := newEd(t, 10, 8, "The quick brown fox jumps\nabcdefghijklmnopqrstuvwxyz\n漢字漢字漢字x\n")
	got := e.trimmed()
	want := []string{
		"The quick", // the space hangs at the edge
		"brown fox",
		"jumps",
		"abcdefghij", // overlong word: hard break
		"klmnopqrst",
		"uvwxyz",
		"漢字漢字漢", // 10 cells
		"字x",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("rows:\n%q\nwant\n%q", got, want)
	}
	e.m.SetSize(9, 8) // odd width: a wide char must not straddle the edge
	got = e.trimmed()
	if got[6] != "漢字漢字" || got[7] != "漢字x" {
		t.Fatalf("wide rows at width 9: %q", got[6:])
	}
}

func TestCursorXYOnWrappedRows(t *testing.T) {
	e := newEd(t, 10, 5, "The quick brown fox")
	e.keys("end") // end of the first visual row: before the hanging space
	e.wantCursor(9)
	e.wantXY(9, 0)
	e.keys("right") // after the space: start of the next row
	e.wantCursor(10)
	e.wantXY(0, 1)
	e.keys("end")
	e.wantCursor(19)
	e.wantXY(9, 1)
	e.keys("end") // pressed twice: already at the line's end
	e.wantCursor(19)
	e.keys("home")
	e.wantCursor(10)
	e.keys("home") // twice: logical line start
	e.wantCursor(0)
	// A full last row gets an empty row for the end-of-line cursor.
	f := newEd(t, 5, 3, "abcde")
	f.keys("end")
	f.wantCursor(5)
	f.wantXY(0, 1)
}

func TestUpDownKeepsColumn(t *testing.T) {
	e := newEd(t, 20, 5, "long line here\nab\n漢字漢字\nxyz")
	e.keys("right", "right", "right", "right", "right") // x=5
	e.keys("down")
	e.wantCursor(17) // end of "ab"
	e.keys("down")
	e.wantXY(4, 2) // before the ideograph covering column 5
	e.keys("down")
	e.wantCursor(len([]rune("long line here\nab\n漢字漢字\nxyz")))
	e.keys("up", "up", "up")
	e.wantCursor(5)
	e.keys("up")
	e.wantCursor(0)
}

func TestWordJumps(t *testing.T) {
	e := newEd(t, 40, 3, "héllo, wörld 🇩🇪 end")
	e.keys("ctrl+right")
	e.wantCursor(5)
	e.keys("ctrl+right")
	e.wantCursor(6)
	e.keys("alt+right")
	e.wantCursor(12)
	e.keys("ctrl+right")
	e.wantCursor(15) // the flag is one word, never split
	e.keys("ctrl+left", "ctrl+left")
	e.wantCursor(7)
	e.keys("ctrl+shift+right")
	if s := e.m.SelectedText(); s != "wörld" {
		t.Fatalf("selected %q", s)
	}
}

func TestShiftSelectCutPaste(t *testing.T) {
	e := newEd(t, 40, 3, "hello world")
	e.keys("shift+right", "shift+right", "shift+right", "shift+right", "shift+right")
	if s, en, ok := e.m.Selection(); !ok || s != 0 || en != 5 {
		t.Fatalf("selection %d %d %v", s, en, ok)
	}
	e.keys("ctrl+x")
	if !slices.Equal(e.last, []Splice{{Pos: 0, Delete: 5}}) {
		t.Fatalf("cut splices %+v", e.last)
	}
	if e.cmd == nil || e.m.Clipboard() != "hello" {
		t.Fatalf("cut: clipboard %q, cmd %v", e.m.Clipboard(), e.cmd)
	}
	e.keys("end", "ctrl+v")
	if !slices.Equal(e.last, []Splice{{Pos: 6, Insert: "hello"}}) {
		t.Fatalf("paste splices %+v", e.last)
	}
	e.wantText(" worldhello")
	// Typing replaces a selection in one splice.
	e.keys("shift+home", "X")
	if !slices.Equal(e.last, []Splice{{Pos: 0, Delete: 11, Insert: "X"}}) {
		t.Fatalf("replace splices %+v", e.last)
	}
	// Copy with nothing selected does nothing (the app may quit on ctrl+c).
	e.keys("ctrl+c")
	if e.cmd != nil {
		t.Fatal("copy without selection returned a command")
	}
	e.keys("alt+a", "ctrl+c")
	if e.cmd == nil || e.m.Clipboard() != "X" {
		t.Fatal("copy after select all")
	}
	if _, ok := e.cmd().(tea.ClipboardMsg); ok {
		t.Fatal("unexpected message type")
	}
}

func TestPasteIsOneSplice(t *testing.T) {
	e := newEd(t, 40, 3, "ab")
	e.keys("right")
	e.send(tea.PasteMsg{Content: "one\r\ntwo\rthree\n"})
	if !slices.Equal(e.last, []Splice{{Pos: 1, Insert: "one\ntwo\nthree\n"}}) {
		t.Fatalf("paste splices %+v", e.last)
	}
	e.wantCursor(15)
	e.keys("ctrl+z")
	e.wantText("ab")
}

func TestTabInsertsSpacesToStop(t *testing.T) {
	e := newEd(t, 40, 3, "ab")
	e.keys("end", "tab")
	if !slices.Equal(e.last, []Splice{{Pos: 2, Insert: "  "}}) {
		t.Fatalf("tab splices %+v", e.last)
	}
	e.keys("tab")
	e.wantText("ab      ")
	// A tab from a peer is drawn as 4 cells.
	f := newEd(t, 10, 1, "a\tb")
	if got := f.trimmed()[0]; got != "a    b" {
		t.Fatalf("tab drawn as %q", got)
	}
}

func TestUndoGroupsWords(t *testing.T) {
	e := newEd(t, 40, 3, "")
	e.typ("hello world")
	e.keys("ctrl+z")
	e.wantText("hello")
	e.keys("ctrl+z")
	e.wantText("")
	e.keys("ctrl+y")
	e.wantText("hello")
	e.keys("ctrl+shift+z")
	e.wantText("hello world")
	e.wantCursor(11)
	e.keys("backspace", "backspace", "backspace")
	e.keys("ctrl+z")
	e.wantText("hello world")
}

func TestUndoKeepsRemoteText(t *testing.T) {
	e := newEd(t, 40, 3, "")
	e.typ("hello")
	e.remote(Splice{Pos: 0, Insert: "XYZ"})         // before
	e.remote(Splice{Pos: 5, Insert: "--"})          // inside the user's word
	e.remote(Splice{Pos: e.m.Len(), Insert: "END"}) // after
	e.wantText("XYZhe--lloEND")
	e.keys("ctrl+z")
	e.wantText("XYZ--END")
	if len(e.last) != 2 {
		t.Fatalf("undo should delete the two pieces around the remote text: %+v", e.last)
	}
	e.keys("ctrl+y")
	e.wantText("XYZhe--lloEND")

	// Undo of a deletion restores the text where it was, even after remote edits.
	f := newEd(t, 40, 3, "abc def")
	f.keys("end", "backspace", "backspace", "backspace")
	f.remote(Splice{Pos: 0, Insert: "Q"}, Splice{Pos: 5, Insert: "!"})
	f.wantText("Qabc !")
	f.keys("ctrl+z")
	f.wantText("Qabc def!")
	// A peer deleting the user's text: undo removes only what is left of it.
	g := newEd(t, 40, 3, "")
	g.typ("abcdef")
	g.remote(Splice{Pos: 1, Delete: 3}) // "aef"
	g.remote(Splice{Pos: 3, Insert: "P"})
	g.keys("ctrl+z")
	g.wantText("P")
}

// TestUndoNeverRemovesRemoteText interleaves local typing and backspacing
// with remote inserts and deletions, then undoes everything: exactly the
// remote text must remain, including remote text the user had deleted. Each
// remote rune is unique, so identity is checked. Where a restored rune and a
// remote insertion meet at one point their order is a tie either way, so
// only runes the user never deleted must keep their exact order.
func TestUndoNeverRemovesRemoteText(t *testing.T) { fuzzUndo(t, 300, 40) }

func fuzzUndo(t *testing.T, rounds, steps int) {
	type ch struct {
		r       rune
		remote  bool
		hidden  bool // deleted by the user: undo brings it back
		deleted bool // was deleted by the user at some point
	}
	seed := uint64(1)
	rnd := func(n int) int {
		seed = seed*6364136223846793005 + 1442695040888963407
		return int((seed >> 33) % uint64(n))
	}
	// idx maps a visible offset to the model index of the visible char there
	// (hidden chars before it stay before it).
	idx := func(model []ch, vis int) int {
		for i, c := range model {
			if !c.hidden {
				if vis == 0 {
					return i
				}
				vis--
			}
		}
		return len(model)
	}
	visible := func(model []ch) int {
		n := 0
		for _, c := range model {
			if !c.hidden {
				n++
			}
		}
		return n
	}
	for round := 0; round < rounds; round++ {
		e := newEd(t, 12, 4, "")
		var model []ch
		var log []string
		next := rune(0x4E00) // unique CJK ideographs: plain one-rune graphemes
		for step := 0; step < steps; step++ {
			log = append(log, e.m.Text())
			n := visible(model)
			switch rnd(8) {
			case 0, 1, 2: // local typing at a random place
				e.m.SetCursorPos(rnd(n + 1))
				r := rune('a' + rnd(26))
				if rnd(5) == 0 {
					r = ' '
				}
				pos := e.m.CursorPos()
				e.send(kp(string(r)))
				i := idx(model, pos)
				if pos > 0 {
					i = idx(model, pos-1) + 1 // right after the previous visible char
				}
				model = slices.Insert(model, i, ch{r: r})
			case 3: // local backspace
				if n == 0 {
					continue
				}
				pos := 1 + rnd(n)
				e.m.SetCursorPos(pos)
				e.keys("backspace")
				i := idx(model, pos-1)
				model[i].hidden, model[i].deleted = true, true
			case 4, 5: // remote insert
				pos := rnd(n + 1)
				r := next
				next++
				e.remote(Splice{Pos: pos, Insert: string(r)})
				model = slices.Insert(model, idx(model, pos), ch{r: r, remote: true})
			case 6, 7: // remote delete
				if n == 0 {
					continue
				}
				pos := rnd(n)
				k := 1 + rnd(min(3, n-pos))
				e.remote(Splice{Pos: pos, Delete: k})
				for j := 0; j < k; j++ {
					model = slices.Delete(model, idx(model, pos), idx(model, pos)+1)
				}
			}
			var vis strings.Builder
			for _, c := range model {
				if !c.hidden {
					vis.WriteRune(c.r)
				}
			}
			if e.m.Text() != vis.String() {
				t.Fatalf("round %d step %d: model out of step: %q vs %q", round, step, e.m.Text(), vis.String())
			}
		}
		for e.m.CanUndo() {
			e.keys("ctrl+z")
		}
		var want, wantKept, gotKept []rune
		deleted := map[rune]bool{}
		for _, c := range model {
			if c.remote {
				want = append(want, c.r)
				deleted[c.r] = c.deleted
				if !c.deleted {
					wantKept = append(wantKept, c.r)
				}
			}
		}
		got := []rune(e.m.Text())
		for _, r := range got {
			if !deleted[r] {
				gotKept = append(gotKept, r)
			}
		}
		text := e.m.Text()
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) || !slices.Equal(gotKept, wantKept) {
			t.Fatalf("round %d: after undoing all, text %q, want the remote runes %q in order %q\n%q", round, text, string(want), string(wantKept), log)
		}
		for e.m.CanRedo() {
			e.keys("ctrl+y")
		}
	}
}

func TestRemoteShiftsCursorAndSelection(t *testing.T) {
	e := newEd(t, 40, 3, "0123456789")
	e.m.SetCursorPos(5)
	e.remote(Splice{Pos: 2, Insert: "ab"}) // before
	e.wantCursor(7)
	e.remote(Splice{Pos: 9, Insert: "cd"}) // after
	e.wantCursor(7)
	e.remote(Splice{Pos: 7, Insert: "X"}) // at the cursor: stays before
	e.wantCursor(7)

	f := newEd(t, 40, 3, "0123456789")
	f.m.Select(3, 6)
	f.remote(Splice{Pos: 1, Delete: 1})   // before: selection shifts left
	f.remote(Splice{Pos: 2, Insert: "<"}) // at its start: stays outside
	f.remote(Splice{Pos: 6, Insert: ">"}) // at its end: stays outside
	f.remote(Splice{Pos: 4, Insert: "i"}) // inside: grows
	if got := f.m.SelectedText(); got != "3i45" {
		t.Fatalf("selection %q in %q", got, f.m.Text())
	}
	// A deletion around the cursor collapses it to the deletion start.
	g := newEd(t, 40, 3, "0123456789")
	g.m.SetCursorPos(5)
	g.remote(Splice{Pos: 3, Delete: 4, Insert: "xy"})
	g.wantCursor(3)
	// A deletion covering a selection empties it.
	g.m.Select(4, 6)
	g.remote(Splice{Pos: 2, Delete: 6})
	if g.m.HasSelection() {
		t.Fatal("selection survived deletion of its text")
	}
	g.wantCursor(2)
	// A combining mark arriving after the cursor's letter moves it out of the cluster.
	h := newEd(t, 40, 3, "ab")
	h.m.SetCursorPos(1)
	h.remote(Splice{Pos: 1, Insert: "\u0301"})
	h.wantCursor(2) // after "á", never inside it
	h.wantXY(1, 0)
}

func TestRemoteOutOfRange(t *testing.T) {
	m := New()
	m.SetText("abc")
	err := m.ApplyRemote([]Splice{{Pos: 1, Insert: "x"}, {Pos: 3, Delete: 5}})
	if !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("err = %v", err)
	}
	if m.Text() != "axbc" {
		t.Fatalf("text %q", m.Text())
	}
}

func TestSetTextFromRemote(t *testing.T) {
	e := newEd(t, 40, 3, "hello world")
	e.m.SetCursorPos(8)
	ss := e.m.SetTextFromRemote("hello big world")
	if !slices.Equal(ss, []Splice{{Pos: 6, Insert: "big "}}) {
		t.Fatalf("splices %+v", ss)
	}
	e.wantCursor(12)
	if ss := e.m.SetTextFromRemote("hello big world"); ss != nil {
		t.Fatalf("equal text gave %+v", ss)
	}
}

func TestViewportAnchoredToText(t *testing.T) {
	var lines []string
	for i := 0; i < 100; i++ {
		lines = append(lines, "line "+strings.Repeat("x", i%7)+string(rune('A'+i%26)))
	}
	e := newEd(t, 20, 5, strings.Join(lines, "\n"))
	for i := 0; i < 60; i++ {
		e.keys("down")
	}
	first := e.trimmed()[0]
	top := e.m.TopPos()
	e.remote(Splice{Pos: 0, Insert: "new\nlines\nabove\n"})
	if e.m.TopPos() != top+16 || e.trimmed()[0] != first {
		t.Fatalf("top moved: %d (was %d), first row %q (was %q)", e.m.TopPos(), top, e.trimmed()[0], first)
	}
	// Text inserted right at the top row's start goes above the viewport.
	e.remote(Splice{Pos: e.m.TopPos(), Insert: "above\n"})
	if e.trimmed()[0] != first {
		t.Fatalf("first row %q, want %q", e.trimmed()[0], first)
	}
	// Deleting the first visible text anchors to what follows.
	e.remote(Splice{Pos: e.m.TopPos() - 3, Delete: 10})
	if e.m.TopPos() != e.m.rowStartOf(e.m.TopPos()) {
		t.Fatal("top not on a row start")
	}
	e.plain()
	// The cursor stays where it was in the text, visible or not.
	e.wantText(string(e.shadow))
}

func TestMouseClick(t *testing.T) {
	e := newEd(t, 10, 5, "The quick brown fox\n漢字")
	e.m.SetOrigin(2, 1)
	click := func(x, y int, mod tea.KeyMod) {
		e.send(tea.MouseClickMsg{X: x + 2, Y: y + 1, Button: tea.MouseLeft, Mod: mod})
	}
	click(3, 1, 0) // "brown fox" row, column 3
	e.wantCursor(13)
	e.wantXY(3, 1)
	click(9, 0, 0) // past the first row's text: before the hanging space
	e.wantCursor(9)
	click(3, 2, 0) // second cell of 字: before it
	e.wantCursor(21)
	click(8, 4, 0) // below the text: the end
	e.wantCursor(22)
	click(0, 0, tea.ModShift)
	if got := e.m.SelectedText(); got != "The quick brown fox\n漢字" {
		t.Fatalf("shift-click selected %q", got)
	}
	// Drag selects.
	click(4, 0, 0)
	e.send(tea.MouseMotionMsg{X: 2 + 3, Y: 1 + 1, Button: tea.MouseLeft})
	if got := e.m.SelectedText(); got != "quick bro" {
		t.Fatalf("drag selected %q", got)
	}
	e.send(tea.MouseReleaseMsg{X: 5, Y: 2, Button: tea.MouseLeft})
	// Clicks outside the editor are ignored.
	click(-1, 0, 0)
	if got := e.m.SelectedText(); got != "quick bro" {
		t.Fatal("click outside moved the cursor")
	}
	c := e.m.Cursor()
	if c == nil || c.X != 2+3 || c.Y != 1+1 {
		t.Fatalf("terminal cursor %+v", c)
	}
}

func TestWheelScrolls(t *testing.T) {
	e := newEd(t, 10, 3, "1\n2\n3\n4\n5\n6\n7\n8")
	e.send(tea.MouseWheelMsg{X: 1, Y: 1, Button: tea.MouseWheelDown})
	if got := e.trimmed()[0]; got != "4" {
		t.Fatalf("after wheel down first row %q", got)
	}
	if e.m.Cursor() != nil {
		t.Fatal("cursor scrolled out of view should hide")
	}
	e.send(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	e.send(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	if got := e.trimmed(); got[2] != "8" {
		t.Fatalf("scrolled past the end: %q", got)
	}
	e.keys("right") // typing/moving brings the cursor back into view
	e.wantXY(1, 0)
}

func TestPageKeys(t *testing.T) {
	var sb strings.Builder
	for i := 0; i < 30; i++ {
		sb.WriteString("row\n")
	}
	e := newEd(t, 10, 5, sb.String())
	e.keys("pgdown")
	e.wantCursor(4 * 4)
	e.keys("pgdown")
	e.wantCursor(8 * 4)
	e.keys("pgup")
	e.wantCursor(4 * 4)
	e.keys("ctrl+end")
	e.wantCursor(120)
	e.wantXY(0, 4)
	e.keys("ctrl+shift+home")
	if s, en, _ := e.m.Selection(); s != 0 || en != 120 {
		t.Fatal("ctrl+shift+home did not select to the start")
	}
}

func TestFind(t *testing.T) {
	e := newEd(t, 20, 3, "The fox. A Fox! the end")
	if s, en, ok := e.m.Find("fox", 0); !ok || s != 4 || en != 7 {
		t.Fatalf("find fox: %d %d %v", s, en, ok)
	}
	if s, _, ok := e.m.Find("fox", 5); !ok || s != 11 {
		t.Fatalf("smart-case find from 5: %d", s)
	}
	if s, _, ok := e.m.Find("Fox", 0); !ok || s != 11 {
		t.Fatalf("case-sensitive Fox: %d", s)
	}
	if s, _, ok := e.m.Find("the", 17); !ok || s != 0 {
		t.Fatalf("wrap-around: %d", s)
	}
	if _, _, ok := e.m.Find("cat", 0); ok {
		t.Fatal("found cat")
	}
	e.m.FindNext("fox")
	e.m.FindNext("fox")
	if s, _, _ := e.m.Selection(); s != 11 {
		t.Fatalf("FindNext twice at %d", s)
	}
	e.m.FindPrev("fox")
	if s, _, _ := e.m.Selection(); s != 4 {
		t.Fatalf("FindPrev at %d", s)
	}
	e.m.FindPrev("fox") // wraps to the last
	if s, _, _ := e.m.Selection(); s != 11 {
		t.Fatalf("FindPrev wrap at %d", s)
	}
}

func TestPeersShiftWithEdits(t *testing.T) {
	e := newEd(t, 20, 3, "hello world")
	e.m.SetPeers([]PeerCursor{{ID: "b", Name: "bob", Cursor: 6, Anchor: 11}})
	e.typ("X") // local insert at 0
	e.remote(Splice{Pos: 0, Insert: "YY"})
	p := e.m.Peers()[0]
	if p.Cursor != 9 || p.Anchor != 14 {
		t.Fatalf("peer at %d..%d", p.Cursor, p.Anchor)
	}
}

func TestFollowPeer(t *testing.T) {
	var sb strings.Builder
	for i := 0; i < 50; i++ {
		sb.WriteString("line\n")
	}
	e := newEd(t, 10, 4, sb.String())
	e.m.SetPeers([]PeerCursor{{ID: "b", Name: "bob", Cursor: 200, Anchor: 200}})
	e.m.Follow("b")
	if r, ok := e.m.screenRow(200); !ok || r != 3 {
		t.Fatalf("followed peer row %d visible %v", r, ok)
	}
	e.remote(Splice{Pos: 0, Insert: "more\nmore\n"}) // the peer moves down with its text
	if _, ok := e.m.screenRow(e.m.Peers()[0].Cursor); !ok {
		t.Fatal("followed peer scrolled out")
	}
	e.keys("down")
	if e.m.Following() != "" {
		t.Fatal("moving did not stop following")
	}
}

func TestSmallWidths(t *testing.T) {
	for _, w := range []int{1, 2, 3, 10} {
		e := newEd(t, w, 6, mixed+" word 漢字")
		e.plain()
		e.keys("ctrl+end")
		for i := 0; i < 30; i++ {
			e.keys("left")
			if _, _, ok := e.m.CursorXY(); !ok {
				t.Fatalf("width %d: cursor not visible at %d", w, e.m.CursorPos())
			}
			e.plain()
		}
		e.keys("ctrl+home", "down", "down", "up")
		e.plain()
	}
}

func TestBlurredIgnoresInput(t *testing.T) {
	e := newEd(t, 10, 2, "ab")
	e.m.Blur()
	e.keys("x")
	e.wantText("ab")
	if e.m.Cursor() != nil {
		t.Fatal("blurred editor shows a cursor")
	}
}

// Typing into an empty note and pressing enter keeps the first line in view
// (the viewport's anchor is not pushed by the user's own text at the top).
func TestTypingAtTopKeepsFirstLine(t *testing.T) {
	e := newEd(t, 20, 4, "")
	e.keys("e", "g", "g", "s", "enter", "m")
	if e.m.TopPos() != 0 {
		t.Fatalf("top moved to %d", e.m.TopPos())
	}
	if x, y, ok := e.m.CursorXY(); !ok || x != 1 || y != 1 {
		t.Fatalf("cursor at %d,%d (%v), want 1,1", x, y, ok)
	}
	// Scrolled down, typing at the first visible row's start keeps it too.
	e = newEd(t, 20, 2, "a\nb\nc\nd\n")
	e.m.ScrollBy(2)
	top := e.m.TopPos()
	e.m.SetCursorPos(top)
	e.keys("x")
	if e.m.TopPos() != top {
		t.Fatalf("top moved from %d to %d", top, e.m.TopPos())
	}
}
