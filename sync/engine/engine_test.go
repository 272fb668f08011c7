package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/testkit"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/sync/wire"
)

// readDurable opens the note from disk in a fresh notebook handle.
func readDurable(t *testing.T, dir string, id crdt.DocumentID) string {
	return testkit.NoteText(t, dir, id)
}

func TestTwoPeers(t *testing.T) {
	a, b := newPeer(t, "ann"), newPeer(t, "bob")
	id := a.create("shared", "hello from ann\n")
	if err := b.join(id, a); err != nil {
		t.Fatalf("join: %v", err)
	}
	if got := b.text(id); got != "hello from ann\n" {
		t.Fatalf("joined text %q", got)
	}
	if got := b.note(id).Title(); got != "shared" {
		t.Errorf("joined title %q", got)
	}
	a.edit(id, len([]rune(a.text(id))), 0, "ann again\n")
	b.edit(id, 0, 0, "bob: ")
	want := "bob: hello from ann\nann again\n"
	waitText(t, id, want, a, b)

	// Both directions keep going through the fast path.
	for i := range 20 {
		a.edit(id, 0, 0, "a")
		b.edit(id, b.note(id).Len(), 0, "b")
		_ = i
	}
	text := waitSame(t, id, a, b)
	if strings.Count(text, "a")-strings.Count(want, "a") != 20 || strings.Count(text, "b")-strings.Count(want, "b") != 20 {
		t.Errorf("lost keystrokes: %q", text)
	}
	waitFor(t, 10*time.Second, "in sync", func() bool {
		return a.eng.Status(id) == InSync && b.eng.Status(id) == InSync
	})
	peers := a.eng.Peers(id)
	if len(peers) != 1 || peers[0].ID != b.host.ID().String() || !peers[0].Connected || peers[0].Path != "direct (LAN)" {
		t.Errorf("a's peers of the note: %+v", peers)
	}

	a.stop()
	b.stop()
	if got := readDurable(t, a.dir, id); got != text {
		t.Errorf("a on disk %q, want %q", got, text)
	}
	if got := readDurable(t, b.dir, id); got != text {
		t.Errorf("b on disk %q, want %q", got, text)
	}
	if !strings.Contains(a.logs.String(), "peer connected") || !strings.Contains(b.logs.String(), "joined note") {
		t.Errorf("expected readable connect/join log lines")
	}
}

// A–B–C in a chain: A and C never connect, yet converge through B.
func TestChain(t *testing.T) {
	a, b, c := newPeer(t, "ann"), newPeer(t, "bob"), newPeer(t, "cat")
	id := a.create("chain", "start\n")
	if err := b.join(id, a); err != nil {
		t.Fatal(err)
	}
	if err := c.join(id, b); err != nil {
		t.Fatal(err)
	}
	a.edit(id, 0, 0, "A1 ")
	c.edit(id, c.note(id).Len(), 0, "C1\n")
	waitText(t, id, "A1 start\nC1\n", a, b, c)
	for range 10 {
		a.edit(id, 0, 0, "x")
		c.edit(id, c.note(id).Len(), 0, "z")
	}
	text := waitSame(t, id, a, b, c)
	if strings.Count(text, "x") != 10 || strings.Count(text, "z") != 10 {
		t.Errorf("lost keystrokes: %q", text)
	}
	if a.connectedTo(c) || c.connectedTo(a) {
		t.Error("A and C connected directly")
	}
}

// Both sides edit while apart; on reconnect (the restarted peer redials the
// known peer) everything merges.
func TestOfflineEditsMerge(t *testing.T) {
	a, b := newPeer(t, "ann"), newPeer(t, "bob")
	id := a.create("offline", "line one\nline two\n")
	if err := b.join(id, a); err != nil {
		t.Fatal(err)
	}
	b.stop()

	a.edit(id, 0, 0, "ann offline\n")
	// Bob edits with the plain CLI path while no engine runs.
	nb, err := notebook.Open(b.dir, "bob")
	if err != nil {
		t.Fatal(err)
	}
	n, _, err := nb.OpenNote(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Splice(n.Len(), 0, "bob offline\n"); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	b.start()
	waitText(t, id, "ann offline\nline one\nline two\nbob offline\n", a, b)
}

func TestCapability(t *testing.T) {
	a, b, c := newPeer(t, "ann"), newPeer(t, "bob"), newPeer(t, "cat")
	secret := a.create("secret", "for cat only\n")
	var leaked []string
	a.eng.testSent = nil // set before Run only: checked through logs below instead
	if err := c.join(secret, a); err != nil {
		t.Fatal(err)
	}

	// Bob knows another ID only.
	other := crdt.NewDocumentID()
	err := b.join(other, a)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "doesn't have this note") || strings.Contains(err.Error(), a.host.ID().String()) {
		t.Fatalf("join of an unknown note: %v; want ErrUnavailable in plain words", err)
	}
	ids, _ := b.nb.IDs()
	if len(ids) != 0 {
		t.Errorf("a failed join left notes behind: %v", ids)
	}

	// A raw peer asking for the other ID gets doc-unavailable and nothing
	// about the secret note, while it is being edited.
	r := dialRaw(t, a)
	r.handshake(a)
	empty, _, _ := crdt.Load(nil, nil, "")
	first, _, _ := empty.GenerateSyncMessage(empty.NewSyncState())
	r.send(&wire.Request{SenderID: r.id, TargetID: a.eng.self, DocumentID: other.String(), Data: first})
	for i := range 5 {
		a.edit(secret, 0, 0, "x")
		c.edit(secret, 0, 0, "y")
		_ = i
	}
	gotUnavailable := false
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		m, err := r.read(time.Until(deadline))
		if err != nil {
			break
		}
		switch m := m.(type) {
		case *wire.DocUnavailable:
			if m.DocumentID == other.String() {
				gotUnavailable = true
			}
		case *wire.Sync:
			leaked = append(leaked, m.DocumentID)
		case *wire.CollabChange:
			leaked = append(leaked, m.DocumentID)
		case *wire.Ephemeral:
			leaked = append(leaked, m.DocumentID)
		}
	}
	if !gotUnavailable {
		t.Error("no doc-unavailable for the unknown note")
	}
	if len(leaked) > 0 {
		t.Errorf("a peer without the capability got messages for %v", leaked)
	}
	if b.connectedTo(a) {
		// The connection may stay; what matters is that nothing of the note came.
		b.eng.mu.Lock()
		cn := b.eng.conns[a.host.ID()]
		b.eng.mu.Unlock()
		if cn != nil && cn.doc(secret) != nil {
			t.Error("bob has sync state for the secret note")
		}
	}
	waitSame(t, secret, a, c)
}

