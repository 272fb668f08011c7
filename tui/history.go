package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/display"
)

// historyState is the history screen: the note's editing sessions, newest
// first (the newest is always the current text), and the note as of the
// selected one with what it changed marked.
type historyState struct {
	s        *session
	changes  []crdt.ChangeInfo // the whole history, dependencies first
	sessions []crdt.Session    // newest first
	open     map[int]bool      // sessions shown change by change
	entries  []histEntry       // the rows: sessions, and changes of open ones
	loading  bool
	err      error
	sel, top int
	preview  diffView
	shownSel int  // the entry the preview shows (-1: none)
	fetching bool // a preview is being built off the loop
	w, h     int
}

// historyPreviewMsg carries the note as of entry sel and just before it,
// built off the loop: on a large note that takes a few hundred milliseconds.
type historyPreviewMsg struct {
	h            *historyState
	sel          int
	before, text string
	err          error
}

type historyLoadedMsg struct {
	s        *session
	changes  []crdt.ChangeInfo
	sessions []crdt.Session
	err      error
}

// histEntry is one row of the history list: a session (change < 0) or one
// change of an open session.
type histEntry struct {
	session, change int
}

// rebuild lays out the rows from the sessions and which are open.
func (h *historyState) rebuild() {
	h.entries = h.entries[:0]
	for i, s := range h.sessions {
		h.entries = append(h.entries, histEntry{session: i, change: -1})
		if h.open[i] {
			for k := len(s.Changes) - 1; k >= 0; k-- {
				h.entries = append(h.entries, histEntry{session: i, change: s.Changes[k]})
			}
		}
	}
}

// version is what the row at i shows: heads to show the note at, the heads
// just before, and who and when.
func (h *historyState) version(i int) (heads, parent []crdt.ChangeHash, author string, when time.Time) {
	e := h.entries[i]
	s := h.sessions[e.session]
	if e.change < 0 {
		return s.Heads, s.Parent, sessionAuthor(s), s.Last
	}
	c := h.changes[e.change]
	return []crdt.ChangeHash{c.Hash}, c.Deps, sessionAuthor(s), c.Time
}

func (a *App) openHistory() tea.Cmd {
	s := a.sess
	a.hist = &historyState{s: s, loading: true, shownSel: -1}
	a.hist.preview.added, a.hist.preview.remove = a.st.textAdded, a.st.textRemoved
	a.hist.layout(a.w, a.h)
	a.screen = screenHistory
	note := s.note
	return func() tea.Msg {
		// Commit open edits so the newest entry is the text on screen.
		if _, err := note.Flush(); err != nil {
			return historyLoadedMsg{s: s, err: err}
		}
		hist, err := note.History()
		if err != nil {
			return historyLoadedMsg{s: s, err: err}
		}
		heads, err := note.Heads()
		return historyLoadedMsg{s: s, changes: hist, sessions: crdt.Sessions(hist, heads, crdt.SessionGap), err: err}
	}
}

func (a *App) onHistoryLoaded(m historyLoadedMsg) tea.Cmd {
	h := a.hist
	if h == nil || h.s != m.s {
		return nil
	}
	h.loading, h.changes, h.sessions, h.err = false, m.changes, m.sessions, m.err
	h.open = map[int]bool{}
	h.rebuild()
	if m.err != nil {
		a.showErr(fmt.Errorf("can't read the history: %w", m.err))
	}
	return h.showSelected()
}

func (h *historyState) layout(w, hh int) {
	h.w, h.h = w, hh
	h.preview.setSize(w, hh-3-h.listHeight())
}

func (h *historyState) listHeight() int { return max(2, (h.h-3)/3) }

