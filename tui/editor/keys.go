package editor

import (
	"strings"
	"unicode"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// KeyMap holds the editor's key bindings. Shift+movement extends the
// selection for every movement binding, so only unshifted keys are listed.
// The Emacs line keys people's shells taught them work too (ctrl+a/e/b/f,
// alt+b/f, ctrl+k/u/w/d/h, alt+d).
type KeyMap struct {
	Left, Right, Up, Down        key.Binding
	WordLeft, WordRight          key.Binding
	LineStart, LineEnd           key.Binding // visual row; pressed again: logical line
	PageUp, PageDown             key.Binding
	DocStart, DocEnd             key.Binding
	Backspace, Delete            key.Binding
	DeleteWordLeft, DeleteWordRt key.Binding
	KillToEnd, KillToStart       key.Binding
	Newline, PlainNewline, Tab   key.Binding
	Outdent, ToggleCheckbox      key.Binding
	SelectAll, ClearSelection    key.Binding
	Copy, Cut, Paste             key.Binding
	Undo, Redo                   key.Binding
}

// DefaultKeyMap returns the usual bindings. Copy is ctrl+c: it only acts when
// text is selected (see Model.HasSelection).
func DefaultKeyMap() KeyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return KeyMap{
		Left:           b("←/ctrl+b", "left", "left", "ctrl+b"),
		Right:          b("→/ctrl+f", "right", "right", "ctrl+f"),
		Up:             b("↑", "up", "up"),
		Down:           b("↓", "down", "down"),
		WordLeft:       b("ctrl+←/alt+b", "word left", "ctrl+left", "alt+left", "alt+b"),
		WordRight:      b("ctrl+→/alt+f", "word right", "ctrl+right", "alt+right", "alt+f"),
		LineStart:      b("home/ctrl+a", "line start (again: the whole line's)", "home", "ctrl+a"),
		LineEnd:        b("end/ctrl+e", "line end (again: the whole line's)", "end", "ctrl+e"),
		PageUp:         b("pgup", "page up", "pgup"),
		PageDown:       b("pgdown", "page down", "pgdown"),
		DocStart:       b("ctrl+home", "start of the note", "ctrl+home"),
		DocEnd:         b("ctrl+end", "end of the note", "ctrl+end"),
		Backspace:      b("backspace/ctrl+h", "delete left", "backspace", "ctrl+h"),
		Delete:         b("delete/ctrl+d", "delete right", "delete", "ctrl+d"),
		DeleteWordLeft: b("ctrl+w/alt+⌫", "delete the word left", "ctrl+backspace", "alt+backspace", "ctrl+w"),
		DeleteWordRt:   b("alt+d/ctrl+del", "delete the word right", "ctrl+delete", "alt+delete", "alt+d"),
		KillToEnd:      b("ctrl+k", "cut to the line's end (at the end: join the next line)", "ctrl+k"),
		KillToStart:    b("ctrl+u", "cut to the line's start", "ctrl+u"),
		Newline:        b("enter", "new line (continues a list item or quote; ends an empty one)", "enter"),
		PlainNewline:   b("shift+enter/ctrl+j", "new line, nothing continued", "shift+enter", "ctrl+j"),
		Tab:            b("tab", "indent a list item or the selected lines; else spaces to the next stop", "tab"),
		Outdent:        b("shift+tab", "outdent the line or the selected lines", "shift+tab"),
		ToggleCheckbox: b("alt+x/alt+enter", "tick or untick the line's checkbox (adds one)", "alt+x", "alt+enter", "ctrl+enter"),
		SelectAll:      b("alt+a", "select all", "alt+a", "ctrl+shift+a"),
		ClearSelection: b("esc", "clear the selection", "esc"),
		Copy:           b("ctrl+c", "copy the selection", "ctrl+c", "ctrl+insert"),
		Cut:            b("ctrl+x", "cut the selection", "ctrl+x", "shift+delete"),
		Paste:          b("ctrl+v", "paste", "ctrl+v", "shift+insert"),
		Undo:           b("ctrl+z", "undo your own edit", "ctrl+z"),
		Redo:           b("ctrl+y", "redo", "ctrl+y", "ctrl+shift+z"),
	}
}

// keyName is the keystroke with shift removed (reported separately), so
// "shift+ctrl+left" matches WordLeft. Keys whose shifted form has its own
// meaning (shift+enter, shift+delete, shift+insert, ctrl+shift+z) are
// matched on the full keystroke first.
func keyName(k tea.KeyPressMsg) (name string, shift bool) {
	key := tea.Key(k)
	shift = key.Mod&tea.ModShift != 0
	key.Mod &^= tea.ModShift
	key.Text = ""
	return key.Keystroke(), shift
}

type strKey string

func (s strKey) String() string { return string(s) }

