package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// findBar is the editor screen's find-in-note bar (the footer row).
type findBar struct {
	input   *lineInput
	origin  int // where the search started
	noMatch bool
}

const findLabel = " Find: "

func (s *session) openFind(a *App) {
	q := ""
	if s.ed.HasSelection() {
		q = s.ed.SelectedText()
	}
	s.find = &findBar{input: newLineInput(a, firstLine(q), max(1, s.w-len(findLabel)-12)), origin: s.ed.CursorPos()}
	if start, _, ok := s.ed.Selection(); ok {
		s.find.origin = start
	}
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

func (a *App) findKey(msg tea.KeyPressMsg) tea.Cmd {
	s := a.sess
	f := s.find
	q := f.input.ed.Text()
	switch {
	case key.Matches(msg, findKeys.Close):
		s.find = nil
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
	f.input.update(msg)
	if f.input.ed.Text() != q {
		s.findLive()
	}
	s.sendCursor()
	return nil
}

func (f *findBar) view(a *App) string {
	w := a.w
	status := ""
	if f.noMatch {
		status = " no match"
	}
	statusW := ansi.StringWidth(status)
	inW := max(1, w-len(findLabel)-statusW-1)
	f.input.setWidth(inW)
	line := a.st.hintKey.Render(findLabel) + f.input.view()
	if status != "" {
		line += " " + a.st.err.Render(status)
	}
	return line
}

func (f *findBar) setWidthMethod(m ansi.Method) { f.input.ed.SetWidthMethod(m) }

func (f *findBar) cursor(y int) *tea.Cursor {
	return tea.NewCursor(len(findLabel)+f.input.cursorX(), y)
}
