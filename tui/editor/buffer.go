package editor

import (
	"bytes"
	"slices"
	"sort"
	"strings"
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
	start   int   // rune offset in the buffer
	n       int   // runes, excluding the trailing '\n'
	off     int32 // byte offset in the buffer's UTF-8
	size    int32 // bytes, excluding the '\n' (== n: the line is ASCII)
	lay     *layout
	fenceIn fence // code fence state at the line's start, valid below buffer.fenceValid
}

// buffer is the note text as UTF-8, a byte a character for ASCII as the
// note itself keeps it, addressed in runes (the CRDT's unit) through a line
// index that knows each line's byte offset. Per-line grapheme/wrap data is
// computed lazily, dropped only for lines an edit touches, and bounded in
// total, so a keystroke re-lays out one line, not 105 KB, and scrolling
// through a long note does not keep a layout of all of it.
type buffer struct {
	text     []byte
	runes    int // the text's length in runes
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
	// hintRune and hintByte are a rune offset and its byte offset, from the
	// last lookup: a scan that steps through the text finds each next rune
	// from there instead of from its line's start.
	hintRune, hintByte int
	// laidOut is how many glyphs the lines' layouts hold.
	laidOut int
}

// maxLaidOut bounds the glyphs kept in layouts (~14 bytes each with their
// Markdown masks): several screens' worth, so scrolling and redrawing
// reuse them, while a note scrolled through end to end costs a fixed
// amount rather than a multiple of its text.
const maxLaidOut = 1 << 15

// setMethod switches how cluster widths are measured and drops every
// layout, which was computed with the old widths.
func (b *buffer) setMethod(m ansi.Method) {
	if b.method == m {
		return
	}
	b.method = m
	b.dropLayouts(-1)
}

// dropLayouts drops every line's layout but line keep's.
func (b *buffer) dropLayouts(keep int) {
	b.laidOut = 0
	for i := range b.lines {
		if i == keep && b.lines[i].lay != nil {
			b.laidOut += len(b.lines[i].lay.gs)
			continue
		}
		b.lines[i].lay = nil
	}
}

// validUTF8 is s as the CRDT counts it: invalid bytes become U+FFFD, one
// rune each, as a conversion to runes would make them.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string([]rune(s))
}

func (b *buffer) setText(s string) {
	s = validUTF8(s)
	b.text = append(b.text[:0:0], s...)
	b.runes = utf8.RuneCount(b.text)
	b.lines = splitLines(b.text, 0, 0, len(b.text), make([]line, 0, bytes.Count(b.text, []byte{'\n'})+1))
	b.fenceValid = 0
	b.laidOut = 0
	b.hintRune, b.hintByte = 0, 0
	b.rev++
}

// splitLines appends the logical lines of text[from:to] (bytes; from starts
// a line, at rune offset start, and to ends one) to dst.
func splitLines(text []byte, start, from, to int, dst []line) []line {
	lineStart, lineOff := start, from
	r := start
	for i := from; i < to; i++ {
		c := text[i]
		if c == '\n' {
			dst = append(dst, line{start: lineStart, n: r - lineStart, off: int32(lineOff), size: int32(i - lineOff)})
			r++
			lineStart, lineOff = r, i+1
			continue
		}
		if c&0xC0 != 0x80 { // not a continuation byte: a rune starts here
			r++
		}
	}
	return append(dst, line{start: lineStart, n: r - lineStart, off: int32(lineOff), size: int32(to - lineOff)})
}

// lineOf returns the index of the line containing rune offset pos; a position
// at a line's end (before its '\n') belongs to that line.
func (b *buffer) lineOf(pos int) int {
	i := sort.Search(len(b.lines), func(i int) bool { return b.lines[i].start > pos })
	return max(i-1, 0)
}

// byteOff is the byte offset of rune offset pos (0 ≤ pos ≤ runes).
func (b *buffer) byteOff(pos int) int {
	switch d := pos - b.hintRune; {
	case d == 0:
		return b.hintByte
	case pos >= b.runes:
		return len(b.text)
	case d > 0 && d <= 16:
		i := b.hintByte
		for ; d > 0; d-- {
			i += utf8size(b.text[i])
		}
		b.hintRune, b.hintByte = pos, i
		return i
	case d < 0 && d >= -16:
		i := b.hintByte
		for ; d < 0; d++ {
			i--
			for b.text[i]&0xC0 == 0x80 {
				i--
			}
		}
		b.hintRune, b.hintByte = pos, i
		return i
	}
	ln := b.lines[b.lineOf(pos)]
	rel, i := pos-ln.start, int(ln.off)
	switch {
	case rel >= ln.n:
		i += int(ln.size)
	case int(ln.size) == ln.n:
		i += rel
	default:
		for ; rel > 0; rel-- {
			i += utf8size(b.text[i])
		}
	}
	b.hintRune, b.hintByte = pos, i
	return i
}

