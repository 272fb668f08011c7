package engine

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"go.uber.org/goleak"

	"github.com/collab-editor/collab/internal/testkit"
	"github.com/collab-editor/collab/p2p"
	"github.com/collab-editor/collab/sync/wire"
)

// strangerHost is a bare libp2p host with a fresh identity: one throwaway
// identity of a flood. It listens nowhere and runs no relay or NAT service,
// so that hundreds fit in one test.
func strangerHost(tb testing.TB) host.Host {
	tb.Helper()
	h, err := libp2p.New(
		libp2p.Identity(newKey(tb)),
		libp2p.NoListenAddrs,
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.ResourceManager(&network.NullResourceManager{}),
	)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// inboundStrangers counts the live inbound connections p holds from peers
// that are not its collaborators.
func inboundStrangers(p *testPeer) int {
	n := 0
	for _, c := range p.host.LibP2P().Network().Conns() {
		if c.Stat().Direction == network.DirInbound && !c.IsClosed() && !p.eng.IsKnownPeer(c.RemotePeer()) {
			n++
		}
	}
	return n
}

// Issue 8: throwaway identities used to fill every inbound connection
// slot, and honest peers were refused while the attacker kept redialling.
// Here 300 strangers (each its own identity; a quarter also open a sync
// stream and say hello) connect, hold a while and redial, for as long as
// the test runs. At no moment does ann hold more than 32
// of them, a collaborator coming online meanwhile connects and its edit
// arrives, a first-time joiner with the note's ticket gets in, and once
// the strangers are gone nothing they caused keeps running.
func TestStrangerFloodLeavesRoomForCollaborators(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a peer with 300 hosts")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 8))

	a := newPeer(t, "ann")
	b := newPeer(t, "bob")
	id := a.create("shared", "before the flood\n")
	if err := b.join(id, a); err != nil {
		t.Fatal(err)
	}
	b.stop() // bob comes back during the flood
	waitFor(t, 10*time.Second, "bob gone from ann", func() bool { return !a.connectedTo(b) })
	ignore := goleak.IgnoreCurrent()

	const identities = 300
	strangers := make([]host.Host, identities)
	var build sync.WaitGroup
	for i := range strangers {
		build.Go(func() { strangers[i] = strangerHost(t) })
	}
	build.Wait()

	ctx, stop := context.WithCancel(context.Background())
	var flood sync.WaitGroup
	var dials, refused atomic.Int64
	target := peer.AddrInfo{ID: a.host.ID(), Addrs: a.host.LibP2P().Addrs()}
	for i, s := range strangers {
		// Each holds its connection for 0.5–2 s, or waits as long after a
		// refusal, and redials: about 250 dials a second in all.
		hold := time.Duration(500+rng.IntN(1500)) * time.Millisecond
		hello := i%4 == 0
		flood.Go(func() {
			for ctx.Err() == nil {
				dials.Add(1)
				dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				err := s.Connect(dctx, target)
				if err == nil && hello {
					if st, serr := s.NewStream(dctx, target.ID, wire.ProtocolID); serr == nil {
						_ = wire.NewFrameWriter(st).WriteMessage(&wire.Join{SenderID: s.ID().String(), SupportedProtocolVersions: []string{"1"}})
					}
				}
				cancel()
				if err != nil {
					refused.Add(1)
				}
				select {
				case <-ctx.Done():
				case <-time.After(hold):
				}
				_ = s.Network().ClosePeer(target.ID)
			}
		})
	}

	var most atomic.Int64
	var sampling sync.WaitGroup
	sampling.Go(func() {
		for ctx.Err() == nil {
			if n := int64(inboundStrangers(a)); n > most.Load() {
				most.Store(n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	})

	time.Sleep(3 * time.Second) // the flood is on
	if n := inboundStrangers(a); n < p2p.MaxStrangerConns/2 {
		t.Logf("only %d strangers connected after 3 s: the flood is weaker than meant", n)
	}

	// Bob comes back: ann or bob redials, the connection is let in, and an
	// edit made by bob arrives.
	start := time.Now()
	b.start()
	waitFor(t, 20*time.Second, "bob connected to ann during the flood", func() bool { return a.connectedTo(b) && b.connectedTo(a) })
	connected := time.Since(start)
	b.edit(id, 0, 0, "bob during the flood\n")
	waitText(t, id, "bob during the flood\nbefore the flood\n", a, b)
	t.Logf("collaborator connected %v and synced %v after coming online", connected.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

	// A first-time joiner is a stranger until its request is accepted;
	// it may need a retry while the share is full of strangers.
	c := newPeer(t, "cat")
	var joinErr error
	attempts := 0
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		attempts++
		if joinErr = c.join(id, a); joinErr == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if joinErr != nil {
		t.Errorf("a joiner with the ticket never got in during the flood (%d attempts): %v", attempts, joinErr)
	} else {
		t.Logf("joiner got in after %d attempt(s)", attempts)
	}

	stop()
	flood.Wait()
	sampling.Wait()
	t.Logf("%d stranger dials, %d refused; at most %d strangers held at once", dials.Load(), refused.Load(), most.Load())
	if m := most.Load(); m > p2p.MaxStrangerConns {
		t.Errorf("ann held %d stranger connections at once; want at most %d", m, p2p.MaxStrangerConns)
	}
	if refused.Load() == 0 {
		t.Errorf("no stranger dial was refused: the flood never filled the share")
	}

	for _, s := range strangers {
		s.Close()
	}
	c.stop()
	b.stop()
	waitFor(t, 10*time.Second, "strangers gone", func() bool { return inboundStrangers(a) == 0 })
	a.eng.mu.Lock()
	streams := len(a.eng.conns)
	a.eng.mu.Unlock()
	if streams != 0 {
		t.Errorf("ann still has %d sync streams after everyone left", streams)
	}
	testkit.NoLeaks(t, ignore)
}