func (m *Model) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	km := &m.KeyMap
	full := strKey(msg.Keystroke())
	m.killing, m.killed = m.killed, false // kills in a row add up
	switch {
	case key.Matches(full, km.ToggleCheckbox):
		m.follow = ""
		m.toggleCheckbox()
		return nil
	case key.Matches(full, km.Outdent):
		m.follow = ""
		m.outdentKey()
		return nil
	case key.Matches(full, km.PlainNewline):
		m.follow = ""
		m.insert("\n", editNewline)
		return nil
	case key.Matches(full, km.Redo):
		m.follow = ""
		m.doRedo()
		return nil
	case key.Matches(full, km.Cut):
		return m.cut()
	case key.Matches(full, km.Paste):
		m.follow = ""
		m.insert(m.clipboard, editPaste)
		return nil
	case key.Matches(full, km.Newline):
		m.follow = ""
		if !m.continueList() {
			m.insert("\n", editNewline)
		}
		return nil
	case key.Matches(full, km.Tab):
		// Before the text check: some terminals report Tab with Text "\t".
		m.follow = ""
		m.indentKey()
		return nil
	}
	mods := msg.Mod &^ (tea.ModShift | tea.ModCapsLock | tea.ModNumLock)
	if msg.Text != "" && mods == 0 {
		m.follow = ""
		m.insert(normalizeNewlines(msg.Text), editType)
		return nil
	}
	name, shift := keyName(msg)
	k := strKey(name)
	move := func(pos int) { m.follow = ""; m.moveTo(pos, shift); m.goalX = -1 }
	switch {
	case key.Matches(k, km.Left):
		if s, _, ok := m.Selection(); ok && !shift {
			move(s)
		} else {
			move(m.prevGrapheme(m.cursor))
		}
	case key.Matches(k, km.Right):
		if _, e, ok := m.Selection(); ok && !shift {
			move(e)
		} else {
			move(m.nextGrapheme(m.cursor))
		}
	case key.Matches(k, km.Up):
		m.follow = ""
		m.vertical(-1, shift)
	case key.Matches(k, km.Down):
		m.follow = ""
		m.vertical(1, shift)
	case key.Matches(k, km.PageUp):
		m.follow = ""
		m.page(-1, shift)
	case key.Matches(k, km.PageDown):
		m.follow = ""
		m.page(1, shift)
	case key.Matches(k, km.WordLeft):
		move(m.wordLeft(m.cursor))
	case key.Matches(k, km.WordRight):
		move(m.wordRight(m.cursor))
	case key.Matches(k, km.LineStart):
		move(m.home())
	case key.Matches(k, km.LineEnd):
		move(m.end())
	case key.Matches(k, km.DocStart):
		move(0)
	case key.Matches(k, km.DocEnd):
		move(m.Len())
	case key.Matches(k, km.Backspace):
		m.deleteOr(m.prevGrapheme(m.cursor), m.cursor, editBackspace)
	case key.Matches(k, km.Delete):
		m.deleteOr(m.cursor, m.nextGrapheme(m.cursor), editDelete)
	case key.Matches(k, km.DeleteWordLeft):
		m.deleteOr(m.wordLeft(m.cursor), m.cursor, editOther)
	case key.Matches(k, km.DeleteWordRt):
		m.deleteOr(m.cursor, m.wordRight(m.cursor), editOther)
	case key.Matches(k, km.KillToEnd):
		m.follow = ""
		m.killToEnd()
	case key.Matches(k, km.KillToStart):
		m.follow = ""
		m.killToStart()
	case key.Matches(k, km.SelectAll):
		m.anchor = 0
		m.cursor = m.Len()
		m.ensureVisible(m.cursor)
	case key.Matches(k, km.ClearSelection):
		m.anchor = -1
	case key.Matches(k, km.Copy):
		return m.copy()
	case key.Matches(k, km.Undo):
		m.follow = ""
		m.doUndo()
	}
	return nil
}

// insert replaces the selection (or inserts at the cursor) with s.
func (m *Model) insert(s string, kind editKind) {
	if s == "" {
		return
	}
	start, end, _ := m.Selection()
	if start != end {
		kind = editOther
	}
	m.edit(start, end, s, kind)
}

func (m *Model) deleteSelection() bool {
	s, e, ok := m.Selection()
	if ok {
		m.edit(s, e, "", editOther)
	}
	return ok
}

func (m *Model) copy() tea.Cmd {
	t := m.SelectedText()
	if t == "" {
		return nil
	}
	m.clipboard = t
	if m.osc52 {
		return tea.SetClipboard(t)
	}
	return nil
}

func (m *Model) cut() tea.Cmd {
	cmd := m.copy()
	if cmd != nil || m.HasSelection() {
		m.follow = ""
		m.deleteSelection()
	}
	return cmd
}

// vertical moves the cursor n visual rows, keeping the goal column.
func (m *Model) vertical(n int, shift bool) {
	if m.goalX < 0 {
		m.goalX = m.xOf(m.cursor)
	}
	goal := m.goalX
	v, moved := m.walk(m.vposOf(m.cursor), n)
	switch {
	case moved == 0 && n < 0:
		m.moveTo(0, shift)
	case moved == 0 && n > 0:
		m.moveTo(m.Len(), shift)
	default:
		m.moveTo(m.posInRow(v, goal), shift)
	}
	m.goalX = goal
}

