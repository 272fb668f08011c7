package engine

import (
	"testing"
	"time"
)

// Issue 7: "syncing" clears as soon as both copies are equal (it stayed for
// 20–60 s, until the next periodic round), and only equal heads count as
// in sync.
func TestInSyncFollowsHeads(t *testing.T) {
	a, b := newPeer(t, "ann"), newPeer(t, "bob")
	id := a.create("status", "hello\n")
	if err := b.join(id, a); err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		a.edit(id, 0, 0, "a")
		b.edit(id, 0, 0, "b")
		waitFor(t, 5*time.Second, "both copies equal", func() bool { return a.text(id) == b.text(id) })
		equal := time.Now()
		waitFor(t, time.Second, "both in sync within a second of being equal", func() bool {
			return a.eng.Status(id) == InSync && b.eng.Status(id) == InSync
		})
		t.Logf("round %d: in sync %v after the copies were equal", round, time.Since(equal).Round(time.Millisecond))
		for _, p := range []*testPeer{a, b} {
			for _, ps := range p.eng.Peers(id) {
				if ps.Connected && !ps.InSync {
					t.Fatalf("%s lists %s as not in sync while the engine says in sync", p.name, ps.ID)
				}
			}
		}
	}
	// An edit not yet seen by the other side is not "in sync".
	n := a.note(id)
	if err := n.Splice(0, 0, "zzz"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Flush(); err != nil {
		t.Fatal(err)
	}
	if a.eng.Status(id) == InSync && a.text(id) != b.text(id) {
		t.Fatal("in sync with unequal copies")
	}
}

// Issue 7: a collaborator's cursor disappears when they close the note
// (it stayed over a minute), and "in this note" is told apart from
// "online".
func TestCursorGoesWhenTheNoteCloses(t *testing.T) {
	a, b := newPeer(t, "ann"), newPeer(t, "bob")
	id := a.create("presence", "hello world\n")
	if err := b.join(id, a); err != nil {
		t.Fatal(err)
	}
	b.eng.SetCursor(id, 3, 3)
	waitFor(t, 5*time.Second, "bob's cursor at ann", func() bool {
		pr, ok := presenceOf(a, id, b.eng.self)
		return ok && pr.HasCursor
	})
	inNote := func() bool {
		for _, ps := range a.eng.Peers(id) {
			if ps.ID == b.eng.self {
				return ps.InNote
			}
		}
		return false
	}
	if !inNote() {
		t.Fatal("bob, with the note open, is not listed in the note")
	}
	b.eng.ClearCursor(id)
	start := time.Now()
	waitFor(t, 2*time.Second, "bob's cursor gone within 2 s", func() bool {
		pr, ok := presenceOf(a, id, b.eng.self)
		return !ok || !pr.HasCursor
	})
	t.Logf("cursor gone %v after closing", time.Since(start).Round(time.Millisecond))
	if inNote() {
		t.Fatal("bob closed the note but is listed in it")
	}
	connected := false
	for _, ps := range a.eng.Peers(id) {
		connected = connected || (ps.ID == b.eng.self && ps.Connected)
	}
	if !connected {
		t.Fatal("bob is still connected but not listed online")
	}

	// Disconnecting: gone at once too.
	b.eng.SetCursor(id, 4, 4)
	waitFor(t, 5*time.Second, "bob's cursor back", func() bool {
		pr, ok := presenceOf(a, id, b.eng.self)
		return ok && pr.HasCursor
	})
	b.stop()
	waitFor(t, 2*time.Second, "bob's cursor gone within 2 s of his disconnect", func() bool {
		_, ok := presenceOf(a, id, b.eng.self)
		return !ok
	})
}
