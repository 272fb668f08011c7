package editor

import (
	"slices"
	"strconv"
	"strings"

	"github.com/collab-editor/collab/crdt/splice"
)

// Edits that touch several places or reshape lines: killing to a line's
// end or start, list items continued on enter, indenting lines, ticking a
// checkbox, replacing every match. Each is one undo step.

// editMany applies ops (disjoint, ascending, in the current text's
// coordinates) as one of the user's own edits, one undo step. The cursor
// and the selection anchor follow the text they were on; the cursor goes
// after text inserted right at it.
func (m *Model) editMany(ops []Splice) {
	ops = slices.DeleteFunc(slices.Clone(ops), func(s Splice) bool { return s.IsNoop() })
	if len(ops) == 0 {
		return
	}
	// Highest first: as a sequence, each splice is then still where it
	// was meant to be.
	slices.Reverse(ops)
	cur, anc := m.cursor, m.anchor
	ancStick := splice.Before
	if anc > m.cursor {
		ancStick = splice.After
	}
	for _, o := range ops {
		cur = splice.Map(cur, o, splice.After)
		if anc >= 0 {
			anc = splice.Map(anc, o, ancStick)
		}
	}
	inv := m.applyOps(ops)
	if inv == nil {
		return
	}
	m.undo = append(m.undo, undoEntry{ops: inv, kind: editOther})
	if len(m.undo) > m.undoLimit {
		m.undo = slices.Delete(m.undo, 0, len(m.undo)-m.undoLimit)
	}
	m.redo = nil
	m.breakGroup = true
	m.cursor, m.goalX = m.snap(cur), -1
	if anc >= 0 {
		m.anchor = m.snap(anc)
	}
	m.ensureVisible(m.cursor)
}

// Replace replaces text[start:end] with text as the user's own edit (one
// undo step), puts the cursor after it and returns the splices to apply to
// the document: find's replace.
func (m *Model) Replace(start, end int, text string) []Splice {
	start, end = clamp(start, 0, m.Len()), clamp(end, 0, m.Len())
	if end < start {
		start, end = end, start
	}
	m.out = nil
	m.breakGroup = true
	m.edit(start, end, text, editOther)
	m.breakGroup = true
	out := m.out
	m.out = nil
	return out
}

// ReplaceAll replaces every match of query (smart case, as Find) with text
// as one undo step, and returns the splices to apply and how many matches
// were replaced.
func (m *Model) ReplaceAll(query, text string) ([]Splice, int) {
	matches := m.FindAll(query)
	if len(matches) == 0 {
		return nil, 0
	}
	ops := make([]Splice, len(matches))
	for i, r := range matches {
		ops[i] = Splice{Pos: r[0], Delete: r[1] - r[0], Insert: text}
	}
	m.out = nil
	m.anchor = -1
	m.editMany(ops)
	out := m.out
	m.out = nil
	return out, len(matches)
}

// lineRange is logical line li's rune range (newline excluded).
func (m *Model) lineRange(li int) (start, end int) {
	ln := m.buf.line(li)
	return ln.start, ln.start + ln.n
}

// kill deletes from..to into the clipboard, appending to what the previous
// kill took when kills follow each other (as Emacs does).
func (m *Model) kill(from, to int, prepend bool) {
	if from >= to {
		return
	}
	t := m.buf.str(from, to)
	switch {
	case !m.killing:
		m.clipboard = t
	case prepend:
		m.clipboard = t + m.clipboard
	default:
		m.clipboard += t
	}
	m.edit(from, to, "", editOther)
	m.killed = true
}

// killToEnd is ctrl+k: the rest of the line, or the newline at its end.
func (m *Model) killToEnd() {
	if m.HasSelection() {
		m.cut()
		return
	}
	_, end := m.lineRange(m.buf.lineOf(m.cursor))
	if m.cursor == end && end < m.Len() {
		end++
	}
	m.kill(m.cursor, end, false)
}

// killToStart is ctrl+u: the line before the cursor.
func (m *Model) killToStart() {
	if m.HasSelection() {
		m.cut()
		return
	}
	start, _ := m.lineRange(m.buf.lineOf(m.cursor))
	m.kill(start, m.cursor, true)
}

// listPrefix is the structure at the start of a Markdown line: indentation,
// quote markers, a list marker and a checkbox.
type listPrefix struct {
	indent    int // runes of leading spaces and tabs
	quoteEnd  int // end of the quote markers ("> > "), >= indent
	marker    string
	markerEnd int // end of the marker and the spaces after it; 0: no marker
	box       int // index of the checkbox's '[', -1: none
	checked   bool
	end       int // where the item's text starts
}

func parsePrefix(s []rune) listPrefix {
	p := listPrefix{box: -1}
	p.indent = skipSpace(s, 0)
	i := p.indent
	for i < len(s) && s[i] == '>' {
		i = skipSpace(s, i+1)
	}
	p.quoteEnd, p.end = i, i
	if j, ok := listMarker(s, i); ok && !isRule(s[i:]) {
		p.marker = string(s[i:j])
		p.markerEnd = skipSpace(s, j)
		p.end = p.markerEnd
		if k, checked, ok := checkbox(s, p.markerEnd); ok {
			p.box, p.checked = p.markerEnd, checked
			p.end = skipSpace(s, k)
		}
	}
	return p
}

