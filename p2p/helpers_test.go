package p2p

import (
	"context"
	"crypto/rand"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

const echoProto = protocol.ID("/collab-test/echo/1")

// dialGuard is a Config.DialFilter that allows only the given networks and
// records every other address something tried to dial.
type dialGuard struct {
	allow []*net.IPNet

	mu     sync.Mutex
	denied []string
}

func loopbackGuard() *dialGuard {
	_, v4, _ := net.ParseCIDR("127.0.0.0/8")
	_, v6, _ := net.ParseCIDR("::1/128")
	return &dialGuard{allow: []*net.IPNet{v4, v6}}
}

func (g *dialGuard) filter(a ma.Multiaddr) bool {
	if ip, err := manet.ToIP(a); err == nil {
		for _, n := range g.allow {
			if n.Contains(ip) {
				return true
			}
		}
	}
	g.mu.Lock()
	g.denied = append(g.denied, a.String())
	g.mu.Unlock()
	return false
}

func (g *dialGuard) check(t testing.TB) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.denied) > 0 {
		t.Errorf("host tried to dial outside the allowed networks: %v", g.denied)
	}
}

func testKey(t testing.TB) crypto.PrivKey {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newLoopbackHost starts a host listening on the given loopback addresses
// only, allowed to dial loopback only; it is closed at the end of the test.
func newLoopbackHost(t *testing.T, listen ...string) *Host {
	t.Helper()
	guard := loopbackGuard()
	return startHost(t, guard, Config{ListenAddrs: listen, DialFilter: guard.filter})
}

// startHost starts a host with cfg (a fresh identity and the test's logger
// unless set), closes it at the end of the test, and then checks that
// nothing outside guard was dialled.
func startHost(t *testing.T, guard *dialGuard, cfg Config) *Host {
	t.Helper()
	if cfg.Identity == nil {
		cfg.Identity = testKey(t)
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		guard.check(t)
	})
	return h
}

func echoHandler(s network.Stream) {
	defer s.Close()
	_, _ = io.Copy(s, s)
}