// utf8size is the length of the (valid) UTF-8 sequence that c starts.
func utf8size(c byte) int {
	switch {
	case c < 0xC0:
		return 1
	case c < 0xE0:
		return 2
	case c < 0xF0:
		return 3
	}
	return 4
}

// at is the rune at offset i (< runes).
func (b *buffer) at(i int) rune {
	j := b.byteOff(i)
	if c := b.text[j]; c < utf8.RuneSelf {
		return rune(c)
	}
	r, _ := utf8.DecodeRune(b.text[j:])
	return r
}

// str is the text of runes [from, to).
func (b *buffer) str(from, to int) string {
	i := b.byteOff(from)
	return string(b.text[i:b.byteOff(to)])
}

// lineRunes is line li's text as runes, for the per-line Markdown parsers.
func (b *buffer) lineRunes(li int) []rune {
	ln := b.lines[li]
	return []rune(string(b.text[ln.off : int(ln.off)+int(ln.size)]))
}

// splice replaces runes [pos, pos+del) with ins and updates the line index.
// Callers validate the range.
func (b *buffer) splice(pos, del int, ins string) {
	ins = validUTF8(ins)
	i0, i1 := b.lineOf(pos), b.lineOf(pos+del)
	first, last := b.lines[i0], b.lines[i1]
	insRunes := utf8.RuneCountInString(ins)
	delta := insRunes - del
	from, to := b.byteOff(pos), b.byteOff(pos+del)
	byteDelta := len(ins) - (to - from)
	regionEnd := int(last.off) + int(last.size) + byteDelta // bytes
	b.rev++
	// Code fence states after the edited lines stay valid unless a fence
	// line may have been edited, made or removed.
	fences := mayFence(b.text[first.off:int(last.off)+int(last.size)]) || mayFence(ins)
	b.text = replaceBytes(b.text, from, to, ins)
	b.runes += delta
	b.hintRune, b.hintByte = 0, 0
	var repl []line
	if i0 == i1 && !strings.Contains(ins, "\n") {
		// The common keystroke case: one line changes length, nothing splits.
		repl = []line{{start: first.start, n: first.n + delta, off: first.off, size: first.size + int32(byteDelta)}}
	} else {
		repl = splitLines(b.text, first.start, int(first.off), regionEnd, nil)
	}
	if !fences && b.fenceValid > i0 {
		fences = mayFence(b.text[first.off:regionEnd])
	}
	for i := i0; i <= i1; i++ {
		if lay := b.lines[i].lay; lay != nil {
			b.laidOut -= len(lay.gs)
		}
	}
	in := first.fenceIn
	b.lines = slices.Replace(b.lines, i0, i1+1, repl...)
	if delta != 0 || byteDelta != 0 {
		for i := i0 + len(repl); i < len(b.lines); i++ {
			b.lines[i].start += delta
			b.lines[i].off += int32(byteDelta)
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

// replaceBytes is slices.Replace for UTF-8 with a string, growing the
// buffer by a sixteenth rather than append's quarter: the text is the
// largest thing the editor holds.
func replaceBytes(text []byte, from, to int, ins string) []byte {
	n := len(text) - (to - from) + len(ins)
	if n > cap(text) {
		grown := make([]byte, n, n+n/16+64)
		copy(grown, text[:from])
		copy(grown[from:], ins)
		copy(grown[from+len(ins):], text[to:])
		return grown
	}
	if len(ins) != to-from {
		tail := text[to:]
		text = text[:n]
		copy(text[from+len(ins):], tail)
	}
	copy(text[from:], ins)
	return text
}

// layout returns line li's layout wrapped to width, computing what is missing.
func (b *buffer) layout(li, width int) *layout {
	ln := &b.lines[li]
	if ln.lay == nil {
		if b.laidOut > maxLaidOut {
			b.dropLayouts(li)
		}
		ln.lay = &layout{gs: b.glyphs(li)}
		b.laidOut += len(ln.lay.gs)
	}
	if ln.lay.width != width {
		ln.lay.rows = wrap(ln.lay.gs, width, ln.lay.rows[:0])
		ln.lay.width = width
	}
	return ln.lay
}

func (b *buffer) glyphs(li int) []glyph {
	ln := b.lines[li]
	if ln.n == 0 {
		return nil
	}
	s := string(b.text[ln.off : int(ln.off)+int(ln.size)])
	gs := make([]glyph, 0, ln.n)
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
