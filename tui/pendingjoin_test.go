package tui

import (
	"slices"
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

// A pending join can be given up from the list: ↑ past the first note
// selects the joins' lines (the key hints say what d does there), d asks
// first, n keeps the join, y cancels it through the network; the line
// goes and ↓ is back on the notes.
func TestCancelPendingJoinFromTheList(t *testing.T) {
	nbh, _ := poemNotebook(t)
	now := time.Now()
	net := newFakeNet(t, nbh.nb)
	annJoin, bobJoin := crdt.NewDocumentID(), crdt.NewDocumentID()
	net.joins = []PendingJoin{
		{ID: annJoin, From: "ann", NextTry: now.Add(40 * time.Second)},
		{ID: bobJoin, From: "bob", Failed: true, Why: "bob doesn't have this note"},
	}
	h := newHarness(t, nbh.nb, Options{Network: net, Now: func() time.Time { return now }}, 80, 14).listLoaded()
	h.keys("up")
	if got := h.plain(); !strings.Contains(got, "› join from bob failed") || !strings.Contains(got, "d cancel this join") {
		t.Fatalf("↑ from the first note does not select bob's join:\n%s", got)
	}
	h.keys("up", "enter")
	if got := h.plain(); !strings.Contains(got, "› joining… (ann unreachable") || h.a.screen != screenList {
		t.Fatalf("↑ again does not select ann's join, or enter left the list:\n%s", got)
	}
	h.keys("d")
	if got := h.plain(); !strings.Contains(got, "Cancel the join") || !strings.Contains(got, "Stop trying to join the note ann shared?") {
		t.Fatalf("d on ann's join asks nothing:\n%s", got)
	}
	h.keys("n")
	if len(net.cancelled) != 0 || len(net.PendingJoins()) != 2 {
		t.Fatalf("n cancelled %v", net.cancelled)
	}
	h.keys("d", "y")
	h.until("ann's join to go, and the flash to say so", func() bool {
		got := h.plain()
		return !strings.Contains(got, "joining… (ann") && strings.Contains(got, "Cancelled the join from ann")
	})
	net.mu.Lock()
	cancelled := slices.Clone(net.cancelled)
	net.mu.Unlock()
	if !slices.Equal(cancelled, []crdt.DocumentID{annJoin}) {
		t.Errorf("cancelled %v, want only ann's join %v", cancelled, annJoin)
	}
	if !strings.Contains(h.plain(), "join from bob failed") {
		t.Errorf("bob's join went too:\n%s", h.plain())
	}
	h.keys("up", "down")
	if _, _, on := h.a.selectedJoin(h.a.shownJoins()); on || strings.Contains(h.plain(), "›") {
		t.Errorf("↓ from the last join's line is not back on the notes:\n%s", h.plain())
	}
}

// The list with a pending join's line selected: marked, and the key
// hints say what d does.
func TestGoldenListPendingJoinSelected(t *testing.T) {
	nbh, _ := poemNotebook(t)
	now := time.Now()
	net := newFakeNet(t, nbh.nb)
	net.joins = []PendingJoin{{ID: crdt.NewDocumentID(), From: "ann", NextTry: now.Add(40 * time.Second)}}
	h := newHarness(t, nbh.nb, Options{Network: net, Now: func() time.Time { return now }}, 72, 10).listLoaded()
	h.keys("up")
	goldenPlain(t, h)
}
