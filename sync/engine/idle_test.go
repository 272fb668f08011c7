package engine

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/collab-editor/collab/sync/wire"

	"github.com/collab-editor/collab/crdt"
)

// Two peers sharing a note they leave alone unload its document, stay
// unloaded while connected (in-sync peers need no periodic rounds), and
// still sync the next edit, after which the note unloads again.
func TestIdleNotesUnloadAndWakeForTheNextEdit(t *testing.T) {
	quick := func(c *Config) {
		c.IdleAfter = 300 * time.Millisecond
		c.SyncInterval = 100 * time.Millisecond
	}
	ann, bob := newPeer(t, "ann", quick), newPeer(t, "bob", quick)
	id := ann.create("idle", "hello\n")
	if err := bob.join(id, ann); err != nil {
		t.Fatal(err)
	}
	waitText(t, id, "hello\n", ann, bob)
	// Nothing here is the UI: let go of what the helpers opened for it.
	for _, p := range []*testPeer{ann, bob} {
		p.eng.opened(id).held.Store(false)
	}
	loaded := func(p *testPeer) bool { return p.eng.opened(id).note.Loaded() }
	waitFor(t, 10*time.Second, "both documents to unload", func() bool {
		return !loaded(ann) && !loaded(bob)
	})
	// Ten sync intervals later, still connected and still unloaded.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if loaded(ann) || loaded(bob) {
			t.Fatalf("an idle in-sync note was loaded again (ann %v, bob %v)", loaded(ann), loaded(bob))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !ann.connectedTo(bob) {
		t.Fatal("the peers are no longer connected")
	}

	n := ann.eng.opened(id).note
	if err := n.Splice(6, 0, "again\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Flush(); err != nil {
		t.Fatal(err)
	}
	ann.eng.opened(id).held.Store(false)
	waitFor(t, 10*time.Second, "bob to get the edit", func() bool {
		s, _ := bob.eng.opened(id).note.Text()
		return s == "hello\nagain\n"
	})
	waitFor(t, 10*time.Second, "both documents to unload again", func() bool {
		return !loaded(ann) && !loaded(bob)
	})
	if h := ann.eng.opened(id).note.LastHeads(); !crdt.SameHeads(h, bob.eng.opened(id).note.LastHeads()) {
		t.Fatalf("heads differ after the edit: %v", h)
	}
}

// A note the UI opened stays ready to edit however long it is idle (its
// text model in Go, not the core: typing commits in Go).
func TestNotesTheUIOpenedStayLoaded(t *testing.T) {
	ann := newPeer(t, "ann", func(c *Config) { c.IdleAfter = 100 * time.Millisecond })
	id := ann.create("held", "typing here\n")
	n := ann.note(id)
	time.Sleep(500 * time.Millisecond)
	if !n.Editable() {
		t.Fatal("the note open in the editor was unloaded")
	}
	// Loaded in the core (as a sync round or the history would), it rests
	// once idle: the worker ends, the note stays ready to edit in Go, and
	// an edit then is stored without loading it again.
	if err := n.Load(); err != nil || !n.Loaded() {
		t.Fatalf("load: %v", err)
	}
	waitFor(t, 5*time.Second, "the idle note's worker to end", func() bool { return !n.Loaded() })
	if !n.Editable() {
		t.Fatal("the resting note is not ready to edit")
	}
	ann.edit(id, 0, 0, "still ")
	if n.Loaded() {
		t.Fatal("an edit after resting loaded the core")
	}
	if got := ann.text(id); got != "still typing here\n" {
		t.Fatalf("text %q", got)
	}
}

// Two peers sharing many notes they both hold alike reconnect without
// loading a single document: heads decide that the copies are equal. An
// edit made after the reconnect still reaches the other peer at once.
func TestReconnectComparesHeadsWithoutLoadingNotes(t *testing.T) {
	const notes = 20
	quick := func(c *Config) { c.IdleAfter = 200 * time.Millisecond }
	ann, bob := newPeer(t, "ann", quick), newPeer(t, "bob", quick)
	var ids []crdt.DocumentID
	for i := range notes {
		id := ann.create("note", strings.Repeat("some text\n", i+1))
		if err := bob.join(id, ann); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		waitSame(t, id, ann, bob)
		ann.eng.opened(id).held.Store(false)
		bob.eng.opened(id).held.Store(false)
	}
	waitFor(t, 10*time.Second, "ann's notes to unload", func() bool {
		for _, id := range ids {
			if ann.eng.opened(id).note.Loaded() {
				return false
			}
		}
		return true
	})

	bob.stop()
	var sentMu sync.Mutex
	sentTypes := map[string]int{}
	bob.sent = func(_ peer.ID, m wire.Message, size int) {
		sentMu.Lock()
		sentTypes[m.Type()] += size
		sentMu.Unlock()
	}
	bob.start()
	var c *conn
	waitFor(t, 20*time.Second, "bob to reconnect and find every note in sync", func() bool {
		bob.eng.mu.Lock()
		c = bob.eng.conns[ann.host.ID()]
		bob.eng.mu.Unlock()
		for _, id := range ids {
			if bob.eng.Status(id) != InSync || ann.eng.Status(id) != InSync {
				return false
			}
		}
		return c != nil
	})
	for _, id := range ids {
		if ann.eng.opened(id).note.Loaded() || bob.eng.opened(id).note.Loaded() {
			t.Fatalf("note %s was loaded to find it in sync (ann %v, bob %v)", id,
				ann.eng.opened(id).note.Loaded(), bob.eng.opened(id).note.Loaded())
		}
	}
	t.Logf("reconnect with %d notes in sync: bob sent %d bytes, received %d", notes, c.bytesOut.Load(), c.bytesIn.Load())
	// Heads go in lists (collab-heads-list): about 50 bytes a note each
	// way, where a collab-heads each costs about 450.
	if total, most := c.bytesOut.Load()+c.bytesIn.Load(), int64(2048+150*notes); total > most {
		sentMu.Lock()
		t.Errorf("the reconnect cost %d bytes on the stream, more than %d (bob sent %v)", total, most, sentTypes)
		sentMu.Unlock()
	}

	n := ann.eng.opened(ids[3]).note
	if err := n.Splice(0, 0, "after the reconnect\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Flush(); err != nil {
		t.Fatal(err)
	}
	want, _ := n.Text()
	waitFor(t, 10*time.Second, "bob to get the edit", func() bool {
		s, _ := bob.eng.opened(ids[3]).note.Text()
		return s == want
	})
}
