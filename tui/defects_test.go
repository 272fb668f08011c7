package tui

import (
	"errors"
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

// Issue 12: at 40×10 the invite box cut the ticket off; it shows all of it
// now (wrapped), the words around it giving way.
func TestInviteBoxShowsTheWholeTicketAt40x10(t *testing.T) {
	nbh, id := poemNotebook(t)
	net := peerNet(t, nbh)
	net.ticket = "automerge:4NMNnkv3xyQjzHMdkvAqDp7bXeR1#/ip4/192.168.1.20/tcp/4747/p2p/12D3KooWQmExampleTicketPeerIdXyz"
	h := newHarness(t, nbh.nb, Options{Open: &id, Network: net}, 40, 10).noteLoaded()
	h.keys("ctrl+s").until("ticket", func() bool { d, ok := h.a.dlg.(*inviteDialog); return ok && d.ticket != "" })
	h.checkScreen()
	var shown strings.Builder
	for _, l := range strings.Split(h.plain(), "\n") {
		i, j := strings.Index(l, "│"), strings.LastIndex(l, "│")
		if i >= 0 && j > i {
			shown.WriteString(strings.TrimSpace(l[i+len("│") : j]))
		}
	}
	if !strings.Contains(shown.String(), net.ticket) {
		t.Fatalf("the box does not show the whole ticket:\n%s", h.plain())
	}
}

// Issue 12: after a failed join the dialog kept the ticket, so the next
// paste was appended to it. The field is empty after the error.
func TestJoinDialogClearsAFailedTicket(t *testing.T) {
	nb := openNotebook(t, "alice")
	net := newFakeNet(t, nb)
	net.joinErr = errors.New("no peer reachable for this ticket")
	h := newHarness(t, nb, Options{Network: net}, 60, 14).listLoaded()
	h.keys("j")
	h.send(tea.PasteMsg{Content: "automerge:bad"})
	h.keys("enter")
	h.until("the error", func() bool { d, ok := h.a.dlg.(*promptDialog); return ok && d.err != "" })
	d := h.a.dlg.(*promptDialog)
	if got := d.in.value(); got != "" {
		t.Fatalf("the failed ticket %q stayed in the field", got)
	}
	h.send(tea.PasteMsg{Content: "automerge:good"})
	if got := d.in.value(); got != "automerge:good" {
		t.Fatalf("the next paste gave %q", got)
	}
}
