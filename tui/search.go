package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/display"
	"github.com/collab-editor/collab/notebook"
)

// Two ways to find notes, both from the notebook's view caches (no note is
// loaded): / filters the notes list to those whose title or text holds the
// query; ctrl+f searches every note's lines and opens one at its match.
// Searches run off the loop, the newest query's result winning.

// searchQuery is a search in progress or done.
type searchQuery struct {
	in      *lineInput
	gen     int    // of the newest search started
	query   string // whose results are shown
	results []notebook.SearchResult
	err     error
}

type searchResultMsg struct {
	gen     int
	query   string
	results []notebook.SearchResult
	err     error
}

// maxSearchLines bounds the lines kept per note for the search screen.
const maxSearchLines = 50

// rerun searches again (the notebook changed).
func (q *searchQuery) rerun(a *App) tea.Cmd {
	q.gen = 0
	return q.run(a)
}

// run searches for the input's text if it changed.
func (q *searchQuery) run(a *App) tea.Cmd {
	text := q.in.ed.Text()
	if text == q.query && q.gen > 0 {
		return nil
	}
	if text == "" {
		q.query, q.results, q.err = "", nil, nil
		q.gen++
		return nil
	}
	a.searchGen++
	q.gen = a.searchGen
	nb, gen := a.nb, q.gen
	return func() tea.Msg {
		res, err := nb.Search(text, notebook.SearchOptions{MaxLines: maxSearchLines})
		return searchResultMsg{gen: gen, query: text, results: res, err: err}
	}
}

func (a *App) onSearchResult(m searchResultMsg) {
	for _, q := range []*searchQuery{a.list.filter, a.searchScreen.q()} {
		if q != nil && q.gen == m.gen {
			q.query, q.results, q.err = m.query, m.results, m.err
		}
	}
	if a.searchScreen != nil {
		a.searchScreen.clamp()
	}
	if f := a.list.filter; f != nil && f.gen == m.gen {
		a.list.sel = 0
	}
}

// ---- the notes list's filter ----

// openFilter starts filtering the list (/).
func (a *App) openFilter() {
	a.list.filter = &searchQuery{in: newLineInput(a, "", max(1, a.w-12))}
	a.list.sel, a.list.top = 0, 0
}

// shown is what the list shows: every note, or the filter's matches.
func (l *listState) shown() []notebook.Summary {
	f := l.filter
	if f == nil || f.query == "" {
		return l.notes
	}
	out := make([]notebook.Summary, 0, len(f.results))
	for _, r := range f.results {
		out = append(out, r.Summary)
	}
	return out
}

// filterMatch is the filter's first match in note id, where enter opens it.
func (l *listState) filterMatch(id crdt.DocumentID) *matchAt {
	if l.filter == nil {
		return nil
	}
	for _, r := range l.filter.results {
		if r.ID == id && len(r.Lines) > 0 {
			return &matchAt{pos: r.Lines[0].Offset, length: r.Lines[0].Length}
		}
	}
	return nil
}

// filterKey handles keys while the filter's field has the focus: typing
// filters, ↑/↓ choose, enter opens (at the first match), esc clears.
func (a *App) filterKey(msg tea.KeyPressMsg) tea.Cmd {
	l := &a.list
	switch {
	case key.Matches(msg, dialogKeys.Cancel):
		l.filter = nil
		return nil
	case key.Matches(msg, listKeys.Open):
		if n, ok := l.selected(); ok {
			return a.openNoteAt(n.ID, l.filterMatch(n.ID))
		}
		return nil
	case key.Matches(msg, listKeys.Up) && msg.Keystroke() != "k":
		l.sel = max(0, l.sel-1)
		return nil
	case key.Matches(msg, listKeys.Down):
		l.sel = min(len(l.shown())-1, l.sel+1)
		return nil
	case msg.Keystroke() == "ctrl+c":
		return a.requestQuit()
	}
	l.filter.in.update(msg)
	return l.filter.run(a)
}

// filterRow is the footer while filtering.
func (a *App) filterRow() string {
	f := a.list.filter
	status := ""
	switch {
	case f.err != nil:
		status = " " + friendlyError(f.err)
	case f.query != "":
		status = fmt.Sprintf(" %d of %d notes", len(f.results), len(a.list.notes))
	}
	label := " Filter: "
	f.in.setWidth(max(1, a.w-len(label)-ansi.StringWidth(status)-1))
	return a.st.hintKey.Render(label) + f.in.view() + " " + a.st.dim.Render(status)
}

// ---- search across every note (ctrl+f on the list) ----

// searchScreen lists every matching line of every note.
type searchScreen struct {
	query    *searchQuery
	sel, top int // index into rows()
}

func (s *searchScreen) q() *searchQuery {
	if s == nil {
		return nil
	}
	return s.query
}

