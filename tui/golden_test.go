package tui

import (
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/collab-editor/collab/crdt"
)

// Golden views of every screen. Most are compared as plain text (layout);
// the ones about looks (peers, NO_COLOR) keep the ANSI styling. Run
// `go test ./tui -update` to rewrite them after a deliberate change.

const poem = "Roses are red,\nviolets are blue;\nsugar is sweet 🍬\nand so are 你们.\n"

func poemNotebook(t *testing.T) (*harnessNB, crdt.DocumentID) {
	t.Helper()
	nb := openNotebook(t, "alice")
	makeNote(t, nb, "Shopping list", "eggs\nmilk\n")
	makeNote(t, nb, "Meeting notes 2024-06-01: a title long enough to be cut", "- agenda\n")
	id := makeNote(t, nb, "Poem", poem)
	return &harnessNB{nb}, id
}

func goldenPlain(t *testing.T, h *harness) {
	t.Helper()
	h.checkScreen()
	golden.RequireEqual(t, h.plain())
}

func goldenStyled(t *testing.T, h *harness) {
	t.Helper()
	h.checkScreen()
	golden.RequireEqual(t, h.view())
}

func TestGoldenList(t *testing.T) {
	nbh, _ := poemNotebook(t)
	h := newHarness(t, nbh.nb, Options{}, 60, 12).listLoaded()
	h.keys("down")
	goldenPlain(t, h)
}

func TestGoldenListEmpty(t *testing.T) {
	h := newHarness(t, openNotebook(t, "alice"), Options{}, 60, 12).listLoaded()
	goldenPlain(t, h)
}

// With a network: who is online per note, and the invitation banner.
func TestGoldenListOnline(t *testing.T) {
	nbh, _ := poemNotebook(t)
	net := newFakeNet(t, nbh.nb)
	net.peers = []Peer{{ID: "p1", Name: "bob", Connected: true}, {ID: "p2", Name: "carol", Connected: false}}
	net.inv = []Invitation{{ID: crdt.NewDocumentID(), Title: "Trip plans", From: "dave"}}
	h := newHarness(t, nbh.nb, Options{Network: net}, 60, 12).listLoaded()
	goldenPlain(t, h)
}

func TestGoldenEditor(t *testing.T) {
	nbh, id := poemNotebook(t)
	h := newHarness(t, nbh.nb, Options{Open: &id}, 60, 10).noteLoaded()
	h.keys("down", "end")
	goldenPlain(t, h)
}

func peerNet(t *testing.T, h *harnessNB) *fakeNet {
	net := newFakeNet(t, h.nb)
	net.peers = []Peer{{ID: "p1", Name: "bob", Connected: true, InNote: true, InSync: true}, {ID: "p2", Name: "carol", Connected: true, InNote: true}}
	net.pres = []Presence{
		{Peer: "p1", Name: "bob", Color: "#5fafff", Cursor: 23, Anchor: 32},
		{Peer: "p2", Name: "carol", Color: "#afff5f", Cursor: 61, Anchor: 61},
	}
	net.status = Syncing
	return net
}

func TestGoldenEditorPeers(t *testing.T) {
	nbh, id := poemNotebook(t)
	h := newHarness(t, nbh.nb, Options{Open: &id, Network: peerNet(t, nbh)}, 60, 10).noteLoaded()
	goldenStyled(t, h)
}

func TestGoldenEditorPeersPlain(t *testing.T) {
	nbh, id := poemNotebook(t)
	h := newHarness(t, nbh.nb, Options{Open: &id, Network: peerNet(t, nbh)}, 60, 10).noteLoaded()
	h.keys("ctrl+t")
	goldenPlain(t, h)
}

func TestGoldenNoColor(t *testing.T) {
	nbh, id := poemNotebook(t)
	h := newHarness(t, nbh.nb, Options{Open: &id, Network: peerNet(t, nbh), NoColor: true}, 60, 10).noteLoaded()
	h.keys("shift+right", "shift+right")
	goldenStyled(t, h)
}

func TestGoldenNoColorList(t *testing.T) {
	nbh, _ := poemNotebook(t)
	h := newHarness(t, nbh.nb, Options{NoColor: true}, 60, 8).listLoaded()
	goldenStyled(t, h)
}

func TestGoldenHelp(t *testing.T) {
	nbh, _ := poemNotebook(t)
	h := newHarness(t, nbh.nb, Options{}, 70, 20).listLoaded()
	h.keys("?")
	goldenPlain(t, h)
}

func TestGoldenHelpScrolled(t *testing.T) {
	nbh, _ := poemNotebook(t)
	h := newHarness(t, nbh.nb, Options{}, 70, 20).listLoaded()
	h.keys("?", "pgdown")
	goldenPlain(t, h)
}

