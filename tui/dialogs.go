package tui

import (
	"context"
	"errors"
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

// dialog is a modal box drawn over the screen.
type dialog interface {
	update(a *App, msg tea.KeyPressMsg) tea.Cmd
	// view returns the box's content (without border) for at most maxW
	// cells including border and padding, and the cursor inside it.
	view(a *App, maxW int) (content string, cx, cy int, hasCursor bool)
}

// inputDialog is a dialog with a text field (pastes go there).
type inputDialog interface {
	dialog
	input() *lineInput
}

type action int

const (
	actCreate action = iota
	actRename
	actTrash
	actJoin
	actAccept
	actDecline
	actRestoreVersion
	actCancelJoin
)

// dialogResultMsg reports an action a dialog started.
type dialogResultMsg struct {
	act   action
	id    crdt.DocumentID
	title string
	err   error
}

// netTimeout bounds a join or an accept.
const netTimeout = 2 * time.Minute

const offlineText = "Networking is off in this collab, so notes can't be shared yet.\nEverything you write is kept on this device."

// wrapText word-wraps s to w cells.
func wrapText(s string, w int) string { return ansi.Wrap(s, max(1, w), " ") }

// ---- prompt: new note, rename, join ----

type promptDialog struct {
	title, label string
	in           *lineInput
	act          action
	id           crdt.DocumentID
	busy         string
	err          string
	done         string // what the last action did when that is no error (a join goes on in the background)
	note         string // explanation under the field
}

func newInputDialog(a *App, title, label, value string, act action, id crdt.DocumentID) *promptDialog {
	return &promptDialog{title: title, label: label, in: newLineInput(a, value, 40), act: act, id: id}
}

func (d *promptDialog) input() *lineInput { return d.in }

func (d *promptDialog) update(a *App, msg tea.KeyPressMsg) tea.Cmd {
	if d.busy != "" {
		if key.Matches(msg, dialogKeys.Cancel) {
			a.dlg = nil // the operation goes on; its result is still shown
		}
		return nil
	}
	switch {
	case key.Matches(msg, dialogKeys.Cancel):
		a.dlg = nil
		return nil
	case key.Matches(msg, dialogKeys.Confirm):
		v := d.in.value()
		if v == "" && d.act != actCreate {
			d.err = "type something first"
			return nil
		}
		d.err, d.done = "", ""
		return a.startAction(d, d.act, d.id, v)
	}
	d.in.update(msg)
	return nil
}

func (d *promptDialog) view(a *App, maxW int) (string, int, int, bool) {
	w := max(10, maxW-4)
	d.in.setWidth(w)
	lines := []string{a.st.dlgTitle.Render(d.title), ""}
	if d.note != "" {
		lines = append(lines, wrapText(d.note, w), "")
	}
	lines = append(lines, d.label)
	cy := len(strings.Split(strings.Join(lines, "\n"), "\n"))
	lines = append(lines, a.st.input.Render(d.in.view()), "")
	switch {
	case d.busy != "":
		lines = append(lines, a.st.dim.Render(d.busy))
	case d.err != "":
		lines = append(lines, a.st.err.Render(wrapText(d.err, w)))
	case d.done != "":
		lines = append(lines, a.st.dim.Render(wrapText(d.done, w)))
	default:
		lines = append(lines, a.hintBox(w, key.NewBinding(key.WithHelp("enter", "ok")), key.NewBinding(key.WithHelp("esc", "cancel"))))
	}
	return strings.Join(lines, "\n"), d.in.cursorX(), cy, d.busy == ""
}

// hintBox renders key hints for a dialog.
func (a *App) hintBox(w int, keys ...key.Binding) string {
	var parts []string
	for _, k := range keys {
		parts = append(parts, a.st.hintKey.Render(k.Help().Key)+" "+a.st.hint.Render(shortHelp(k)))
	}
	return wrapText(strings.Join(parts, "  "), w)
}

// ---- confirmation ----

type confirmDialog struct {
	title, text string
	act         action
	id          crdt.DocumentID
	yes         string
	arg         string
}

func (d *confirmDialog) update(a *App, msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, dialogKeys.Yes), key.Matches(msg, dialogKeys.Confirm):
		a.dlg = nil
		return a.startAction(d, d.act, d.id, d.arg)
	case key.Matches(msg, dialogKeys.No), key.Matches(msg, dialogKeys.Cancel), msg.Keystroke() == "q":
		a.dlg = nil
	}
	return nil
}

