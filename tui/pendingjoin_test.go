package tui

import (
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

// pendingErr is a Network's pending join error: its own words, Is
// ErrJoinPending (as cmd/collab's adapter makes the engine's).
type pendingErr string

func (e pendingErr) Error() string { return string(e) }

func (e pendingErr) Is(target error) bool { return target == ErrJoinPending }

// A join from the dialog whose inviter cannot be reached is no error to
// fix: the dialog says why and that the join goes on in the background,
// the list shows it once the dialog is closed, and the line goes when the
// network drops the join (the note arrived).
func TestJoinDialogPendingGoesOnInTheList(t *testing.T) {
	nbh, _ := poemNotebook(t)
	net := newFakeNet(t, nbh.nb)
	net.joinErr = pendingErr("couldn't reach ann on this machine (port 4747): is collab running there?")
	h := newHarness(t, nbh.nb, Options{Network: net}, 80, 16).listLoaded()
	h.keys("j", "type:automerge:abc#/ip4/127.0.0.1/tcp/4747/p2p/x", "enter")
	h.until("the dialog to say the join goes on", func() bool {
		s := h.plain()
		return strings.Contains(s, "couldn't reach ann on this machine (port 4747): is collab running") &&
			strings.Contains(s, "collab keeps trying in the background")
	})
	if d, ok := h.a.dlg.(*promptDialog); !ok || d.err != "" || d.in.value() != "" {
		t.Errorf("after a pending join the dialog is %#v", h.a.dlg)
	}
	h.keys("esc")
	id := crdt.NewDocumentID()
	net.set(func(f *fakeNet) {
		f.joins = []PendingJoin{{ID: id, From: "ann", NextTry: time.Now().Add(time.Minute)}}
	})
	h.until("the pending join in the list", func() bool { return strings.Contains(h.plain(), "joining… (ann unreachable: retrying in ") })
	net.set(func(f *fakeNet) { f.joins = nil })
	h.until("the pending join to leave the list", func() bool { return !strings.Contains(h.plain(), "joining…") })
}