// page moves the cursor and the viewport by a screen.
func (m *Model) page(dir int, shift bool) {
	n := max(m.height-1, 1) * dir
	m.ScrollBy(n)
	m.vertical(n, shift)
}

// home goes to the visual row's start; at a row start, to the logical line's.
func (m *Model) home() int {
	rs := m.rowStartOf(m.cursor)
	if rs != m.cursor {
		return rs
	}
	return m.buf.line(m.buf.lineOf(m.cursor)).start
}

// end goes to the visual row's end; at a row end, to the logical line's.
func (m *Model) end() int {
	v := m.vposOf(m.cursor)
	re := m.posInRow(v, 1<<30)
	if re != m.cursor {
		return re
	}
	ln := m.buf.line(v.li)
	return ln.start + ln.n
}

// column is pos's cell column within its logical line, for tab stops.
func (m *Model) column(pos int) int {
	li := m.buf.lineOf(pos)
	ln := m.buf.line(li)
	lay := m.buf.layout(li, m.width)
	x := 0
	for i, gi := 0, lay.glyphAt(pos-ln.start); i < gi; i++ {
		x += int(lay.gs[i].w)
	}
	return x
}

type runeClass int

const (
	classSpace runeClass = iota
	classWord
	classPunct
)

func classOf(r rune) runeClass {
	switch {
	case unicode.IsSpace(r):
		return classSpace
	case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '_' || r == '\u200d' || r >= 0x1F000:
		return classWord // marks, ZWJ and emoji keep clusters inside words
	default:
		return classPunct
	}
}

// wordRight skips spaces, then one run of word or punctuation characters.
func (m *Model) wordRight(pos int) int {
	b, n := &m.buf, m.buf.runes
	i := pos
	for i < n && classOf(b.at(i)) == classSpace {
		i++
	}
	if i < n {
		c := classOf(b.at(i))
		for i < n && classOf(b.at(i)) == c {
			i++
		}
	}
	if i < n {
		// Never stop inside a cluster (e.g. a flag's second regional indicator).
		if s := m.snap(i); s > pos {
			return s
		}
		return m.nextGrapheme(i)
	}
	return i
}

// wordLeft is wordRight backwards.
func (m *Model) wordLeft(pos int) int {
	b := &m.buf
	i := pos
	for i > 0 && classOf(b.at(i-1)) == classSpace {
		i--
	}
	if i > 0 {
		c := classOf(b.at(i - 1))
		for i > 0 && classOf(b.at(i-1)) == c {
			i--
		}
	}
	return m.snap(i)
}

func (m *Model) handleClick(ms tea.Mouse) {
	x, y := ms.X-m.originX, ms.Y-m.originY
	if x < 0 || y < 0 || x >= m.width || y >= m.height {
		return
	}
	switch ms.Button {
	case tea.MouseLeft:
		m.follow = ""
		pos := m.posAt(x, y)
		shift := ms.Mod&tea.ModShift != 0
		if shift && m.anchor < 0 {
			m.anchor = m.cursor
		} else if !shift {
			m.anchor = -1
		}
		m.cursor, m.goalX, m.breakGroup = m.snap(pos), -1, true
		m.drag = m.cursor
		if shift {
			m.drag = m.anchor
		}
	case tea.MouseWheelUp, tea.MouseWheelDown:
		m.handleWheel(ms)
	}
}

func (m *Model) handleDrag(ms tea.Mouse) {
	if m.drag < 0 || ms.Button != tea.MouseLeft {
		return
	}
	x, y := clamp(ms.X-m.originX, 0, m.width-1), ms.Y-m.originY
	switch {
	case y < 0:
		m.ScrollBy(-1)
		y = 0
	case y >= m.height:
		m.ScrollBy(1)
		y = m.height - 1
	}
	m.anchor = m.drag
	m.cursor, m.goalX = m.snap(m.posAt(x, y)), -1
}

// wheelRows is how far one wheel notch scrolls.
const wheelRows = 3

func (m *Model) handleWheel(ms tea.Mouse) {
	switch ms.Button {
	case tea.MouseWheelUp:
		m.ScrollBy(-wheelRows)
	case tea.MouseWheelDown:
		m.ScrollBy(wheelRows)
	}
}

// normalizeNewlines turns CRLF and lone CR (as pasted from some terminals)
// into LF, the only line separator the note uses.
func normalizeNewlines(s string) string {
	if !strings.ContainsRune(s, '\r') {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// deleteOr deletes the selection if there is one, else the runes from..to.
func (m *Model) deleteOr(from, to int, kind editKind) {
	m.follow = ""
	if !m.deleteSelection() {
		m.edit(from, to, "", kind)
	}
}
