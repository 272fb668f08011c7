package editor

import (
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/exp/golden"
)

// Golden views keep the ANSI styling (the golden package shows escapes
// quoted in diffs); run `go test ./tui/editor -update` to rewrite them.

const poem = "Roses are red,\nviolets are blue;\nsugar is sweet 🍬\nand so are 你们.\n"

func peerEditor(t *testing.T, opts ...Option) *ed {
	e := newEd(t, 24, 7, poem, opts...)
	e.m.Select(0, 5) // own selection: "Roses"
	e.m.SetPeers([]PeerCursor{
		// alice selected "are blue" on line 2, cursor at its end.
		{ID: "a", Name: "alice", Color: lipgloss.Color("#ff5f87"), Anchor: 23, Cursor: 32},
		// bob sits at the end of line 3, right after the emoji.
		{ID: "b", Name: "bob", Color: lipgloss.Color("#5fafff"), Anchor: 49, Cursor: 49},
		// carol is on the CJK line, on 你.
		{ID: "c", Name: "carol with a long name", Color: lipgloss.Color("#afff5f"), Anchor: 61, Cursor: 61},
	})
	return e
}

func TestGoldenPeers(t *testing.T) {
	e := peerEditor(t)
	e.plain()
	golden.RequireEqual(t, e.m.View())
}

func TestGoldenPeersNoColor(t *testing.T) {
	e := peerEditor(t, WithNoColor(true))
	e.plain()
	golden.RequireEqual(t, e.m.View())
}

func TestGoldenWidth10(t *testing.T) {
	e := newEd(t, 10, 12, "Hello, wörld! "+mixed+"\nsupercalifragilistic\n\ttab and ^\x01 control\n漢字漢字漢字")
	e.plain()
	golden.RequireEqual(t, e.m.View())
}

func TestGoldenScrolled(t *testing.T) {
	e := newEd(t, 16, 4, poem+poem)
	e.keys("ctrl+end", "shift+up", "shift+up")
	e.plain()
	golden.RequireEqual(t, e.m.View())
}

// A base text style (here a background) spans each row's padding and is
// restored after every styled run and label.
func TestGoldenBaseStyle(t *testing.T) {
	s := DefaultStyles()
	s.Text = lipgloss.NewStyle().Background(lipgloss.Color("236"))
	e := newEd(t, 20, 3, "one two\nthree", WithStyles(s))
	e.m.Select(4, 7)
	e.m.SetPeers([]PeerCursor{{ID: "a", Name: "ann", Color: lipgloss.Color("1"), Cursor: 2, Anchor: 2}})
	e.plain()
	golden.RequireEqual(t, e.m.View())
}

// offScreenEditor shows rows 3–5 of a 9-line text; ann is on line 0, bob
// and cem on the last line, dee on a visible row.
func offScreenEditor(t *testing.T, opts ...Option) *ed {
	text := "zero\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight"
	e := newEd(t, 24, 3, text, opts...)
	e.m.SetCursorPos(strings.Index(text, "three"))
	e.m.ScrollBy(3)
	last := len([]rune(text))
	e.m.SetPeers([]PeerCursor{
		{ID: "a", Name: "ann", Color: lipgloss.Color("#ff5f87"), Cursor: 2, Anchor: 2},
		{ID: "b", Name: "bob", Color: lipgloss.Color("#5fafff"), Cursor: last, Anchor: last},
		{ID: "d", Name: "dee", Color: lipgloss.Color("#d7af5f"), Cursor: strings.Index(text, "four"), Anchor: strings.Index(text, "four")},
		{ID: "c", Name: "cem", Color: lipgloss.Color("#afff5f"), Cursor: last - 2, Anchor: last - 2},
	})
	return e
}

func TestGoldenOffScreenPeers(t *testing.T) {
	e := offScreenEditor(t)
	e.plain()
	golden.RequireEqual(t, e.m.View())
}

func TestGoldenOffScreenPeersNoColor(t *testing.T) {
	e := offScreenEditor(t, WithNoColor(true))
	e.plain()
	golden.RequireEqual(t, e.m.View())
}

// sharedLineEditor has three cursors on one short line (their names do
// not all fit after it), two on a row filled to the last cell and two at
// the end of a row filled but for its last cell.
func sharedLineEditor(t *testing.T, opts ...Option) *ed {
	text := "one two three\nabcdefghijklmnopqrstuvwx\nABCDEFGHIJKLMNOPQRSTUVW"
	e := newEd(t, 24, 4, text, opts...)
	full := strings.Index(text, "abc")
	e.m.SetPeers([]PeerCursor{
		{ID: "b", Name: "bob", Color: lipgloss.Color("#5fafff"), Cursor: 8, Anchor: 8},
		{ID: "a", Name: "ann", Color: lipgloss.Color("#ff5f87"), Cursor: 0, Anchor: 0},
		{ID: "c", Name: "cem", Color: lipgloss.Color("#afff5f"), Cursor: 13, Anchor: 13},
		{ID: "d", Name: "dee", Color: lipgloss.Color("#d7af5f"), Cursor: full + 3, Anchor: full + 3},
		{ID: "e", Name: "eve", Color: lipgloss.Color("#af87ff"), Cursor: full + 12, Anchor: full + 12},
		{ID: "f", Name: "fay", Color: lipgloss.Color("#87d7d7"), Cursor: len([]rune(text)), Anchor: len([]rune(text))},
		{ID: "g", Name: "gus", Color: lipgloss.Color("#d787d7"), Cursor: len([]rune(text)) - 1, Anchor: len([]rune(text)) - 1},
	})
	return e
}

func TestGoldenSharedLineLabels(t *testing.T) {
	e := sharedLineEditor(t)
	e.plain()
	golden.RequireEqual(t, e.m.View())
}

func TestGoldenSharedLineLabelsNoColor(t *testing.T) {
	e := sharedLineEditor(t, WithNoColor(true))
	e.plain()
	golden.RequireEqual(t, e.m.View())
}
