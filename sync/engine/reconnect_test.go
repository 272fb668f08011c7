package engine

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/p2p"
	"github.com/collab-editor/collab/sync/wire"
)

// reconnects is how often TestOnePeerReconnectingLeaksNothing reconnects.
const reconnects = 1000

// One peer (one identity, as every `collab join` from one notebook is)
// connects, asks for a note, gets its answer and disconnects, a thousand
// times, against a running engine. The last connection still syncs the
// note in full, and afterwards the engine holds no more goroutines,
// streams, connections or resource-manager reservations than after the
// first: nothing a connection opened outlives it, and no limit counts
// what was opened in the past.
func TestOnePeerReconnectingLeaksNothing(t *testing.T) {
	a := newPeer(t, "ann")
	id := a.create("Often", "stays in sync\n")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	h, err := p2p.New(ctx, p2p.Config{Identity: newKey(t), ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, DialFilter: loopbackOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	// Only the joining side dials: ann's redials of a peer she has met
	// would otherwise come and go beside the rounds being counted.
	closer, ok := h.LibP2P().Network().(interface{ ListenClose(...ma.Multiaddr) })
	if !ok {
		t.Fatal("the host's network cannot stop listening")
	}
	closer.ListenClose(h.LibP2P().Network().ListenAddresses()...)
	annID := a.host.ID()

	connect := func(i int) *rawPeer {
		t.Helper()
		if _, err := h.Connect(ctx, a.addr()); err != nil {
			t.Fatalf("round %d: connect: %v", i, err)
		}
		s, err := h.LibP2P().NewStream(ctx, annID, wire.ProtocolID)
		if err != nil {
			t.Fatalf("round %d: stream: %v", i, err)
		}
		r := &rawPeer{tb: t, host: h, s: s, fr: wire.NewFrameReader(s), fw: wire.NewFrameWriter(s), id: h.ID().String()}
		r.handshake(a)
		return r
	}
	disconnect := func(i int) {
		t.Helper()
		h.LibP2P().Network().ClosePeer(annID)
		waitFor(t, 10*time.Second, "ann to see the connection close", func() bool {
			return len(a.host.LibP2P().Network().ConnsToPeer(h.ID())) == 0
		})
	}
	round := func(i int) {
		r := connect(i)
		r.send(&wire.Request{SenderID: r.id, TargetID: a.eng.self, DocumentID: id.String(), Data: headsOnlySync(nil)})
		// Presence (ephemeral) frames may come first; the answer is the sync message.
		for {
			m, err := r.read(10 * time.Second)
			if err != nil {
				t.Fatalf("round %d: no answer: %v", i, err)
			}
			if _, ok := m.(*wire.Sync); ok {
				break
			}
			if _, ok := m.(*wire.Ephemeral); !ok {
				t.Fatalf("round %d: answer %#v; want a sync message", i, m)
			}
		}
		disconnect(i)
	}

	round(0) // first-time work: the note opened, the peer remembered
	type counts struct{ goroutines, streams, conns, rcStreams, rcConns int }
	count := func() counts {
		var c counts
		c.goroutines = runtime.NumGoroutine()
		for _, conn := range a.host.LibP2P().Network().Conns() {
			c.conns++
			c.streams += len(conn.GetStreams())
		}
		a.host.LibP2P().Network().ResourceManager().ViewSystem(func(s network.ResourceScope) error {
			st := s.Stat()
			c.rcStreams, c.rcConns = st.NumStreamsInbound+st.NumStreamsOutbound, st.NumConnsInbound+st.NumConnsOutbound
			return nil
		})
		return c
	}
	// A few goroutines of libp2p (timers, the peerstore's GC) come and go.
	const slack = 10
	released := func() bool {
		a.eng.mu.Lock()
		held := len(a.eng.conns)
		a.eng.mu.Unlock()
		return held == 0 && count().rcConns == 0
	}
	waitFor(t, 15*time.Second, "ann to let go of the first connection", released)
	start := count()
	for i := 1; i < reconnects; i++ {
		round(i)
	}

	r := connect(reconnects)
	doc, _, err := crdt.Load(nil, nil, "joiner")
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	j := &jsPeer{rawPeer: r, doc: doc, state: doc.NewSyncState(), to: a.eng.self, id: id, sender: r.id}
	first, _, _ := doc.GenerateSyncMessage(j.state)
	r.send(&wire.Request{SenderID: r.id, TargetID: a.eng.self, DocumentID: id.String(), Data: first})
	j.pumpUntil(t, 20*time.Second, func() bool { return j.jsText() == "stays in sync\n" })
	if got, _ := doc.Text(); got != "stays in sync\n" {
		t.Fatalf("after %d connections the note synced as %q", reconnects, got)
	}
	disconnect(reconnects)

	var now counts
	waitFor(t, 15*time.Second, "ann to be back where she started", func() bool {
		now = count()
		return released() && now.goroutines <= start.goroutines+slack && now.streams <= start.streams &&
			now.conns <= start.conns && now.rcStreams <= start.rcStreams && now.rcConns <= start.rcConns
	})
	t.Logf("after the first connection %+v, after %d: %+v", start, reconnects, now)
	a.eng.mu.Lock()
	defer a.eng.mu.Unlock()
	if n := len(a.eng.conns); n != 0 {
		t.Errorf("the engine still holds %d connections", n)
	}
	if ns := a.eng.notes[id]; ns != nil {
		if n := len(ns.allPeers()); n != 0 {
			t.Errorf("the note still lists %d peers", n)
		}
	}
}
