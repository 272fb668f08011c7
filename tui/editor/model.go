package editor

import (
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/collab-editor/collab/crdt/splice"
)

// Splice is one text change in rune offsets, the CRDT's unit: delete Delete
// runes at Pos, then insert Insert there. Splices in a slice apply in order,
// each to the text left by the previous one. Package splice has the rules
// positions follow through them.
type Splice = splice.Splice

// ErrOutOfRange is returned (wrapped) when a remote splice does not fit the
// text; the app should resynchronise with SetTextFromRemote.
var ErrOutOfRange = splice.ErrOutOfRange

// Option configures a Model in New.
type Option func(*Model)

// WithNoColor draws selections and peers with reverse/underline instead of
// colours; the app passes true when NO_COLOR is set.
func WithNoColor(on bool) Option { return func(m *Model) { m.noColor = on } }

// WithStyles replaces the default styles.
func WithStyles(s Styles) Option { return func(m *Model) { m.styles = s; m.customStyles = true } }

// WithTabWidth sets the tab stop distance (default 4). The Tab key inserts
// spaces up to the next stop, because a literal tab renders differently in
// every peer's editor; tabs received from peers are drawn this many cells wide.
func WithTabWidth(n int) Option { return func(m *Model) { m.buf.tabWidth = max(n, 1) } }

// WithWidthMethod sets how the cells of a grapheme cluster are counted; it
// must be the terminal renderer's (Bubble Tea's default is ansi.WcWidth,
// ansi.GraphemeWidth once the terminal reports Unicode mode 2027). See
// SetWidthMethod.
func WithWidthMethod(method ansi.Method) Option { return func(m *Model) { m.buf.method = method } }

// WithOSC52 controls whether copy and cut also set the system clipboard via
// OSC 52 (default true). The internal clipboard is always used.
func WithOSC52(on bool) Option { return func(m *Model) { m.osc52 = on } }

// WithUndoLimit caps the undo history (default 500 entries).
func WithUndoLimit(n int) Option { return func(m *Model) { m.undoLimit = max(n, 1) } }

// Model is the editor component. It does not own the document: local edits
// come out of Update as Splices for the app to apply to the CRDT, and remote
// changes go in through ApplyRemote or SetTextFromRemote. Use it through a
// pointer; the zero value is not ready, call New.
type Model struct {
	KeyMap KeyMap

	buf           buffer
	width, height int
	originX       int
	originY       int

	cursor int // rune offset, always on a grapheme boundary
	anchor int // selection anchor; -1 when nothing is selected
	goalX  int // column kept while moving up/down; -1 when unset
	top    int // rune offset of the first visible row's start
	drag   int // where the current mouse drag started; -1 when none

	focused      bool
	noColor      bool
	osc52        bool
	styles       Styles
	customStyles bool
	sty          renderStyles
	markdown     bool
	mdIDs        map[mdMask]int // compiled Markdown styles (mdStyle)
	mdPairs      []sgr

	clipboard string
	// killed: this key cut with ctrl+k/u; killing: the key before did, so
	// this kill adds to the clipboard instead of replacing it.
	killed, killing bool

	undo, redo []undoEntry
	undoLimit  int
	breakGroup bool // the next edit starts a new undo entry

	peers  []peer
	follow string

	out []Splice // splices produced by the Update in progress
}

// New returns an empty, focused editor of size 80×24.
func New(opts ...Option) *Model {
	m := &Model{
		KeyMap:    DefaultKeyMap(),
		width:     80,
		height:    24,
		anchor:    -1,
		goalX:     -1,
		drag:      -1,
		focused:   true,
		osc52:     true,
		undoLimit: 500,
	}
	m.buf.tabWidth = 4
	for _, o := range opts {
		o(m)
	}
	if !m.customStyles {
		if m.noColor {
			m.styles = NoColorStyles()
		} else {
			m.styles = DefaultStyles()
		}
	}
	m.sty = compileStyles(m.styles)
	m.buf.setText("")
	return m
}

// SetStyles replaces the styles.
func (m *Model) SetStyles(s Styles) {
	m.styles = s
	m.sty = compileStyles(s)
	m.mdIDs, m.mdPairs = nil, nil
	m.compilePeers()
}

// SetSize sets the viewport size in cells. Rows are re-wrapped lazily.
func (m *Model) SetSize(width, height int) {
	m.width, m.height = max(width, 1), max(height, 1)
	m.top = m.rowStartOf(m.top)
	m.clampTop()
	m.ensureVisible(m.cursor)
}

// SetWidthMethod switches how cluster widths are counted, to match the
// renderer's (tea.ModeReportMsg for ansi.ModeUnicodeCore tells the app when
// Bubble Tea switches to grapheme widths). Every line is re-laid out.
func (m *Model) SetWidthMethod(method ansi.Method) {
	m.buf.setMethod(method)
	m.top = m.rowStartOf(m.top)
	m.clampTop()
	m.ensureVisible(m.cursor)
}

// WidthMethod is how cluster widths are counted.
func (m *Model) WidthMethod() ansi.Method { return m.buf.method }

// Width and Height return the viewport size.
func (m *Model) Width() int  { return m.width }
func (m *Model) Height() int { return m.height }

// SetOrigin tells the editor where its top-left cell is on the screen, so
// mouse coordinates can be mapped and Cursor can return screen coordinates.
func (m *Model) SetOrigin(x, y int) { m.originX, m.originY = x, y }

// Focus and Blur switch input handling and the terminal cursor on and off.
func (m *Model) Focus()        { m.focused = true }
func (m *Model) Blur()         { m.focused = false }
func (m *Model) Focused() bool { return m.focused }

