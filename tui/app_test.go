package tui

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/notebook"
)

func live() crdt.CommitPolicy { return crdt.LivePolicy }

// The whole offline round: create a note from the list, type, close; the
// text is on disk and the list shows the note.
func TestCreateTypeClose(t *testing.T) {
	nb := openNotebook(t, "alice")
	h := newHarness(t, nb, Options{}, 60, 12).listLoaded()
	h.keys("n", "type:Groceries", "enter").noteLoaded()
	if got := h.a.sess.displayTitle(); got != "Groceries" {
		t.Fatalf("title %q", got)
	}
	h.keys("type:eggs\nmilk", "left", "left", "left", "left", "backspace", "type:\n")
	id := h.a.sess.id
	h.keys("ctrl+q").until("the list", func() bool {
		return h.a.screen == screenList && len(h.a.list.notes) == 1 && h.a.sess == nil
	})
	if !strings.Contains(h.plain(), "Groceries") {
		t.Fatalf("list lacks the note:\n%s", h.plain())
	}
	if got := noteText(t, nb.Dir(), id); got != "eggs\nmilk" {
		t.Fatalf("stored %q", got)
	}
}

// Changes another process stores reach the editor without moving the
// cursor off the text it is on.
func TestRemoteChangeKeepsCursor(t *testing.T) {
	nb := openNotebook(t, "alice")
	id := makeNote(t, nb, "Shared", "hello world")
	h := newHarness(t, nb, Options{Open: &id}, 60, 10).noteLoaded()
	h.keys("ctrl+end", "left", "left", "left", "left", "left") // before "world"
	if h.a.sess.ed.CursorPos() != 6 {
		t.Fatalf("cursor %d", h.a.sess.ed.CursorPos())
	}
	otherProcessInserts(t, nb, id, ">> ")
	h.until("the other process's edit", func() bool { return h.a.sess.ed.Text() == ">> hello world" })
	if got := h.a.sess.ed.CursorPos(); got != 9 {
		t.Fatalf("cursor at %d, want 9 (still before \"world\")", got)
	}
	h.keys("type:big ")
	h.keys("ctrl+q")
	h.until("closed", func() bool { return h.quit })
	if got := noteText(t, nb.Dir(), id); got != ">> hello big world" {
		t.Fatalf("stored %q", got)
	}
}

