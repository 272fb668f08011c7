package editor

// vpos names a visual row: row r of logical line li.
type vpos struct{ li, r int }

func (a vpos) less(b vpos) bool { return a.li < b.li || (a.li == b.li && a.r < b.r) }

// vposOf returns the visual row showing rune offset pos.
func (m *Model) vposOf(pos int) vpos {
	li := m.buf.lineOf(pos)
	ln := m.buf.line(li)
	lay := m.buf.layout(li, m.width)
	return vpos{li, lay.rowOfGlyph(lay.glyphAt(pos - ln.start))}
}

// rowStart returns the rune offset where row v begins.
func (m *Model) rowStart(v vpos) int {
	ln := m.buf.line(v.li)
	lay := m.buf.layout(v.li, m.width)
	return ln.start + lay.glyphOff(int(lay.rows[v.r]), ln.n)
}

// rowStartOf snaps pos to the start of its visual row.
func (m *Model) rowStartOf(pos int) int { return m.rowStart(m.vposOf(clamp(pos, 0, m.Len()))) }

func (m *Model) nextRow(v vpos) (vpos, bool) {
	if v.r+1 < m.buf.layout(v.li, m.width).rowCount() {
		return vpos{v.li, v.r + 1}, true
	}
	if v.li+1 < m.buf.lineCount() {
		return vpos{v.li + 1, 0}, true
	}
	return v, false
}

func (m *Model) prevRow(v vpos) (vpos, bool) {
	if v.r > 0 {
		return vpos{v.li, v.r - 1}, true
	}
	if v.li > 0 {
		return vpos{v.li - 1, m.buf.layout(v.li-1, m.width).rowCount() - 1}, true
	}
	return v, false
}

// walk moves n rows down (negative: up), stopping at the ends, and returns
// the row reached and how many rows were actually moved.
func (m *Model) walk(v vpos, n int) (vpos, int) {
	moved := 0
	for moved < n {
		nv, ok := m.nextRow(v)
		if !ok {
			break
		}
		v = nv
		moved++
	}
	for moved > n {
		nv, ok := m.prevRow(v)
		if !ok {
			break
		}
		v = nv
		moved--
	}
	return v, moved
}

// maxTop is the last row that may be at the top: scrolling stops once the
// text's last row reaches the bottom of the viewport.
func (m *Model) maxTop() vpos {
	li := m.buf.lineCount() - 1
	last := vpos{li, m.buf.layout(li, m.width).rowCount() - 1}
	v, _ := m.walk(last, -(m.height - 1))
	return v
}

func (m *Model) clampTop() {
	t, mx := m.vposOf(m.top), m.maxTop()
	if mx.less(t) {
		m.top = m.rowStart(mx)
	}
}

// screenRow returns the viewport row (0-based) showing pos, or false if it is
// scrolled out of view.
func (m *Model) screenRow(pos int) (int, bool) {
	t, c := m.vposOf(m.top), m.vposOf(pos)
	if c.less(t) {
		return 0, false
	}
	v := t
	for y := 0; y < m.height; y++ {
		if v == c {
			return y, true
		}
		nv, ok := m.nextRow(v)
		if !ok {
			break
		}
		v = nv
	}
	return 0, false
}

// ensureVisible scrolls as little as possible so pos is on screen.
func (m *Model) ensureVisible(pos int) {
	if _, ok := m.screenRow(pos); ok {
		return
	}
	t, c := m.vposOf(m.top), m.vposOf(pos)
	if c.less(t) {
		m.top = m.rowStart(c)
		return
	}
	v, _ := m.walk(c, -(m.height - 1))
	m.top = m.rowStart(v)
}

// ScrollBy scrolls the viewport n visual rows (negative: up) without moving
// the cursor.
func (m *Model) ScrollBy(n int) {
	v, _ := m.walk(m.vposOf(m.top), n)
	m.top = m.rowStart(v)
	m.clampTop()
}

// TopPos returns the rune offset of the first visible row, the viewport's
// anchor in the text.
func (m *Model) TopPos() int { return m.top }

// xOf returns the column of pos within its visual row.
func (m *Model) xOf(pos int) int {
	li := m.buf.lineOf(pos)
	ln := m.buf.line(li)
	lay := m.buf.layout(li, m.width)
	gi := lay.glyphAt(pos - ln.start)
	from, _ := lay.rowGlyphs(lay.rowOfGlyph(gi))
	x := 0
	for i := from; i < gi; i++ {
		x += int(lay.gs[i].w)
	}
	return x
}

// posInRow returns the position in row v closest to column x: before the
// glyph covering x, or the row's end. Rows that soft-wrap end before their
// last glyph so the position stays on the row (not a row before the empty
// row a full line gets: the line really ends there).
func (m *Model) posInRow(v vpos, x int) int {
	ln := m.buf.line(v.li)
	lay := m.buf.layout(v.li, m.width)
	from, to := lay.rowGlyphs(v.r)
	last := to
	if v.r+1 < lay.rowCount() && to > from && to < len(lay.gs) {
		last = to - 1
	}
	cx, gi := 0, from
	for gi < last && cx+int(lay.gs[gi].w) <= x {
		cx += int(lay.gs[gi].w)
		gi++
	}
	return ln.start + lay.glyphOff(gi, ln.n)
}

// posAt maps a viewport cell to a rune offset through the wrap layout.
func (m *Model) posAt(x, y int) int {
	v, moved := m.walk(m.vposOf(m.top), max(y, 0))
	if moved < y {
		return m.Len()
	}
	return m.posInRow(v, x)
}

// CursorXY returns the cursor's cell relative to the editor's top-left, and
// false when it is scrolled out of view.
func (m *Model) CursorXY() (x, y int, ok bool) {
	y, ok = m.screenRow(m.cursor)
	if !ok {
		return 0, 0, false
	}
	return min(m.xOf(m.cursor), m.width-1), y, true
}
