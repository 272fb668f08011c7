package p2p

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// homeLANAddr is a private address on none of this machine's networks: the
// address a peer behind a home NAT would be known by. Hosts in these tests
// never dial it (their dial filter refuses it: tests talk to loopback only),
// which is what such an address does from here anyway: nothing answers.
func homeLANAddr(t *testing.T) ma.Multiaddr {
	t.Helper()
	ours := ownNetworks()
	for _, ip := range []string{"10.254.71.23", "172.31.254.9", "192.168.253.17"} {
		onOurs := false
		for _, n := range ours {
			onOurs = onOurs || n.Contains(net.ParseIP(ip))
		}
		if !onOurs {
			return ma.StringCast("/ip4/" + ip + "/tcp/4747")
		}
	}
	t.Skip("this machine is on every private network the test would use as someone's home LAN")
	return nil
}

// newNATCheckHost is a loopback host whose dial filter also refuses home
// without recording it: the refusal is the point, not a leak.
func newNATCheckHost(t *testing.T, home ma.Multiaddr) *Host {
	t.Helper()
	guard := loopbackGuard()
	homeIP, _ := manet.ToIP(home)
	return startHost(t, guard, Config{
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		DialFilter: func(a ma.Multiaddr) bool {
			if ip, err := manet.ToIP(a); err == nil && ip.Equal(homeIP) {
				return false
			}
			return guard.filter(a)
		},
		Trusted: func(peer.ID) bool { return true },
	})
}

func circuitVia(t *testing.T, relay *Host) ma.Multiaddr {
	t.Helper()
	return ma.StringCast(fmt.Sprintf("%s/p2p/%s/p2p-circuit", relay.ListenAddrs()[0], relay.ID()))
}

// connectFails connects a to p at addrs and returns the failure.
func connectFails(t *testing.T, a *Host, p peer.ID, addrs ...ma.Multiaddr) *DialError {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := a.ConnectPeer(ctx, peer.AddrInfo{ID: p, Addrs: addrs})
	var de *DialError
	if !errors.As(err, &de) {
		t.Fatalf("connect at %v: %v, want a *DialError", addrs, err)
	}
	return de
}

const natAdvice = ": run `collab serve --relay` on a machine with a public address that you both know, or forward port 4747 on one side"

// TestUnreachableBehindNATSaysWhy: a collaborator that cannot be reached,
// known only by an address on its home LAN (not ours) and through a relay
// that is offline, is told to be behind a NAT with no relay both know
// online, by the name it goes by and with what to do; the same when only
// its home address is known. When the relay is up, or the address is one
// on this machine, the failure is told otherwise.
func TestUnreachableBehindNATSaysWhy(t *testing.T) {
	home := homeLANAddr(t)
	a := newNATCheckHost(t, home)
	ann := newLoopbackHost(t, "/ip4/127.0.0.1/tcp/0") // alive, but not where a can reach it

	rita := newRelayTestHost(t, func(peer.ID) bool { return true }, nil, true, ReachabilityPublic)
	viaRita := circuitVia(t, rita)
	if err := rita.Close(); err != nil {
		t.Fatal(err)
	}

	de := connectFails(t, a, ann.ID(), home, viaRita)
	got := de.Explain("ann", "rita")
	if want := "ann is behind a NAT and no relay you both know is online (the relay rita is offline)" + natAdvice; !de.BehindNAT || got != want {
		t.Errorf("home address and an offline relay: kind %d, behind NAT %v:\n got %q\nwant %q\n(raw: %s)", de.Kind, de.BehindNAT, got, want, de.Raw())
	}

	// Another peer known by its home address only (a knows no circuit of
	// it: the peerstore keeps ann's).
	cat := newLoopbackHost(t, "/ip4/127.0.0.1/tcp/0")
	de = connectFails(t, a, cat.ID(), home)
	if got, want := de.Explain("cat", ""), "cat is behind a NAT and no relay you both know is online"+natAdvice; !de.BehindNAT || got != want {
		t.Errorf("home address only: kind %d, behind NAT %v:\n got %q\nwant %q\n(raw: %s)", de.Kind, de.BehindNAT, got, want, de.Raw())
	}
	for _, raw := range []string{"failed to dial", "all dials failed", "12D3Koo", "/p2p-circuit", "gater"} {
		if strings.Contains(de.Error(), raw) {
			t.Errorf("libp2p's words (%q) in %q", raw, de.Error())
		}
	}

	// A relay that is up and connected to us: the peer is not behind a
	// NAT nobody can cross; it just holds no slot there now.
	sam := newRelayTestHost(t, func(peer.ID) bool { return true }, nil, true, ReachabilityPublic)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.ConnectPeer(ctx, peer.AddrInfo{ID: sam.ID(), Addrs: sam.ListenAddrs()}); err != nil {
		t.Fatalf("connect to the relay: %v", err)
	}
	dan := newLoopbackHost(t, "/ip4/127.0.0.1/tcp/0")
	de = connectFails(t, a, dan.ID(), home, circuitVia(t, sam))
	if got := de.Explain("dan", "sam"); de.BehindNAT || strings.Contains(got, "behind a NAT") {
		t.Errorf("with the relay sam online: kind %d, %q", de.Kind, got)
	}

	// On this machine, nothing listening: not a NAT.
	gone := newLoopbackHost(t, "/ip4/127.0.0.1/tcp/0")
	goneAddrs := gone.ListenAddrs()
	if err := gone.Close(); err != nil {
		t.Fatal(err)
	}
	de = connectFails(t, a, gone.ID(), goneAddrs...)
	if got := de.Explain("bob", ""); de.BehindNAT || !strings.Contains(got, "is collab running there?") {
		t.Errorf("a closed peer on this machine: kind %d, %q", de.Kind, got)
	}
}

// TestLooksBehindNATNeedsEveryAddressPrivate: a public address, a DNS name
// or loopback among a peer's addresses leaves the NAT diagnosis out.
func TestLooksBehindNATNeedsEveryAddressPrivate(t *testing.T) {
	home := homeLANAddr(t)
	a := newNATCheckHost(t, home)
	offRelay := ma.StringCast("/ip4/127.0.0.1/tcp/9/p2p/12D3KooWLXsixCGBfK3kCB3PgigYXXN8RWRTbJygTpcS4iqWoXDy/p2p-circuit")
	for _, c := range []struct {
		addrs []ma.Multiaddr
		want  bool
	}{
		{[]ma.Multiaddr{home}, true},
		{[]ma.Multiaddr{offRelay}, true},
		{[]ma.Multiaddr{home, offRelay}, true},
		{nil, false},
		{[]ma.Multiaddr{home, ma.StringCast("/ip4/1.2.3.4/tcp/4747")}, false},
		{[]ma.Multiaddr{home, ma.StringCast("/dns4/ann.example/tcp/4747")}, false},
		{[]ma.Multiaddr{home, ma.StringCast("/ip4/127.0.0.1/tcp/4747")}, false},
	} {
		if got := a.looksBehindNAT(c.addrs); got != c.want {
			t.Errorf("looksBehindNAT(%v) = %v, want %v", c.addrs, got, c.want)
		}
	}
}
