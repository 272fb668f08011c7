package editor

import (
	"bytes"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
	"github.com/rivo/uniseg"

	"github.com/collab-editor/collab/crdt/splice"
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

// lineMark is where a logical line starts: 8 bytes a line, so that a note
// of short lines (a list, code) does not cost several times its text.
type lineMark struct {
	start int32 // rune offset in the buffer
	off   int32 // byte offset in the buffer's UTF-8
}

// line is one logical line (text between newlines, newline excluded) as
// the buffer's marks give it.
type line struct {
	start int // rune offset in the buffer
	n     int // runes, excluding the trailing '\n'
	off   int // byte offset
	size  int // bytes, excluding the '\n' (== n: the line is ASCII)
}

// fenceMark is a line that changes the code fence state, and the state
// after it.
type fenceMark struct {
	li    int
	after fence
}

// buffer is the note text as UTF-8, a byte a character for ASCII as the
// note itself keeps it, addressed in runes (the CRDT's unit) through a line
// index of each line's rune and byte offset. Per-line grapheme/wrap data is
// computed lazily, dropped only for lines an edit touches, and bounded in
// total, so a keystroke re-lays out one line, not 105 KB, and scrolling
// through a long note does not keep a layout of all of it.
//
// Texts are far below 2 GiB (crdt's limits), so offsets fit in int32.
type buffer struct {
	text  []byte
	runes int // the text's length in runes
	marks []lineMark
	// lays are the layouts of some lines, by line index; laidOut counts
	// their glyphs.
	lays     map[int]*layout
	laidOut  int
	tabWidth int
	// method measures a cluster's cells exactly as the terminal renderer
	// will (Bubble Tea's cell buffer): wrap, drawing and the cursor must
	// agree with it, or a row the editor thinks fits is cut at the edge.
	method ansi.Method
	// fenceScanned is how many leading lines have been read for code
	// fences; fences are the lines among them that change the fence state.
	fenceScanned int
	fences       []fenceMark
	// rev counts changes to the text, for caches of what is derived from
	// it (find's match count).
	rev uint64
	// hintRune and hintByte are a rune offset and its byte offset, from the
	// last lookup: a scan that steps through the text finds each next rune
	// from there instead of from its line's start.
	hintRune, hintByte int
}

// maxLaidOut bounds the glyphs kept in layouts (~14 bytes each with their
// Markdown masks), and maxLays the layouts (empty lines have no glyphs):
// several screens' worth, so scrolling and redrawing reuse them, while a
// note scrolled through end to end costs a fixed amount rather than a
// multiple of its text.
const (
	maxLaidOut = 1 << 15
	maxLays    = 1 << 12
)

// setMethod switches how cluster widths are measured and drops every
// layout, which was computed with the old widths.
func (b *buffer) setMethod(m ansi.Method) {
	if b.method == m {
		return
	}
	b.method = m
	b.lays, b.laidOut = nil, 0
}

// lineCount is the number of logical lines (at least one).
func (b *buffer) lineCount() int { return len(b.marks) }

// line returns logical line li.
func (b *buffer) line(li int) line {
	m := b.marks[li]
	ln := line{start: int(m.start), off: int(m.off)}
	if li+1 < len(b.marks) {
		next := b.marks[li+1]
		ln.n, ln.size = int(next.start)-ln.start-1, int(next.off)-ln.off-1
	} else {
		ln.n, ln.size = b.runes-ln.start, len(b.text)-ln.off
	}
	return ln
}

func (b *buffer) setText(s string) {
	s = splice.ValidText(s)
	b.text = append(b.text[:0:0], s...)
	b.runes = utf8.RuneCount(b.text)
	b.marks = markLines(b.text, 0, 0, len(b.text), make([]lineMark, 0, bytes.Count(b.text, []byte{'\n'})+1))
	b.lays, b.laidOut = nil, 0
	b.fenceScanned, b.fences = 0, nil
	b.hintRune, b.hintByte = 0, 0
	b.rev++
}

// markLines appends the marks of the logical lines of text[from:to] (bytes;
// from starts a line, at rune offset start, and to ends one) to dst.
func markLines(text []byte, start, from, to int, dst []lineMark) []lineMark {
	dst = append(dst, lineMark{start: int32(start), off: int32(from)})
	r := start
	for i := from; i < to; i++ {
		c := text[i]
		if c == '\n' {
			r++
			dst = append(dst, lineMark{start: int32(r), off: int32(i + 1)})
			continue
		}
		if c&0xC0 != 0x80 { // not a continuation byte: a rune starts here
			r++
		}
	}
	return dst
}

// lineOf returns the index of the line containing rune offset pos; a position
// at a line's end (before its '\n') belongs to that line.
func (b *buffer) lineOf(pos int) int {
	i := sort.Search(len(b.marks), func(i int) bool { return int(b.marks[i].start) > pos })
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
	ln := b.line(b.lineOf(pos))
	rel, i := pos-ln.start, ln.off
	switch {
	case rel >= ln.n:
		i += ln.size
	case ln.size == ln.n:
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

// lineBytes is line li's UTF-8; it aliases the buffer.
func (b *buffer) lineBytes(li int) []byte {
	ln := b.line(li)
	return b.text[ln.off : ln.off+ln.size]
}

// lineRunes is line li's text as runes, for the per-line Markdown parsers.
func (b *buffer) lineRunes(li int) []rune { return []rune(string(b.lineBytes(li))) }

// splice replaces runes [pos, pos+del) with ins and updates the line index.
// Callers validate the range.
func (b *buffer) splice(pos, del int, ins string) {
	ins = splice.ValidText(ins)
	i0, i1 := b.lineOf(pos), b.lineOf(pos+del)
	first, last := b.line(i0), b.line(i1)
	delta := utf8.RuneCountInString(ins) - del
	from, to := b.byteOff(pos), b.byteOff(pos+del)
	byteDelta := len(ins) - (to - from)
	regionEnd := last.off + last.size + byteDelta // bytes
	b.rev++
	// Code fence states after the edited lines stay valid unless a fence
	// line may have been edited, made or removed.
	fences := mayFence(b.text[first.off:last.off+last.size]) || mayFence(ins)
	b.text = replaceBytes(b.text, from, to, ins)
	b.runes += delta
	b.hintRune, b.hintByte = 0, 0
	moved := 0 // lines added (removed, if negative)
	if i0 != i1 || strings.Contains(ins, "\n") {
		repl := markLines(b.text, first.start, first.off, regionEnd, nil)
		b.marks = slices.Replace(b.marks, i0, i1+1, repl...)
		moved = len(repl) - (i1 - i0 + 1)
	} // else the common keystroke case: one line changes length, nothing splits
	if !fences && b.fenceScanned > i0 {
		fences = mayFence(b.text[first.off:regionEnd])
	}
	if delta != 0 || byteDelta != 0 {
		for i := i1 + 1 + moved; i < len(b.marks); i++ {
			b.marks[i].start += int32(delta)
			b.marks[i].off += int32(byteDelta)
		}
	}
	b.spliceLayouts(i0, i1, moved)
	b.spliceFences(i0, i1, moved, fences)
}

// spliceLayouts drops the layouts of lines i0..i1, which an edit replaced,
// and renumbers those of the lines after them.
func (b *buffer) spliceLayouts(i0, i1, moved int) {
	for li := i0; li <= i1; li++ {
		if lay, ok := b.lays[li]; ok {
			b.laidOut -= len(lay.gs)
			delete(b.lays, li)
		}
	}
	if moved == 0 || len(b.lays) == 0 {
		return
	}
	lays := make(map[int]*layout, len(b.lays))
	for li, lay := range b.lays {
		if li > i1 {
			li += moved
		}
		lays[li] = lay
	}
	b.lays = lays
}

// spliceFences keeps the fence states of lines i0..i1 replaced by an edit
// (moved more lines than they were): those before stay, those after move
// along unless fences says a fence line may have changed.
func (b *buffer) spliceFences(i0, i1, moved int, fences bool) {
	if b.fenceScanned <= i0 {
		return
	}
	if fences {
		b.fenceScanned = i0
		b.fences = b.fences[:b.firstFenceFrom(i0)]
		return
	}
	// No fence line in the region before or after: none is recorded there.
	for i := b.firstFenceFrom(i0); i < len(b.fences); i++ {
		b.fences[i].li += moved
	}
	if b.fenceScanned > i1 {
		b.fenceScanned += moved
	} else {
		b.fenceScanned = i0
	}
}

// firstFenceFrom is the index in fences of the first at line li or after.
func (b *buffer) firstFenceFrom(li int) int {
	return sort.Search(len(b.fences), func(i int) bool { return b.fences[i].li >= li })
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
	lay := b.lays[li]
	if lay == nil {
		if b.laidOut > maxLaidOut || len(b.lays) >= maxLays {
			b.lays, b.laidOut = nil, 0
		}
		if b.lays == nil {
			b.lays = make(map[int]*layout)
		}
		lay = &layout{gs: b.glyphs(li)}
		b.lays[li] = lay
		b.laidOut += len(lay.gs)
	}
	if lay.width != width {
		lay.rows = wrap(lay.gs, width, lay.rows[:0])
		lay.width = width
	}
	return lay
}

func (b *buffer) glyphs(li int) []glyph {
	ln := b.line(li)
	if ln.n == 0 {
		return nil
	}
	s := string(b.lineBytes(li))
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