func (d *confirmDialog) view(a *App, maxW int) (string, int, int, bool) {
	w := max(10, maxW-4)
	yes := key.NewBinding(key.WithHelp("y/enter", d.yes))
	no := key.NewBinding(key.WithHelp("n/esc", "no"))
	return strings.Join([]string{
		a.st.dlgTitle.Render(d.title), "",
		wrapText(d.text, w), "",
		a.hintBox(w, yes, no),
	}, "\n"), 0, 0, false
}

// ---- information ----

type infoDialog struct{ title, text string }

func (d *infoDialog) update(a *App, msg tea.KeyPressMsg) tea.Cmd {
	switch msg.Keystroke() {
	case "esc", "enter", "q", "space":
		a.dlg = nil
	}
	return nil
}

func (d *infoDialog) view(a *App, maxW int) (string, int, int, bool) {
	w := max(10, maxW-4)
	return strings.Join([]string{
		a.st.dlgTitle.Render(d.title), "",
		wrapText(d.text, w), "",
		a.hintBox(w, key.NewBinding(key.WithHelp("esc", "close"))),
	}, "\n"), 0, 0, false
}

// ---- join ----

func newJoinDialog(a *App) dialog {
	if a.net == nil {
		return &infoDialog{title: "Join a shared note", text: offlineText + "\n\nTo join a note someone shared, run collab with networking on and paste their ticket here."}
	}
	d := newInputDialog(a, "Join a shared note", "Ticket:", "", actJoin, crdt.DocumentID{})
	d.note = "Paste the ticket the note's owner sent you (they get it with ctrl+s in the note)."
	return d
}

// ---- invite ----

type inviteDialog struct {
	title  string
	ticket string
	err    error
	copied bool
}

type inviteMsg struct {
	ticket string
	err    error
}

// openInvite shows the ticket for the open note and copies it (OSC 52).
func (a *App) openInvite() tea.Cmd {
	s := a.sess
	if a.net == nil {
		a.dlg = &infoDialog{title: "Invite someone", text: offlineText + "\n\nWith networking on, this shows a ticket to send to the people you want to write with."}
		return nil
	}
	d := &inviteDialog{title: s.displayTitle()}
	a.dlg = d
	net, id := a.net, s.id
	return func() tea.Msg {
		t, err := net.Invite(id)
		return inviteMsg{t, err}
	}
}

func (d *inviteDialog) update(a *App, msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, dialogKeys.Copy) && d.ticket != "":
		d.copied = true
		return tea.SetClipboard(d.ticket)
	case key.Matches(msg, dialogKeys.Cancel), key.Matches(msg, dialogKeys.Confirm), msg.Keystroke() == "q":
		a.dlg = nil
	}
	return nil
}

func (d *inviteDialog) view(a *App, maxW int) (string, int, int, bool) {
	w := max(10, maxW-4)
	lines := []string{a.st.dlgTitle.Render("Invite someone to “" + d.title + "”"), ""}
	switch {
	case d.err != nil:
		lines = append(lines, a.st.err.Render(wrapText("Can't make a ticket: "+friendlyError(d.err), w)))
	case d.ticket == "":
		lines = append(lines, a.st.dim.Render("Making a ticket…"))
	default:
		// The whole ticket always shows: on a small screen the words
		// around it go first (the box has the screen's height less its
		// border).
		ticket := ansi.Hardwrap(d.ticket, w, false)
		hints := a.hintBox(w, key.NewBinding(key.WithHelp("c", "copy again")), key.NewBinding(key.WithHelp("esc", "close")))
		intro := wrapText("Send them this ticket; they join with j in their notes list or `collab join TICKET`:", w)
		full := []string{lines[0], "", intro, "", ticket, ""}
		if d.copied {
			full = append(full, a.st.ok.Render(wrapText("Copied to the clipboard (if your terminal allows OSC 52; else select it above).", w)), "")
		}
		room := a.h - 2
		for _, try := range [][]string{
			append(full, hints),
			{lines[0], "", intro, "", ticket, "", hints},
			{lines[0], "", ticket, "", hints},
			{lines[0], ticket, hints},
			{ticket, hints},
			{ticket},
		} {
			if n := strings.Count(strings.Join(try, "\n"), "\n") + 1; n <= room || len(try) == 1 {
				return strings.Join(try, "\n"), 0, 0, false
			}
		}
	}
	lines = append(lines, "", a.hintBox(w, key.NewBinding(key.WithHelp("c", "copy again")), key.NewBinding(key.WithHelp("esc", "close"))))
	return strings.Join(lines, "\n"), 0, 0, false
}