// peerEdit makes an edit as another copy of the note would and returns the
// change bytes a peer would send.
func peerEdit(t *testing.T, n *notebook.Note, pos int, ins string) []byte {
	t.Helper()
	saved, err := n.Save()
	if err != nil {
		t.Fatal(err)
	}
	peer, _, err := crdt.Load(saved, nil, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := peer.Splice(pos, 0, ins); err != nil {
		t.Fatal(err)
	}
	changes, err := peer.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 {
		t.Fatalf("%d changes", len(changes))
	}
	return changes[0].Bytes
}

// A key typed while a peer's change is applied to the note but not yet on
// screen lands where the user sees it: the editor catches up first.
func TestTypingAfterUnseenPeerChange(t *testing.T) {
	nb := openNotebook(t, "alice")
	id := makeNote(t, nb, "Shared", "abc")
	net := newFakeNet(t, nb)
	h := newHarness(t, nb, Options{Open: &id, Network: net}, 60, 10).noteLoaded().settle()
	h.keys("ctrl+end")
	note, _ := net.Open(id)
	if err := note.ApplyRemote("bob", peerEdit(t, note, 0, "XYZ")); err != nil {
		t.Fatal(err)
	}
	// No message processed in between: the key arrives first.
	h.keys("type:!")
	text, err := note.Text()
	if err != nil {
		t.Fatal(err)
	}
	if text != "XYZabc!" || h.a.sess.ed.Text() != text {
		t.Fatalf("note %q, editor %q; want XYZabc!", text, h.a.sess.ed.Text())
	}
}

func TestRenameDeleteUndo(t *testing.T) {
	nb := openNotebook(t, "alice")
	makeNote(t, nb, "Old name", "x")
	h := newHarness(t, nb, Options{}, 60, 12).listLoaded()
	h.keys("r", "ctrl+u", "type:New name", "enter")
	// The live list can show the new title before the rename's own result
	// closes the dialog; keys go to the dialog until then.
	h.until("renamed", func() bool {
		return h.a.dlg == nil && len(h.a.list.notes) == 1 && h.a.list.notes[0].Title == "New name"
	})
	h.keys("d", "n")
	if h.a.dlg != nil || len(h.a.list.notes) != 1 {
		t.Fatal("n should cancel the delete")
	}
	h.keys("d", "y").until("trashed", func() bool { return len(h.a.list.notes) == 0 && h.a.list.trashed != nil })
	if !strings.Contains(h.plain(), "u brings it back") {
		t.Fatalf("no undo hint:\n%s", h.plain())
	}
	h.keys("u").until("restored", func() bool { return len(h.a.list.notes) == 1 })
}

func TestHistoryRestore(t *testing.T) {
	nb := openNotebook(t, "alice")
	id := makeNote(t, nb, "Draft", "first version")
	h := newHarness(t, nb, Options{Open: &id, Policy: live}, 60, 14).noteLoaded()
	h.keys("alt+a", "type:second version").saved()
	h.keys("ctrl+r").historyShown()
	n := len(h.a.hist.changes)
	if n < 3 {
		t.Fatalf("%d changes", n)
	}
	h.findVersion("first version")
	h.keys("enter")
	if _, ok := h.a.dlg.(*confirmDialog); !ok {
		t.Fatal("restore asks first")
	}
	h.keys("y")
	if h.a.screen != screenEditor || h.a.sess.ed.Text() != "first version" {
		t.Fatalf("screen %v, text %q", h.a.screen, h.a.sess.ed.Text())
	}
	h.saved()
	h.keys("ctrl+r").historyShown()
	if len(h.a.hist.changes) <= n {
		t.Fatalf("restoring added no change (%d -> %d)", n, len(h.a.hist.changes))
	}
	h.keys("esc", "ctrl+q").until("quit", func() bool { return h.quit })
	if got := noteText(t, nb.Dir(), id); got != "first version" {
		t.Fatalf("stored %q", got)
	}
}

// A version from before the note's history was cut (collab compact) is
// still in the history and can be restored.
func TestHistoryRestoreAcrossAnEpoch(t *testing.T) {
	nb := openNotebook(t, "alice")
	id := makeNote(t, nb, "Draft", "first version")
	n, _, err := nb.OpenNote(id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.ReplaceText("second version"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.StartEpoch(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, nb, Options{Open: &id, Policy: live}, 60, 14).noteLoaded()
	h.keys("ctrl+r").historyShown()
	for _, ss := range h.a.hist.sessions {
		if ss.First.Year() < 2000 {
			t.Fatalf("the epoch's first change (time 0) shows as an edit: %+v", ss)
		}
	}
	h.findVersion("first version")
	h.keys("enter", "y")
	if h.a.screen != screenEditor || h.a.sess.ed.Text() != "first version" {
		t.Fatalf("screen %v, text %q", h.a.screen, h.a.sess.ed.Text())
	}
	h.saved()
	h.keys("ctrl+q").until("quit", func() bool { return h.quit })
	if got := noteText(t, nb.Dir(), id); got != "first version" {
		t.Fatalf("stored %q", got)
	}
}

func TestPresenceFollowAndCursor(t *testing.T) {
	nb := openNotebook(t, "alice")
	long := strings.Repeat("line\n", 100)
	id := makeNote(t, nb, "Long", long)
	net := newFakeNet(t, nb)
	h := newHarness(t, nb, Options{Open: &id, Network: net}, 40, 10).noteLoaded()
	net.set(func(f *fakeNet) {
		f.peers = []Peer{{ID: "p1", Name: "bob", Connected: true}}
		f.pres = []Presence{{Peer: "p1", Name: "bob", Color: "#5fafff", Cursor: 5, Anchor: 5}}
	})
	h.until("bob's cursor", func() bool { return len(h.a.sess.ed.Peers()) == 1 })
	h.keys("ctrl+t")
	if h.a.sess.ed.Following() != "p1" {
		t.Fatal("ctrl+t should follow bob")
	}
	net.set(func(f *fakeNet) { f.pres[0].Cursor, f.pres[0].Anchor = 450, 450 })
	h.until("the view to follow bob", func() bool { return h.a.sess.ed.TopPos() > 300 })
	h.keys("ctrl+t")
	if h.a.sess.ed.Following() != "" {
		t.Fatal("ctrl+t again stops following (only one peer)")
	}
	// Our own cursor goes to the network.
	h.keys("down", "shift+right")
	net.mu.Lock()
	last := net.cursors[len(net.cursors)-1]
	net.mu.Unlock()
	c := h.a.sess.ed.CursorPos()
	if last[0] != c || last[1] != c-1 {
		t.Fatalf("SetCursor got %v, want cursor %d anchor %d", last, c, c-1)
	}
}

func TestJoinAndInvitations(t *testing.T) {
	nb := openNotebook(t, "alice")
	target := makeNote(t, nb, "Their note", "from afar")
	net := newFakeNet(t, nb)
	net.joinErr = errors.New("no peer reachable for this ticket")
	h := newHarness(t, nb, Options{Network: net}, 60, 14).listLoaded()
	h.keys("j", "type:bad-ticket", "enter")
	h.until("the error", func() bool { d, ok := h.a.dlg.(*promptDialog); return ok && d.err != "" })
	if !strings.Contains(h.plain(), "no peer reachable") {
		t.Fatalf("error not shown:\n%s", h.plain())
	}
	net.joinErr, net.joinID = nil, target
	h.keys("type:good-ticket", "enter").noteLoaded()
	if h.a.sess.ed.Text() != "from afar" {
		t.Fatalf("joined note shows %q", h.a.sess.ed.Text())
	}
	// An invitation pops up in the editor; accepting opens that note.
	other := makeNote(t, nb, "Invited", "welcome")
	net.set(func(f *fakeNet) { f.inv = []Invitation{{ID: other, Title: "Invited", From: "dave"}} })
	h.until("the popup", func() bool { return h.a.dlg != nil })
	h.keys("a").until("the invited note", func() bool {
		return h.a.sess != nil && h.a.sess.id == other && !h.a.sess.loading
	})
	net.get(func(f *fakeNet) {
		if len(f.accepted) != 1 || f.accepted[0] != other {
			t.Errorf("accepted %v", f.accepted)
		}
	})
	// Declining from the list's invitations dialog.
	third := crdt.NewDocumentID()
	net.set(func(f *fakeNet) { f.inv = []Invitation{{ID: third, Title: "Spam", From: "eve"}} })
	h.until("the popup", func() bool { return h.a.dlg != nil })
	h.keys("x").until("declined and the popup closed", func() bool {
		n := 0
		net.get(func(f *fakeNet) { n = len(f.declined) })
		return n == 1 && h.a.dlg == nil
	})
}

// A note joined from a ticket has no text until a peer sends it.
func TestJoinedNoteWaitsForText(t *testing.T) {
	nb := openNotebook(t, "alice")
	src := openNotebook(t, "bob")
	orig, err := src.Create("Far away")
	if err != nil {
		t.Fatal(err)
	}
	if err := orig.Splice(0, 0, "the text"); err != nil {
		t.Fatal(err)
	}
	if _, err := orig.Flush(); err != nil {
		t.Fatal(err)
	}
	body, err := orig.Save()
	if err != nil {
		t.Fatal(err)
	}
	orig.Close()
	joined, err := nb.Join(orig.ID)
	if err != nil {
		t.Fatal(err)
	}
	joined.Close()
	net := newFakeNet(t, nb)
	net.joinID = orig.ID
	h := newHarness(t, nb, Options{Network: net}, 60, 10).listLoaded()
	h.keys("j", "type:ticket", "enter").noteLoaded()
	if !h.a.sess.noBody || !strings.Contains(h.plain(), "Waiting for the note's text") {
		t.Fatalf("should wait for the text:\n%s", h.plain())
	}
	h.keys("type:x") // refused: there is no body to edit yet
	note, _ := net.Open(orig.ID)
	if err := note.ApplyRemote("bob", body); err != nil {
		t.Fatal(err)
	}
	h.until("the text", func() bool { return h.a.sess.ed.Text() == "the text" })
}

// Every screen fits every size down to 40×10 (and degrades below).
func TestResizeEveryScreen(t *testing.T) {
	nb := openNotebook(t, "alice")
	id := makeNote(t, nb, "A note with a rather long title to cut", strings.Repeat("word ", 400))
	net := peerNet(t, &harnessNB{nb})
	net.ticket = strings.Repeat("T", 150)
	h := newHarness(t, nb, Options{Network: net}, 80, 24).listLoaded()
	sizes := [][2]int{{200, 60}, {80, 24}, {40, 10}, {41, 11}, {25, 6}, {10, 3}, {1, 1}}
	check := func(what string) {
		for _, s := range sizes {
			h.send(tea.WindowSizeMsg{Width: s[0], Height: s[1]})
			h.checkScreen()
			_ = what
		}
		h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	}
	check("list")
	h.keys("?")
	check("help")
	h.keys("esc", "d")
	check("confirm")
	h.keys("esc", "j")
	check("join")
	h.keys("esc")
	h.send(openMsg{id})
	h.noteLoaded()
	check("editor")
	h.keys("ctrl+f", "type:word")
	check("find")
	h.keys("esc", "ctrl+s").until("ticket", func() bool { d, ok := h.a.dlg.(*inviteDialog); return ok && d.ticket != "" })
	check("invite")
	h.keys("esc", "ctrl+r").historyShown()
	check("history")
}

// Errors show in the footer and go away with the next key.
func TestErrorShownInUI(t *testing.T) {
	nb := openNotebook(t, "alice")
	h := newHarness(t, nb, Options{}, 60, 10).listLoaded()
	h.send(openMsg{crdt.NewDocumentID()})
	h.until("the error", func() bool { return h.a.flashErr })
	if !strings.Contains(h.plain(), "can't open the note") {
		t.Fatalf("no error shown:\n%s", h.plain())
	}
	h.checkScreen()
}

// A panic in Update: Bubble Tea restores the terminal and reports it, and
// Run still stores the open note.
func TestPanicRestoresTerminalAndStores(t *testing.T) {
	nb := openNotebook(t, "alice")
	id := makeNote(t, nb, "Crashy", "")
	app := New(nb, Options{Open: &id})
	loaded := make(chan struct{})
	typed := make(chan struct{})
	var keys atomic.Int32
	app.debugPanic = func(msg tea.Msg) {
		switch m := msg.(type) {
		case noteLoadedMsg:
			close(loaded)
		case tea.KeyPressMsg:
			if m.Code == tea.KeyF12 {
				panic("boom")
			}
			// Every key of the text has reached Update (frames may show
			// it in pieces, so the output is no sure sign).
			if keys.Add(1) == int32(len("saved before the crash")) {
				close(typed)
			}
		}
	}
	in, inW := io.Pipe()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), app, tea.WithInput(in), tea.WithOutput(&out), tea.WithWindowSize(60, 10), tea.WithoutSignalHandler())
	}()
	select {
	case <-loaded:
	case <-time.After(20 * time.Second):
		t.Fatal("note never loaded")
	}
	io.WriteString(inW, "saved before the crash")
	select {
	case <-typed:
	case <-time.After(20 * time.Second):
		t.Fatal("the typed keys never arrived")
	}
	// Once the screen is drawn (alternate screen entered), crash. (The
	// typed text itself may be drawn with cursor sequences inside it.)
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), "\x1b[?1049h"); {
		if time.Now().After(deadline) {
			t.Fatalf("never drawn: %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	io.WriteString(inW, "\x1b[24~") // F12
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("program did not end")
	}
	inW.Close()
	if !errors.Is(err, tea.ErrProgramPanic) {
		t.Fatalf("Run returned %v, want ErrProgramPanic", err)
	}
	if !strings.Contains(out.String(), "\x1b[?1049l") {
		t.Errorf("alternate screen not left: the terminal was not restored; output %q", out.String())
	}
	if got := noteText(t, nb.Dir(), id); got != "saved before the crash" {
		t.Fatalf("stored %q", got)
	}
}

// The note's cached text shows at once; keys typed before the full note has
// loaded are kept and applied to it, and ctrl+q waits for them.
func TestKeysTypedWhileLoadingAreKept(t *testing.T) {
	nb := openNotebook(t, "alice")
	id := makeNote(t, nb, "Quick", "cached text")
	h := newHarness(t, nb, Options{Open: &id}, 60, 10)
	if !h.a.sess.loading || !strings.Contains(h.plain(), "cached text") || !strings.Contains(h.plain(), "loading") {
		t.Fatalf("want the cached text while loading:\n%s", h.plain())
	}
	h.keys("ctrl+end", "type: and more")
	if !h.a.sess.loading || !strings.Contains(h.plain(), "cached text and more") {
		t.Fatalf("keys typed on the current cached text are not shown while loading:\n%s", h.plain())
	}
	h.keys("ctrl+q")
	h.until("quit", func() bool { return h.quit })
	if got := noteText(t, nb.Dir(), id); got != "cached text and more" {
		t.Fatalf("stored %q", got)
	}
}

// Keys typed on the cached text while the note loads are rebased past
// what another process stored after that text was cached: the load
// brings the other's edit, and both are shown and kept.
func TestKeysTypedWhileLoadingMeetChangesThatArrived(t *testing.T) {
	nb := openNotebook(t, "alice")
	id := makeNote(t, nb, "Quick", "cached text")
	h := newHarness(t, nb, Options{Open: &id}, 60, 10)
	h.keys("ctrl+end", "type: and more")
	// Take the load's result before the app sees it; another process
	// edits; the result then carries the note as it is now, not the
	// cached text the keys were typed on.
	var loaded noteLoadedMsg
	for found := false; !found; {
		select {
		case m := <-h.msgs:
			if lm, ok := m.(noteLoadedMsg); ok {
				loaded, found = lm, true
			} else {
				h.send(m)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the note did not load")
		}
	}
	otherProcessInserts(t, nb, id, "bob: ")
	if _, err := loaded.note.Refresh(); err != nil {
		t.Fatal(err)
	}
	var err error
	if loaded.text, loaded.rev, err = loaded.note.ReadText(); err != nil || loaded.text != "bob: cached text" {
		t.Fatalf("the loaded note reads %q (%v)", loaded.text, err)
	}
	h.send(loaded)
	if got := h.a.sess.ed.Text(); got != "bob: cached text and more" {
		t.Fatalf("the editor shows %q", got)
	}
	h.keys("ctrl+q")
	h.until("quit", func() bool { return h.quit })
	if got := noteText(t, nb.Dir(), id); got != "bob: cached text and more" {
		t.Fatalf("stored %q", got)
	}
}

func TestListShowsWhatThePeerListensOn(t *testing.T) {
	nbh, _ := poemNotebook(t)
	reach := "port 4747, all interfaces, mDNS"
	wide := newHarness(t, nbh.nb, Options{Network: peerNet(t, nbh), Reach: reach}, 100, 12).listLoaded()
	if first := strings.SplitN(wide.plain(), "\n", 2)[0]; !strings.Contains(first, "online · "+reach) {
		t.Fatalf("title bar %q does not say what the peer listens on", first)
	}
	narrow := newHarness(t, nbh.nb, Options{Network: peerNet(t, nbh), Reach: reach}, 40, 12).listLoaded()
	if first := strings.SplitN(narrow.plain(), "\n", 2)[0]; strings.Contains(first, "port") || !strings.Contains(first, "online") {
		t.Fatalf("narrow title bar %q", first)
	}
}

// otherProcessInserts puts text at the start of a note from another
// process on the same notebook (another Notebook value), stored.
func otherProcessInserts(t *testing.T, nb *notebook.Notebook, id crdt.DocumentID, text string) {
	t.Helper()
	other, err := notebook.Open(nb.Dir(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	n, _, err := other.OpenNote(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Splice(0, 0, text); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
}
