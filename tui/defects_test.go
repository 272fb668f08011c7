package tui

import (
	"strings"
	"testing"
)

// Issue 7: i, ↓, enter on an empty invitations dialog indexed item -1 and
// took the app down. It must stay up and say there is nothing to answer.
func TestEmptyInvitationsDialogSurvivesKeys(t *testing.T) {
	nb := openNotebook(t, "alice")
	net := newFakeNet(t, nb)
	h := newHarness(t, nb, Options{Network: net}, 60, 12).listLoaded()
	h.keys("i", "down", "enter", "up", "a", "x", "down")
	if _, ok := h.a.dlg.(*invitesDialog); !ok {
		t.Fatalf("the invitations dialog closed or changed: %T", h.a.dlg)
	}
	if !strings.Contains(h.plain(), "No invitations waiting") {
		t.Fatalf("the empty dialog does not say so:\n%s", h.plain())
	}
	net.get(func(f *fakeNet) {
		if len(f.accepted)+len(f.declined) != 0 {
			t.Errorf("answered a missing invitation: accepted %v declined %v", f.accepted, f.declined)
		}
	})
	h.keys("esc")
	if h.a.dlg != nil || h.quit {
		t.Fatalf("esc should close the dialog only (dialog %T, quit %v)", h.a.dlg, h.quit)
	}
}

// Issue 7: Esc on the notes list quit at once (and so disconnected the
// user). It does nothing there now; q and ctrl+c quit.
func TestEscOnListDoesNotQuit(t *testing.T) {
	nb := openNotebook(t, "alice")
	makeNote(t, nb, "Kept open", "x")
	h := newHarness(t, nb, Options{}, 60, 12).listLoaded()
	h.keys("esc").settle()
	if h.quit || h.a.quitting {
		t.Fatal("esc on the notes list quit the app")
	}
	if !strings.Contains(h.plain(), "Kept open") {
		t.Fatalf("the list is gone:\n%s", h.plain())
	}
	h.keys("q").until("quit", func() bool { return h.quit })
}
