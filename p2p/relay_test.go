package p2p

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"
)

// newRelayTestHost starts a loopback host with the given trust and relay
// settings.
func newRelayTestHost(t *testing.T, trusted func(peer.ID) bool, relays []peer.AddrInfo, service bool, reach Reachability) *Host {
	t.Helper()
	guard := loopbackGuard()
	return startHost(t, guard, Config{
		ListenAddrs:  []string{"/ip4/127.0.0.1/tcp/0"},
		DialFilter:   guard.filter,
		Trusted:      trusted,
		Relays:       relays,
		RelayService: service,
		Reachability: reach,
	})
}

func waitRelayState(t *testing.T, h *Host, relay peer.ID, ok func(RelayState) bool) RelayState {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, s := range h.Relays() {
			if s.Relay == relay && ok(s) {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay state not reached; states %+v", h.Relays())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRelayServesOnlyAllowed: the relay service gives slots to allowed
// peers only, relays between them, and says who it relays for; a stranger
// is refused with a reason in plain words.
func TestRelayServesOnlyAllowed(t *testing.T) {
	var (
		mu      sync.Mutex
		allowed = map[peer.ID]bool{}
	)
	allow := func(p peer.ID) {
		mu.Lock()
		defer mu.Unlock()
		allowed[p] = true
	}
	relay := newRelayTestHost(t, func(p peer.ID) bool {
		mu.Lock()
		defer mu.Unlock()
		return allowed[p]
	}, nil, true, ReachabilityUnknown)
	relayInfo := peer.AddrInfo{ID: relay.ID(), Addrs: relay.ListenAddrs()}
	trustAll := func(peer.ID) bool { return true }

	a := newRelayTestHost(t, trustAll, []peer.AddrInfo{relayInfo}, false, ReachabilityPrivate)
	stranger := newRelayTestHost(t, trustAll, []peer.AddrInfo{relayInfo}, false, ReachabilityPrivate)
	allow(a.ID())
	a.LibP2P().SetStreamHandler(echoProto, echoHandler)
	a.relays.kick()
	stranger.relays.kick()

	waitRelayState(t, a, relay.ID(), func(s RelayState) bool { return s.Reserved })
	refused := waitRelayState(t, stranger, relay.ID(), func(s RelayState) bool { return s.Err != nil })
	var de *DialError
	if !errors.As(refused.Err, &de) || de.Kind != FailRelayRefused {
		t.Errorf("stranger's failure = %v, want FailRelayRefused", refused.Err)
	} else if msg := de.Explain("you", "ann's server"); !strings.Contains(msg, "ann's server") || !strings.Contains(msg, "collaborators") {
		t.Errorf("refusal explained as %q", msg)
	}

	uses := relay.RelayingFor()
	if len(uses) != 1 || uses[0].Peer != a.ID() || !uses[0].Reserved {
		t.Errorf("RelayingFor = %+v, want only %s with a slot", uses, a.ID())
	}

	// An allowed peer reaches A through the relay; the connection is
	// limited and its path says relayed via the relay.
	b := newRelayTestHost(t, trustAll, nil, false, ReachabilityUnknown)
	allow(b.ID())
	circuit, err := ma.NewMultiaddr(fmt.Sprintf("%s/p2p/%s/p2p-circuit", relay.ListenAddrs()[0], relay.ID()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.ConnectPeer(ctx, peer.AddrInfo{ID: a.ID(), Addrs: []ma.Multiaddr{circuit}}); err != nil {
		t.Fatalf("connect through the relay: %v", err)
	}
	if p := b.Path(a.ID()); p.Kind != PathRelayed || p.Via != relay.ID() {
		t.Errorf("path = %+v, want relayed via %s", p, relay.ID())
	}
	s, err := b.LibP2P().NewStream(network.WithAllowLimitedConn(ctx, "test"), a.ID(), echoProto)
	if err != nil {
		t.Fatalf("stream through the relay: %v", err)
	}
	msg := make([]byte, 300<<10) // more than libp2p's default 128 KiB relay limit
	for i := range msg {
		msg[i] = byte(i)
	}
	go func() { _, _ = s.Write(msg); _ = s.CloseWrite() }()
	got, err := io.ReadAll(s)
	s.Close()
	if err != nil || len(got) != len(msg) {
		t.Fatalf("echo of %d bytes through the relay: got %d, %v", len(msg), len(got), err)
	}

	// The stranger cannot be reached through it either.
	cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ccancel()
	err = b.ConnectPeer(cctx, peer.AddrInfo{ID: stranger.ID(), Addrs: []ma.Multiaddr{circuit}})
	if err == nil {
		t.Fatal("reached a peer the relay does not serve")
	}
	if errors.As(err, &de); de == nil || (de.Kind != FailRelayRefused && de.Kind != FailNoReservation) {
		t.Errorf("failure = %v, want a relay refusal", err)
	}
}

// TestDialErrorWords: failures are told in plain words with the person's
// name and the place, never libp2p's text; the raw cause stays available.
func TestDialErrorWords(t *testing.T) {
	id := peer.ID("x")
	addr := ma.StringCast("/ip4/192.168.1.20/tcp/4747")
	refused := &swarm.DialError{Peer: id, DialErrors: []swarm.TransportError{
		{Address: ma.StringCast("/ip4/10.0.0.1/tcp/4747"), Cause: context.DeadlineExceeded},
		{Address: addr, Cause: fmt.Errorf("dial tcp: %w", syscall.ECONNREFUSED)},
	}}
	cases := []struct {
		err  error
		kind FailureKind
		want string
	}{
		{refused, FailRefused, "couldn't reach ann at 192.168.1.20 (port 4747): is collab running there?"},
		{&swarm.DialError{Peer: id, Cause: swarm.ErrNoAddresses}, FailNoAddrs, "no address is known for ann"},
		{fmt.Errorf("failed to dial: %w", context.DeadlineExceeded), FailTimeout, "no answer"},
		{swarm.ErrDialToSelf, FailSelf, "this peer itself"},
		{errors.New("error opening relay circuit: NO_RESERVATION (204)"), FailNoReservation, "not connected to it"},
	}
	for _, c := range cases {
		de := classify(id, c.err)
		if de.Kind != c.kind {
			t.Errorf("%v: kind %d, want %d", c.err, de.Kind, c.kind)
		}
		msg := de.Explain("ann", "")
		if !strings.Contains(msg, c.want) {
			t.Errorf("%v: explained as %q, want it to contain %q", c.err, msg, c.want)
		}
		for _, raw := range []string{"dial tcp", "failed to dial", "NO_RESERVATION", "DeadlineExceeded"} {
			if strings.Contains(msg, raw) {
				t.Errorf("explanation %q carries libp2p text %q", msg, raw)
			}
		}
		if !errors.Is(de, c.err) && de.Raw() == "" {
			t.Errorf("%v: raw cause lost", c.err)
		}
	}
	relay, _ := peer.Decode("12D3KooWLXsixCGBfK3kCB3PgigYXXN8RWRTbJygTpcS4iqWoXDy")
	for addr, want := range map[string]string{
		"/ip4/127.0.0.1/tcp/9":                    "on this machine (port 9)",
		"/ip6/::1/udp/4747/quic-v1":               "on this machine (port 4747)",
		"/ip6/2001:db8::1/tcp/4747":               "at 2001:db8::1 (port 4747)",
		"/dns4/notes.example.org/tcp/4747":        "at notes.example.org (port 4747)",
		"/p2p/" + relay.String() + "/p2p-circuit": "through a relay",
	} {
		if got := Place(ma.StringCast(addr), ""); got != want {
			t.Errorf("Place(%s) = %q, want %q", addr, got, want)
		}
	}
	if got := Place(ma.StringCast("/ip4/1.2.3.4/tcp/1/p2p/"+relay.String()+"/p2p-circuit"), "bob"); got != "through the relay bob" {
		t.Errorf("Place of a circuit through bob = %q", got)
	}
}
