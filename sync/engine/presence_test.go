package engine

import (
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/sync/wire"
)

func presenceOf(p *testPeer, id crdt.DocumentID, who string) (Presence, bool) {
	for _, pr := range p.eng.Presence(id) {
		if pr.Peer == who {
			return pr, true
		}
	}
	return Presence{}, false
}

func TestPresence(t *testing.T) {
	fast := func(c *Config) { c.PresenceTimeout = time.Second; c.Heartbeat = 200 * time.Millisecond }
	a, b := newPeer(t, "ann", fast), newPeer(t, "bob", fast)
	id := a.create("cursors", "hello world\n")
	if err := b.join(id, a); err != nil {
		t.Fatal(err)
	}
	events := make(chan Event, 64)
	b.eng.Subscribe(func(ev Event) {
		if ev.Kind == PresenceChanged {
			select {
			case events <- ev:
			default:
			}
		}
	})

	// Name, colour and cursor arrive; equal heads: exact.
	a.eng.SetCursor(id, 6, 11) // "world" selected
	waitFor(t, 5*time.Second, "ann's cursor at bob", func() bool {
		pr, ok := presenceOf(b, id, a.eng.self)
		return ok && pr.HasCursor && pr.Cursor == 6 && pr.Anchor == 11 && pr.Name == "ann" && pr.Color == "#112233"
	})
	select {
	case <-events:
	case <-time.After(5 * time.Second):
		t.Error("no PresenceChanged event")
	}

	// Bob inserts before ann's cursor, which ann has not seen when she
	// placed it: it must still sit before "world".
	b.edit(id, 0, 0, "XXX ")
	pr, _ := presenceOf(b, id, a.eng.self)
	if text := []rune(b.text(id)); pr.Cursor != 10 || pr.Anchor != 15 || string(text[pr.Cursor:pr.Anchor]) != "world" {
		t.Errorf("after a concurrent insert: cursor %d anchor %d in %q; want 10..15 around \"world\"", pr.Cursor, pr.Anchor, string(text))
	}
	// Uncommitted local edits too (heads unknown): context decides.
	n := b.note(id)
	if err := n.Splice(0, 0, "YY"); err != nil {
		t.Fatal(err)
	}
	pr, _ = presenceOf(b, id, a.eng.self)
	if pr.Cursor != 12 || pr.Anchor != 17 {
		t.Errorf("with an open edit: cursor %d anchor %d; want 12..17", pr.Cursor, pr.Anchor)
	}
	n.Flush()

	// Ann's presence reaches a third peer through bob, unchanged.
	c := newPeer(t, "cat")
	if err := c.join(id, b); err != nil {
		t.Fatal(err)
	}
	a.eng.SetCursor(id, 0, 0)
	waitFor(t, 5*time.Second, "ann's presence at cat via bob", func() bool {
		pr, ok := presenceOf(c, id, a.eng.self)
		return ok && pr.Name == "ann"
	})

	// A peer that goes silent (stream still open) disappears.
	r := dialRaw(t, b)
	r.handshake(b)
	empty, _, _ := crdt.Load(nil, nil, "")
	first, _, _ := empty.GenerateSyncMessage(empty.NewSyncState())
	r.send(&wire.Request{SenderID: r.id, TargetID: b.eng.self, DocumentID: id.String(), Data: first})
	payload, _ := encodePresence("snapshot", "", "", &stateWire{Name: "ghost"})
	r.send(&wire.Ephemeral{SenderID: r.id, TargetID: b.eng.self, DocumentID: id.String(), SessionID: "ghost-session", Count: 1, Data: payload})
	waitFor(t, 5*time.Second, "ghost appears", func() bool { _, ok := presenceOf(b, id, r.id); return ok })
	// A replay of the same count is dropped.
	r.send(&wire.Ephemeral{SenderID: r.id, TargetID: b.eng.self, DocumentID: id.String(), SessionID: "ghost-session", Count: 1, Data: payload})
	start := time.Now()
	waitFor(t, 5*time.Second, "silent ghost disappears", func() bool { _, ok := presenceOf(b, id, r.id); return !ok })
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("silent peer dropped after %v with a 1 s timeout", d)
	}
	// Ann stays: her heartbeats keep her.
	if _, ok := presenceOf(b, id, a.eng.self); !ok {
		t.Error("ann's presence dropped despite heartbeats")
	}
}