// ---- invitations ----

type invitesDialog struct {
	popup *Invitation // a new invitation popping up
	sel   int
	busy  string
	err   string
}

func newInvitesDialog(a *App, popup *Invitation) dialog {
	if a.net == nil {
		return &infoDialog{title: "Invitations", text: offlineText + "\n\nWith networking on, invitations people send you appear here."}
	}
	return &invitesDialog{popup: popup}
}

func (d *invitesDialog) items(a *App) []Invitation {
	if d.popup != nil {
		// Re-read: the sender's name may arrive after the invitation.
		for _, inv := range a.net.Invitations() {
			if inv.ID == d.popup.ID {
				return []Invitation{inv}
			}
		}
		return []Invitation{*d.popup}
	}
	return a.net.Invitations()
}

func (d *invitesDialog) update(a *App, msg tea.KeyPressMsg) tea.Cmd {
	items := d.items(a)
	if d.busy != "" {
		if key.Matches(msg, dialogKeys.Cancel) {
			a.dlg = nil
		}
		return nil
	}
	switch {
	case key.Matches(msg, dialogKeys.Cancel), msg.Keystroke() == "q", msg.Keystroke() == "i":
		a.dlg = nil
	case msg.Keystroke() == "up":
		d.sel--
	case msg.Keystroke() == "down":
		d.sel++
	case key.Matches(msg, dialogKeys.Accept):
		if inv, ok := d.selected(items); ok {
			d.busy = "Joining “" + display.Title(inv.Title) + "”…"
			return a.startAction(d, actAccept, inv.ID, inv.Title)
		}
	case key.Matches(msg, dialogKeys.Decline):
		if inv, ok := d.selected(items); ok {
			return a.startAction(d, actDecline, inv.ID, inv.Title)
		}
	}
	d.sel = clampSel(d.sel, len(items))
	return nil
}

// selected is the highlighted invitation; false when there is none (the
// list may have emptied while the dialog was open).
func (d *invitesDialog) selected(items []Invitation) (Invitation, bool) {
	d.sel = clampSel(d.sel, len(items))
	if d.sel >= len(items) {
		return Invitation{}, false
	}
	return items[d.sel], true
}

// clampSel keeps a selection index inside n items (0 when there are none).
func clampSel(sel, n int) int { return max(0, min(sel, n-1)) }

func (d *invitesDialog) view(a *App, maxW int) (string, int, int, bool) {
	w := max(10, maxW-4)
	items := d.items(a)
	title := "Invitations"
	if d.popup != nil {
		title = "New invitation"
	}
	lines := []string{a.st.dlgTitle.Render(title), ""}
	if len(items) == 0 {
		lines = append(lines, "No invitations waiting.", "", a.hintBox(w, key.NewBinding(key.WithHelp("esc", "close"))))
		return strings.Join(lines, "\n"), 0, 0, false
	}
	d.sel = clampSel(d.sel, len(items))
	for i, inv := range items {
		from := display.Line(inv.From)
		if from == "" {
			from = "someone"
		}
		line := fmt.Sprintf("%s invites you to “%s”", from, display.Title(inv.Title))
		line = padRight(ansi.Truncate(line, w, "…"), w)
		if i == d.sel && len(items) > 1 {
			line = a.st.selected.Render(line)
		}
		lines = append(lines, line)
	}
	lines = append(lines, "")
	switch {
	case d.busy != "":
		lines = append(lines, a.st.dim.Render(d.busy))
	case d.err != "":
		lines = append(lines, a.st.err.Render(wrapText(d.err, w)))
	}
	lines = append(lines, a.hintBox(w, key.NewBinding(key.WithHelp("a/enter", "accept")), key.NewBinding(key.WithHelp("x", "decline")), key.NewBinding(key.WithHelp("esc", "later"))))
	return strings.Join(lines, "\n"), 0, 0, false
}

// ---- actions ----

