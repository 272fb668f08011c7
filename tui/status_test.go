package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestStatusNamesWhoCannotBeReached: with the note's peers unreachable,
// the status bar names them (the name they go by, else the end of their
// ID) instead of "peers unreachable".
func TestStatusNamesWhoCannotBeReached(t *testing.T) {
	nbh, id := poemNotebook(t)
	net := newFakeNet(t, nbh.nb)
	net.peers = []Peer{{ID: "12D3KooWLXsixCGBfK3kCB3PgigYXXN8RWRTbJygTpcS4iqWoXDy", Name: "ann"}}
	net.status = Unreachable
	h := newHarness(t, nbh.nb, Options{Open: &id, Network: net}, 80, 10).noteLoaded()
	if got := h.plain(); !strings.Contains(got, "✗ can't reach ann") || strings.Contains(got, "peers unreachable") {
		t.Fatalf("status bar with ann unreachable:\n%s", got)
	}
	for names, want := range map[string]string{
		"ann":             "can't reach ann",
		"ann,bob":         "can't reach ann and bob",
		"ann,bob,cat,dan": "can't reach ann, bob and 2 more",
	} {
		if got := cantReach(strings.Split(names, ",")); got != want {
			t.Errorf("cantReach(%s) = %q, want %q", names, got, want)
		}
	}
}

// The status bar says how each connected collaborator is reached, short
// ("ann direct", "bob via rita"), with names and relay names made safe.
func TestStatusSaysHowEachIsReached(t *testing.T) {
	nbh, id := poemNotebook(t)
	net := newFakeNet(t, nbh.nb)
	net.peers = []Peer{
		{ID: "p1", Name: "ann", Connected: true, InNote: true, InSync: true, Path: "direct (LAN)"},
		{ID: "p2", Name: "bob\x1b[2J", Connected: true, InSync: true, Path: "relayed via rita\x1b[31m"},
		{ID: "p3", Name: "dan", Connected: true, InSync: true, Path: "direct (internet)"},
	}
	net.status = InSync
	h := newHarness(t, nbh.nb, Options{Open: &id, Network: net}, 100, 10).noteLoaded()
	got := h.plain()
	if !strings.Contains(got, "● ann direct · ○ bob via rita, dan direct · ✓ in sync") {
		t.Errorf("status bar with ann on the LAN, bob relayed via rita, dan on the internet:\n%s", got)
	}
	if strings.Contains(h.view(), "\x1b[2J") || strings.Contains(h.view(), "\x1b[31m") {
		t.Errorf("a peer's escape sequence reached the screen")
	}
}

const annBehindNAT = "ann is behind a NAT and no relay you both know is online: run `collab serve --relay` on a machine with a public address that you both know, or forward port 4747 on one side"

// One collaborator who cannot be reached: the status bar says why in
// plain words (cut to fit, the saving state still shown), and the people
// dialog (ctrl+o) has the full words; with several, the bar names them.
func TestStatusSaysWhyUnreachable(t *testing.T) {
	nbh, id := poemNotebook(t)
	net := newFakeNet(t, nbh.nb)
	net.peers = []Peer{{ID: "12D3KooWLXsixCGBfK3kCB3PgigYXXN8RWRTbJygTpcS4iqWoXDy", Name: "ann", Problem: annBehindNAT}}
	net.status = Unreachable
	h := newHarness(t, nbh.nb, Options{Open: &id, Network: net}, 80, 16).noteLoaded()
	bar, _, _ := strings.Cut(h.plain(), "\n")
	if !strings.Contains(bar, "✗ ann is behind a NAT and no") || !strings.Contains(bar, "…") || !strings.HasSuffix(strings.TrimSpace(bar), "saved") {
		t.Errorf("status bar with ann behind a NAT:\n%s", bar)
	}
	h.keys("ctrl+o")
	d, ok := h.a.dlg.(*peopleDialog)
	if !ok {
		t.Fatalf("ctrl+o opened %T, want the people dialog", h.a.dlg)
	}
	content, _, _, _ := d.view(h.a, 80)
	if got := strings.Join(strings.Fields(ansi.Strip(content)), " "); !strings.Contains(got, "People on this note") || !strings.Contains(got, "✗ ann: can't be reached: "+annBehindNAT) {
		t.Errorf("people dialog:\n%s", h.plain())
	}
	h.keys("esc")
	if _, ok := h.a.dlg.(*peopleDialog); ok || strings.Contains(h.plain(), "People on this note") {
		t.Errorf("esc left the people dialog open:\n%s", h.plain())
	}

	net.set(func(f *fakeNet) {
		f.peers = append(f.peers, Peer{ID: "p2", Name: "bob", Problem: "couldn't reach bob at 192.168.1.20 (port 4747): is collab running there?"})
	})
	h.until("both named in the bar", func() bool {
		bar, _, _ := strings.Cut(h.plain(), "\n")
		return strings.Contains(bar, "✗ can't reach ann and bob")
	})
}

// The people dialog in full words: who is in the note, online, how each
// is reached, and why one cannot be reached.
func TestGoldenPeopleDialog(t *testing.T) {
	nbh, id := poemNotebook(t)
	net := newFakeNet(t, nbh.nb)
	net.peers = []Peer{
		{ID: "p1", Name: "bob", Connected: true, InNote: true, InSync: true, Path: "direct (LAN)"},
		{ID: "p2", Name: "carol", Connected: true, Path: "relayed via rita"},
		{ID: "p3", Name: "ann", Problem: annBehindNAT},
		{ID: "12D3KooWLXsixCGBfK3kCB3PgigYXXN8RWRTbJygTpcS4iqWoXDy"},
	}
	net.status = Syncing
	h := newHarness(t, nbh.nb, Options{Open: &id, Network: net}, 72, 20).noteLoaded()
	h.keys("ctrl+o")
	goldenPlain(t, h)
}

// The status bar with one collaborator connected through a relay and one
// unreachable: how bob is reached, and why ann cannot be, cut to fit.
func TestGoldenStatusUnreachableReason(t *testing.T) {
	nbh, id := poemNotebook(t)
	net := newFakeNet(t, nbh.nb)
	net.peers = []Peer{
		{ID: "p1", Name: "bob", Connected: true, InNote: true, Path: "relayed via rita"},
		{ID: "p3", Name: "ann", Problem: annBehindNAT},
	}
	net.status = InSync
	h := newHarness(t, nbh.nb, Options{Open: &id, Network: net}, 100, 8).noteLoaded()
	goldenPlain(t, h)
}