// showSelected starts building the note as of the selected entry for the
// preview, one build at a time: keys held down do not pile builds up, and
// the last selection is the one shown.
func (h *historyState) showSelected() tea.Cmd {
	if h.fetching || h.sel >= len(h.entries) || h.sel == h.shownSel {
		return nil
	}
	h.fetching = true
	note, sel := h.s.note, h.sel
	heads, parent, _, _ := h.version(sel)
	return func() tea.Msg {
		m := historyPreviewMsg{h: h, sel: sel}
		_, m.text, m.err = note.At(heads...)
		if m.err == nil && len(parent) > 0 {
			_, m.before, m.err = note.At(parent...)
		}
		return m
	}
}

func (a *App) onHistoryPreview(m historyPreviewMsg) tea.Cmd {
	h := a.hist
	if h != m.h {
		return nil
	}
	h.fetching = false
	if m.err != nil {
		a.showErr(m.err)
	} else {
		h.shownSel = m.sel
		h.preview.setTexts(m.before, m.text)
		// Open where the entry changed something.
		if r := h.preview.firstChange(); r > 0 {
			h.preview.scrollBy(r - 1)
		}
	}
	return h.showSelected() // the selection may have moved meanwhile
}

func (h *historyState) wheel(m tea.MouseWheelMsg) {
	switch m.Button {
	case tea.MouseWheelUp:
		h.preview.scrollBy(-3)
	case tea.MouseWheelDown:
		h.preview.scrollBy(3)
	}
}

func (a *App) historyKey(msg tea.KeyPressMsg) tea.Cmd {
	h := a.hist
	k := historyKeys
	switch {
	case key.Matches(msg, k.Back):
		a.hist = nil
		a.screen = screenEditor
	case key.Matches(msg, k.Help):
		a.help = &helpState{}
	case key.Matches(msg, editKeys.Quit):
		return a.requestQuit()
	case key.Matches(msg, k.Up):
		h.sel = max(0, h.sel-1)
	case key.Matches(msg, k.Down):
		h.sel = max(0, min(len(h.entries)-1, h.sel+1))
	case key.Matches(msg, k.Top):
		h.sel = 0
	case key.Matches(msg, k.Bottom):
		h.sel = max(0, len(h.entries)-1)
	case key.Matches(msg, k.Expand), key.Matches(msg, k.Collapse):
		if h.sel < len(h.entries) {
			e := h.entries[h.sel]
			open := key.Matches(msg, k.Expand)
			if open && len(h.sessions[e.session].Changes) < 2 {
				break // nothing more to show
			}
			h.open[e.session] = open
			h.rebuild()
			if !open {
				h.sel = slices.Index(h.entries, histEntry{session: e.session, change: -1})
			}
		}
	case key.Matches(msg, k.PageUp):
		h.preview.scrollBy(-max(1, h.preview.h-1))
	case key.Matches(msg, k.PageDown):
		h.preview.scrollBy(max(1, h.preview.h-1))
	case key.Matches(msg, k.Restore):
		if h.sel < len(h.entries) {
			_, _, who, when := h.version(h.sel)
			a.dlg = &confirmDialog{
				title: "Restore this version",
				text:  fmt.Sprintf("Make the note's text what it was %s (%s)?\nThis is a new edit: ctrl+z undoes it, and the current text stays in the history.", relTime(a.opts.Now(), when), who),
				act:   actRestoreVersion, yes: "restore",
			}
		}
	}
	return h.showSelected()
}

// restoreVersion makes the selected version the note's text, as a new edit.
func (a *App) restoreVersion() tea.Cmd {
	h, s := a.hist, a.sess
	if h == nil || s == nil || s.note == nil {
		return nil
	}
	if h.shownSel != h.sel {
		a.showFlash("That version is still loading")
		return nil
	}
	// The restore is the user's own edit, one undo step: ctrl+z brings back
	// exactly the text it replaced.
	if s.dirty.Load() {
		s.syncRemote(a)
	}
	splices, err := s.ed.Edit(crdt.Diff(s.ed.Text(), h.preview.text))
	if err != nil {
		a.showErr(fmt.Errorf("can't restore: %w", err))
		return nil
	}
	s.applyLocal(a, splices)
	a.hist = nil
	a.screen = screenEditor
	_, _, _, when := h.version(h.sel)
	a.showFlash("Restored the version from " + relTime(a.opts.Now(), when))
	return nil
}

