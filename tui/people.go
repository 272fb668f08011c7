package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/collab-editor/collab/internal/display"
)

// peopleDialog lists the note's collaborators in full words: who has the
// note open or is online, how each is reached (direct on the LAN or the
// internet, relayed via NAME), and for one that cannot be reached, why and
// what to do. It reads the session's people at every draw, so it follows
// the network while open.
type peopleDialog struct{}

func (d *peopleDialog) update(a *App, msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, editKeys.Quit):
		a.dlg = nil
		return a.requestQuit()
	case key.Matches(msg, dialogKeys.Cancel), key.Matches(msg, dialogKeys.Confirm), key.Matches(msg, editKeys.People), msg.Keystroke() == "q":
		a.dlg = nil
	}
	return nil
}

func (d *peopleDialog) view(a *App, maxW int) (string, int, int, bool) {
	w := max(10, maxW-4)
	lines := []string{a.st.dlgTitle.Render("People on this note"), ""}
	switch {
	case a.net == nil:
		lines = append(lines, wrapText(offlineText, w))
	case a.sess == nil || len(a.sess.people) == 0:
		lines = append(lines, wrapText("Nobody yet: ctrl+s shows a ticket to send to the people you want to write with.", w))
	default:
		for _, p := range a.sess.people {
			lines = append(lines, wrapText(personLine(p), w))
		}
	}
	lines = append(lines, "", a.hintBox(w, key.NewBinding(key.WithHelp("esc", "close"))))
	return strings.Join(lines, "\n"), 0, 0, false
}

// personLine is one collaborator in full words: "● ann: in the note, in
// sync; direct (LAN)", "✗ cem: can't be reached: cem is behind a NAT …".
func personLine(p Peer) string {
	name := display.Name(p.Name, p.ID)
	var mark, state string
	switch {
	case p.Connected:
		mark, state = "○ ", "online"
		if p.InNote {
			mark, state = "● ", "in the note"
		}
		if p.InSync {
			state += ", in sync"
		}
		if p.Path != "" {
			state += "; " + display.Line(p.Path)
		}
	case p.Problem != "":
		mark, state = "✗ ", "can't be reached: "+display.Line(p.Problem)
	default:
		mark, state = "  ", "not connected"
	}
	if p.Diverged != "" {
		state += "; diverged: " + display.Line(p.Diverged)
	}
	return mark + name + ": " + state
}
