package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/display"
	"github.com/collab-editor/collab/notebook"
)

// listState is the notes list screen.
type listState struct {
	notes   []notebook.Summary
	loaded  bool
	err     error
	sel     int
	top     int // first row shown
	online  map[crdt.DocumentID][]string
	trashed *notebook.Summary // the note d just trashed, for u
	stamp   uint64            // the notebook's ListStamp when notes was read
	filter  *searchQuery      // the / filter, nil when off
	// joinSel is the pending join whose line is selected (above the
	// notes: ↑ past the first note); zero when a note is.
	joinSel crdt.DocumentID
}

// shownJoins are the pending joins that have a line of their own above the
// notes (the rest are counted), which ↑ and ↓ can select.
func (a *App) shownJoins() []PendingJoin {
	if a.net == nil {
		return nil
	}
	joins := a.net.PendingJoins()
	return joins[:min(len(joins), maxPendingJoinLines)]
}

// selectedJoin is the pending join whose line is selected, if one is (a
// join that left the list since leaves nothing selected there).
func (a *App) selectedJoin(joins []PendingJoin) (PendingJoin, int, bool) {
	var zero crdt.DocumentID
	if a.list.joinSel == zero {
		return PendingJoin{}, -1, false
	}
	for i, j := range joins {
		if j.ID == a.list.joinSel {
			return j, i, true
		}
	}
	a.list.joinSel = zero
	return PendingJoin{}, -1, false
}

// joinKey handles the keys that act on a selected pending join's line:
// moving, and d/delete, which asks before cancelling it. ok is false for
// the keys it leaves to the list.
func (a *App) joinKey(msg tea.KeyPressMsg, joins []PendingJoin, j PendingJoin, i int) (tea.Cmd, bool) {
	k := listKeys
	switch {
	case key.Matches(msg, k.Up):
		a.list.joinSel = joins[max(0, i-1)].ID
	case key.Matches(msg, k.Down):
		if i+1 < len(joins) {
			a.list.joinSel = joins[i+1].ID
		} else {
			a.list.joinSel, a.list.sel = crdt.DocumentID{}, 0
		}
	case key.Matches(msg, k.Delete):
		from := display.Line(j.From)
		a.dlg = &confirmDialog{
			title: "Cancel the join",
			text:  fmt.Sprintf("Stop trying to join the note %s shared?\ncollab no longer tries to reach them for it; a new ticket from %s joins it again.", from, from),
			act:   actCancelJoin, id: j.ID, yes: "cancel the join", arg: from,
		}
	case key.Matches(msg, k.Open), key.Matches(msg, k.Rename):
		// Nothing to open or rename yet: the note has not arrived.
	case key.Matches(msg, k.Top), key.Matches(msg, k.Bottom):
		a.list.joinSel = crdt.DocumentID{} // back to the notes, then as usual
		return nil, false
	default:
		return nil, false
	}
	return nil, true
}

func (l *listState) set(notes []notebook.Summary, stamp uint64, err error) {
	var selID crdt.DocumentID
	if n, ok := l.selected(); ok {
		selID = n.ID
	}
	l.notes, l.err, l.loaded, l.stamp = notes, err, true, stamp
	l.sel = 0
	l.selectID(selID)
}

func (l *listState) selected() (notebook.Summary, bool) {
	shown := l.shown()
	if l.sel < 0 || l.sel >= len(shown) {
		return notebook.Summary{}, false
	}
	return shown[l.sel], true
}

func (l *listState) selectID(id crdt.DocumentID) {
	for i, n := range l.shown() {
		if n.ID == id {
			l.sel = i
		}
	}
}

func (a *App) loadList() tea.Cmd {
	nb := a.nb
	return func() tea.Msg { return listNow(nb) }
}

// listNow lists the notes, stamping the listing first so a change made
// while listing is noticed by the next poll.
func listNow(nb *notebook.Notebook) listLoadedMsg {
	stamp, _ := nb.ListStamp()
	notes, err := nb.List()
	return listLoadedMsg{notes: notes, stamp: stamp, err: err}
}

// listPoll is how often the shown notes list looks for notes added,
// removed or changed by anyone: this app's dialogs, the engine (a join, an
// accepted invitation, a peer's edit) or another process on the notebook.
const listPoll = time.Second

type listStampMsg struct{ stamp uint64 }

// watchList arms the list's poll, once: it waits listPoll, then reads the
// notebook's stamp off the loop. The loop reloads the list if the stamp
// moved and re-arms while the list is shown.
func (a *App) watchList() tea.Cmd {
	if a.listWatching || a.screen != screenList || a.quitting {
		return nil
	}
	a.listWatching = true
	nb, stop := a.nb, a.stop
	return func() tea.Msg {
		t := time.NewTimer(listPoll)
		defer t.Stop()
		select {
		case <-t.C:
		case <-stop:
			return nil
		}
		stamp, err := nb.ListStamp()
		if err != nil {
			return listStampMsg{} // zero never matches a real listing: reload, which reports the error
		}
		return listStampMsg{stamp: stamp}
	}
}

