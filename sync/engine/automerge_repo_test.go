package engine

import (
	"testing"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/sync/wire"
)

// jsPeer plays an automerge-repo peer over a raw stream: no collab
// extensions, its own senderId, plain sync messages.
type jsPeer struct {
	*rawPeer
	doc   *crdt.Note
	state *crdt.SyncState
	to    string
	id    crdt.DocumentID
	// sender is the senderId it joined with ("" = "js-repo-1").
	sender string
}

// pumpUntil answers every message as an automerge-repo peer would until done
// reports true (checked between messages) or d has passed.
func (j *jsPeer) pumpUntil(t *testing.T, d time.Duration, done func() bool) (syncs, pushes int) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !done() && time.Now().Before(deadline) {
		wait := min(time.Until(deadline), 100*time.Millisecond)
		m, err := j.read(wait)
		if err != nil {
			continue // a quiet moment: look at done again
		}
		switch m := m.(type) {
		case *wire.CollabChange, *wire.CollabDoc:
			pushes++
		case *wire.Sync:
			syncs++
			if _, err := j.doc.ReceiveSyncMessage(j.state, m.Data); err != nil {
				t.Fatal(err)
			}
			if msg, ok, _ := j.doc.GenerateSyncMessage(j.state); ok {
				sender := j.sender
				if sender == "" {
					sender = "js-repo-1"
				}
				j.send(&wire.Sync{SenderID: sender, TargetID: j.to, DocumentID: j.id.String(), Data: msg})
			}
		}
	}
	return
}

// jsText is the simulated peer's copy's text.
func (j *jsPeer) jsText() string {
	text, _ := j.doc.Text()
	return text
}

func TestAutomergeRepoPeer(t *testing.T) {
	a := newPeer(t, "ann")
	id := a.create("for js", "hello js\n")
	r := dialRaw(t, a)
	r.send(&wire.Join{SenderID: "js-repo-1", PeerMetadata: wire.PeerMetadata{StorageID: "st-1"}, SupportedProtocolVersions: []string{"1"}})
	if m, err := r.read(5 * time.Second); err != nil {
		t.Fatal(err)
	} else if p, ok := m.(*wire.Peer); !ok || p.TargetID != "js-repo-1" {
		t.Fatalf("reply %#v", m)
	}
	doc, _, _ := crdt.Load(nil, nil, "js")
	j := &jsPeer{rawPeer: r, doc: doc, state: doc.NewSyncState(), to: a.eng.self, id: id}
	first, _, _ := doc.GenerateSyncMessage(j.state)
	r.send(&wire.Request{SenderID: "js-repo-1", TargetID: a.eng.self, DocumentID: id.String(), Data: first})
	j.pumpUntil(t, 20*time.Second, func() bool { return j.jsText() == "hello js\n" })
	if got, _ := doc.Text(); got != "hello js\n" {
		t.Fatalf("js copy %q", got)
	}

	// Our edits reach it as sync messages, never as collab extensions.
	a.edit(id, 0, 0, "A: ")
	syncs, pushes := j.pumpUntil(t, 20*time.Second, func() bool { return j.jsText() == "A: hello js\n" })
	// Anything collab-specific would follow right behind the sync messages.
	_, late := j.pumpUntil(t, 300*time.Millisecond, func() bool { return false })
	pushes += late
	if got, _ := doc.Text(); got != "A: hello js\n" || syncs == 0 || pushes != 0 {
		t.Errorf("js copy %q after %d syncs and %d collab messages", got, syncs, pushes)
	}

	// Its edits reach us.
	doc.Splice(doc.Len(), 0, "from js\n")
	doc.Commit()
	if msg, ok, _ := doc.GenerateSyncMessage(j.state); ok {
		r.send(&wire.Sync{SenderID: "js-repo-1", TargetID: a.eng.self, DocumentID: id.String(), Data: msg})
	}
	// A real automerge-repo peer answers every sync message, and the sync
	// protocol may take more than one round before it sends the change.
	want := "A: hello js\nfrom js\n"
	j.pumpUntil(t, 20*time.Second, func() bool { return a.text(id) == want })
	if got := a.text(id); got != want {
		t.Fatalf("ann has %q, want %q", got, want)
	}
}
