package tui

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/rivo/uniseg"

	"github.com/collab-editor/collab/crdt/splice"
)

// diffView shows a text as of one history entry with what that entry did
// marked against the text before it: additions highlighted, removals kept
// in place and struck through. It is read-only, soft-wraps to its width
// and scrolls by rows.
type diffView struct {
	pieces        []diffPiece
	text          string // the entry's text (what restoring it gives)
	w, h          int
	top           int // first visible row
	rows          [][]diffPiece
	wrappedAt     int // width rows were computed for
	added, remove lipgloss.Style
}

type diffKind uint8

const (
	diffSame diffKind = iota
	diffAdded
	diffRemoved
)

type diffPiece struct {
	kind diffKind
	s    string
}

// setTexts shows text, marked against before.
func (d *diffView) setTexts(before, text string) {
	d.text, d.top, d.rows = text, 0, nil
	d.pieces = d.pieces[:0]
	old := []rune(before)
	pos := 0 // in old
	for _, s := range splice.Diff(before, text) {
		// Splices are in the coordinates the previous ones left; the
		// stretch of old they cover starts where old's unchanged text
		// before them ends.
		oldAt := pos + (s.Pos - d.lenNew())
		if oldAt > pos {
			d.add(diffSame, string(old[pos:oldAt]))
		}
		if s.Delete > 0 {
			d.add(diffRemoved, string(old[oldAt:oldAt+s.Delete]))
		}
		if s.Insert != "" {
			d.add(diffAdded, s.Insert)
		}
		pos = oldAt + s.Delete
	}
	if pos < len(old) {
		d.add(diffSame, string(old[pos:]))
	}
}

// lenNew is the length in runes of the new text the pieces so far make.
func (d *diffView) lenNew() int {
	n := 0
	for _, p := range d.pieces {
		if p.kind != diffRemoved {
			n += len([]rune(p.s))
		}
	}
	return n
}

func (d *diffView) add(k diffKind, s string) {
	if s != "" {
		d.pieces = append(d.pieces, diffPiece{k, s})
	}
}

func (d *diffView) setSize(w, h int) { d.w, d.h = max(1, w), max(1, h) }

// wrap splits the pieces into rows of at most w cells, at line ends and
// where a row is full (graphemes are never split).
func (d *diffView) wrap() {
	if d.rows != nil && d.wrappedAt == d.w {
		return
	}
	d.rows, d.wrappedAt = nil, d.w
	var row []diffPiece
	width := 0
	flush := func() { d.rows = append(d.rows, row); row, width = nil, 0 }
	put := func(k diffKind, g string) {
		if n := len(row) - 1; n >= 0 && row[n].kind == k {
			row[n].s += g
		} else {
			row = append(row, diffPiece{k, g})
		}
	}
	for _, p := range d.pieces {
		gr := uniseg.NewGraphemes(p.s)
		for gr.Next() {
			g := gr.Str()
			if g == "\n" || g == "\r\n" {
				if p.kind == diffRemoved {
					// A removed line break, shown where it was; the
					// lines it separated now run on.
					put(p.kind, "↵")
					width++
					continue
				}
				flush()
				continue
			}
			g = visibleGrapheme(g)
			gw := max(ansi.StringWidth(g), 0)
			if width+gw > d.w && width > 0 {
				flush()
			}
			put(p.kind, g)
			width += gw
		}
	}
	flush()
}

func (d *diffView) scrollBy(n int) {
	d.wrap()
	d.top = max(0, min(d.top+n, len(d.rows)-d.h))
}

// firstChange is the row of the first marked piece (-1: none).
func (d *diffView) firstChange() int {
	d.wrap()
	for i, r := range d.rows {
		for _, p := range r {
			if p.kind != diffSame {
				return i
			}
		}
	}
	return -1
}

func (d *diffView) view() string {
	d.wrap()
	lines := make([]string, 0, d.h)
	for i := d.top; i < len(d.rows) && len(lines) < d.h; i++ {
		var b strings.Builder
		w := 0
		for _, p := range d.rows[i] {
			w += ansi.StringWidth(p.s)
			switch p.kind {
			case diffAdded:
				b.WriteString(d.added.Render(p.s))
			case diffRemoved:
				b.WriteString(d.remove.Render(p.s))
			default:
				b.WriteString(p.s)
			}
		}
		b.WriteString(strings.Repeat(" ", max(0, d.w-w)))
		lines = append(lines, b.String())
	}
	for len(lines) < d.h {
		lines = append(lines, strings.Repeat(" ", d.w))
	}
	return strings.Join(lines, "\n")
}

// visibleGrapheme draws what must not reach the terminal as is: control
// characters in caret notation (^[), a tab as spaces, bidirectional
// overrides as a dot; a peer's text can hold any of them.
func visibleGrapheme(g string) string {
	r := []rune(g)
	if len(r) != 1 {
		return g
	}
	switch c := r[0]; {
	case c == '\t':
		return "    "
	case c < 0x20:
		return "^" + string(c+0x40)
	case c == 0x7f:
		return "^?"
	case c >= 0x80 && c < 0xa0:
		return "^" + string(rune(c-0x40))
	case c >= 0x202a && c <= 0x202e, c >= 0x2066 && c <= 0x2069, c == 0x200e, c == 0x200f:
		return "·"
	}
	return g
}
