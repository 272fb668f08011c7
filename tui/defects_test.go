package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/notebook"
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

// The editor measures clusters as the renderer does: wcwidth until the
// terminal answers the mode 2027 query, grapheme widths after (what Bubble
// Tea's renderer switches to on that report).
func TestEditorFollowsTheRenderersWidthMethod(t *testing.T) {
	nb := openNotebook(t, "alice")
	id := makeNote(t, nb, "Family", "abcdefghijklmnop👨\u200d👩\u200d👧xy")
	h := newHarness(t, nb, Options{Open: &id}, 20, 6).noteLoaded()
	if m := h.a.sess.ed.WidthMethod(); m != ansi.WcWidth {
		t.Fatalf("method %v before the terminal answered, want wcwidth", m)
	}
	if rows := strings.Split(h.plain(), "\n"); rows[1] != "abcdefghijklmnop" || rows[2] != "👨\u200d👩\u200d👧xy" {
		t.Fatalf("wcwidth rows %q", rows[1:3])
	}
	h.send(tea.ModeReportMsg{Mode: ansi.ModeUnicodeCore, Value: ansi.ModeReset})
	if m := h.a.sess.ed.WidthMethod(); m != ansi.GraphemeWidth {
		t.Fatalf("method %v after the mode report, want grapheme widths", m)
	}
	if rows := strings.Split(h.plain(), "\n"); rows[1] != "abcdefghijklmnop👨\u200d👩\u200d👧xy" {
		t.Fatalf("grapheme rows %q", rows[1:3])
	}
}

// Quitting while collaborators are connected asks once: the quit key again
// (or y) quits, n stays. With nobody connected it quits at once.
func TestQuitAsksOnceWhileCollaboratorsAreConnected(t *testing.T) {
	nb := openNotebook(t, "alice")
	id := makeNote(t, nb, "Shared", "text")
	net := newFakeNet(t, nb)
	net.peers = []Peer{{ID: "p1", Name: "bob", Connected: true}, {ID: "p2", Name: "cem", Connected: true}, {ID: "p3", Name: "dan"}}
	h := newHarness(t, nb, Options{Open: &id, Network: net}, 60, 12).noteLoaded()
	h.keys("ctrl+c")
	if _, ok := h.a.dlg.(*quitDialog); !ok || h.a.quitting {
		t.Fatalf("ctrl+c with bob and cem connected: dialog %T, quitting %v", h.a.dlg, h.a.quitting)
	}
	if scr := h.plain(); !strings.Contains(scr, "bob and cem are connected") || strings.Contains(scr, "dan") {
		t.Fatalf("the question does not name who is connected:\n%s", scr)
	}
	h.keys("n")
	if h.a.dlg != nil || h.a.quitting {
		t.Fatal("n should keep collab running")
	}
	h.keys("ctrl+q") // opened directly: closing quits, so it asks too
	if _, ok := h.a.dlg.(*quitDialog); !ok {
		t.Fatalf("ctrl+q in `collab edit` with people connected: dialog %T", h.a.dlg)
	}
	h.keys("esc", "ctrl+c", "ctrl+c").until("quit", func() bool { return h.quit })

	// On the list too, and nobody connected means no question.
	net2 := newFakeNet(t, nb)
	h2 := newHarness(t, nb, Options{Network: net2}, 60, 12).listLoaded()
	h2.keys("q").until("quit without asking", func() bool { return h2.quit })
}

// Issue 7: the notes list did not refresh when notes were added, restored,
// accepted or joined while it was shown. Here another process on the
// notebook creates, joins (what an engine does on `collab join` or an
// accepted invitation), trashes and restores notes; the shown list follows.
func TestListFollowsTheNotebook(t *testing.T) {
	nb := openNotebook(t, "alice")
	makeNote(t, nb, "First", "one")
	h := newHarness(t, nb, Options{}, 60, 12).listLoaded()
	other, err := notebook.Open(nb.Dir(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	shows := func(what string, want ...string) {
		t.Helper()
		h.until(what, func() bool {
			scr := h.plain()
			for _, w := range want {
				if !strings.Contains(scr, w) {
					return false
				}
			}
			return true
		})
	}
	second := makeNote(t, other, "Second", "two")
	shows("a note another process created", "First", "Second", "2 notes")
	joined, err := other.Join(crdt.NewDocumentID())
	if err != nil {
		t.Fatal(err)
	}
	joined.Close()
	shows("a joined note", "3 notes")
	if err := other.Trash(second); err != nil {
		t.Fatal(err)
	}
	h.until("the trashed note gone", func() bool { return !strings.Contains(h.plain(), "Second") })
	if err := other.Restore(second); err != nil {
		t.Fatal(err)
	}
	shows("the restored note", "Second", "3 notes")
	n, _, err := other.OpenNote(second)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.SetTitle("Second, renamed"); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	shows("the renamed note", "Second, renamed")
}