func TestGoldenHistory(t *testing.T) {
	nbh, id := poemNotebook(t)
	h := newHarness(t, nbh.nb, Options{Open: &id}, 60, 14).noteLoaded()
	h.keys("ctrl+end", "type:Typed here.").saved()
	h.keys("ctrl+r").historyShown()
	h.keys("right", "down").historyShown()
	goldenPlain(t, h)
	// The selected change added the last line: marked, and only it.
	var added []string
	for _, p := range h.a.hist.preview.pieces {
		if p.kind != diffSame {
			added = append(added, p.s)
		}
	}
	if len(added) != 1 || added[0] != "Typed here." {
		t.Fatalf("marked as changed: %q", added)
	}
}

func TestGoldenInviteDialog(t *testing.T) {
	nbh, id := poemNotebook(t)
	net := peerNet(t, nbh)
	net.ticket = "collab:7Xq2fB9Vd1kLmN3pR5sT8uW4yZ6aC@/ip4/192.168.1.20/tcp/4747/p2p/12D3KooWQmExampleTicketPeerId"
	h := newHarness(t, nbh.nb, Options{Open: &id, Network: net}, 60, 16).noteLoaded()
	h.keys("ctrl+s").until("ticket", func() bool { d, ok := h.a.dlg.(*inviteDialog); return ok && d.ticket != "" })
	if len(h.clip) == 0 {
		h.settle()
	}
	if len(h.clip) != 1 || h.clip[0] != net.ticket {
		t.Fatalf("clipboard got %q, want the ticket", h.clip)
	}
	goldenPlain(t, h)
}

func TestGoldenInviteOffline(t *testing.T) {
	nbh, id := poemNotebook(t)
	h := newHarness(t, nbh.nb, Options{Open: &id}, 60, 14).noteLoaded()
	h.keys("ctrl+s")
	goldenPlain(t, h)
}

func TestGoldenJoinDialog(t *testing.T) {
	nbh, _ := poemNotebook(t)
	h := newHarness(t, nbh.nb, Options{Network: newFakeNet(t, nbh.nb)}, 60, 14).listLoaded()
	h.keys("j", "type:collab:abc")
	goldenPlain(t, h)
}

func TestGoldenJoinOffline(t *testing.T) {
	nbh, _ := poemNotebook(t)
	h := newHarness(t, nbh.nb, Options{}, 60, 14).listLoaded()
	h.keys("j")
	goldenPlain(t, h)
}

func TestGoldenInvitationPopup(t *testing.T) {
	nbh, id := poemNotebook(t)
	net := newFakeNet(t, nbh.nb)
	h := newHarness(t, nbh.nb, Options{Open: &id, Network: net}, 60, 12).noteLoaded()
	net.set(func(f *fakeNet) { f.inv = []Invitation{{ID: crdt.NewDocumentID(), Title: "Trip plans", From: "dave"}} })
	h.until("the popup", func() bool { return h.a.dlg != nil })
	goldenPlain(t, h)
}

func TestGoldenConfirmDelete(t *testing.T) {
	nbh, _ := poemNotebook(t)
	h := newHarness(t, nbh.nb, Options{}, 60, 12).listLoaded()
	h.keys("d")
	goldenPlain(t, h)
}

func TestGoldenNewNoteDialog(t *testing.T) {
	nbh, _ := poemNotebook(t)
	h := newHarness(t, nbh.nb, Options{}, 60, 12).listLoaded()
	h.keys("n", "type:Ideas")
	goldenPlain(t, h)
}

func TestGoldenFindBar(t *testing.T) {
	nbh, id := poemNotebook(t)
	h := newHarness(t, nbh.nb, Options{Open: &id}, 60, 8).noteLoaded()
	h.keys("ctrl+f", "type:sweet")
	goldenStyled(t, h)
}

func TestGoldenFindNoMatch(t *testing.T) {
	nbh, id := poemNotebook(t)
	h := newHarness(t, nbh.nb, Options{Open: &id}, 60, 8).noteLoaded()
	h.keys("ctrl+f", "type:tulips")
	goldenPlain(t, h)
}

func TestGoldenSmallList(t *testing.T) {
	nbh, _ := poemNotebook(t)
	h := newHarness(t, nbh.nb, Options{Network: peerNet(t, nbh)}, 40, 10).listLoaded()
	goldenPlain(t, h)
}

func TestGoldenSmallEditor(t *testing.T) {
	nbh, id := poemNotebook(t)
	h := newHarness(t, nbh.nb, Options{Open: &id, Network: peerNet(t, nbh)}, 40, 10).noteLoaded()
	goldenPlain(t, h)
}

func TestGoldenSmallHistory(t *testing.T) {
	nbh, id := poemNotebook(t)
	h := newHarness(t, nbh.nb, Options{Open: &id}, 40, 10).noteLoaded()
	h.keys("ctrl+r").historyShown()
	goldenPlain(t, h)
}

func TestGoldenSmallDialog(t *testing.T) {
	nbh, _ := poemNotebook(t)
	h := newHarness(t, nbh.nb, Options{}, 40, 10).listLoaded()
	h.keys("d")
	goldenPlain(t, h)
}

func TestGoldenTooSmall(t *testing.T) {
	nbh, _ := poemNotebook(t)
	h := newHarness(t, nbh.nb, Options{}, 16, 4).listLoaded()
	golden.RequireEqual(t, h.plain())
}
