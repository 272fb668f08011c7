package tui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/tui/editor"
)

// historyState is the history screen: the note's changes, newest first, and
// the note as of the selected one.
type historyState struct {
	s        *session
	changes  []crdt.ChangeInfo // newest first
	loading  bool
	err      error
	sel, top int
	preview  *editor.Model
	shownSel int  // the change the preview shows (-1: none)
	fetching bool // a preview is being built off the loop
	w, h     int
}

// historyPreviewMsg carries the note as of change sel, built off the loop:
// on a large note that takes a few hundred milliseconds.
type historyPreviewMsg struct {
	h    *historyState
	sel  int
	text string
	err  error
}

type historyLoadedMsg struct {
	s       *session
	changes []crdt.ChangeInfo
	err     error
}

func (a *App) openHistory() tea.Cmd {
	s := a.sess
	a.hist = &historyState{s: s, loading: true, shownSel: -1, preview: editor.New(editor.WithNoColor(a.opts.NoColor))}
	a.hist.preview.Blur()
	a.hist.layout(a.w, a.h)
	a.screen = screenHistory
	note := s.note
	return func() tea.Msg {
		// Commit open edits so the newest change is the text on screen.
		if _, err := note.Flush(); err != nil {
			return historyLoadedMsg{s: s, err: err}
		}
		h, err := note.Doc().History()
		slices.Reverse(h)
		return historyLoadedMsg{s: s, changes: h, err: err}
	}
}

func (a *App) onHistoryLoaded(m historyLoadedMsg) tea.Cmd {
	h := a.hist
	if h == nil || h.s != m.s {
		return nil
	}
	h.loading, h.changes, h.err = false, m.changes, m.err
	if m.err != nil {
		a.showErr(fmt.Errorf("can't read the history: %w", m.err))
	}
	return h.showSelected()
}

func (h *historyState) layout(w, hh int) {
	h.w, h.h = w, hh
	lh := h.listHeight()
	h.preview.SetSize(max(1, w), max(1, hh-3-lh))
	h.preview.SetOrigin(0, 2+lh)
}

func (h *historyState) listHeight() int { return max(2, (h.h-3)/3) }

// showSelected starts building the note as of the selected change for the
// preview, one build at a time: keys held down do not pile builds up, and
// the last selection is the one shown.
func (h *historyState) showSelected() tea.Cmd {
	if h.fetching || h.sel >= len(h.changes) || h.sel == h.shownSel {
		return nil
	}
	h.fetching = true
	note, sel, hash := h.s.note, h.sel, h.changes[h.sel].Hash
	return func() tea.Msg {
		_, text, err := note.Doc().At(hash)
		return historyPreviewMsg{h: h, sel: sel, text: text, err: err}
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
		h.preview.SetText(m.text)
	}
	return h.showSelected() // the selection may have moved meanwhile
}

func (h *historyState) wheel(m tea.MouseWheelMsg) {
	switch m.Button {
	case tea.MouseWheelUp:
		h.preview.ScrollBy(-3)
	case tea.MouseWheelDown:
		h.preview.ScrollBy(3)
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
		return a.quit()
	case key.Matches(msg, k.Up):
		h.sel = max(0, h.sel-1)
	case key.Matches(msg, k.Down):
		h.sel = max(0, min(len(h.changes)-1, h.sel+1))
	case key.Matches(msg, k.Top):
		h.sel = 0
	case key.Matches(msg, k.Bottom):
		h.sel = max(0, len(h.changes)-1)
	case key.Matches(msg, k.PageUp):
		h.preview.ScrollBy(-max(1, h.preview.Height()-1))
	case key.Matches(msg, k.PageDown):
		h.preview.ScrollBy(max(1, h.preview.Height()-1))
	case key.Matches(msg, k.Restore):
		if h.sel < len(h.changes) {
			c := h.changes[h.sel]
			a.dlg = &confirmDialog{
				title: "Restore this version",
				text:  fmt.Sprintf("Make the note's text what it was %s (%s)?\nThis is a new edit: the current text stays in the history.", relTime(a.opts.Now(), c.Time), changeAuthor(c)),
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
	splices, err := s.ed.Edit(crdt.Diff(s.ed.Text(), h.preview.Text()))
	if err != nil {
		a.showErr(fmt.Errorf("can't restore: %w", err))
		return nil
	}
	s.applyLocal(a, splices)
	a.hist = nil
	a.screen = screenEditor
	a.showFlash("Restored the version from " + relTime(a.opts.Now(), h.changes[h.sel].Time))
	return nil
}

func changeAuthor(c crdt.ChangeInfo) string {
	if c.Author != "" {
		return c.Author
	}
	return "device " + shortID(c.Actor)
}

func (h *historyState) view(a *App) string {
	w := a.w
	right := " " + fmt.Sprintf("%d changes ", len(h.changes))
	if h.loading {
		right = " loading… "
	}
	rows := []string{a.bar(" History · "+h.s.displayTitle(), right)}
	lh := h.listHeight()
	var list []string
	switch {
	case h.loading:
		list = append(list, a.st.dim.Render(" Reading the history…"))
	case len(h.changes) == 0:
		list = append(list, a.st.dim.Render(" No changes yet."))
	default:
		if h.sel < h.top {
			h.top = h.sel
		}
		if h.sel >= h.top+lh {
			h.top = h.sel - lh + 1
		}
		for i := h.top; i < len(h.changes) && i < h.top+lh; i++ {
			list = append(list, h.row(a, h.changes[i], i == h.sel))
		}
	}
	rows = append(rows, fitLines(list, lh))
	sep := " text as it was "
	if h.sel < len(h.changes) {
		sep = fmt.Sprintf(" as of %s, by %s ", relTime(a.opts.Now(), h.changes[h.sel].Time), changeAuthor(h.changes[h.sel]))
	}
	sep = ansi.Truncate("──"+sep+strings.Repeat("─", max(0, w)), w, "")
	rows = append(rows, a.st.separator.Render(sep))
	rows = append(rows, h.preview.View())
	out := fitLines(rows, a.h-1)
	return out + "\n" + a.footer("↑↓", "change", "pgup/pgdn", "scroll", "enter", "restore", "esc", "back", "?", "keys")
}

func (h *historyState) row(a *App, c crdt.ChangeInfo, selected bool) string {
	w := a.w
	when := padRight(relTime(a.opts.Now(), c.Time), 10)
	who := changeAuthor(c)
	var delta string
	if len(c.Deps) == 0 {
		delta = "created"
	} else if c.Known {
		delta = a.st.added.Render(fmt.Sprintf("+%d", c.Added)) + " " + a.st.removed.Render(fmt.Sprintf("−%d", c.Removed))
	} else if c.Message != "" {
		delta = c.Message
	}
	whoW := max(6, w-2-10-2-ansi.StringWidth(ansi.Strip(delta))-2)
	line := " " + when + "  " + padRight(ansi.Truncate(who, whoW, "…"), whoW) + "  "
	if selected {
		plain := line + ansi.Strip(delta)
		return a.st.selected.Render(padRight(ansi.Truncate(plain, w, ""), w))
	}
	return ansi.Truncate(line+delta, w, "")
}
