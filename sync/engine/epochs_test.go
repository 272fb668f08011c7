package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/notebook"
)

// offlineEdit stops p, appends text to its copy of id as the user would
// with the engine not running, and leaves it stopped.
func (p *testPeer) offlineEdit(id crdt.DocumentID, text string) {
	p.tb.Helper()
	nb, err := notebook.Open(p.dir, p.name)
	if err != nil {
		p.tb.Fatal(err)
	}
	n, _, err := nb.OpenNote(id)
	if err != nil {
		p.tb.Fatal(err)
	}
	if err := n.Append(text); err != nil {
		p.tb.Fatal(err)
	}
	if err := n.Close(); err != nil {
		p.tb.Fatal(err)
	}
}

func (p *testPeer) epoch(id crdt.DocumentID) uint64 { return p.note(id).EpochNumber() }

// waitEpoch waits until every peer's copy of id is in epoch k.
func waitEpoch(tb testing.TB, id crdt.DocumentID, k uint64, peers ...*testPeer) {
	tb.Helper()
	waitFor(tb, 20*time.Second, "every copy in the new epoch", func() bool {
		for _, p := range peers {
			if p.epoch(id) != k {
				return false
			}
		}
		return true
	})
}

// A shared note is cut by one peer: a connected peer follows at once; a
// peer that was offline, typed meanwhile and lacks the cut's last change
// fetches the epoch before, cuts where ann did, and its offline line
// reaches everyone once. Every copy still lists the history before the cut.
func TestSharedNoteEpochReachesEveryPeer(t *testing.T) {
	ann, bob, cy := newPeer(t, "ann"), newPeer(t, "bob"), newPeer(t, "cy")
	id := ann.create("plan", "one\n")
	for _, p := range []*testPeer{bob, cy} {
		if err := p.join(id, ann); err != nil {
			t.Fatal(err)
		}
	}
	waitText(t, id, "one\n", ann, bob, cy)
	waitFor(t, 10*time.Second, "ann to know both follow epochs", func() bool {
		return ann.note(id).CanCut() == nil
	})

	bob.stop()
	bob.offlineEdit(id, "bob offline\n")
	ann.edit(id, len("one\n"), 0, "ann two\n")
	waitText(t, id, "one\nann two\n", ann, cy)
	if _, err := ann.note(id).StartEpoch(); err != nil {
		t.Fatal(err)
	}
	waitEpoch(t, id, 1, ann, cy)
	cy.edit(id, 0, 0, "cy in epoch 1\n")
	waitText(t, id, "cy in epoch 1\none\nann two\n", ann, cy)

	bob.start()
	waitEpoch(t, id, 1, ann, bob, cy)
	text := waitSame(t, id, ann, bob, cy)
	for _, line := range []string{"one\n", "ann two\n", "bob offline\n", "cy in epoch 1\n"} {
		if strings.Count(text, line) != 1 {
			t.Errorf("the note reads %q: %q is not there once", text, line)
		}
	}
	for _, p := range []*testPeer{ann, bob, cy} {
		hist, err := p.note(id).History()
		if err != nil {
			t.Fatalf("%s: history: %v", p.name, err)
		}
		before := 0
		for _, h := range hist {
			if h.Epoch == 0 {
				before++
			}
		}
		if before == 0 {
			t.Errorf("%s's history does not reach back before the cut", p.name)
		}
	}
}
