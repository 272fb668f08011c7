package p2p

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"github.com/collab-editor/collab/internal/testkit"
)

// bareHost is a plain libp2p host with a fresh identity that listens
// nowhere: a stranger.
func bareHost(t *testing.T) host.Host {
	t.Helper()
	h, err := libp2p.New(
		libp2p.Identity(testKey(t)),
		libp2p.NoListenAddrs,
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// Strangers get MaxStrangerConns inbound connections and no more; a
// trusted peer gets in when they are all taken; once the strangers are
// past the grace (StrangerGrace, shortened here), a newcomer takes the slot
// of the oldest one without an open stream (a stranger with a stream, even
// older, stays).
func TestStrangerShareAndEviction(t *testing.T) {
	friendKey := testKey(t)
	friendID, err := peer.IDFromPrivateKey(friendKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	guard := loopbackGuard()
	srv, err := New(ctx, Config{
		Identity:    testKey(t),
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		DialFilter:  guard.filter,
		Logger:      testLogger(t),
		Trusted:     func(p peer.ID) bool { return p == friendID },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	setGrace := func(d time.Duration) {
		srv.gater.mu.Lock()
		srv.gater.grace = d
		srv.gater.mu.Unlock()
	}
	setGrace(time.Hour) // however slow the machine, nobody is past it yet
	srv.LibP2P().SetStreamHandler("/test/hold", func(s network.Stream) {})
	target := peer.AddrInfo{ID: srv.ID(), Addrs: srv.LibP2P().Addrs()}

	strangers := make([]host.Host, MaxStrangerConns+1)
	for i := range strangers {
		strangers[i] = bareHost(t)
	}
	for i, s := range strangers[:MaxStrangerConns] {
		if err := s.Connect(ctx, target); err != nil {
			t.Fatalf("stranger %d of %d refused: %v", i+1, MaxStrangerConns, err)
		}
	}
	late := strangers[MaxStrangerConns]
	if err := late.Connect(ctx, target); err == nil {
		// The refusal comes as the connection is closed after the handshake.
		time.Sleep(200 * time.Millisecond)
		if late.Network().Connectedness(srv.ID()) == network.Connected {
			t.Fatalf("stranger %d got in: the share is %d", MaxStrangerConns+1, MaxStrangerConns)
		}
	}

	friend, err := New(ctx, Config{Identity: friendKey, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, DialFilter: guard.filter, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer friend.Close()
	if err := friend.ConnectPeer(ctx, target); err != nil {
		t.Fatalf("a trusted peer was refused while strangers fill their share: %v", err)
	}

	held, err := strangers[0].NewStream(ctx, srv.ID(), "/test/hold")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	setGrace(0) // every stranger is past it now
	if sw, ok := late.Network().(*swarm.Swarm); ok {
		sw.Backoff().Clear(srv.ID()) // its refused dial
	}
	if err := late.Connect(ctx, target); err != nil {
		t.Fatalf("a stranger after the grace was refused: %v", err)
	}
	testkit.WaitFor(t, 5*time.Second, "the oldest idle stranger to be closed", func() bool {
		return strangers[1].Network().Connectedness(srv.ID()) != network.Connected
	})
	if strangers[0].Network().Connectedness(srv.ID()) != network.Connected {
		t.Error("the oldest stranger, which has an open stream, was closed before an idle one")
	}
	if late.Network().Connectedness(srv.ID()) != network.Connected {
		t.Error("the newcomer is not connected")
	}
	if !srv.Connected(friendID) {
		t.Error("the trusted peer was disconnected")
	}
	guard.check(t)
}
