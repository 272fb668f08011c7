package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/collab-editor/collab/crdt"
)

// The notes list shows each pending join as a line with its state, under
// the invitation banner: retrying (and when), trying now, or failed for
// good (why, and how to give it up); beyond two, how many more.
func TestGoldenListPendingJoins(t *testing.T) {
	nbh, _ := poemNotebook(t)
	now := time.Now()
	net := newFakeNet(t, nbh.nb)
	net.inv = []Invitation{{ID: crdt.NewDocumentID(), Title: "Trip plans", From: "dave"}}
	net.joins = []PendingJoin{
		{ID: crdt.NewDocumentID(), From: "ann", NextTry: now.Add(40 * time.Second)},
		{ID: crdt.NewDocumentID(), From: "bob", Failed: true, Why: "bob doesn't have this note"},
		{ID: crdt.NewDocumentID(), From: "…a1b2c3d4"},
	}
	h := newHarness(t, nbh.nb, Options{Network: net, Now: func() time.Time { return now }}, 72, 12).listLoaded()
	goldenPlain(t, h)
}

// A join from the dialog whose inviter cannot be reached closes the
// dialog (nothing to fix there), says the join goes on, and the list shows
// it; once the network drops it (the note arrived), the line goes.
func TestJoinDialogPendingGoesOnInTheList(t *testing.T) {
	nbh, _ := poemNotebook(t)
	net := newFakeNet(t, nbh.nb)
	net.joinErr = fmt.Errorf("%w: couldn't reach ann on this machine (port 4747): is collab running there?", ErrJoinPending)
	h := newHarness(t, nbh.nb, Options{Network: net}, 80, 14).listLoaded()
	h.keys("j", "type:automerge:abc#/ip4/127.0.0.1/tcp/4747/p2p/x", "enter")
	h.until("the dialog to close", func() bool { return h.a.dlg == nil })
	if s := h.plain(); !strings.Contains(s, "Joining in the background:") || !strings.Contains(s, "couldn't reach ann") {
		t.Errorf("after a pending join the screen reads:\n%s", s)
	}
	id := crdt.NewDocumentID()
	net.set(func(f *fakeNet) {
		f.joins = []PendingJoin{{ID: id, From: "ann", NextTry: time.Now().Add(time.Minute)}}
	})
	h.until("the pending join in the list", func() bool { return strings.Contains(h.plain(), "joining… (ann unreachable: retrying in ") })
	net.set(func(f *fakeNet) { f.joins = nil })
	h.until("the pending join to leave the list", func() bool { return !strings.Contains(h.plain(), "joining…") })
}