func TestInvitationAcceptDecline(t *testing.T) {
	a, b := newPeer(t, "ann"), newPeer(t, "bob")
	events := make(chan Event, 16)
	b.eng.Subscribe(func(ev Event) {
		if ev.Kind == InvitationReceived {
			events <- ev
		}
	})
	id := a.create("plans", "the plan\n")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.eng.Share(ctx, id, b.addr()); err != nil {
		t.Fatalf("share: %v", err)
	}
	select {
	case ev := <-events:
		if ev.Note != id {
			t.Fatalf("invitation for %s, want %s", ev.Note, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no invitation event")
	}
	waitFor(t, 5*time.Second, "inviter's name", func() bool {
		invs := b.eng.Invitations()
		return len(invs) == 1 && invs[0].FromName == "ann"
	})
	other, err := notebook.Open(b.dir, "other process")
	if err != nil {
		t.Fatal(err)
	}
	invs, warnings, err := other.Invitations() // as another process would
	if err != nil || len(warnings) != 0 || len(invs) != 1 {
		t.Fatalf("Invitations: %v %v %v", invs, warnings, err)
	}
	inv := invs[0]
	if inv.DocumentID != id || inv.Title != "plans" || inv.FromPeer != a.host.ID().String() {
		t.Errorf("invitation %+v", inv)
	}
	if ids, _ := b.nb.IDs(); len(ids) != 0 {
		t.Errorf("an invitation became a note before it was accepted: %v", ids)
	}
	if err := b.join(crdt.NewDocumentID(), a); !errors.Is(err, ErrUnavailable) {
		t.Errorf("unrelated join: %v", err)
	}

	if err := b.eng.Accept(ctx, id); err != nil {
		t.Fatalf("accept: %v", err)
	}
	if got := b.text(id); got != "the plan\n" {
		t.Errorf("accepted text %q", got)
	}
	if len(b.eng.Invitations()) != 0 {
		t.Error("invitation still pending after accept")
	}
	a.edit(id, 0, 0, "new: ")
	waitText(t, id, "new: the plan\n", a, b)

	// Decline.
	id2 := a.create("nope", "no thanks\n")
	if err := a.eng.Share(ctx, id2, b.addr()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "second invitation", func() bool { return len(b.eng.Invitations()) == 1 })
	if err := b.eng.Decline(id2); err != nil {
		t.Fatal(err)
	}
	if len(b.eng.Invitations()) != 0 {
		t.Error("declined invitation still listed")
	}
	if _, err := b.nb.Resolve(id2.String()); !errors.Is(err, notebook.ErrNotFound) {
		t.Errorf("declined note exists: %v", err)
	}
	if err := b.eng.Decline(id2); !errors.Is(err, notebook.ErrNoInvitation) {
		t.Errorf("second decline: %v", err)
	}
}

// Run returns only after every goroutine of the engine has stopped.
func TestRunStopsEverything(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	a, b := newPeer(t, "ann"), newPeer(t, "bob")
	id := a.create("bye", "text\n")
	if err := b.join(id, a); err != nil {
		t.Fatal(err)
	}
	a.eng.SetCursor(id, 1, 1)
	b.edit(id, 0, 0, "x")
	waitText(t, id, "xtext\n", a, b)
	a.stop()
	b.stop()
	// Hosts closed too (stop), nothing of the engine, its notes, libp2p or
	// the peers' workers may be left running.
	testkit.NoLeaks(t, ignore)
	if _, err := a.eng.Open(id); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Open after Run: %v", err)
	}
}

// The seen-set of pushed changes keeps the last n hashes: older ones are
// forgotten in the order they came.
func TestHashSetForgetsOldestFirst(t *testing.T) {
	var s hashSet
	s.init(2)
	a, b, c := crdt.ChangeHash{1}, crdt.ChangeHash{2}, crdt.ChangeHash{3}
	if !s.add(a) || !s.add(b) || s.add(a) {
		t.Fatal("the first two hashes are new, a repeat is not")
	}
	if !s.add(c) || s.add(b) || s.add(c) {
		t.Fatal("a third hash is new and the second is still remembered")
	}
	if !s.add(a) {
		t.Fatal("the oldest hash was not forgotten")
	}
}
