package editor

import (
	"slices"
	"sort"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
	"github.com/rivo/uniseg"
)

// glyph is one grapheme cluster of a logical line as the layout sees it.
type glyph struct {
	off int32 // rune offset of the cluster within its line
	n   int32 // runes in the cluster
	w   int16 // display cells (tabs and control characters use their replacement width)
	brk bool  // a soft wrap may follow this cluster (UAX #14)
	sp  bool  // a plain space, which may hang past the right edge
}

// layout caches the grapheme clusters of one logical line and, for one wrap
// width, the visual rows they fall into.
type layout struct {
	gs    []glyph
	width int     // wrap width rows was computed for; 0 = not wrapped yet
	rows  []int32 // index in gs of each row's first glyph; a last row may start at len(gs)

	// Markdown styles per glyph (mdMasks), valid when mdOK and the line
	// still starts in fence state mdFence.
	md      []mdMask
	mdOK    bool
	mdFence fence
}

// line is one logical line (text between newlines, newline excluded).
type line struct {
	start   int // rune offset in the buffer
	n       int // runes, excluding the trailing '\n'
	lay     *layout
	fenceIn fence // code fence state at the line's start, valid below buffer.fenceValid
}

// buffer is the note text in runes (the CRDT's unit) with a line index whose
// per-line grapheme/wrap data is computed lazily and dropped only for lines an
// edit touches, so a keystroke re-lays out one line, not 105 KB.
type buffer struct {
	text     []rune
	lines    []line
	tabWidth int
	// method measures a cluster's cells exactly as the terminal renderer
	// will (Bubble Tea's cell buffer): wrap, drawing and the cursor must
	// agree with it, or a row the editor thinks fits is cut at the edge.
	method ansi.Method
	// fenceValid is how many leading lines have a current fenceIn.
	fenceValid int
	// rev counts changes to the text, for caches of what is derived from
	// it (find's match count).
	rev uint64
}

// setMethod switches how cluster widths are measured and drops every
// layout, which was computed with the old widths.
func (b *buffer) setMethod(m ansi.Method) {
	if b.method == m {
		return
	}
	b.method = m
	for i := range b.lines {
		b.lines[i].lay = nil
	}
}

func (b *buffer) setText(s string) {
	b.text = []rune(s)
	b.lines = splitLines(b.text, 0, len(b.text), b.lines[:0])
	b.fenceValid = 0
	b.rev++
}

// splitLines appends the logical lines of text[from:to] (which must start at a
// line start and end at a line end) to dst.
func splitLines(text []rune, from, to int, dst []line) []line {
	start := from
	for i := from; i < to; i++ {
		if text[i] == '\n' {
			dst = append(dst, line{start: start, n: i - start})
			start = i + 1
		}
	}
	return append(dst, line{start: start, n: to - start})
}

// lineOf returns the index of the line containing rune offset pos; a position
// at a line's end (before its '\n') belongs to that line.
func (b *buffer) lineOf(pos int) int {
	i := sort.Search(len(b.lines), func(i int) bool { return b.lines[i].start > pos })
	return max(i-1, 0)
}

// splice replaces text[pos:pos+del] with ins and updates the line index.
// Callers validate the range.
func (b *buffer) splice(pos, del int, ins []rune) {
	i0, i1 := b.lineOf(pos), b.lineOf(pos+del)
	regionStart := b.lines[i0].start
	delta := len(ins) - del
	regionEnd := b.lines[i1].start + b.lines[i1].n + delta
	b.rev++
	// Code fence states after the edited lines stay valid unless a fence
	// line may have been edited, made or removed.
	fences := mayFence(b.text[regionStart:b.lines[i1].start+b.lines[i1].n]) || mayFence(ins)
	b.text = slices.Replace(b.text, pos, pos+del, ins...)
	var repl []line
	if i0 == i1 && !slices.Contains(ins, '\n') {
		// The common keystroke case: one line changes length, nothing splits.
		repl = []line{{start: regionStart, n: regionEnd - regionStart}}
	} else {
		repl = splitLines(b.text, regionStart, regionEnd, nil)
	}
	if !fences && b.fenceValid > i0 {
		fences = mayFence(b.text[regionStart:regionEnd])
	}
	in := b.lines[i0].fenceIn
	b.lines = slices.Replace(b.lines, i0, i1+1, repl...)
	if delta != 0 {
		for i := i0 + len(repl); i < len(b.lines); i++ {
			b.lines[i].start += delta
		}
	}
	switch {
	case b.fenceValid <= i0:
	case fences:
		b.fenceValid = i0 + 1
		b.lines[i0].fenceIn = in
	default:
		// No fence in the region before or after: its lines start as the
		// first did, and the lines after it as they did.
		for i := i0; i < i0+len(repl); i++ {
			b.lines[i].fenceIn = in
		}
		if b.fenceValid > i1 {
			b.fenceValid += len(repl) - (i1 - i0 + 1)
		} else {
			b.fenceValid = min(b.fenceValid, i0+len(repl))
		}
	}
}

