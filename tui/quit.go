package tui

import (
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/collab-editor/collab/internal/display"
)

// requestQuit quits, first asking once when collaborators are connected:
// quitting ends the live session with them (the notes stay on this device,
// and sync again when collab runs next).
func (a *App) requestQuit() tea.Cmd {
	if names := a.connectedPeople(); len(names) > 0 {
		a.dlg = &quitDialog{names: names}
		return nil
	}
	return a.quit()
}

// connectedPeople names everyone connected on any note this app knows of:
// the listed notes and the open one.
func (a *App) connectedPeople() []string {
	if a.net == nil {
		return nil
	}
	var names []string
	add := func(ns []string) {
		for _, n := range ns {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if a.sess != nil {
		add(onlineNames(a.net.Peers(a.sess.id)))
	}
	for _, n := range a.list.notes {
		add(a.list.online[n.ID])
	}
	return names
}

// quitDialog asks before quitting while people are connected. The quit key
// pressed again confirms, so it asks once, never twice.
type quitDialog struct{ names []string }

func (d *quitDialog) update(a *App, msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, dialogKeys.Yes), key.Matches(msg, dialogKeys.Confirm),
		key.Matches(msg, listKeys.Quit), key.Matches(msg, editKeys.Quit), key.Matches(msg, editKeys.Close):
		a.dlg = nil
		return a.quit()
	case key.Matches(msg, dialogKeys.No), key.Matches(msg, dialogKeys.Cancel):
		a.dlg = nil
	}
	return nil
}

func (d *quitDialog) view(a *App, maxW int) (string, int, int, bool) {
	w := max(10, maxW-4)
	who := display.List(d.names)
	verb := "is"
	if len(d.names) > 1 {
		verb = "are"
	}
	text := who + " " + verb + " connected. Quitting ends live editing with them; everything is saved on this device and syncs again when you next run collab."
	yes := key.NewBinding(key.WithHelp("y/enter", "quit"))
	no := key.NewBinding(key.WithHelp("n/esc", "stay"))
	return strings.Join([]string{
		a.st.dlgTitle.Render("Quit collab?"), "",
		wrapText(text, w), "",
		a.hintBox(w, yes, no),
	}, "\n"), 0, 0, false
}