func sessionAuthor(e crdt.Session) string {
	if a := display.Line(e.Author); a != "" {
		return a
	}
	return "device " + display.ID(e.Actor)
}

func (h *historyState) view(a *App) string {
	w := a.w
	right := fmt.Sprintf(" %d entries ", len(h.entries))
	if len(h.entries) == 1 {
		right = " 1 entry "
	}
	if h.loading {
		right = " loading… "
	}
	rows := []string{a.bar(" History · "+h.s.displayTitle(), right)}
	lh := h.listHeight()
	var list []string
	switch {
	case h.loading:
		list = append(list, a.st.dim.Render(" Reading the history…"))
	case len(h.entries) == 0:
		list = append(list, a.st.dim.Render(" No changes yet."))
	default:
		if h.sel < h.top {
			h.top = h.sel
		}
		if h.sel >= h.top+lh {
			h.top = h.sel - lh + 1
		}
		for i := h.top; i < len(h.entries) && i < h.top+lh; i++ {
			list = append(list, h.row(a, i, i == h.sel))
		}
	}
	rows = append(rows, fitLines(list, lh))
	sep := " text as it was "
	if h.sel < len(h.entries) {
		_, _, who, when := h.version(h.sel)
		sep = fmt.Sprintf(" as of %s, by %s ", relTime(a.opts.Now(), when), who)
		if e := h.entries[h.sel]; e.change < 0 && h.sessions[e.session].Merged {
			sep = " the current text: everyone's edits merged "
		}
	}
	sep = ansi.Truncate("──"+sep+strings.Repeat("─", max(0, w)), w, "")
	rows = append(rows, a.st.separator.Render(sep))
	rows = append(rows, h.preview.view())
	out := fitLines(rows, a.h-1)
	return out + "\n" + a.footer("↑↓", "entry", "pgup/pgdn", "scroll", "enter", "restore", "esc", "back", "?", "keys")
}

func (h *historyState) row(a *App, i int, selected bool) string {
	w := a.w
	e := h.entries[i]
	s := h.sessions[e.session]
	_, _, who, when := h.version(i)
	var delta string
	fold := "  "
	switch {
	case e.change >= 0:
		c := h.changes[e.change]
		fold = "    "
		delta = a.st.added.Render(fmt.Sprintf("+%d", c.Added)) + " " + a.st.removed.Render(fmt.Sprintf("−%d", c.Removed))
		if len(c.Deps) == 0 {
			delta = "created"
		}
	case s.Merged:
		delta = "merged: the current text"
	case s.Created && len(s.Changes) == 1:
		delta = "created"
	default:
		n := fmt.Sprintf("%d changes", len(s.Changes))
		if len(s.Changes) == 1 {
			n = "1 change"
		}
		delta = a.st.dim.Render(n) + "  " + a.st.added.Render(fmt.Sprintf("+%d", s.Added)) + " " + a.st.removed.Render(fmt.Sprintf("−%d", s.Removed))
		if s.Created {
			delta = "created · " + delta
		}
		if len(s.Changes) > 1 {
			fold = "▸ "
			if h.open[e.session] {
				fold = "▾ "
			}
		}
	}
	whenS := padRight(relTime(a.opts.Now(), when), 10)
	whoW := max(6, w-len([]rune(fold))-10-2-ansi.StringWidth(ansi.Strip(delta))-2)
	line := fold + whenS + "  " + padRight(ansi.Truncate(who, whoW, "…"), whoW) + "  "
	if selected {
		plain := line + ansi.Strip(delta)
		return a.st.selected.Render(padRight(ansi.Truncate(plain, w, ""), w))
	}
	return ansi.Truncate(line+delta, w, "")
}
