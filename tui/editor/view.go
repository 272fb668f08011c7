package editor

import (
	"image/color"
	"strings"

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
// Cursor for the real terminal cursor).
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
	if m.markdown {
		// Compile every style the visible rows need before writing (the
		// writer holds the slice).
		for v, more, y := m.vposOf(m.top), true, 0; more && y < m.height; y++ {
			lay := m.buf.layout(v.li, m.width)
			for _, mask := range m.mdMasks(v.li, lay) {
				if mask != 0 {
					m.mdStyle(mask)
				}
			}
			v, more = m.nextRow(v)
		}
		w.md = m.mdPairs
	}
	v, more := m.vposOf(m.top), true
	for y := 0; y < m.height; y++ {
		if y > 0 {
			sb.WriteByte('\n')
		}
		if !more {
			sb.WriteString(w.pairs[styText].pre)
			sb.WriteString(spaces(m.width))
			sb.WriteString(w.pairs[styText].post)
			continue
		}
		m.renderRow(&w, v, selS, selE, peerRows)
		v, more = m.nextRow(v)
	}
	return sb.String()
}

func (m *Model) renderRow(w *rowWriter, v vpos, selS, selE int, peerRows []vpos) {
	sb := w.sb
	ln := m.buf.lines[v.li]
	lay := m.buf.layout(v.li, m.width)
	from, to := lay.rowGlyphs(v.r)
	text := m.buf.text
	var md []mdMask
	if m.markdown {
		md = m.mdMasks(v.li, lay)
	}
	x := 0
	// Each row opens and closes the base text style, so rows stand alone
	// and the padding carries the base style (e.g. a background).
	base := w.pairs[styText]
	sb.WriteString(base.pre)
	w.cur = styText
	for gi := from; gi < to; gi++ {
		g := lay.gs[gi]
		if x+int(g.w) > m.width {
			break // a hanging space or a glyph wider than the view
		}
		pos := ln.start + int(g.off)
		r := text[pos]
		id := m.pairs(text, pos, pos+int(g.n), selS, selE, r == '\t' || isControl(r))
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
			for _, c := range text[pos : pos+int(g.n)] {
				sb.WriteRune(c)
			}
		}
		x += int(g.w)
	}
	if v.r == lay.rowCount()-1 && x < m.width {
		// The cell after a line's text shows a peer cursor there, or that
		// the selection includes the newline.
		eol := ln.start + ln.n
		id := m.pairs(text, eol, eol+1, selS, selE, false)
		if id != styText && (eol < len(text) || id != stySel) {
			w.style(id)
			sb.WriteByte(' ')
			x++
		}
	}
	w.end()
	x = m.writeLabels(sb, v, x, peerRows)
	sb.WriteString(spaces(m.width - x))
	sb.WriteString(base.post)
}

// pairs picks the style of the glyph [pos, end): a peer's cursor first, then
// the own selection, then a peer's selection.
func (m *Model) pairs(text []rune, pos, end, selS, selE int, ctrl bool) int {
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

// writeLabels writes the names of peers whose cursor is on row v after the
// text, separated by a space, truncated to the free cells.
func (m *Model) writeLabels(sb *strings.Builder, v vpos, x int, peerRows []vpos) int {
	for i, pv := range peerRows {
		free := m.width - x - 1
		if pv != v || free < 2 {
			continue
		}
		name := truncate(m.buf.method, m.peers[i].Name, free)
		if name == "" {
			continue
		}
		p := m.sty.pairs[m.peers[i].label]
		sb.WriteByte(' ')
		sb.WriteString(p.pre)
		sb.WriteString(name)
		sb.WriteString(p.post)
		sb.WriteString(m.sty.pairs[styText].pre) // the label's reset ended it
		x += 1 + m.buf.method.StringWidth(name)
	}
	return x
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
