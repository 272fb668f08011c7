package testkit

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/notebook"
)

var keyCodes = map[string]rune{
	"left": tea.KeyLeft, "right": tea.KeyRight, "up": tea.KeyUp, "down": tea.KeyDown,
	"home": tea.KeyHome, "end": tea.KeyEnd, "pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown,
	"backspace": tea.KeyBackspace, "delete": tea.KeyDelete, "enter": tea.KeyEnter,
	"tab": tea.KeyTab, "esc": tea.KeyEscape, "insert": tea.KeyInsert, "space": tea.KeySpace,
	"f1": tea.KeyF1,
}

// Key builds a key press from a keystroke like "ctrl+shift+left", "a" or "+".
func Key(s string) tea.KeyPressMsg {
	parts := strings.Split(s, "+")
	if s == "+" {
		parts = []string{"+"}
	}
	var k tea.KeyPressMsg
	for _, p := range parts[:len(parts)-1] {
		switch p {
		case "ctrl":
			k.Mod |= tea.ModCtrl
		case "alt":
			k.Mod |= tea.ModAlt
		case "shift":
			k.Mod |= tea.ModShift
		}
	}
	name := parts[len(parts)-1]
	if c, ok := keyCodes[name]; ok {
		k.Code = c
		if c == tea.KeySpace && k.Mod == 0 {
			k.Text = " "
		}
		return k
	}
	r := []rune(name)
	k.Code = r[0]
	if k.Mod&^tea.ModShift == 0 {
		k.Text = name
	}
	return k
}

// WaitFor polls cond (every 10 ms) until it holds, failing the test after
// timeout with what it was waiting for.
func WaitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// NoteText reads a note's text from the notebook in dir through a fresh
// handle, as another process would see it on disk.
func NoteText(t testing.TB, dir string, id crdt.DocumentID) string {
	t.Helper()
	nb, err := notebook.Open(dir, "reader")
	if err != nil {
		t.Fatal(err)
	}
	n, _, err := nb.OpenNote(id)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	text, err := n.Text()
	if err != nil {
		t.Fatal(err)
	}
	return text
}
