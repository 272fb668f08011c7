package tui

import (
	"strings"
	"testing"
)

// longNote is 40 numbered lines, more than the 10-row terminal shows.
func longNote(t *testing.T) (*harnessNB, string) {
	t.Helper()
	var b strings.Builder
	for i := range 40 {
		b.WriteString("line ")
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString("\n")
	}
	return &harnessNB{openNotebook(t, "alice")}, b.String()
}

func offScreenNet(t *testing.T, h *harnessNB, text string) *fakeNet {
	net := newFakeNet(t, h.nb)
	end := len([]rune(text))
	net.peers = []Peer{{ID: "p1", Name: "bob", Connected: true, InNote: true, InSync: true}, {ID: "p2", Name: "cem", Connected: true, InNote: true, InSync: true}}
	net.pres = []Presence{
		{Peer: "p1", Name: "bob", Color: "#5fafff", Cursor: end, Anchor: end},
		{Peer: "p2", Name: "cem", Color: "#afff5f", Cursor: 3, Anchor: 3},
	}
	return net
}

// Issue 7: collaborators whose cursors are out of view are named at the
// editor's top or bottom edge, and scrolling to them shows them instead.
func TestOffScreenCollaboratorsAreMarked(t *testing.T) {
	nbh, text := longNote(t)
	id := makeNote(t, nbh.nb, "Long", text)
	h := newHarness(t, nbh.nb, Options{Open: &id, Network: offScreenNet(t, nbh, text)}, 40, 10).noteLoaded()
	h.checkScreen()
	rows := strings.Split(h.plain(), "\n")
	// Rows: status bar, 8 editor rows, footer.
	if !strings.HasSuffix(rows[8], "↓ bob") || strings.Contains(h.plain(), "↑") {
		t.Fatalf("want bob marked below, cem on screen:\n%s", h.plain())
	}
	if rows[1] != "line a cem" {
		t.Fatalf("first row %q, want cem's label on it", rows[1])
	}
	if c := h.a.sess.cursor(); c == nil || c.X != 0 || c.Y != 1 {
		t.Fatalf("cursor %+v, want at the first editor row", c)
	}

	h.keys("ctrl+end")
	h.checkScreen()
	rows = strings.Split(h.plain(), "\n")
	if !strings.HasSuffix(rows[1], "↑ cem") || strings.Contains(h.plain(), "↓") {
		t.Fatalf("want cem marked above, bob on screen:\n%s", h.plain())
	}
	// The last line is empty: the cursor and bob's sit on it.
	if c := h.a.sess.cursor(); c == nil || c.Y != 8 || !strings.Contains(rows[8], "bob") {
		t.Fatalf("cursor %+v, want at the last editor row with bob:\n%s", c, h.plain())
	}
}

func TestGoldenEditorOffScreenNoColor(t *testing.T) {
	nbh, text := longNote(t)
	id := makeNote(t, nbh.nb, "Long", text)
	h := newHarness(t, nbh.nb, Options{Open: &id, Network: offScreenNet(t, nbh, text), NoColor: true}, 40, 10).noteLoaded()
	h.keys("down", "down", "down", "down", "down", "down", "down", "down", "down", "down")
	goldenStyled(t, h)
}

// Issue 7: people with the note open (●) and people only online (○) are
// shown apart in the status bar.
func TestStatusShowsOnlineApartFromInTheNote(t *testing.T) {
	nbh, id := poemNotebook(t)
	net := newFakeNet(t, nbh.nb)
	net.peers = []Peer{
		{ID: "p1", Name: "bob", Connected: true, InNote: true, InSync: true},
		{ID: "p2", Name: "carol", Connected: true},
		{ID: "p3", Name: "dave", Connected: true},
		{ID: "p4", Name: "erin"}, // gone: not shown
	}
	h := newHarness(t, nbh.nb, Options{Open: &id, Network: net}, 70, 10).noteLoaded()
	bar := strings.Split(h.plain(), "\n")[0]
	if !strings.Contains(bar, "● bob · ○ carol, dave · ✓ in sync") || strings.Contains(bar, "erin") {
		t.Fatalf("status bar %q", bar)
	}
	// carol opens the note: she moves to ●.
	net.set(func(f *fakeNet) { f.peers[1].InNote = true })
	h.until("carol in the note", func() bool {
		return strings.Contains(strings.Split(h.plain(), "\n")[0], "● bob, carol · ○ dave ·")
	})
}

// Issue 8: a divergence is never silent. The status bar names the peer
// whose copy cannot match ours (sanitised), and says "in sync" again only
// once the engine does.
func TestStatusShowsDivergence(t *testing.T) {
	nbh, id := poemNotebook(t)
	net := newFakeNet(t, nbh.nb)
	net.status = Diverged
	net.peers = []Peer{
		{ID: "p1", Name: "bob\x1b[31m", Connected: true, InNote: true, Diverged: "refused their change 3 of author c19e3144"},
		{ID: "p2", Name: "carol", Connected: true, InNote: true, InSync: true},
	}
	h := newHarness(t, nbh.nb, Options{Open: &id, Network: net}, 80, 10).noteLoaded()
	bar := strings.Split(h.plain(), "\n")[0]
	if !strings.Contains(bar, "⚠ diverged from bob") || strings.Contains(bar, "in sync") || strings.Contains(bar, "diverged from bob, carol") {
		t.Fatalf("status bar %q", bar)
	}
	if strings.Contains(h.view(), "\x1b[31m") {
		t.Fatalf("a peer's name reached the terminal unsanitised")
	}
	net.set(func(f *fakeNet) { f.status, f.peers[0].Diverged, f.peers[0].InSync = InSync, "", true })
	h.until("in sync once the engine says so", func() bool {
		bar := strings.Split(h.plain(), "\n")[0]
		return strings.Contains(bar, "✓ in sync") && !strings.Contains(bar, "diverged")
	})
}
