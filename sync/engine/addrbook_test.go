package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/record"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/p2p"
	"github.com/collab-editor/collab/sync/wire"
)

// dialCounter counts the addresses a peer's host is about to dial.
type dialCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (d *dialCounter) see(a ma.Multiaddr) {
	d.mu.Lock()
	if d.n == nil {
		d.n = map[string]int{}
	}
	d.n[a.String()]++
	d.mu.Unlock()
}

// of reports how many of addrs were dialled at all, and the most times one was.
func (d *dialCounter) of(addrs map[string]bool) (dialled, most int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for a, n := range d.n {
		if addrs[a] {
			dialled++
			most = max(most, n)
		}
	}
	return dialled, most
}

func (d *dialCounter) reset() {
	d.mu.Lock()
	d.n = nil
	d.mu.Unlock()
}

// noOwnRecord is a peerstore that hands out no signed peer records: a
// host on it sends none in identify.
type noOwnRecord struct{ certifiedPeerstore }

type certifiedPeerstore interface {
	peerstore.Peerstore
	peerstore.CertifiedAddrBook
}

func (noOwnRecord) GetPeerRecord(peer.ID) *record.Envelope { return nil }

// Issue 8: a requester's advertised addresses were stored without limit
// and redialled forever, also after restarts. Here a requester advertises
// 1,000 addresses in identify besides its real one (100 elsewhere, the rest
// on its own IP, loopback, at ports where nothing listens) and asks ann for
// a note. Ann keeps none of them in the peers file: an inbound
// connection's source port is no address to keep, and of the claims she
// dials back a few on the requester's own IP, once each, keeping only one
// that answers (the real one, if among them). After the requester leaves
// and after ann restarts, no claimed address is dialled again.
func TestClaimedAddressesAreNotKeptOrRedialled(t *testing.T) {
	var dials dialCounter
	a := newPeer(t, "ann", func(c *Config) { c.RedialMax = time.Second })
	a.stop()
	a.dialing = dials.see
	a.start()
	id := a.create("shared", "text\n")

	fakes := map[string]bool{}
	var claimed []ma.Multiaddr
	for i := range 1000 {
		s := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", 40000+i)
		if i < 100 {
			s = fmt.Sprintf("/ip4/192.0.2.%d/tcp/4747", i)
		}
		claimed = append(claimed, ma.StringCast(s))
		fakes[s] = true
	}
	// Without a signed peer record: one with 1,000 addresses would not fit
	// identify's 8 KiB. Identify then carries as many listen addresses as
	// fit in 4 KiB, loopback ones last: the 192.0.2.x ones and a few
	// hundred of the loopback ones.
	ps, err := pstoremem.NewPeerstore()
	if err != nil {
		t.Fatal(err)
	}
	rh, err := libp2p.New(
		libp2p.Identity(newKey(t)),
		libp2p.Peerstore(noOwnRecord{ps}),
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.ResourceManager(&network.NullResourceManager{}),
		libp2p.AddrsFactory(func(real []ma.Multiaddr) []ma.Multiaddr { return append(claimed[:len(claimed):len(claimed)], real...) }), // a copy: called concurrently
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rh.Close() })
	rid := rh.ID()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := rh.Connect(ctx, peer.AddrInfo{ID: a.host.ID(), Addrs: a.host.LibP2P().Addrs()}); err != nil {
		t.Fatal(err)
	}
	s, err := rh.NewStream(ctx, a.host.ID(), wire.ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	r := &rawPeer{tb: t, s: s, fr: wire.NewFrameReader(s), fw: wire.NewFrameWriter(s), id: rid.String()}
	r.handshake(a)
	r.send(&wire.Request{SenderID: r.id, TargetID: a.eng.self, DocumentID: id.String(), Data: firstSyncMessage(t)})
	for {
		m, err := r.read(10 * time.Second)
		if err != nil {
			t.Fatalf("waiting for the note: %v", err)
		}
		if _, ok := m.(*wire.Sync); ok {
			break
		}
	}
	waitFor(t, 10*time.Second, "ann to learn the requester's claims", func() bool {
		return len(a.host.LibP2P().Peerstore().Addrs(rid)) > notebook.MaxPeerAddrs
	})
	t.Logf("ann's peerstore holds %d addresses the requester claims", len(a.host.LibP2P().Peerstore().Addrs(rid)))

	stored := func() notebook.KnownPeer {
		t.Helper()
		var k notebook.KnownPeer
		waitFor(t, 10*time.Second, "ann to remember the requester", func() bool {
			peers, err := a.nb.PeersOf(id)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range peers {
				if p.ID == rid.String() {
					k = p
					return true
				}
			}
			return false
		})
		return k
	}
	check := func(when string) {
		t.Helper()
		k := stored()
		if len(k.Addrs) > notebook.MaxPeerAddrs {
			t.Errorf("%s: the requester's entry holds %d addresses; want at most %d", when, len(k.Addrs), notebook.MaxPeerAddrs)
		}
		for _, s := range k.Addrs {
			if fakes[s] {
				t.Errorf("%s: a claimed, never-confirmed address is kept: %s (of %d)", when, s, len(k.Addrs))
				break
			}
		}
	}
	check("connected")

	// The requester leaves (its host stays, listening where it said): the
	// sync stream first, then, once ann has seen that, the connection.
	s.Close()
	waitFor(t, 10*time.Second, "ann to see the stream end", func() bool {
		a.eng.mu.Lock()
		defer a.eng.mu.Unlock()
		return a.eng.conns[rid] == nil
	})
	if err := rh.Network().ClosePeer(a.host.ID()); err != nil {
		t.Fatal(err)
	}
	failures := func() int {
		a.eng.mu.Lock()
		defer a.eng.mu.Unlock()
		if t := a.eng.targets[rid]; t != nil {
			return t.failures
		}
		return 0
	}
	waitFor(t, 30*time.Second, "ann to redial the requester a few times", func() bool { return failures() >= 4 })
	dialled, most := dials.of(fakes)
	t.Logf("in the session: %d claimed addresses dialled, each at most %d time(s)", dialled, most)
	if dialled > p2p.MaxVerifyDials || most > 1 {
		t.Errorf("in the session ann dialled %d claimed addresses, one of them %d times; want at most %d, once each", dialled, most, p2p.MaxVerifyDials)
	}
	check("after it left")

	a.stop()
	dials.reset()
	a.start()
	waitFor(t, 30*time.Second, "ann to redial the requester a few times after a restart", func() bool { return failures() >= 3 })
	if dialled, _ := dials.of(fakes); dialled > 0 {
		t.Errorf("after a restart ann dialled %d of the addresses the requester only claimed", dialled)
	}
	check("after a restart")
}

// The other side of the rule: a joiner only ever connected to ann, but
// ann dialled back the address it claims on its own IP, found it there and
// keeps it. So when ann comes back on a new port (the joiner cannot find
// her), she reconnects to the joiner, and edits flow again.
func TestJoinerAddressConfirmedByDialBack(t *testing.T) {
	a, b := newPeer(t, "ann"), newPeer(t, "bob")
	id := a.create("shared", "text\n")
	if err := b.join(id, a); err != nil {
		t.Fatal(err)
	}
	bobAddr := b.host.LibP2P().Addrs()[0].String()
	waitFor(t, 10*time.Second, "ann to keep bob's confirmed address", func() bool {
		peers, err := a.nb.PeersOf(id)
		if err != nil {
			t.Fatal(err)
		}
		return len(peers) == 1 && slices.Contains(peers[0].Addrs, bobAddr)
	})
	a.stop()
	a.start() // a new port: bob's address for ann is stale
	waitFor(t, 20*time.Second, "ann to reconnect to bob", func() bool { return a.connectedTo(b) })
	b.edit(id, 0, 0, "bob again\n")
	waitText(t, id, "bob again\ntext\n", a, b)
}
