package tui

import (
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/collab-editor/collab/tui/editor"
)

// lineInput is a one-line text field: the editor component one row high,
// so it has the same keys, grapheme handling and real cursor.
type lineInput struct {
	ed *editor.Model
}

func newLineInput(a *App, value string, width int) *lineInput {
	ed := a.newEditor(editor.WithOSC52(false))
	ed.SetSize(max(1, width), 1)
	ed.SetText(value)
	ed.SetCursorPos(ed.Len())
	return &lineInput{ed: ed}
}

// update handles a key or paste; newlines are dropped (enter belongs to the
// dialog, pastes become one line).
func (in *lineInput) update(msg tea.Msg) {
	switch m := msg.(type) {
	case tea.PasteMsg:
		m.Content = strings.Join(strings.Fields(m.Content), " ")
		in.ed.Update(m)
	case tea.KeyPressMsg:
		switch m.Keystroke() {
		case "enter", "shift+enter", "ctrl+j", "tab", "up", "down", "pgup", "pgdown":
			return
		case "ctrl+u":
			in.ed.SetText("")
			return
		}
		in.ed.Update(m)
	}
}

func (in *lineInput) value() string { return strings.TrimSpace(in.ed.Text()) }

func (in *lineInput) setWidth(w int) { in.ed.SetSize(max(1, w), 1) }

func (in *lineInput) view() string { return in.ed.View() }

// cursorX is the cursor's column inside the field.
func (in *lineInput) cursorX() int {
	x, _, _ := in.ed.CursorXY()
	return x
}