// hitRow is one row of results: a note's title, or one of its lines.
type hitRow struct {
	res  *notebook.SearchResult
	line int // index in res.Lines; -1 for the title row
}

func (s *searchScreen) rows() []hitRow {
	var out []hitRow
	for i := range s.query.results {
		r := &s.query.results[i]
		out = append(out, hitRow{res: r, line: -1})
		for j := range r.Lines {
			out = append(out, hitRow{res: r, line: j})
		}
	}
	return out
}

func (s *searchScreen) clamp() {
	s.sel = clampSel(s.sel, len(s.rows()))
}

func (a *App) openSearchScreen() {
	a.searchScreen = &searchScreen{query: &searchQuery{in: newLineInput(a, "", max(1, a.w-12))}}
	a.screen = screenSearch
}

func (a *App) searchKey(msg tea.KeyPressMsg) tea.Cmd {
	s := a.searchScreen
	rows := s.rows()
	switch {
	case key.Matches(msg, dialogKeys.Cancel):
		a.searchScreen = nil
		a.screen = screenList
		return a.loadList()
	case msg.Keystroke() == "ctrl+c":
		return a.requestQuit()
	case msg.Keystroke() == "up" || msg.Keystroke() == "ctrl+p":
		s.sel = max(0, s.sel-1)
		return nil
	case msg.Keystroke() == "down" || msg.Keystroke() == "ctrl+n":
		s.sel = clampSel(s.sel+1, len(rows))
		return nil
	case msg.Keystroke() == "pgup":
		s.sel = max(0, s.sel-max(1, a.h-4))
		return nil
	case msg.Keystroke() == "pgdown":
		s.sel = clampSel(s.sel+max(1, a.h-4), len(rows))
		return nil
	case key.Matches(msg, listKeys.Open):
		if s.sel >= len(rows) {
			return nil
		}
		row := rows[s.sel]
		var at *matchAt
		switch {
		case row.line >= 0:
			l := row.res.Lines[row.line]
			at = &matchAt{pos: l.Offset, length: l.Length}
		case len(row.res.Lines) > 0:
			at = &matchAt{pos: row.res.Lines[0].Offset, length: row.res.Lines[0].Length}
		}
		a.searchScreen = nil
		return a.openNoteAt(row.res.ID, at)
	}
	s.query.in.update(msg)
	s.sel = 0
	return s.query.run(a)
}

func (s *searchScreen) view(a *App) string {
	q := s.query
	right := " "
	switch {
	case q.err != nil:
		right = " " + friendlyError(q.err) + " "
	case q.query != "":
		lines := 0
		for _, r := range q.results {
			lines += r.Matches
		}
		right = " " + plural(lines, "match", "matches") + " in " + plural(len(q.results), "note", "notes") + " "
	}
	out := []string{a.bar(" Search all notes", right)}
	label := " Search: "
	q.in.setWidth(max(1, a.w-len(label)-1))
	out = append(out, a.st.hintKey.Render(label)+q.in.view())
	body := a.h - 3
	rows := s.rows()
	if q.query != "" && len(rows) == 0 {
		out = append(out, a.st.dim.Render(" No note holds “"+display.Title(q.query)+"”."))
	}
	s.top = scrollTo(s.sel, s.top, body)
	for i := s.top; i < len(rows) && i < s.top+body; i++ {
		row := rows[i]
		var line string
		if row.line < 0 {
			line = " " + a.st.dlgTitle.Render(display.Title(row.res.Title))
		} else {
			l := row.res.Lines[row.line]
			num := fmt.Sprintf("%5d  ", l.Line)
			line = a.st.dim.Render(num) + highlight(a, sanitizeLine(l.Text), l.Column, l.Length)
		}
		line = ansi.Truncate(line, a.w, "…")
		if i == s.sel {
			line = a.st.selected.Render(padRight(ansi.Strip(line), a.w))
		}
		out = append(out, line)
	}
	return fitLines(out, a.h-1) + "\n" + a.footer("enter", "open at the match", "↑/↓", "choose", "esc", "back")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// highlight marks the match in a result line.
func highlight(a *App, line string, col, n int) string {
	r := []rune(line)
	if col < 0 || col+n > len(r) {
		return line
	}
	return string(r[:col]) + a.st.banner.Render(string(r[col:col+n])) + string(r[col+n:])
}

// sanitizeLine keeps control characters a peer may have typed from
// reaching the terminal: a tab shows as a space, others as �, one rune for
// one so the match's column stays right.
func sanitizeLine(s string) string {
	isCtrl := func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }
	if !strings.ContainsFunc(s, isCtrl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t':
			return ' '
		case isCtrl(r):
			return '�'
		}
		return r
	}, s)
}
