package tui

import (
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// helpState is the ? screen: every key, scrollable.
type helpState struct{ top int }

func (hs *helpState) lines(a *App) []string {
	var out []string
	for i, sec := range helpSections() {
		if i > 0 {
			out = append(out, "")
		}
		out = append(out, " "+a.st.dlgTitle.Render(sec.title))
		keyW := 0
		for _, k := range sec.keys {
			keyW = max(keyW, ansi.StringWidth(k.Help().Key))
		}
		keyW = min(keyW, max(8, a.w/3))
		for _, k := range sec.keys {
			line := "   " + a.st.hintKey.Render(padRight(ansi.Truncate(k.Help().Key, keyW, "…"), keyW)) + "  " + k.Help().Desc
			out = append(out, ansi.Truncate(line, a.w, "…"))
		}
	}
	return out
}

func (hs *helpState) update(a *App, msg tea.KeyPressMsg) tea.Cmd {
	n := len(hs.lines(a))
	page := max(1, a.h-2)
	switch msg.Keystroke() {
	case "up", "k":
		hs.top--
	case "down", "j":
		hs.top++
	case "pgup", "b":
		hs.top -= page
	case "pgdown", "space", "f":
		hs.top += page
	case "home", "g":
		hs.top = 0
	case "end", "G":
		hs.top = n
	case "ctrl+c":
		return a.requestQuit()
	default:
		a.help = nil
		return nil
	}
	hs.top = max(0, min(hs.top, n-page))
	return nil
}

func (hs *helpState) view(a *App) string {
	lines := hs.lines(a)
	page := max(1, a.h-2)
	hs.top = max(0, min(hs.top, len(lines)-page))
	end := min(len(lines), hs.top+page)
	top := a.bar(" Keys", " ")
	body := fitLines(lines[hs.top:end], page)
	hint := "↑/↓ scroll · any other key closes"
	if end < len(lines) {
		hint = "↓ more · " + hint
	}
	return top + "\n" + body + "\n" + a.st.hint.Render(ansi.Truncate(hint, a.w, ""))
}
