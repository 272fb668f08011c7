package engine

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-varint"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/sync/wire"
)

// Hostile peers on loopback, each case from issue 8: the engine stays up,
// its memory bounded, the note intact, and an honest collaborator syncing.

// sendPartialFrame announces a frame of claim bytes and sends the first n
// of them (or fewer, if the stream is closed first), then stops: the rest
// never comes.
func (r *rawPeer) sendPartialFrame(claim, n int) {
	r.s.SetWriteDeadline(time.Now().Add(60 * time.Second))
	if _, err := r.s.Write(varint.ToUvarint(uint64(claim))); err != nil {
		return
	}
	chunk := make([]byte, 256<<10)
	for sent := 0; sent < n; sent += len(chunk) {
		if _, err := r.s.Write(chunk[:min(len(chunk), n-sent)]); err != nil {
			return
		}
	}
}

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// Eight strangers each send half of a large frame and stop. The engine
// holds no more than its budget for them (on the old code: every byte, about
// 190 MiB), closes the stalled ones when their time is up, and meanwhile a
// collaborator's edits still arrive.
func TestHalfFramesLeaveMemoryBounded(t *testing.T) {
	a := newPeer(t, "ann", func(c *Config) { c.FrameTimeout = 5 * time.Second })
	b := newPeer(t, "bob")
	id := a.create("target", "precious text\n")
	if err := b.join(id, a); err != nil {
		t.Fatal(err)
	}
	var raws []*rawPeer
	for range 8 {
		r := dialRaw(t, a)
		r.handshake(a)
		raws = append(raws, r)
	}
	before := heapInUse()
	var wg sync.WaitGroup
	for i, r := range raws {
		claim := 60 << 20 // above what a stranger may send at all
		if i%2 == 1 {
			claim = 16 << 20 // allowed, but only two such fit the budget
		}
		wg.Go(func() { r.sendPartialFrame(claim, claim*3/4) })
	}
	wg.Wait()
	time.Sleep(500 * time.Millisecond) // let the engine read what came
	held := int64(heapInUse()) - int64(before)
	t.Logf("heap grew by %d MiB while 8 half-frames were pending", held>>20)
	if held > 80<<20 {
		t.Errorf("8 stalled half-frames from strangers hold %d MiB; want under 80 MiB (budget %d MiB)", held>>20, strangerFrameBudget>>20)
	}

	// The honest collaborator still syncs, both ways.
	a.edit(id, 0, 0, "ann was here\n")
	waitText(t, id, "ann was here\nprecious text\n", a, b)
	b.edit(id, 0, 0, "bob too\n")
	waitText(t, id, "bob too\nann was here\nprecious text\n", a, b)

	// The stalled frames run out of time; their budget comes back, so a
	// new stranger is served again.
	for _, r := range raws {
		r.waitClosed(20 * time.Second)
	}
	waitFor(t, 5*time.Second, "strangers' frame budget given back", func() bool { return a.eng.strangerBytes.Load() == 0 })
	if !strings.Contains(a.logs.String(), "a frame was not finished within 5s") {
		t.Errorf("no stream was closed for a frame that stalled:\n%s", a.logs.String())
	}
	r := dialRaw(t, a)
	r.handshake(a)
	r.send(&wire.Request{SenderID: r.id, TargetID: a.eng.self, DocumentID: crdt.NewDocumentID().String(), Data: headsOnlySync(nil)})
	m, err := r.read(10 * time.Second)
	if _, ok := m.(*wire.DocUnavailable); !ok || err != nil {
		t.Errorf("a stranger after the attack: reply %#v, %v; want doc-unavailable", m, err)
	}
	if got := a.text(id); got != "bob too\nann was here\nprecious text\n" {
		t.Errorf("note text %q", got)
	}
}

// A frame that has begun must be finished within FrameTimeout, but a stream
// may stay idle between frames for as long as it likes.
func TestStalledFrameIsClosedIdleStreamIsNot(t *testing.T) {
	a := newPeer(t, "ann", func(c *Config) { c.FrameTimeout = time.Second })
	idle := dialRaw(t, a)
	idle.handshake(a)
	stalled := dialRaw(t, a)
	stalled.handshake(a)
	stalled.sendPartialFrame(1000, 10)
	stalled.waitClosed(10 * time.Second)

	// The idle stream outlived several frame timeouts and still works.
	time.Sleep(3 * time.Second)
	idle.send(&wire.Request{SenderID: idle.id, TargetID: a.eng.self, DocumentID: crdt.NewDocumentID().String(), Data: headsOnlySync(nil)})
	m, err := idle.read(10 * time.Second)
	if _, ok := m.(*wire.DocUnavailable); !ok || err != nil {
		t.Errorf("idle stream after 3 s: reply %#v, %v; want doc-unavailable", m, err)
	}
}