// layout returns line li's layout wrapped to width, computing what is missing.
func (b *buffer) layout(li, width int) *layout {
	ln := &b.lines[li]
	if ln.lay == nil {
		ln.lay = &layout{gs: b.glyphs(ln.start, ln.n)}
	}
	if ln.lay.width != width {
		ln.lay.rows = wrap(ln.lay.gs, width, ln.lay.rows[:0])
		ln.lay.width = width
	}
	return ln.lay
}

func (b *buffer) glyphs(start, n int) []glyph {
	if n == 0 {
		return nil
	}
	s := string(b.text[start : start+n])
	gs := make([]glyph, 0, n)
	state := -1
	off := int32(0)
	for len(s) > 0 {
		var c string
		var bnd int
		c, s, bnd, state = uniseg.StepString(s, state)
		r, _ := utf8.DecodeRuneInString(c)
		g := glyph{off: off, n: int32(utf8.RuneCountInString(c)), w: 1}
		if len(c) > 1 || c[0] >= utf8.RuneSelf {
			g.w = int16(min(b.method.StringWidth(c), 1<<14))
		}
		g.brk = bnd&uniseg.MaskLine != uniseg.LineDontBreak
		switch {
		case c == " ":
			g.sp = true
		case r == '\t':
			g.w = int16(b.tabWidth)
			g.brk = true
		case isControl(r):
			g.w = 2 // drawn in caret notation (^M)
		}
		gs = append(gs, g)
		off += g.n
	}
	return gs
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// wrap splits glyphs into rows of at most width cells, preferring the last
// line-break opportunity and hard-breaking words longer than a row. A wide
// glyph never straddles the edge. One space may hang past the edge so a row
// of words does not wrap early. If the last row is full, an empty row is
// added so the cursor at the line's end has a cell to sit on.
func wrap(gs []glyph, width int, rows []int32) []int32 {
	width = max(width, 1)
	rows = append(rows, 0)
	rowStart, x, lastBrk := 0, 0, -1
	for i := 0; i < len(gs); i++ {
		w := int(gs[i].w)
		if x+w > width && i > rowStart {
			if w == 1 && x == width && gs[i].sp && (i == 0 || !gs[i-1].sp) {
				// Let a single space hang past the edge.
				x += w
				lastBrk = i
				continue
			}
			cut := i
			if lastBrk >= rowStart && lastBrk+1 < i {
				cut = lastBrk + 1
			}
			rows = append(rows, int32(cut))
			rowStart, lastBrk, x = cut, -1, 0
			for j := cut; j < i; j++ {
				x += int(gs[j].w)
				if gs[j].brk {
					lastBrk = j
				}
			}
		}
		x += w
		if gs[i].brk {
			lastBrk = i
		}
	}
	if x >= width && len(gs) > 0 {
		rows = append(rows, int32(len(gs)))
	}
	return rows
}

// rowCount is the number of visual rows of the layout.
func (l *layout) rowCount() int { return len(l.rows) }

// rowGlyphs returns the glyph index range [from, to) of row r.
func (l *layout) rowGlyphs(r int) (from, to int) {
	from = int(l.rows[r])
	to = len(l.gs)
	if r+1 < len(l.rows) {
		to = int(l.rows[r+1])
	}
	return from, to
}

// glyphOff is the line-relative rune offset of glyph index gi (n at the end).
func (l *layout) glyphOff(gi, n int) int {
	if gi >= len(l.gs) {
		return n
	}
	return int(l.gs[gi].off)
}

// glyphAt returns the index of the glyph containing line-relative offset rel
// (len(gs) at the line's end).
func (l *layout) glyphAt(rel int) int {
	i := sort.Search(len(l.gs), func(i int) bool { return int(l.gs[i].off) > rel })
	if i == 0 {
		return 0
	}
	g := l.gs[i-1]
	if rel >= int(g.off+g.n) {
		return i // rel is at or past the end of the last glyph
	}
	return i - 1
}

// rowOfGlyph returns the row holding glyph index gi. A glyph index that is a
// row start belongs to that row, so a soft-wrap position shows at the start
// of the next row.
func (l *layout) rowOfGlyph(gi int) int {
	r := sort.Search(len(l.rows), func(r int) bool { return int(l.rows[r]) > gi })
	return max(r-1, 0)
}
