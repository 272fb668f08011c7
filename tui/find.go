package tui

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/collab-editor/collab/tui/editor"
)

// findBar is the editor screen's find-and-replace bar: the footer row, and
// a second row for the replacement once tab opens it.
type findBar struct {
	input   *lineInput // the query
	repl    *lineInput // the replacement; nil until tab opens it
	inRepl  bool       // typing goes to the replacement
	origin  int        // where the search started
	noMatch bool
	said    string // what the last replace-all did, until the next key

	// The matches of countQuery in the text at revision countRev.
	countQuery string
	countRev   uint64
	matches    [][2]int
}

const (
	findLabel    = " Find: "
	replaceLabel = " Replace: "
)

// openFind opens the bar. The query is the selection, else the last
// query, selected so typing replaces it and enter repeats it.
func (s *session) openFind(a *App) {
	q, selected := s.lastFind, true
	if s.ed.HasSelection() {
		q, selected = firstLine(s.ed.SelectedText()), false
	}
	f := &findBar{input: newLineInput(a, q, max(1, s.w-len(findLabel)-12)), origin: s.ed.CursorPos()}
	if selected && q != "" {
		f.input.ed.Select(0, f.input.ed.Len())
	}
	if start, _, ok := s.ed.Selection(); ok {
		f.origin = start
	}
	if s.lastReplace != "" {
		f.repl = newLineInput(a, s.lastReplace, max(1, s.w-len(replaceLabel)-2))
	}
	s.find = f
	s.layout(s.w, s.h)
}

// closeFind closes the bar, remembering its query and replacement.
func (s *session) closeFind() {
	if f := s.find; f != nil {
		s.lastFind = f.input.ed.Text()
		if f.repl != nil {
			s.lastReplace = f.repl.ed.Text()
		}
	}
	s.find = nil
	s.layout(s.w, s.h)
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}

// findLive selects the first match from where the search started as the
// query is typed.
func (s *session) findLive() {
	f := s.find
	q := f.input.ed.Text()
	if q == "" {
		f.noMatch = false
		s.ed.SetCursorPos(f.origin)
		return
	}
	start, end, ok := s.ed.Find(q, f.origin)
	f.noMatch = !ok
	if ok {
		s.ed.Select(start, end)
	}
}

// count returns the matches of the query in the note and which one is
// selected (1-based; 0: none), recounted only when the query or the text
// changed.
func (f *findBar) count(ed *editor.Model) (current, total int) {
	q := f.input.ed.Text()
	if q != f.countQuery || ed.Revision() != f.countRev {
		f.countQuery, f.countRev, f.matches = q, ed.Revision(), ed.FindAll(q)
	}
	if s, e, ok := ed.Selection(); ok {
		for i, m := range f.matches {
			if m[0] == s && m[1] == e {
				current = i + 1
			}
		}
	}
	return current, len(f.matches)
}

func (a *App) findKey(msg tea.KeyPressMsg) tea.Cmd {
	s := a.sess
	f := s.find
	q := f.input.ed.Text()
	f.said = ""
	switch {
	case key.Matches(msg, findKeys.Close):
		s.closeFind()
		return nil
	case key.Matches(msg, findKeys.ReplaceAll):
		a.replaceAll()
		return nil
	case key.Matches(msg, findKeys.Switch):
		if f.repl == nil {
			f.repl = newLineInput(a, "", max(1, s.w-len(replaceLabel)-2))
			s.layout(s.w, s.h)
		}
		f.inRepl = !f.inRepl
		return nil
	case f.inRepl && key.Matches(msg, findKeys.Next) && msg.Keystroke() == "enter":
		a.replaceOne()
		return nil
	case key.Matches(msg, findKeys.Next):
		if q != "" {
			f.noMatch = !s.ed.FindNext(q)
		}
		return nil
	case key.Matches(msg, findKeys.Prev):
		if q != "" {
			f.noMatch = !s.ed.FindPrev(q)
		}
		return nil
	case key.Matches(msg, editKeys.Quit):
		return a.requestQuit()
	}
	if f.inRepl {
		f.repl.update(msg)
		return nil
	}
	f.input.update(msg)
	if f.input.ed.Text() != q {
		s.findLive()
	}
	s.sendCursor()
	return nil
}

// replaceOne replaces the selected match and selects the next one.
func (a *App) replaceOne() {
	s, f := a.sess, a.sess.find
	q := f.input.ed.Text()
	if q == "" {
		return
	}
	cur, _ := f.count(s.ed)
	if cur == 0 { // nothing selected yet: go to a match first
		f.noMatch = !s.ed.FindNext(q)
		return
	}
	start, end, _ := s.ed.Selection()
	repl := f.repl.ed.Text()
	s.userEdit(a, func() []editor.Splice { return s.ed.Replace(start, end, repl) })
	f.noMatch = !s.ed.FindNext(q)
}

// replaceAll replaces every match at once: one undo step.
func (a *App) replaceAll() {
	s, f := a.sess, a.sess.find
	q := f.input.ed.Text()
	if q == "" {
		return
	}
	repl := ""
	if f.repl != nil {
		repl = f.repl.ed.Text()
	}
	n := 0
	s.userEdit(a, func() []editor.Splice {
		splices, count := s.ed.ReplaceAll(q, repl)
		n = count
		return splices
	})
	f.noMatch = n == 0
	if n > 0 {
		f.said = fmt.Sprintf(" replaced %d (ctrl+z undoes all)", n)
	}
}

// rows is how many rows the bar takes.
func (f *findBar) rows() int {
	if f.repl != nil {
		return 2
	}
	return 1
}

func (f *findBar) view(a *App) string {
	w := a.w
	status := ""
	st := a.st.dim
	if q := f.input.ed.Text(); f.said != "" {
		status, st = f.said, a.st.ok
	} else if q != "" {
		cur, total := f.count(a.sess.ed)
		switch {
		case total == 0:
			status, st = " no match", a.st.err
		case cur > 0:
			status = fmt.Sprintf(" %d/%d", cur, total)
		default:
			status = fmt.Sprintf(" %d matches", total)
		}
	}
	statusW := ansi.StringWidth(status)
	inW := max(1, w-len(findLabel)-statusW-1)
	f.input.setWidth(inW)
	line := a.st.hintKey.Render(findLabel) + f.input.view()
	if status != "" {
		line += " " + st.Render(status)
	}
	if f.repl == nil {
		return line
	}
	hint := "  enter replace · alt+enter all · tab find"
	if !f.inRepl {
		hint = "  tab to type here"
	}
	hint = ansi.Truncate(hint, max(0, w-len(replaceLabel)-12), "")
	f.repl.setWidth(max(1, w-len(replaceLabel)-ansi.StringWidth(hint)))
	return line + "\n" + a.st.hintKey.Render(replaceLabel) + f.repl.view() + a.st.dim.Render(hint)
}

func (f *findBar) setWidthMethod(m ansi.Method) {
	f.input.ed.SetWidthMethod(m)
	if f.repl != nil {
		f.repl.ed.SetWidthMethod(m)
	}
}

// cursor is the terminal cursor in the field being typed in; y is the
// screen's last row.
func (f *findBar) cursor(y int) *tea.Cursor {
	if f.inRepl && f.repl != nil {
		return tea.NewCursor(len(replaceLabel)+f.repl.cursorX(), y)
	}
	return tea.NewCursor(len(findLabel)+f.input.cursorX(), y-f.rows()+1)
}