func (a *App) onListStamp(m listStampMsg) tea.Cmd {
	a.listWatching = false
	if a.screen != screenList || a.quitting {
		return nil // re-armed by the next listing, when the list shows again
	}
	if m.stamp != a.list.stamp {
		return a.loadList()
	}
	return a.watchList()
}

func (a *App) listKey(msg tea.KeyPressMsg) tea.Cmd {
	l := &a.list
	k := listKeys
	joins := a.shownJoins()
	if j, i, ok := a.selectedJoin(joins); ok {
		if cmd, done := a.joinKey(msg, joins, j, i); done {
			return cmd
		}
	}
	switch {
	case key.Matches(msg, k.Quit):
		return a.requestQuit()
	case key.Matches(msg, k.Help):
		a.help = &helpState{}
	case key.Matches(msg, k.Up) && l.sel == 0 && len(joins) > 0 && l.joinSel == (crdt.DocumentID{}):
		// Past the first note: the pending joins' lines above.
		l.joinSel = joins[len(joins)-1].ID
	case key.Matches(msg, k.Up):
		l.sel = max(0, l.sel-1)
	case key.Matches(msg, k.Down):
		l.sel = clampSel(l.sel+1, len(l.shown()))
	case key.Matches(msg, k.Top):
		l.sel = 0
	case key.Matches(msg, k.Bottom):
		l.sel = clampSel(len(l.shown())-1, len(l.shown()))
	case key.Matches(msg, k.Filter):
		a.openFilter()
	case key.Matches(msg, k.Search):
		a.openSearchScreen()
	case key.Matches(msg, k.Open):
		if n, ok := l.selected(); ok {
			return a.openNote(n.ID)
		}
	case key.Matches(msg, k.New):
		a.dlg = newInputDialog(a, "New note", "Title:", "", actCreate, crdt.DocumentID{})
	case key.Matches(msg, k.Rename):
		if n, ok := l.selected(); ok {
			a.dlg = newInputDialog(a, "Rename", "New title:", n.Title, actRename, n.ID)
		}
	case key.Matches(msg, k.Delete):
		if n, ok := l.selected(); ok {
			a.dlg = &confirmDialog{
				title: "Delete note",
				text:  fmt.Sprintf("Move “%s” to the trash?\nYou can bring it back with u now, or later with `collab trash --restore`.", display.Title(n.Title)),
				act:   actTrash, id: n.ID, yes: "move to trash", arg: n.Title,
			}
		}
	case key.Matches(msg, k.Undo):
		if l.trashed != nil {
			t := *l.trashed
			l.trashed = nil
			return a.restoreTrashed(t)
		}
	case key.Matches(msg, k.Join):
		a.dlg = newJoinDialog(a)
	case key.Matches(msg, k.Invites):
		a.dlg = newInvitesDialog(a, nil)
	}
	return nil
}

func (a *App) restoreTrashed(n notebook.Summary) tea.Cmd {
	nb := a.nb
	return func() tea.Msg {
		if err := nb.Restore(n.ID); err != nil {
			return errMsg{err}
		}
		listed := listNow(nb)
		return tea.BatchMsg{
			func() tea.Msg { return listed },
			func() tea.Msg { return flashMsg{fmt.Sprintf("Brought back “%s”", display.Title(n.Title))} },
		}
	}
}

