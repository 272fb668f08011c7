package editor

import (
	"image/color"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// Styles are the editor's looks. Peer styles are functions of the peer's
// colour. Only character attributes are used (no padding, borders, widths).
type Styles struct {
	Markdown      MarkdownStyles // with WithMarkdown
	Text          lipgloss.Style
	Selection     lipgloss.Style
	Control       lipgloss.Style // tabs and control characters (^M)
	PeerCursor    func(c color.Color) lipgloss.Style
	PeerSelection func(c color.Color) lipgloss.Style
	PeerLabel     func(c color.Color) lipgloss.Style
}

// DefaultStyles draws peers in their colours.
func DefaultStyles() Styles {
	black := lipgloss.Color("0")
	return Styles{
		Markdown:  DefaultMarkdownStyles(),
		Selection: lipgloss.NewStyle().Background(lipgloss.Color("24")).Foreground(lipgloss.Color("255")),
		Control:   lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		PeerCursor: func(c color.Color) lipgloss.Style {
			return lipgloss.NewStyle().Background(c).Foreground(black)
		},
		PeerSelection: func(c color.Color) lipgloss.Style {
			return lipgloss.NewStyle().Background(lipgloss.Darken(c, 0.55))
		},
		PeerLabel: func(c color.Color) lipgloss.Style {
			return lipgloss.NewStyle().Background(c).Foreground(black)
		},
	}
}

// NoColorStyles honours NO_COLOR: the own selection is reversed, a peer's
// cursor is bold underlined, its selection underlined and its label reversed.
func NoColorStyles() Styles {
	return Styles{
		Markdown:  NoColorMarkdownStyles(),
		Selection: lipgloss.NewStyle().Reverse(true),
		PeerCursor: func(color.Color) lipgloss.Style {
			return lipgloss.NewStyle().Underline(true).Bold(true)
		},
		PeerSelection: func(color.Color) lipgloss.Style { return lipgloss.NewStyle().Underline(true) },
		PeerLabel:     func(color.Color) lipgloss.Style { return lipgloss.NewStyle().Reverse(true) },
	}
}

// sgr is a style reduced to the escape sequences around a styled run, so the
// view writes runs directly instead of calling lipgloss per cell.
type sgr struct{ pre, post string }

func sgrOf(s lipgloss.Style) sgr {
	r := s.Render("x")
	i := strings.IndexByte(r, 'x')
	if i < 0 {
		return sgr{}
	}
	return sgr{pre: r[:i], post: r[i+1:]}
}

const (
	styText = iota
	stySel
	styCtrl
	styPeers // three per peer from here: cursor, selection, label
)

type renderStyles struct{ pairs []sgr }

func compileStyles(s Styles) renderStyles {
	return renderStyles{pairs: []sgr{sgrOf(s.Text), sgrOf(s.Selection), sgrOf(s.Control)}}
}

func (m *Model) compilePeers() {
	m.sty.pairs = m.sty.pairs[:styPeers]
	for i := range m.peers {
		p := &m.peers[i]
		c := p.Color
		if c == nil || m.noColor {
			c = lipgloss.Color("7")
		}
		base := len(m.sty.pairs)
		p.cur, p.sel, p.label = base, base+1, base+2
		m.sty.pairs = append(m.sty.pairs, sgrOfFn(m.styles.PeerCursor, c), sgrOfFn(m.styles.PeerSelection, c), sgrOfFn(m.styles.PeerLabel, c))
	}
}

func sgrOfFn(f func(color.Color) lipgloss.Style, c color.Color) sgr {
	if f == nil {
		return sgr{}
	}
	return sgrOf(f(c))
}

// Cursor returns the terminal cursor for tea.View.Cursor, in screen
// coordinates (the origin from SetOrigin added), or nil when the editor is
// blurred or the cursor is scrolled out of view.
func (m *Model) Cursor() *tea.Cursor {
	if !m.focused {
		return nil
	}
	x, y, ok := m.CursorXY()
	if !ok {
		return nil
	}
	c := tea.NewCursor(m.originX+x, m.originY+y)
	c.Shape = tea.CursorBar
	return c
}

// rowWriter writes one row, switching escape sequences only when the style
// changes.
type rowWriter struct {
	sb    *strings.Builder
	pairs []sgr
	md    []sgr // Markdown styles, numbered from mdBase
	cur   int
}

func (w *rowWriter) sgr(id int) sgr {
	if id >= mdBase {
		return w.md[id-mdBase]
	}
	return w.pairs[id]
}

func (w *rowWriter) style(id int) {
	if id == w.cur {
		return
	}
	w.sb.WriteString(w.sgr(w.cur).post)
	if w.cur != styText {
		// A styled run's reset also ended the base style.
		w.sb.WriteString(w.pairs[styText].pre)
	}
	if id != styText {
		w.sb.WriteString(w.sgr(id).pre)
	}
	w.cur = id
}

func (w *rowWriter) end() { w.style(styText) }

// View renders exactly Height rows of exactly Width cells, and only the rows
// on screen. ANSI styling is included; the local cursor is not drawn (use
// Cursor for the real terminal cursor). Collaborators whose cursor is above
// or below the visible rows are named by a marker at the right end of the
// first or last row ("↑ ann", "↓ bob, cem"); it overlays those cells, so no
// row is taken from the text and scrolling is unchanged.
func (m *Model) View() string {
	var sb strings.Builder
	sb.Grow(m.height * (m.width + 8))
	selS, selE, hasSel := m.Selection()
	if !hasSel {
		selS, selE = -1, -1
	}
	peerRows := make([]vpos, len(m.peers))
	for i, p := range m.peers {
		peerRows[i] = m.vposOf(p.Cursor)
	}
	w := rowWriter{sb: &sb, pairs: m.sty.pairs}
	rows := make([]vpos, 0, m.height)
	for v, more := m.vposOf(m.top), true; more && len(rows) < m.height; v, more = m.nextRow(v) {
		rows = append(rows, v)
	}
	if m.markdown {
		// Compile every style the visible rows need before writing (the
		// writer holds the slice).
		for _, v := range rows {
			lay := m.buf.layout(v.li, m.width)
			for _, mask := range m.mdMasks(v.li, lay) {
				if mask != 0 {
					m.mdStyle(mask)
				}
			}
		}
		w.md = m.mdPairs
	}
	topMark, bottomMark := m.edgeMarkers(rows, peerRows)
	curX, curY, curOK := m.CursorXY()
	for y := 0; y < m.height; y++ {
		if y > 0 {
			sb.WriteByte('\n')
		}
		var mark marker
		switch {
		case m.height == 1:
			mark = topMark.join(bottomMark)
		case y == 0:
			mark = topMark
		case y == m.height-1:
			mark = bottomMark
		}
		if curOK && curY == y && curX >= m.width-mark.w {
			mark = marker{} // it would hide the user's own cursor
		}
		if y >= len(rows) {
			sb.WriteString(w.pairs[styText].pre)
			sb.WriteString(spaces(m.width - mark.w))
			m.writeMarker(&w, mark)
			sb.WriteString(w.pairs[styText].post)
			continue
		}
		m.renderRow(&w, rows[y], selS, selE, peerRows, mark)
	}
	return sb.String()
}

func (m *Model) renderRow(w *rowWriter, v vpos, selS, selE int, peerRows []vpos, mark marker) {
	sb := w.sb
	ln := m.buf.line(v.li)
	lay := m.buf.layout(v.li, m.width)
	from, to := lay.rowGlyphs(v.r)
	var md []mdMask
	if m.markdown {
		md = m.mdMasks(v.li, lay)
	}
	// The cells this row may use: the edge marker, then the labels of the
	// cursors on it, are kept free at the right.
	avail := m.width - mark.w
	limit := avail
	labels := m.rowLabels(v, peerRows)
	var names []string
	labelW := 0
	if len(labels) > 0 {
		own := -1
		if m.vposOf(m.cursor) == v {
			own = m.xOf(m.cursor)
		}
		names, labelW, limit = m.placeLabels(labels, own, m.rowWidth(v, lay, from, to, selS, selE), avail)
	}
	x := 0
	// Each row opens and closes the base text style, so rows stand alone
	// and the padding carries the base style (e.g. a background).
	base := w.pairs[styText]
	sb.WriteString(base.pre)
	w.cur = styText
	text := m.buf.text
	j := 0 // the byte offset of glyph gi
	if from < to {
		j = m.buf.byteOff(ln.start + int(lay.gs[from].off))
	}
	for gi := from; gi < to; gi++ {
		g := lay.gs[gi]
		if x+int(g.w) > limit {
			break // a hanging space, a glyph wider than the view, or labels
		}
		pos := ln.start + int(g.off)
		k := j
		for range g.n {
			k += utf8size(text[k])
		}
		r := rune(text[j])
		if r >= utf8.RuneSelf {
			r, _ = utf8.DecodeRune(text[j:k])
		}
		id := m.pairs(pos, pos+int(g.n), selS, selE, r == '\t' || isControl(r))
		if id == styText && md != nil && md[gi] != 0 {
			id = m.mdIDs[md[gi]]
		}
		w.style(id)
		switch {
		case r == '\t':
			sb.WriteString(spaces(int(g.w)))
		case isControl(r):
			sb.WriteByte('^')
			sb.WriteByte(byte(r) ^ 0x40)
		default:
			sb.Write(text[j:k])
		}
		x += int(g.w)
		j = k
	}
	if v.r == lay.rowCount()-1 && x < limit {
		// The cell after a line's text shows a peer cursor there, or that
		// the selection includes the newline.
		if id := m.eolStyle(ln, selS, selE); id != styText {
			w.style(id)
			sb.WriteByte(' ')
			x++
		}
	}
	w.end()
	sb.WriteString(spaces(limit - x))
	x = max(x, limit)
	for i, name := range names {
		p := m.sty.pairs[m.peers[labels[i]].label]
		sb.WriteByte(' ')
		sb.WriteString(p.pre)
		sb.WriteString(name)
		sb.WriteString(p.post)
		sb.WriteString(m.sty.pairs[styText].pre) // the label's reset ended it
	}
	x += labelW
	sb.WriteString(spaces(avail - x))
	m.writeMarker(w, mark)
	sb.WriteString(base.post)
}

// eolStyle is the style of the cell after a line's text: a peer cursor
// there, or the own selection including the newline; styText for none.
func (m *Model) eolStyle(ln line, selS, selE int) int {
	eol := ln.start + ln.n
	id := m.pairs(eol, eol+1, selS, selE, false)
	if id != styText && (eol < m.buf.runes || id != stySel) {
		return id
	}
	return styText
}

// rowWidth is how many cells row v's text takes, with the cell after a
// line's end when that shows a cursor or the selection.
func (m *Model) rowWidth(v vpos, lay *layout, from, to, selS, selE int) int {
	x := 0
	for gi := from; gi < to && x+int(lay.gs[gi].w) <= m.width; gi++ {
		x += int(lay.gs[gi].w)
	}
	if v.r == lay.rowCount()-1 && x < m.width && m.eolStyle(m.buf.line(v.li), selS, selE) != styText {
		x++
	}
	return x
}

// pairs picks the style of the glyph [pos, end): a peer's cursor first, then
// the own selection, then a peer's selection.
func (m *Model) pairs(pos, end, selS, selE int, ctrl bool) int {
	for i := range m.peers {
		if c := m.peers[i].Cursor; c >= pos && c < end {
			return m.peers[i].cur
		}
	}
	if pos >= selS && pos < selE {
		return stySel
	}
	for i := range m.peers {
		p := &m.peers[i]
		if pos >= min(p.Cursor, p.Anchor) && pos < max(p.Cursor, p.Anchor) {
			return p.sel
		}
	}
	if ctrl {
		return styCtrl
	}
	return styText
}

// rowLabels returns the peers whose cursor is on row v, left to right.
func (m *Model) rowLabels(v vpos, peerRows []vpos) []int {
	var on []int
	for i, pv := range peerRows {
		if pv == v {
			on = append(on, i)
		}
	}
	sort.SliceStable(on, func(a, b int) bool { return m.peers[on[a]].Cursor < m.peers[on[b]].Cursor })
	return on
}

// placeLabels fits the names of the peers on a row whose text takes textW
// of the avail cells. Names go after the text, each after a space, whole if
// they fit and shortened alike otherwise. When even one character each does
// not fit, the labels overlay the row's last cells, sparing the cursors on
// the row if they can (else taking up to half the row, or all of it), so
// every cursor on the row stays named. own is the column of the user's
// cursor on the row (-1: not on it), spared like the others. It returns
// the names, the cells they take with their spaces, and how many cells
// remain for the text.
func (m *Model) placeLabels(labels []int, own, textW, avail int) (names []string, width, limit int) {
	full := make([]string, len(labels))
	keep := own + 1 // the row's cells up to its last cursor's (own: -1 for none)
	for i, pi := range labels {
		full[i] = m.peers[pi].Name
		keep = max(keep, m.xOf(m.peers[pi].Cursor)+1)
	}
	free := max(avail-textW, 0)
	if names, width = fitNames(m.buf.method, full, free); names != nil {
		return names, width, min(textW, avail)
	}
	for _, budget := range []int{avail - keep, avail / 2, avail} {
		if names, width = fitNames(m.buf.method, full, budget); names != nil {
			return names, width, avail - width
		}
	}
	return nil, 0, avail // more cursors than cells: the cursors alone show
}

// fitNames shortens names alike until, each after a space, they fit in
// budget cells: whole names first, then cut to the same width with an
// ellipsis, at worst one character each. It returns nil when even that
// does not fit.
func fitNames(method ansi.Method, names []string, budget int) ([]string, int) {
	widest := 0
	for _, n := range names {
		widest = max(widest, method.StringWidth(n))
	}
	out := make([]string, len(names))
	for c := widest; c >= 1; c-- {
		total := 0
		for i, n := range names {
			out[i] = shorten(method, n, c)
			total += 1 + method.StringWidth(out[i])
		}
		if total <= budget {
			return out, total
		}
	}
	return nil, 0
}

// shorten cuts name to c cells: with an ellipsis from 4 cells ("caro…"),
// below that its first characters ("ca"), which read better than "c…".
func shorten(method ansi.Method, name string, c int) string {
	if method.StringWidth(name) <= c {
		return name
	}
	if c >= 4 {
		return method.Truncate(name, c, "…")
	}
	if s := method.Truncate(name, c, ""); s != "" {
		return s
	}
	return "…" // a wide first character in one cell
}

// marker is an edge marker: an arrow and the names of collaborators whose
// cursors are off screen in that direction, in their label styles.
type marker struct {
	parts []markPart
	w     int // cells, with the leading space
}

type markPart struct {
	text  string
	style int // a pairs index
}

// join puts two markers on one row (a one-row view).
func (a marker) join(b marker) marker {
	return marker{parts: append(append([]markPart{}, a.parts...), b.parts...), w: a.w + b.w}
}

// edgeMarkers builds the markers for the peers whose cursors are above the
// first visible row and below the last one.
func (m *Model) edgeMarkers(rows []vpos, peerRows []vpos) (top, bottom marker) {
	if len(m.peers) == 0 || len(rows) == 0 {
		return marker{}, marker{}
	}
	first, last := rows[0], rows[len(rows)-1]
	var above, below []int
	for i, pv := range peerRows {
		switch {
		case pv.less(first):
			above = append(above, i)
		case last.less(pv):
			below = append(below, i)
		}
	}
	budget := max(m.width/2, min(m.width, 8))
	if m.height == 1 && len(above) > 0 && len(below) > 0 {
		budget /= 2
	}
	return m.edgeMarker("↑", above, budget), m.edgeMarker("↓", below, budget)
}

// edgeMarker names peers after arrow in at most budget cells: " ↑ ann,
// bob", then " +N" for the names that do not fit; the first name is cut
// rather than left out.
func (m *Model) edgeMarker(arrow string, peers []int, budget int) marker {
	if len(peers) == 0 || budget < 4 {
		return marker{}
	}
	method := m.buf.method
	mk := marker{parts: []markPart{{" " + arrow + " ", styText}}}
	mk.w = 2 + method.StringWidth(arrow)
	for i, pi := range peers {
		p := &m.peers[pi]
		sep := 0
		if i > 0 {
			sep = 2
		}
		rest := len(peers) - i - 1
		more := 0
		if rest > 0 {
			more = 2 + len(strconv.Itoa(rest))
		}
		name := p.Name
		room := budget - mk.w - sep - more
		if nw := method.StringWidth(name); nw > room {
			if i > 0 {
				mk.parts = append(mk.parts, markPart{" +" + strconv.Itoa(len(peers)-i), styText})
				mk.w += 2 + len(strconv.Itoa(len(peers)-i))
				return mk
			}
			name = shorten(method, name, max(room, 1))
		}
		if i > 0 {
			mk.parts = append(mk.parts, markPart{", ", styText})
		}
		mk.parts = append(mk.parts, markPart{name, p.label})
		mk.w += sep + method.StringWidth(name)
	}
	if mk.w > budget {
		return marker{} // a view too narrow to name anyone
	}
	return mk
}

// writeMarker writes an edge marker, leaving the base text style on.
func (m *Model) writeMarker(w *rowWriter, mk marker) {
	for _, p := range mk.parts {
		if p.style == styText {
			w.sb.WriteString(p.text)
			continue
		}
		s := m.sty.pairs[p.style]
		w.sb.WriteString(s.pre)
		w.sb.WriteString(p.text)
		w.sb.WriteString(s.post)
		w.sb.WriteString(m.sty.pairs[styText].pre) // the label's reset ended it
	}
}

// truncate cuts s to at most w cells (as measured by method) at a
// grapheme boundary, marking the cut with an ellipsis.
func truncate(method ansi.Method, s string, w int) string {
	if method.StringWidth(s) <= w {
		return s
	}
	return method.Truncate(s, w, "…")
}

var blank = strings.Repeat(" ", 256)

func spaces(n int) string {
	if n <= 0 {
		return ""
	}
	if n <= len(blank) {
		return blank[:n]
	}
	return strings.Repeat(" ", n)
}