// startAction runs what a dialog asked for in a command.
func (a *App) startAction(d dialog, act action, id crdt.DocumentID, arg string) tea.Cmd {
	nb, net := a.nb, a.net
	res := func(err error) tea.Msg { return dialogResultMsg{act: act, id: id, title: arg, err: err} }
	switch act {
	case actCreate:
		// In the loop (a few ms): keys typed right after enter then go to
		// the new note, not to a dialog waiting for a result.
		n, err := nb.Create(arg)
		if err == nil {
			id = n.ID
			err = n.Close()
		}
		return a.onDialogResult(res(err).(dialogResultMsg))
	case actRename:
		if p, ok := d.(*promptDialog); ok {
			p.busy = "Renaming…"
		}
		return func() tea.Msg {
			if net != nil {
				n, err := net.Open(id)
				if err != nil {
					return res(err)
				}
				if err := n.SetTitle(arg); err != nil {
					return res(err)
				}
				_, err = n.Flush()
				return res(err)
			}
			n, _, err := nb.OpenNote(id)
			if err != nil {
				return res(err)
			}
			return res(errors.Join(n.SetTitle(arg), n.Close()))
		}
	case actTrash:
		return func() tea.Msg { return res(nb.Trash(id)) }
	case actJoin:
		if p, ok := d.(*promptDialog); ok {
			p.busy = "Joining… (esc hides this; the note opens when it arrives)"
		}
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(context.Background(), netTimeout)
			defer cancel()
			got, err := net.Join(ctx, arg)
			id = got
			return res(err)
		}
	case actAccept:
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(context.Background(), netTimeout)
			defer cancel()
			return res(net.Accept(ctx, id))
		}
	case actDecline:
		return func() tea.Msg { return res(net.Decline(id)) }
	case actCancelJoin:
		return func() tea.Msg { return res(net.CancelJoin(id)) }
	case actRestoreVersion:
		return a.restoreVersion()
	}
	return nil
}

// onDialogResult shows an action's outcome.
func (a *App) onDialogResult(m dialogResultMsg) tea.Cmd {
	if m.act == actJoin && errors.Is(m.err, ErrJoinPending) {
		// Not a failure to fix here: the join goes on, and the list shows
		// it until the note arrives. The dialog (if still shown) says why.
		const goesOn = " — collab keeps trying in the background; the notes list shows the join."
		if d, ok := a.dlg.(*promptDialog); ok && d.act == actJoin {
			d.busy, d.done = "", friendlyError(m.err)+goesOn
			d.in.ed.SetText("")
			return nil
		}
		a.showFlash("Joining in the background: " + friendlyError(m.err))
		return nil
	}
	if m.err != nil {
		switch d := a.dlg.(type) {
		case *promptDialog:
			d.busy, d.err = "", friendlyError(m.err)
			if m.act == actJoin {
				// The next paste is a new ticket, not more of the failed one.
				d.in.ed.SetText("")
			}
			return nil
		case *invitesDialog:
			d.busy, d.err = "", friendlyError(m.err)
			return nil
		}
		what := map[action]string{actCreate: "create the note", actRename: "rename the note", actTrash: "move the note to the trash",
			actJoin: "join", actAccept: "accept the invitation", actDecline: "decline the invitation", actRestoreVersion: "restore",
			actCancelJoin: "cancel the join"}[m.act]
		a.showErr(fmt.Errorf("can't %s: %w", what, m.err))
		return nil
	}
	switch m.act {
	case actCreate, actJoin, actAccept:
		a.dlg = nil
		return a.openNote(m.id)
	case actRename:
		a.dlg = nil
		a.showFlash("Renamed to “" + display.Title(m.title) + "”")
		return a.loadList()
	case actTrash:
		// The live list may have dropped the note before this result came.
		trashed := notebook.Summary{ID: m.id, IDString: m.id.String(), Title: m.title}
		for _, n := range a.list.notes {
			if n.ID == m.id {
				trashed = n
			}
		}
		a.list.trashed = &trashed
		a.showFlash(fmt.Sprintf("Moved “%s” to the trash — u brings it back", display.Title(trashed.Title)))
		return a.loadList()
	case actDecline:
		if d, ok := a.dlg.(*invitesDialog); ok && d.popup != nil {
			a.dlg = nil
		}
		a.showFlash("Declined “" + display.Title(m.title) + "”")
	case actCancelJoin:
		a.list.joinSel = crdt.DocumentID{}
		a.showFlash("Cancelled the join from " + display.Line(m.title) + ": it is no longer tried")
	}
	return nil
}
