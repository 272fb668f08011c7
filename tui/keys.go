package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"

	"github.com/collab-editor/collab/tui/editor"
)

func bind(help string, keys ...string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(strings.Join(keys, "/"), help))
}

func bindH(keysHelp, help string, keys ...string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(keysHelp, help))
}

// listKeys are the notes list's keys.
var listKeys = struct {
	Up, Down, Top, Bottom, Open, Filter, Search, New, Rename, Delete, Undo, Join, CancelJoin, Invites, Help, Quit key.Binding
}{
	Up:     bindH("↑/ctrl+p", "previous note", "up", "ctrl+p", "k"),
	Down:   bindH("↓/ctrl+n", "next note", "down", "ctrl+n"),
	Top:    bindH("home", "first note", "home", "pgup"),
	Bottom: bindH("end", "last note", "end", "pgdown"),
	Open:   bind("open the note", "enter"),
	Filter: bindH("/", "filter the notes by title or text (esc clears)", "/"),
	Search: bindH("ctrl+f", "search every note's lines; enter opens at the match", "ctrl+f"),
	New:    bind("new note", "n"),
	Rename: bind("rename", "r"),
	Delete: bind("move to the trash", "d", "delete"),
	Undo:   bind("bring back the note just trashed", "u"),
	Join:   bind("join a shared note from a ticket", "j"),
	// The delete key on a pending join's line (↑ past the first note
	// selects the lines above the notes); listed apart for the help.
	CancelJoin: bindH("↑ then d", "cancel a pending join (↑ selects its line)", "d", "delete"),
	Invites:    bind("invitations", "i"),
	Help:       bind("every key", "?"),
	Quit:       bindH("q/ctrl+c", "quit", "q", "ctrl+c"),
}

// editKeys are the editor screen's own keys; everything else goes to the
// editor component.
var editKeys = struct {
	Close, Quit, Find, Invite, People, History, Follow, Help key.Binding
}{
	Close:   bindH("ctrl+q", "close the note (back to the list)", "ctrl+q"),
	Quit:    bindH("ctrl+c", "quit (copies instead when text is selected)", "ctrl+c"),
	Find:    bind("find in the note", "ctrl+f"),
	Invite:  bind("invite someone (ticket, copied)", "ctrl+s"),
	People:  bindH("ctrl+o", "people on this note: how each is reached, or why not", "ctrl+o"),
	History: bind("history", "ctrl+r"),
	Follow:  bindH("ctrl+t", "follow the next person / stop following", "ctrl+t"),
	Help:    bindH("f1/ctrl+/", "every key", "f1", "ctrl+/", "ctrl+_"),
}

var findKeys = struct {
	Next, Prev, Switch, Replace, ReplaceAll, Close key.Binding
}{
	Next:       bindH("enter/↓", "next match (a query with capitals matches case)", "enter", "down", "ctrl+n"),
	Prev:       bindH("shift+enter/↑", "previous match", "shift+enter", "up", "ctrl+p"),
	Switch:     bindH("tab", "type the replacement / the query", "tab"),
	Replace:    bindH("enter (replacing)", "replace this match, go to the next", "enter"),
	ReplaceAll: bindH("alt+enter", "replace every match (one undo step)", "alt+enter", "ctrl+enter", "alt+r"),
	Close:      bindH("esc", "close the find bar", "esc", "ctrl+f"),
}

var historyKeys = struct {
	Up, Down, Top, Bottom, PageUp, PageDown, Expand, Collapse, Restore, Back, Help key.Binding
}{
	Up:       bindH("↑", "newer entry", "up", "k", "ctrl+p"),
	Down:     bindH("↓", "older entry", "down", "j", "ctrl+n"),
	Expand:   bindH("→", "show a session's changes one by one", "right", "l"),
	Collapse: bindH("←", "fold them back into the session", "left", "h"),
	Top:      bindH("home", "newest", "home"),
	Bottom:   bindH("end", "oldest", "end"),
	PageUp:   bindH("pgup", "scroll the text up", "pgup"),
	PageDown: bindH("pgdown", "scroll the text down", "pgdown"),
	Restore:  bindH("enter", "restore this version (as a new edit)", "enter", "r"),
	Back:     bindH("esc", "back to the note", "esc", "q", "ctrl+r"),
	Help:     bind("every key", "?"),
}

var dialogKeys = struct {
	Confirm, Cancel, Yes, No, Accept, Decline, Copy key.Binding
}{
	Confirm: bind("confirm", "enter"),
	Cancel:  bind("cancel", "esc"),
	Yes:     bind("yes", "y"),
	No:      bind("no", "n"),
	Accept:  bindH("a/enter", "accept the invitation", "a", "enter"),
	Decline: bind("decline the invitation", "x"),
	Copy:    bind("copy the ticket again", "c"),
}

type helpSection struct {
	title string
	keys  []key.Binding
}

// helpSections lists every key, for the ? screen.
func helpSections() []helpSection {
	l, e, f, h, d := listKeys, editKeys, findKeys, historyKeys, dialogKeys
	k := editor.DefaultKeyMap()
	return []helpSection{
		{"Notes list", []key.Binding{l.Up, l.Down, l.Top, l.Bottom, l.Open, l.Filter, l.Search, l.New, l.Rename, l.Delete, l.Undo, l.Join, l.CancelJoin, l.Invites, l.Help, l.Quit}},
		{"Editor", []key.Binding{e.Close, e.Quit, e.Find, e.Invite, e.People, e.History, e.Follow, e.Help}},
		{"Editing", []key.Binding{
			k.Left, k.Right, k.Up, k.Down, k.WordLeft, k.WordRight, k.LineStart, k.LineEnd,
			k.PageUp, k.PageDown, k.DocStart, k.DocEnd,
			bindH("shift+movement", "select", "shift"),
			k.SelectAll, k.ClearSelection, k.Copy, k.Cut, k.Paste, k.Undo, k.Redo,
			k.Backspace, k.Delete, k.DeleteWordLeft, k.DeleteWordRt, k.KillToEnd, k.KillToStart,
			k.Newline, k.PlainNewline, k.Tab, k.Outdent, k.ToggleCheckbox,
			bindH("mouse", "click places the cursor, wheel scrolls", "mouse"),
		}},
		{"Find bar", []key.Binding{f.Next, f.Prev, f.Switch, f.Replace, f.ReplaceAll, f.Close}},
		{"History", []key.Binding{h.Up, h.Down, h.Top, h.Bottom, h.Expand, h.Collapse, h.PageUp, h.PageDown, h.Restore, h.Back}},
		{"Dialogs", []key.Binding{d.Confirm, d.Cancel, d.Yes, d.No, d.Accept, d.Decline, d.Copy}},
	}
}