// continueList is enter on a Markdown line: a list item or quote goes on
// in a new item (numbers counting up, a new checkbox unticked); enter on an
// item with no text ends the list (or outdents a nested item).
func (m *Model) continueList() bool {
	if !m.markdown || m.HasSelection() {
		return false
	}
	li := m.buf.lineOf(m.cursor)
	start, end := m.lineRange(li)
	s := m.buf.lineRunes(li)
	p := parsePrefix(s)
	if (p.marker == "" && p.quoteEnd == p.indent) || m.cursor-start < p.end {
		return false // not a list item or a quote, or enter inside the marker
	}
	if isBlank(s[p.end:]) {
		// An empty item: end the list here, or step out one level.
		if p.marker != "" && p.indent > 0 {
			m.editMany([]Splice{{Pos: start, Delete: min(p.indent, m.buf.tabWidth), Insert: ""}})
			return true
		}
		m.edit(start, end, "", editOther)
		return true
	}
	next := string(s[:p.quoteEnd])
	if p.marker != "" {
		marker := p.marker
		if n, err := strconv.Atoi(marker[:len(marker)-1]); err == nil {
			marker = strconv.Itoa(n+1) + marker[len(marker)-1:]
		}
		next += marker + strings.Repeat(" ", max(1, p.markerEnd-p.quoteEnd-runeLen(p.marker)))
		if p.box >= 0 {
			next += "[ ] "
		}
	}
	m.insert("\n"+next, editNewline)
	return true
}

// selectedLines is the range of logical lines the selection touches (a
// selection ending at a line's start leaves that line out), or the
// cursor's line.
func (m *Model) selectedLines() (first, last int) {
	s, e, ok := m.Selection()
	if !ok {
		li := m.buf.lineOf(m.cursor)
		return li, li
	}
	first, last = m.buf.lineOf(s), m.buf.lineOf(e)
	if last > first && m.buf.line(last).start == e {
		last--
	}
	return first, last
}

// indentKey is Tab: a selection over several lines, or a list item, is
// indented a tab stop; otherwise spaces go in up to the next stop.
func (m *Model) indentKey() {
	first, last := m.selectedLines()
	li := m.buf.lineOf(m.cursor)
	isItem := m.markdown && parsePrefix(m.buf.lineRunes(li)).marker != ""
	if first == last && !isItem {
		col := m.column(m.cursor)
		if s, _, ok := m.Selection(); ok {
			col = m.column(s)
		}
		m.insert(strings.Repeat(" ", m.buf.tabWidth-col%m.buf.tabWidth), editType)
		return
	}
	ind := strings.Repeat(" ", m.buf.tabWidth)
	var ops []Splice
	for i := first; i <= last; i++ {
		if m.buf.line(i).n > 0 || first == last {
			ops = append(ops, Splice{Pos: m.buf.line(i).start, Insert: ind})
		}
	}
	m.editMany(ops)
}

// outdentKey is shift+Tab: the selected lines, or the cursor's, lose up to
// a tab stop of leading spaces (or one tab).
func (m *Model) outdentKey() {
	first, last := m.selectedLines()
	var ops []Splice
	for i := first; i <= last; i++ {
		ln := m.buf.line(i)
		s := m.buf.lineRunes(i)
		n := 0
		if len(s) > 0 && s[0] == '\t' {
			n = 1
		}
		for n < len(s) && n < m.buf.tabWidth && s[n] == ' ' {
			n++
		}
		if n > 0 {
			ops = append(ops, Splice{Pos: ln.start, Delete: n})
		}
	}
	m.editMany(ops)
}

// toggleCheckbox ticks or unticks the checkbox of the cursor's line; a list
// item without one gets one, any other line becomes an unticked item.
func (m *Model) toggleCheckbox() {
	li := m.buf.lineOf(m.cursor)
	start, _ := m.lineRange(li)
	p := parsePrefix(m.buf.lineRunes(li))
	switch {
	case p.box >= 0:
		mark := "x"
		if p.checked {
			mark = " "
		}
		m.editMany([]Splice{{Pos: start + p.box + 1, Delete: 1, Insert: mark}})
	case p.marker != "":
		m.editMany([]Splice{{Pos: start + p.markerEnd, Insert: "[ ] "}})
	default:
		m.editMany([]Splice{{Pos: start + p.quoteEnd, Insert: "- [ ] "}})
	}
}

// Revision changes whenever the text does: a cache of something derived
// from the text (a match count) is current while it stays the same.
func (m *Model) Revision() uint64 { return m.buf.rev }

// ShowAt puts the cursor at pos, on screen row row of the view when the
// text allows (a remembered scroll position), clamped to the text.
func (m *Model) ShowAt(pos, row int) {
	m.SetCursorPos(pos)
	v, _ := m.walk(m.vposOf(m.cursor), -clamp(row, 0, m.height-1))
	m.top = m.rowStart(v)
	m.clampTop()
	m.ensureVisible(m.cursor)
}
