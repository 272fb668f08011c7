package tui

import (
	"bytes"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

// The whole program under teatest: create a note from the list, type into
// it, quit; the text is on disk.
func TestProgram(t *testing.T) {
	nb := openNotebook(t, "alice")
	app := New(nb, Options{})
	tm := teatest.NewTestModel(t, app, teatest.WithInitialTermSize(70, 16))
	wait := func(s string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(s)) },
			teatest.WithDuration(20*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	}
	wait("No notes yet")
	tm.Send(tea.KeyPressMsg{Code: 'n', Text: "n"})
	wait("New note")
	tm.Type("Todo")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	// Typed at once, maybe before the note has loaded: nothing is lost.
	tm.Type("buy milk")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	tm.Type("call mum")
	tm.Send(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	tm.WaitFinished(t, teatest.WithFinalTimeout(20*time.Second))
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	notes, err := nb.List()
	if err != nil || len(notes) != 1 || notes[0].Title != "Todo" {
		t.Fatalf("notes %+v, %v", notes, err)
	}
	if got := noteText(t, nb.Dir(), notes[0].ID); got != "buy milk\ncall mum" {
		t.Fatalf("stored %q", got)
	}
}