// A handshake is a few IDs: a stranger cannot make us read a large frame
// before it has even said who it is.
func TestLargeHandshakeIsRefused(t *testing.T) {
	a := newPeer(t, "ann")
	r := dialRaw(t, a)
	r.sendPartialFrame(1<<20, 4096)
	r.waitClosed(10 * time.Second)
	waitFor(t, 5*time.Second, "a logged refusal", func() bool {
		return strings.Contains(a.logs.String(), "handshake message may have at most")
	})
}

// A member that asks for a note again and again and never reads is
// dropped once the replies waiting for it pass SendQueueBytes (1 MiB here,
// 16 MiB by default), long before the write timeout; the collaborator is
// not disturbed.
func TestNonReadingPeerIsDropped(t *testing.T) {
	a := newPeer(t, "ann", func(c *Config) { c.SendQueueBytes = 1 << 20 })
	b := newPeer(t, "bob")
	noise := make([]byte, 192<<10)
	rand.Read(noise)
	id := a.create("big", base64.StdEncoding.EncodeToString(noise)) // 256 KiB that does not compress
	if err := b.join(id, a); err != nil {
		t.Fatal(err)
	}

	r := dialRaw(t, a)
	r.send(&wire.Join{SenderID: r.id, SupportedProtocolVersions: []string{wire.ProtocolVersion},
		PeerMetadata: wire.PeerMetadata{Extensions: []string{wire.ExtChange, wire.ExtDoc, wire.ExtHeads}}})
	if m, err := r.read(5 * time.Second); err != nil {
		t.Fatalf("handshake: %v", err)
	} else if _, ok := m.(*wire.Peer); !ok {
		t.Fatalf("handshake reply %#v", m)
	}
	// Each request from an empty copy is answered with the whole note. We
	// never read any of it.
	dropped := func() bool {
		return strings.Contains(a.logs.String(), "reason=\"send queue full: peer too slow (")
	}
	for i := 0; i < 200 && !dropped(); i++ {
		r.s.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if err := r.fw.WriteMessage(&wire.Request{SenderID: r.id, TargetID: a.eng.self, DocumentID: id.String(), Data: headsOnlySync(nil)}); err != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitFor(t, 20*time.Second, "the non-reading peer dropped for its send queue", dropped)
	if logs := a.logs.String(); !strings.Contains(logs, "bytes waiting behind the frame being sent") {
		t.Errorf("the peer was not dropped for the bytes in its send queue:\n%s", logs)
	}
	b.edit(id, 0, 0, "still here ")
	waitFor(t, 20*time.Second, "bob's edit at ann", func() bool { return strings.HasPrefix(a.text(id), "still here ") })
}

// relayWatch counts the ephemeral messages a peer writes to one other peer
// that did not originate with the writer (relayed ones), and the largest.
type relayWatch struct {
	count, largest atomic.Int64
}

// watchRelays restarts p with a hook that watches what it relays to q.
func watchRelays(p, q *testPeer) *relayWatch {
	w := &relayWatch{}
	p.stop()
	p.sent = func(to peer.ID, m wire.Message, size int) {
		if e, ok := m.(*wire.Ephemeral); ok && to == q.host.ID() && e.SenderID != p.eng.self {
			w.count.Add(1)
			if int64(len(e.Data)) > w.largest.Load() {
				w.largest.Store(int64(len(e.Data)))
			}
		}
	}
	p.start()
	return w
}

// memberRaw is a raw peer that has asked ann for note id, so it is one of
// the note's peers and its ephemeral messages are relayed.
func memberRaw(t *testing.T, a *testPeer, id crdt.DocumentID) *rawPeer {
	t.Helper()
	r := dialRaw(t, a)
	r.handshake(a)
	r.send(&wire.Request{SenderID: r.id, TargetID: a.eng.self, DocumentID: id.String(), Data: firstSyncMessage(t)})
	return r
}

// roundTrip returns once a has handled everything r sent before: a
// request for a note nobody has is answered in order. (Generous: each
// announcement of an unknown note costs ann a scratch worker or two,
// about a second each under the race detector on a busy machine.)
func (r *rawPeer) roundTrip(a *testPeer) {
	r.tb.Helper()
	r.send(&wire.Request{SenderID: r.id, TargetID: a.eng.self, DocumentID: crdt.NewDocumentID().String(), Data: headsOnlySync(nil)})
	deadline := time.Now().Add(180 * time.Second)
	for time.Now().Before(deadline) {
		m, err := r.read(time.Until(deadline))
		if err != nil {
			r.tb.Fatalf("round trip: %v", err)
		}
		if _, ok := m.(*wire.DocUnavailable); ok {
			return
		}
	}
	r.tb.Fatal("round trip: no doc-unavailable")
}

func presencePayload(t *testing.T, sender, name string) []byte {
	t.Helper()
	b, err := encodePresence("snapshot", sender, "s1", &stateWire{Name: name, Color: "#ff0000"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitRelaysSettled waits until w stops counting (relays are written after
// ann handled them).
func waitRelaysSettled(w *relayWatch) int64 {
	last := int64(-1)
	for range 40 {
		n := w.count.Load()
		if n == last {
			return n
		}
		last = n
		time.Sleep(250 * time.Millisecond)
	}
	return last
}

// A peer that makes up a new senderId for every message is limited as one
// stream: it cannot make us relay more than ephemeralStreamRate a second
// (the old per-senderId limit let ~13,500 through in 3 s), nor fill the
// note's presence list with made-up people.
func TestRotatingSenderIDsAreLimitedPerStream(t *testing.T) {
	a := newPeer(t, "ann")
	b := newPeer(t, "bob")
	id := a.create("target", "precious text\n")
	w := watchRelays(a, b)
	if err := b.join(id, a); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "bob in sync", func() bool { return b.eng.Status(id) == InSync })
	r := memberRaw(t, a, id)
	r.roundTrip(a)
	before := w.count.Load()

	const sent = 3000
	start := time.Now()
	for i := range sent {
		sender := fmt.Sprintf("made-up-%d", i)
		r.send(&wire.Ephemeral{SenderID: sender, TargetID: a.eng.self, DocumentID: id.String(),
			SessionID: "s1", Count: 1, Data: presencePayload(t, sender, "nobody")})
	}
	r.roundTrip(a)
	elapsed := time.Since(start)
	relayed := waitRelaysSettled(w) - before
	bound := int64(ephemeralStreamRate + ephemeralStreamRate*elapsed.Seconds() + 5)
	t.Logf("%d of %d messages with rotating senderIds relayed in %v (bound %d)", relayed, sent, elapsed.Round(time.Millisecond), bound)
	if relayed > bound {
		t.Errorf("relayed %d messages from one stream in %v; want at most %d", relayed, elapsed, bound)
	}
	relayedShown := 0
	for _, p := range a.eng.Presence(id) {
		if strings.HasPrefix(p.Peer, "made-up-") {
			relayedShown++
			if p.Via != r.id {
				t.Errorf("presence of %s shown without the stream that vouches for it (Via %q)", p.Peer, p.Via)
			}
		}
	}
	if relayedShown > maxRelayedPresences {
		t.Errorf("%d made-up people shown in the note; want at most %d", relayedShown, maxRelayedPresences)
	}
	b.edit(id, 0, 0, "still syncing ")
	waitText(t, id, "still syncing precious text\n", a, b)
}

// A 20 MiB ephemeral message from a member is dropped, not relayed to the
// note's other peers.
func TestLargeEphemeralIsNotRelayed(t *testing.T) {
	a := newPeer(t, "ann")
	b := newPeer(t, "bob")
	id := a.create("target", "precious text\n")
	w := watchRelays(a, b)
	if err := b.join(id, a); err != nil {
		t.Fatal(err)
	}
	r := memberRaw(t, a, id)
	r.roundTrip(a)
	r.s.SetWriteDeadline(time.Now().Add(60 * time.Second))
	r.send(&wire.Ephemeral{SenderID: r.id, TargetID: a.eng.self, DocumentID: id.String(),
		SessionID: "s1", Count: 1, Data: make([]byte, 20<<20)})
	// A small one after it is relayed: the stream was not punished for
	// the large one beyond dropping it.
	r.send(&wire.Ephemeral{SenderID: r.id, TargetID: a.eng.self, DocumentID: id.String(),
		SessionID: "s1", Count: 2, Data: presencePayload(t, r.id, "raw")})
	r.roundTrip(a)
	// Frames to bob go out in order: once the small one is written, so is
	// the large one if it was relayed at all.
	waitFor(t, 30*time.Second, "the small ephemeral message relayed to bob", func() bool { return w.count.Load() > 0 })
	if got := w.largest.Load(); got > maxEphemeralData {
		t.Errorf("ann relayed an ephemeral message of %d bytes to bob; want at most %d", got, maxEphemeralData)
	}
	b.edit(id, 0, 0, "still syncing ")
	waitText(t, id, "still syncing precious text\n", a, b)
}

// A presence message that claims to come from another connected peer does
// not put its name next to that peer; a relayed presence is marked with
// the stream that brought it.
func TestPresenceCannotClaimAnotherPeer(t *testing.T) {
	fast := func(c *Config) { c.Heartbeat = 200 * time.Millisecond }
	a, b := newPeer(t, "ann", fast), newPeer(t, "bob", fast)
	id := a.create("target", "precious text\n")
	if err := b.join(id, a); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "bob's presence at ann", func() bool {
		p, ok := presenceOf(a, id, b.eng.self)
		return ok && p.Name == "bob"
	})
	r := memberRaw(t, a, id)
	for i := range 5 {
		r.send(&wire.Ephemeral{SenderID: b.eng.self, TargetID: a.eng.self, DocumentID: id.String(),
			SessionID: "forged", Count: uint64(i + 1), Data: presencePayload(t, b.eng.self, "mallory")})
		r.send(&wire.Ephemeral{SenderID: "carol-js", TargetID: a.eng.self, DocumentID: id.String(),
			SessionID: "s1", Count: uint64(i + 1), Data: presencePayload(t, "carol-js", "carol")})
		r.roundTrip(a)
		if p, _ := presenceOf(a, id, b.eng.self); p.Name != "bob" || p.Via != "" {
			t.Fatalf("bob's presence at ann after a forged one: %+v", p)
		}
	}
	carol, ok := presenceOf(a, id, "carol-js")
	if !ok || carol.Name != "carol" || carol.Via != r.id {
		t.Errorf("relayed presence = %+v, %v; want carol, via %s", carol, ok, r.id)
	}
}

// Announcements from made-up identities cannot push out a genuine
// invitation (from a peer we share a note with), nor a first-contact
// one: each stranger keeps at most maxAnnouncementsPerStranger, and strangers
// only ever evict each other's.
func TestStrangersCannotEvictInvitations(t *testing.T) {
	a, b, c := newPeer(t, "ann"), newPeer(t, "bob"), newPeer(t, "cat")
	met := b.create("we have met", "shared before\n")
	if err := a.join(met, b); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	genuine := b.create("from bob", "bob's plan\n")
	if err := b.eng.Share(ctx, genuine, a.addr()); err != nil {
		t.Fatal(err)
	}
	firstContact := c.create("from cat", "cat's plan\n")
	if err := c.eng.Share(ctx, firstContact, a.addr()); err != nil {
		t.Fatal(err)
	}
	pending := func(id crdt.DocumentID) bool {
		for _, inv := range a.eng.Invitations() {
			if inv.DocumentID == id {
				return true
			}
		}
		return false
	}
	waitFor(t, 20*time.Second, "both invitations at ann", func() bool { return pending(genuine) && pending(firstContact) })

	// 40 announcements of made-up notes from 5 identities.
	var raws []*rawPeer
	for range 5 {
		r := dialRaw(t, a)
		r.handshake(a)
		for range 8 {
			var h crdt.ChangeHash
			rand.Read(h[:])
			r.send(&wire.Sync{SenderID: r.id, TargetID: a.eng.self, DocumentID: crdt.NewDocumentID().String(), Data: headsOnlySync([]crdt.ChangeHash{h})})
		}
		raws = append(raws, r)
	}
	// Bytes that are not even a sync message are not kept at all.
	junk := crdt.NewDocumentID()
	raws[0].send(&wire.Sync{SenderID: raws[0].id, TargetID: a.eng.self, DocumentID: junk.String(), Data: []byte("not a sync message")})
	for _, r := range raws {
		r.roundTrip(a)
	}
	if pending(junk) {
		t.Error("an announcement that is not a sync message became an invitation")
	}
	if !pending(genuine) {
		t.Error("bob's invitation was evicted by strangers' announcements")
	}
	if !pending(firstContact) {
		t.Error("cat's invitation was evicted by strangers' announcements")
	}
	perSender := map[string]int{}
	for _, inv := range a.eng.Invitations() {
		perSender[inv.FromPeer]++
	}
	for _, r := range raws {
		if perSender[r.id] > maxAnnouncementsPerStranger {
			t.Errorf("stranger %s holds %d invitations; want at most %d", r.id, perSender[r.id], maxAnnouncementsPerStranger)
		}
	}
	if err := a.eng.Accept(ctx, genuine); err != nil {
		t.Fatalf("accept bob's invitation: %v", err)
	}
	if got := a.text(genuine); got != "bob's plan\n" {
		t.Errorf("accepted text %q", got)
	}
}

// A refused join is logged once, and what the peer wrote in it (a huge
// senderId full of escape sequences, a list of versions) reaches the log
// bounded and inert.
func TestRefusedJoinLoggedOnceBounded(t *testing.T) {
	a := newPeer(t, "ann")
	evil := "\x1b]0;pwned\x07\x1b[2J" + strings.Repeat("A\nB\u202e", 2000)
	for _, join := range []*wire.Join{
		{SenderID: evil, SupportedProtocolVersions: []string{"2", evil}},        // version mismatch
		{SenderID: "12D3KooW" + evil, SupportedProtocolVersions: []string{"1"}}, // another peer's senderId
	} {
		r := dialRaw(t, a)
		r.send(join)
		r.waitClosed(10 * time.Second)
		var lines []string
		waitFor(t, 5*time.Second, "the refusal logged", func() bool {
			lines = nil
			for _, l := range strings.Split(a.logs.String(), "\n") {
				if strings.Contains(l, r.id) && !strings.Contains(l, "layer=p2p") {
					lines = append(lines, l)
				}
			}
			return len(lines) > 0
		})
		time.Sleep(200 * time.Millisecond) // any second line would be written by now
		lines = lines[:0]
		for _, l := range strings.Split(a.logs.String(), "\n") {
			if strings.Contains(l, r.id) && !strings.Contains(l, "layer=p2p") {
				lines = append(lines, l)
			}
		}
		if len(lines) != 1 {
			t.Errorf("refused join logged %d times, want once:\n%s", len(lines), strings.Join(lines, "\n"))
		}
		for _, l := range lines {
			if len(l) > 1500 {
				t.Errorf("log line of %d bytes for a refused join; want the peer's strings bounded", len(l))
			}
			if strings.ContainsAny(l, "\x1b\x07\u202e") || strings.Contains(l, `\x1b`) {
				t.Errorf("log line carries the peer's escape sequences: %.300q", l)
			}
		}
	}
}

// A senderId automerge-repo made up proves nothing, so a peer that saw one
// (in relayed presence) and joins with it first cannot lock its owner
// out; and what each says in presence is shown next to its own
// authenticated peer, never next to the senderId they share.
func TestJSSenderIDCannotBeSquatted(t *testing.T) {
	a := newPeer(t, "ann", func(c *Config) { c.Heartbeat = 200 * time.Millisecond })
	id := a.create("for js", "hello js\n")
	const shared = "js-carol"
	joinAs := func(name string) *rawPeer {
		r := dialRaw(t, a)
		r.send(&wire.Join{SenderID: shared, PeerMetadata: wire.PeerMetadata{StorageID: "st-" + name}, SupportedProtocolVersions: []string{"1"}})
		m, err := r.read(5 * time.Second)
		if p, ok := m.(*wire.Peer); err != nil || !ok || p.TargetID != shared {
			t.Fatalf("%s's join answered %#v, %v", name, m, err)
		}
		r.send(&wire.Request{SenderID: shared, TargetID: a.eng.self, DocumentID: id.String(), Data: firstSyncMessage(t)})
		for {
			m, err := r.read(10 * time.Second)
			if err != nil {
				t.Fatalf("%s gets no answer to its request: %v", name, err)
			}
			if _, ok := m.(*wire.Sync); ok {
				return r
			}
		}
	}
	squatter := joinAs("squatter")
	owner := joinAs("carol")
	for i, r := range []*rawPeer{squatter, owner} {
		name := []string{"squatter", "carol"}[i]
		r.send(&wire.Ephemeral{SenderID: shared, TargetID: a.eng.self, DocumentID: id.String(),
			SessionID: "s-" + name, Count: 1, Data: presencePayload(t, shared, name)})
	}
	waitFor(t, 10*time.Second, "both presences at ann", func() bool {
		s, ok1 := presenceOf(a, id, squatter.id)
		c, ok2 := presenceOf(a, id, owner.id)
		return ok1 && ok2 && s.Name == "squatter" && c.Name == "carol" && s.Via == "" && c.Via == ""
	})
	if p, ok := presenceOf(a, id, shared); ok {
		t.Errorf("a presence shown under the unauthenticated senderId: %+v", p)
	}
	for i, r := range []*rawPeer{squatter, owner} {
		r.send(&wire.Request{SenderID: shared, TargetID: a.eng.self, DocumentID: crdt.NewDocumentID().String(), Data: headsOnlySync(nil)})
		for {
			m, err := r.read(30 * time.Second)
			if err != nil {
				t.Fatalf("stream %d with the shared senderId: %v", i, err)
			}
			if _, ok := m.(*wire.DocUnavailable); ok {
				break
			}
		}
	}
}

// While bob is away, a member cannot rename him: a presence relayed in
// his name is shown as relayed, and the name ann knows him by (in
// messages, `collab peers`, his peers-file entry) stays what he said himself.
func TestRelayedPresenceDoesNotRenameAPeer(t *testing.T) {
	fast := func(c *Config) { c.Heartbeat = 200 * time.Millisecond }
	a, b := newPeer(t, "ann", fast), newPeer(t, "bob", fast)
	id := a.create("target", "precious text\n")
	if err := b.join(id, a); err != nil {
		t.Fatal(err)
	}
	bob, err := peer.Decode(b.eng.self)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "bob's name at ann", func() bool { return a.eng.PeerName(bob) == "bob" })
	b.stop()
	waitFor(t, 10*time.Second, "bob gone", func() bool { return !a.connectedTo(b) })
	r := memberRaw(t, a, id)
	r.send(&wire.Ephemeral{SenderID: b.eng.self, TargetID: a.eng.self, DocumentID: id.String(),
		SessionID: "forged", Count: 1, Data: presencePayload(t, b.eng.self, "mallory")})
	r.roundTrip(a)
	waitFor(t, 10*time.Second, "the relayed presence", func() bool {
		p, ok := presenceOf(a, id, b.eng.self)
		return ok && p.Name == "mallory" && p.Via == r.id
	})
	time.Sleep(300 * time.Millisecond) // the name loop runs after the event
	if got := a.eng.PeerName(bob); got != "bob" {
		t.Errorf("ann calls bob %q after a relayed presence", got)
	}
	peers, err := a.note(id).KnownPeers()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range peers {
		if k.ID == b.eng.self && k.Name != "bob" {
			t.Errorf("bob's peers-file entry names him %q", k.Name)
		}
	}
}

// A peer whose streams are closed for bad input is refused once it does it
// offencesToRefuse times: its next connection gets no stream, ann does
// not dial it, and one line says so. Others still get in.
func TestRepeatOffenderIsRefused(t *testing.T) {
	a := newPeer(t, "ann")
	id := a.create("target", "precious text\n")
	key := newKey(t)
	for i := range offencesToRefuse {
		r, err := tryDialRaw(t, a, key)
		if err != nil {
			t.Fatalf("offence %d: %v", i+1, err)
		}
		r.handshake(a)
		if err := r.fw.WriteFrame([]byte{0xff, 0x00, 0x13}); err != nil {
			t.Fatal(err)
		}
		r.waitClosed(10 * time.Second)
		r.host.Close()
	}
	if n := strings.Count(a.logs.String(), "refusing peer after repeated bad input"); n != 1 {
		t.Errorf("%d log lines about the refusal, want 1", n)
	}
	mallory, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := tryDialRaw(t, a, key); err == nil {
		r.send(&wire.Join{SenderID: r.id, SupportedProtocolVersions: []string{"1"}})
		if m, err := r.read(5 * time.Second); err == nil {
			t.Fatalf("a refused peer got an answer: %#v", m)
		}
		r.host.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.eng.connect(ctx, peer.AddrInfo{ID: mallory}); !errors.Is(err, ErrPeerRefused) {
		t.Errorf("ann dials a refused peer: %v", err)
	}
	honest := memberRaw(t, a, id)
	honest.roundTrip(a)
}
