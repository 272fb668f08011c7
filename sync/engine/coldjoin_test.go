package engine

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/collab-editor/collab/crdt/amformat"
	"github.com/collab-editor/collab/sync/wire"
)

// A joiner that takes longer than divergedFor to load the document it was
// sent (a long note on a slow device) must not be sent every change on
// top of it: it holds them all once it has applied the document. (Before
// the fix, the paper note at one change per keystroke cost 33 MB this way
// after its 144 KB document.)
func TestSlowJoinerIsSentTheDocumentOnly(t *testing.T) {
	ann := newPeer(t, "ann")
	id := ann.create("long", "")
	for i := range 200 {
		ann.edit(id, i, 0, "x") // one change each
	}

	r := dialRaw(t, ann)
	r.handshake(ann, wire.ExtChange, wire.ExtDoc, wire.ExtHeads)
	r.send(&wire.Request{SenderID: r.id, TargetID: ann.eng.self, DocumentID: id.String(), Data: firstSyncMessage(t)})

	// The raw peer never answers: it is still loading. Everything ann
	// sends meanwhile is read and checked.
	gotDoc := false
	deadline := time.Now().Add(2*divergedFor + time.Second)
	for time.Now().Before(deadline) {
		m, err := r.read(time.Until(deadline))
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			break
		}
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		switch m := m.(type) {
		case *wire.CollabDoc:
			gotDoc = true
		case *wire.Sync:
			msg, err := amformat.DecodeSyncMessage(m.Data)
			if err != nil {
				t.Fatalf("sync message: %v", err)
			}
			if len(msg.Changes) > 0 {
				t.Fatalf("ann sent %d changes after the whole document", len(msg.Changes))
			}
		}
	}
	if !gotDoc {
		t.Fatal("ann never sent the document")
	}
}

// A collab-heads-list is taken entry by entry like collab-heads: a note the
// sender does not share with us is not attached by naming it, and a list
// that is not well formed closes the stream.
func TestHeadsListIsCheckedAndAttachesNothing(t *testing.T) {
	ann := newPeer(t, "ann")
	id := ann.create("private", "not for strangers")
	r := dialRaw(t, ann)
	r.handshake(ann, wire.ExtChange, wire.ExtDoc, wire.ExtHeads, wire.ExtHeadsList)
	data, err := wire.EncodeHeadsList([]wire.DocHeads{{Document: id, Heads: [][32]byte{{1}}}})
	if err != nil {
		t.Fatal(err)
	}
	r.send(&wire.CollabHeadsList{SenderID: r.id, TargetID: ann.eng.self, Data: data})
	r.roundTrip(ann)
	if dp := ann.eng.opened(id); dp != nil {
		dp.mu.Lock()
		n := len(dp.dps)
		dp.mu.Unlock()
		if n != 0 {
			t.Fatal("naming a note in a heads list attached it")
		}
	}
	if ann.eng.IsKnownPeer(r.host.ID()) {
		t.Fatal("naming a note in a heads list made the stranger a known peer")
	}
	r.send(&wire.CollabHeadsList{SenderID: r.id, TargetID: ann.eng.self, Data: data[:len(data)-1]})
	r.waitClosed(10 * time.Second)
	waitFor(t, 10*time.Second, "the refusal to be logged", func() bool {
		return strings.Contains(ann.logs.String(), "malformed collab-heads-list")
	})
}

// Joining a note its holder has cut (or compacted) and left asleep costs
// its text on both sides, not the Automerge core: ann sends the document
// she stores, bob takes it in Go, the heads that follow are taken as
// shared, and neither copy is loaded. Then both type at once, and still
// neither copy is loaded: edits are committed and merged in Go.
func TestAColdJoinLoadsNeitherCopy(t *testing.T) {
	ann := newPeer(t, "ann")
	id := ann.create("plans", "")
	for i := range 50 {
		ann.edit(id, i, 0, "x")
	}
	n := ann.note(id)
	if _, err := n.StartEpoch(); err != nil {
		t.Fatal(err)
	}
	n.Hibernate()
	if n.Awake() {
		t.Fatal("ann's note did not go to sleep")
	}
	bob := newPeer(t, "bob")
	if err := bob.join(id, ann); err != nil {
		t.Fatal(err)
	}
	want, _ := n.Text()
	// Through the engine's own handle.
	bobs := bob.eng.opened(id).note
	if got, _ := bobs.Text(); got != want {
		t.Fatalf("bob joined with %q, want %q", got, want)
	}
	// The heads exchange that follows the document, then quiet.
	waitFor(t, 10*time.Second, "both to be in sync", func() bool {
		return ann.eng.Status(id) == InSync && bob.eng.Status(id) == InSync
	})
	time.Sleep(200 * time.Millisecond)
	if n.Awake() || bobs.Awake() {
		t.Fatalf("a cold join loaded a copy: ann's awake %v, bob's %v", n.Awake(), bobs.Awake())
	}
	bob.edit(id, 0, 0, "> ")
	waitFor(t, 10*time.Second, "bob's edit at ann", func() bool {
		text, _ := n.Text()
		return text == "> "+want
	})
	// Both type at once, one commit per keystroke: each keystroke is
	// committed in Go, pushed on the fast path and merged in Go, so typing
	// together costs neither side the core.
	for range 20 {
		ann.edit(id, 0, 0, "a")
		bob.edit(id, bobs.Len(), 0, "b")
	}
	waitFor(t, 10*time.Second, "both to hold every keystroke", func() bool {
		a, _ := n.Text()
		b, _ := bobs.Text()
		return a == b && a == strings.Repeat("a", 20)+"> "+want+strings.Repeat("b", 20)
	})
	if n.Awake() || bobs.Awake() {
		t.Fatalf("typing loaded a copy: ann's awake %v, bob's %v", n.Awake(), bobs.Awake())
	}
}