// A reconnect resumes the saved sync state: its first message carries no
// bloom filter of the whole history.
func TestSyncStateResumed(t *testing.T) {
	a := newPeer(t, "ann")
	armed := make(chan struct{})
	got := make(chan int, 1)
	b := newPeer(t, "bob")

	// A note with 3,000 changes, one per keystroke.
	doc, err := crdt.New("long", "ann")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		doc.Splice(i, 0, "k")
		if _, err := doc.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	data, err := doc.Save()
	if err != nil {
		t.Fatal(err)
	}
	n, err := a.nb.Import(crdt.DocumentID{}, data)
	if err != nil {
		t.Fatal(err)
	}
	id := n.ID
	n.Close()
	if err := b.join(id, a); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "in sync", func() bool { return b.eng.Status(id) == InSync })
	fresh, _, _ := b.note(id).GenerateSync(b.note(id).NewSyncState())

	b.stop()
	a.edit(id, 0, 0, "new ")
	b.sent = func(to peer.ID, m wire.Message, size int) {
		select {
		case <-armed:
			return
		default:
		}
		var d []byte
		switch m := m.(type) {
		case *wire.Sync:
			d = m.Data
		case *wire.Request:
			d = m.Data
		default:
			return
		}
		close(armed)
		got <- len(d)
	}
	b.start()
	var size int
	select {
	case size = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no sync message after the restart")
	}
	waitText(t, id, "new "+strings.Repeat("k", 3000), a, b)
	t.Logf("first sync message: %d bytes resumed, %d bytes with a fresh state", size, len(fresh))
	if size > 300 || len(fresh) < 3000 {
		t.Errorf("first sync message after reconnect %d bytes (fresh state: %d); want a small resumed one", size, len(fresh))
	}
}

// An editor that supplies the text around its cursor (SetCursorContext)
// gets the same placement after concurrent edits as one that does not.
func TestPresenceWithEditorContext(t *testing.T) {
	fast := func(c *Config) { c.PresenceTimeout = time.Second; c.Heartbeat = 200 * time.Millisecond }
	a, b := newPeer(t, "ann", fast), newPeer(t, "bob", fast)
	id := a.create("cursors", "hello world\n")
	if err := b.join(id, a); err != nil {
		t.Fatal(err)
	}
	a.eng.SetCursorContext(id, 6, 11, "hello ", "world\n")
	waitFor(t, 5*time.Second, "ann's cursor at bob", func() bool {
		pr, ok := presenceOf(b, id, a.eng.self)
		return ok && pr.HasCursor && pr.Cursor == 6 && pr.Anchor == 11
	})
	b.edit(id, 0, 0, "XXX ")
	pr, _ := presenceOf(b, id, a.eng.self)
	if text := []rune(b.text(id)); pr.Cursor != 10 || pr.Anchor != 15 || string(text[pr.Cursor:pr.Anchor]) != "world" {
		t.Errorf("after a concurrent insert: cursor %d anchor %d in %q; want 10..15 around \"world\"", pr.Cursor, pr.Anchor, string(text))
	}
}

// TestPresenceRateLimit: a sender's presence passes in bursts of
// ephemeralRelayRate and then at that rate a second; another sender is
// counted apart.
func TestPresenceRateLimit(t *testing.T) {
	var p presenceState
	p.init()
	start := time.Now()
	passed := 0
	for range 4 * ephemeralRelayRate {
		if p.allow("flooder") {
			passed++
		}
	}
	refilled := int(time.Since(start).Seconds()*ephemeralRelayRate) + 1
	if passed < ephemeralRelayRate || passed > ephemeralRelayRate+refilled {
		t.Errorf("%d of %d messages passed at once, want %d (+%d refilled)", passed, 4*ephemeralRelayRate, ephemeralRelayRate, refilled)
	}
	if !p.allow("someone else") {
		t.Error("another sender was limited too")
	}
}

// TestPresenceSendsTheLastCursor: a cursor set while the previous one's
// presence is being encoded is the one sent from then on (heartbeats
// reuse the encoded presence): an older encoding finishing late must not
// replace it. Seeded random delays put SetCursor at varying points of an
// encoding in flight.
func TestPresenceSendsTheLastCursor(t *testing.T) {
	a := newPeer(t, "ann")
	id := a.create("cursors", strings.Repeat("abcdefghij", 40))
	ns := a.eng.opened(id)
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 99))
		for round := range 100 {
			want := round*3 + int(seed)
			a.eng.SetCursorContext(id, want+1, want+1, "", "") // nothing encoded yet
			done := make(chan struct{})
			go func() {
				defer close(done)
				a.eng.localPayload(ns)
			}()
			for range rng.IntN(40) {
				runtime.Gosched()
			}
			a.eng.SetCursorContext(id, want, want, "", "")
			<-done
			_, state, _, _, ok := decodePresence(a.eng.localPayload(ns))
			if got, _ := toInt(state["cursor"]); !ok || got != want {
				t.Fatalf("seed %d round %d: cursor set to %d, presence says %v", seed, round, want, state["cursor"])
			}
		}
	}
}