// view draws the list: a title bar, an invitation banner, the notes, the
// footer.
func (l *listState) view(a *App) string {
	w, h := a.w, a.h
	var rows []string
	status := "offline"
	if a.net != nil {
		status = "online"
	}
	left := " collab"
	right := fmt.Sprintf("%d notes · %s ", len(l.notes), status)
	if len(l.notes) == 1 {
		right = fmt.Sprintf("1 note · %s ", status)
	}
	if a.net != nil && a.opts.Reach != "" {
		if long := strings.TrimSuffix(right, " ") + " · " + a.opts.Reach + " "; ansi.StringWidth(left)+ansi.StringWidth(long)+2 <= w {
			right = long
		}
	}
	rows = append(rows, a.bar(left, right))
	onJoin := false // a pending join's line is selected, not a note
	if a.net != nil {
		if inv := a.net.Invitations(); len(inv) > 0 {
			text := fmt.Sprintf(" %s invites you to “%s” — press i", display.Line(inv[0].From), display.Title(inv[0].Title))
			if len(inv) > 1 {
				text = fmt.Sprintf(" %d invitations waiting — press i", len(inv))
			}
			rows = append(rows, a.st.banner.Render(padRight(ansi.Truncate(text, w, "…"), w)))
		}
		joins := a.net.PendingJoins()
		var selJoin int
		_, selJoin, onJoin = a.selectedJoin(joins[:min(len(joins), maxPendingJoinLines)])
		for i, text := range pendingJoinLines(joins, a.opts.Now()) {
			if i == selJoin {
				// Marked, not only styled: without colour the banner
				// and the selection are both reversed.
				rows = append(rows, a.st.selected.Render(padRight(ansi.Truncate("›"+text, w, "…"), w)))
				continue
			}
			rows = append(rows, a.st.banner.Render(padRight(ansi.Truncate(text, w, "…"), w)))
		}
	}
	body := h - len(rows) - 1
	notes := l.shown()
	switch {
	case !l.loaded:
		rows = append(rows, "", a.st.dim.Render(" Loading notes…"))
	case l.filter != nil && l.filter.query != "" && len(notes) == 0:
		rows = append(rows, "", ansi.Wordwrap(" No note holds “"+display.Title(l.filter.query)+"”.", w, ""))
	case len(l.notes) == 0:
		rows = append(rows, "",
			ansi.Wordwrap(" No notes yet.", w, ""),
			"",
			ansi.Wordwrap(" Press n to create one, or j to join a shared note with a ticket someone sent you.", w, ""))
	default:
		// Columns: title | online | changed.
		changedW := 10
		onlineW := 0
		if a.net != nil {
			onlineW = min(18, max(0, w/4))
		}
		titleW := max(8, w-2-changedW-onlineW-2)
		if onlineW > 0 {
			titleW -= 2
		}
		row := func(title, online, changed string) string {
			s := " " + padRight(ansi.Truncate(title, titleW, "…"), titleW) + "  "
			if onlineW > 0 {
				s += padRight(ansi.Truncate(online, onlineW, "…"), onlineW) + "  "
			}
			return s + padRight(ansi.Truncate(changed, changedW, ""), changedW)
		}
		head := row("TITLE", "ONLINE", "CHANGED")
		rows = append(rows, a.st.header.Render(padRight(head, w)))
		n := body - 1
		l.top = scrollTo(l.sel, l.top, n)
		for i := l.top; i < len(notes) && i < l.top+n; i++ {
			note := notes[i]
			r := padRight(row(display.Title(note.Title), strings.Join(l.online[note.ID], ", "), relTime(a.opts.Now(), note.Modified)), w)
			if i == l.sel && !onJoin {
				r = a.st.selected.Render(r)
			}
			rows = append(rows, r)
		}
	}
	out := fitLines(rows, h-1)
	if l.filter != nil {
		return out + "\n" + a.filterRow()
	}
	if onJoin {
		return out + "\n" + a.footer("d", "cancel this join", "↓", "back to the notes", "?", "keys", "q", "quit")
	}
	return out + "\n" + a.footer("enter", "open", "/", "filter", "^F", "search", "n", "new", "r", "rename", "d", "delete", "j", "join", "i", "invites", "?", "keys", "q", "quit")
}

// maxPendingJoinLines bounds the lines pending joins take above the notes.
const maxPendingJoinLines = 2

// pendingJoinLines says how each pending join stands, a line each (at most
// maxPendingJoinLines, then how many more): "joining… (ann unreachable:
// retrying in 40 s)".
func pendingJoinLines(joins []PendingJoin, now time.Time) []string {
	var lines []string
	for i, j := range joins {
		if i == maxPendingJoinLines {
			more := "joins"
			if len(joins)-i == 1 {
				more = "join"
			}
			lines = append(lines, fmt.Sprintf(" …and %d more %s waiting (collab peers lists them)", len(joins)-i, more))
			break
		}
		from := display.Line(j.From)
		switch {
		case j.Failed:
			lines = append(lines, fmt.Sprintf(" join from %s failed: %s (collab join --cancel %s)", from, display.Line(j.Why), j.ID.URL()))
		case j.NextTry.After(now.Add(time.Second)):
			lines = append(lines, fmt.Sprintf(" joining… (%s unreachable: retrying in %s)", from, untilText(j.NextTry.Sub(now))))
		default:
			lines = append(lines, fmt.Sprintf(" joining… (trying %s now)", from))
		}
	}
	return lines
}

// untilText is a wait, rounded for people: "40 s", "3 min".
func untilText(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
	}
	return fmt.Sprintf("%d min", int(d.Round(time.Minute)/time.Minute))
}

// bar draws a full-width status bar with left and right parts; the left
// keeps at least a third of the width (or all it needs).
func (a *App) bar(left, right string) string {
	w := a.w
	keep := min(ansi.StringWidth(left), max(10, w/3))
	rw := ansi.StringWidth(right)
	if rw > w-keep {
		right = ansi.TruncateLeft(right, rw-(w-keep)+1, "…")
		rw = ansi.StringWidth(right)
	}
	lw := w - rw
	left = padRight(ansi.Truncate(left, lw, "…"), lw)
	return a.st.barTitle.Render(left) + a.st.barDim.Render(right)
}

func padRight(s string, w int) string {
	if n := w - ansi.StringWidth(s); n > 0 {
		return s + strings.Repeat(" ", n)
	}
	return s
}

// fitLines joins rows (each possibly several lines) into exactly h lines.
func fitLines(rows []string, h int) string {
	lines := strings.Split(strings.Join(rows, "\n"), "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

// scrollTo is the first of n visible rows once the rows have scrolled as
// little as possible from top to show row sel.
func scrollTo(sel, top, n int) int {
	if sel < top {
		top = sel
	}
	if n > 0 && sel >= top+n {
		top = sel - n + 1
	}
	return top
}
