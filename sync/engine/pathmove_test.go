package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/p2p"
)

// A join that starts over a relay carries on when a direct connection
// appears while the inviter is still loading the note: the joiner moves
// its sync stream to the direct connection (the relay would reset what
// stays on it) and the note arrives whole, over the direct path. Seeds
// vary the note's size and so when the move falls.
func TestJoinCarriesOnWhenSyncMovesOffRelay(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			joinMovesOffRelay(t, seed)
		})
	}
}

func joinMovesOffRelay(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 3))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	rita, err := p2p.New(ctx, p2p.Config{
		Identity: newKey(t), ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, DialFilter: loopbackOnly,
		RelayService: true, Trusted: func(peer.ID) bool { return true },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rita.Close() })
	viaRita := []peer.AddrInfo{{ID: rita.ID(), Addrs: rita.ListenAddrs()}}

	// Ann keeps a slot on rita; her note is long enough that loading it
	// for bob takes a while.
	ann := newPeer(t, "ann")
	var words strings.Builder
	for words.Len() < 192<<10+rng.IntN(128<<10) {
		fmt.Fprintf(&words, "word%d ", rng.IntN(100000))
	}
	id := ann.create("long", words.String())
	ann.stop()
	ann.hostCfg = func(c *p2p.Config) {
		c.Relays = viaRita
		c.Reachability = p2p.ReachabilityPrivate
	}
	ann.start() // the note is not loaded until a peer asks for it
	waitFor(t, 30*time.Second, "ann's slot on rita", func() bool {
		for _, r := range ann.host.Relays() {
			if r.Relay == rita.ID() && r.Reserved {
				return true
			}
		}
		return false
	})
	circuit := ma.StringCast(fmt.Sprintf("%s/p2p/%s/p2p-circuit/p2p/%s", rita.ListenAddrs()[0], rita.ID(), ann.host.ID()))

	// Bob can reach ann only through rita until the direct path opens.
	bob := newPeer(t, "bob")
	annPorts := map[string]bool{}
	for _, a := range ann.host.LibP2P().Addrs() {
		if port, err := a.ValueForProtocol(ma.P_TCP); err == nil {
			annPorts[port] = true
		}
	}
	notAnn := func(a ma.Multiaddr) bool {
		port, err := a.ValueForProtocol(ma.P_TCP)
		return err != nil || !annPorts[port]
	}
	bob.dialOK.Store(&notAnn)
	joined := make(chan error, 1)
	go func() { joined <- bob.eng.Join(ctx, id, []ma.Multiaddr{circuit}) }()

	waitFor(t, 30*time.Second, "bob's request to reach ann over the relay", func() bool {
		return strings.Contains(ann.logs.String(), `msg="peer opened note"`)
	})
	if p := bob.host.Path(ann.host.ID()); p.Kind != p2p.PathRelayed {
		t.Fatalf("bob reaches ann %v before the direct path opens, want relayed", p.Kind)
	}
	bob.dialOK.Store(nil)
	// As DCUtR does once a hole is punched: a direct dial beside the
	// relayed connection.
	direct := network.WithForceDirectDial(ctx, "hole punched")
	if err := bob.host.LibP2P().Connect(direct, peer.AddrInfo{ID: ann.host.ID(), Addrs: ann.host.LibP2P().Addrs()}); err != nil {
		t.Fatal(err)
	}
	if p := bob.host.Path(ann.host.ID()); p.Kind != p2p.PathLAN {
		t.Fatalf("bob reaches ann %v after the direct dial, want direct", p.Kind)
	}
	select {
	case err := <-joined:
		if err != nil {
			t.Fatalf("join: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the join did not end")
	}
	waitText(t, id, words.String(), bob)
	if !strings.Contains(bob.logs.String(), "sync moved from the relay to the direct connection") {
		t.Error("bob's sync stream never moved to the direct connection")
	}
	waitFor(t, 20*time.Second, "bob's path to ann direct, the relayed connection gone", func() bool {
		return bob.host.Path(ann.host.ID()).Kind == p2p.PathLAN && bob.connectedTo(ann)
	})
}