// SetText replaces the whole text, e.g. when a note is opened, and resets the
// cursor, selection, viewport and undo history. It produces no splices.
func (m *Model) SetText(s string) {
	m.buf.setText(s)
	m.cursor, m.anchor, m.goalX, m.top, m.drag = 0, -1, -1, 0, -1
	m.undo, m.redo = nil, nil
	for i := range m.peers {
		m.peers[i].Cursor = clamp(m.peers[i].Cursor, 0, m.Len())
		m.peers[i].Anchor = clamp(m.peers[i].Anchor, 0, m.Len())
	}
}

// Text returns the whole text. It allocates; avoid it on the hot path.
func (m *Model) Text() string { return string(m.buf.text) }

// Len is the text length in runes.
func (m *Model) Len() int { return m.buf.runes }

// Slice returns text[start:end] in runes, clamped to the text.
func (m *Model) Slice(start, end int) string {
	start, end = clamp(start, 0, m.Len()), clamp(end, 0, m.Len())
	if end < start {
		return ""
	}
	return m.buf.str(start, end)
}

// CursorPos returns the cursor's rune offset.
func (m *Model) CursorPos() int { return m.cursor }

// SetCursorPos moves the cursor (snapped to a grapheme boundary), clears the
// selection and scrolls it into view.
func (m *Model) SetCursorPos(pos int) {
	m.anchor = -1
	m.moveTo(pos, false)
}

// Selection returns the selected rune range, if any.
func (m *Model) Selection() (start, end int, ok bool) {
	if m.anchor < 0 || m.anchor == m.cursor {
		return m.cursor, m.cursor, false
	}
	return min(m.anchor, m.cursor), max(m.anchor, m.cursor), true
}

// HasSelection reports whether text is selected; the app can use it to let
// ctrl+c copy when something is selected and quit otherwise.
func (m *Model) HasSelection() bool { _, _, ok := m.Selection(); return ok }

// Select selects [start, end) with the cursor at end and scrolls it into view.
func (m *Model) Select(start, end int) {
	m.anchor = m.snap(clamp(start, 0, m.Len()))
	m.moveTo(end, true)
}

// SelectedText returns the selected text ("" without a selection).
func (m *Model) SelectedText() string {
	s, e, ok := m.Selection()
	if !ok {
		return ""
	}
	return m.buf.str(s, e)
}

// Clipboard returns the internal clipboard.
func (m *Model) Clipboard() string { return m.clipboard }

// CanUndo and CanRedo report whether undo/redo have something to do.
func (m *Model) CanUndo() bool { return len(m.undo) > 0 }
func (m *Model) CanRedo() bool { return len(m.redo) > 0 }

// Update handles key presses, pastes and mouse events. It returns the
// splices the user's edit produced (apply them to the CRDT in order) and a
// command (e.g. OSC 52 clipboard). Other messages are ignored, so the app can
// pass everything through after handling its own keys.
func (m *Model) Update(msg tea.Msg) ([]Splice, tea.Cmd) {
	if !m.focused {
		return nil, nil
	}
	m.out = nil
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		cmd = m.handleKey(msg)
	case tea.PasteMsg:
		m.follow = ""
		m.insert(normalizeNewlines(msg.Content), editPaste)
	case tea.MouseClickMsg:
		m.handleClick(tea.Mouse(msg))
	case tea.MouseMotionMsg:
		m.handleDrag(tea.Mouse(msg))
	case tea.MouseReleaseMsg:
		m.drag = -1
	case tea.MouseWheelMsg:
		m.handleWheel(tea.Mouse(msg))
	}
	out := m.out
	m.out = nil
	return out, cmd
}

// snap moves pos back to the start of the grapheme cluster containing it.
func (m *Model) snap(pos int) int {
	pos = clamp(pos, 0, m.Len())
	li := m.buf.lineOf(pos)
	ln := m.buf.line(li)
	rel := pos - ln.start
	if rel >= ln.n {
		return ln.start + ln.n
	}
	lay := m.buf.layout(li, m.width)
	return ln.start + lay.glyphOff(lay.glyphAt(rel), ln.n)
}

// moveTo places the cursor, extending the selection when extend is set, and
// scrolls it into view.
func (m *Model) moveTo(pos int, extend bool) {
	pos = m.snap(pos)
	if extend {
		if m.anchor < 0 {
			m.anchor = m.cursor
		}
	} else {
		m.anchor = -1
	}
	m.cursor = pos
	m.breakGroup = true
	m.ensureVisible(m.cursor)
}

// nextGrapheme returns the offset after the grapheme at pos; a newline is
// one step.
func (m *Model) nextGrapheme(pos int) int {
	if pos >= m.Len() {
		return m.Len()
	}
	li := m.buf.lineOf(pos)
	ln := m.buf.line(li)
	rel := pos - ln.start
	if rel >= ln.n {
		return pos + 1 // over the '\n'
	}
	lay := m.buf.layout(li, m.width)
	g := lay.gs[lay.glyphAt(rel)]
	return ln.start + int(g.off+g.n)
}

// prevGrapheme returns the offset of the grapheme before pos.
func (m *Model) prevGrapheme(pos int) int {
	if pos <= 0 {
		return 0
	}
	li := m.buf.lineOf(pos)
	ln := m.buf.line(li)
	rel := pos - ln.start
	if rel == 0 {
		return pos - 1 // over the previous line's '\n'
	}
	lay := m.buf.layout(li, m.width)
	gi := lay.glyphAt(rel)
	if gi >= len(lay.gs) || int(lay.gs[gi].off) == rel {
		gi--
	}
	return ln.start + int(lay.gs[gi].off)
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

func runeLen(s string) int { return utf8.RuneCountInString(s) }
