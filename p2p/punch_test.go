package p2p

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// TestPunchRefusesWhatItShouldNot: the hole-punch protocol answers only
// collaborators, only while the relay is their only path, survives
// malformed and oversized messages, and bounds the attempts a peer may
// ask for. No probe leaves: the hosts are on loopback and have no public
// address, and no offer here gets as far as probing. (The punch itself is
// tested across NATs in TestNATMatrix.)
func TestPunchRefusesWhatItShouldNot(t *testing.T) {
	trustAll := func(peer.ID) bool { return true }
	relay := newRelayTestHost(t, trustAll, nil, true, ReachabilityUnknown)
	relayInfo := peer.AddrInfo{ID: relay.ID(), Addrs: relay.ListenAddrs()}
	relayPort, err := relay.ListenAddrs()[0].ValueForProtocol(ma.P_TCP)
	if err != nil {
		t.Fatal(err)
	}
	// The peers dial the relay only: DCUtR would otherwise connect them
	// directly over loopback and retire the relayed connection (and the
	// streams on it) in the middle of the test.
	onlyRelay := func(a ma.Multiaddr) bool {
		port, err := a.ValueForProtocol(ma.P_TCP)
		return err == nil && port == relayPort
	}
	peerOf := func(trusted func(peer.ID) bool, relays []peer.AddrInfo, reach Reachability) *Host {
		return startHost(t, loopbackGuard(), Config{ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
			DialFilter: onlyRelay, Trusted: trusted, Relays: relays, Reachability: reach})
	}
	var friend peer.ID
	host := peerOf(func(p peer.ID) bool { return p == friend || p == relay.ID() }, []peer.AddrInfo{relayInfo}, ReachabilityPrivate)
	waitRelayState(t, host, relay.ID(), func(s RelayState) bool { return s.Reserved })
	other := peerOf(trustAll, nil, ReachabilityUnknown)
	friend = other.ID()
	stranger := peerOf(trustAll, nil, ReachabilityUnknown)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	circuit, err := ma.NewMultiaddr(fmt.Sprintf("%s/p2p/%s/p2p-circuit", relay.ListenAddrs()[0], relay.ID()))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Host{other, stranger} {
		if err := c.ConnectPeer(ctx, peer.AddrInfo{ID: host.ID(), Addrs: []ma.Multiaddr{circuit}}); err != nil {
			t.Fatalf("connect through the relay: %v", err)
		}
	}
	// send writes lines on a new punch stream from c and returns what came
	// back; asked again while the host is still busy with the last one.
	var sendOnce func(c *Host, lines ...string) string
	send := func(c *Host, lines ...string) string {
		for range 50 {
			if out := sendOnce(c, lines...); !strings.Contains(out, `"Fail":"busy"`) {
				return out
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("the host stayed busy")
		return ""
	}
	sendOnce = func(c *Host, lines ...string) string {
		s, err := c.h.NewStream(network.WithAllowLimitedConn(ctx, "test"), host.ID(), PunchProtocol)
		if err != nil {
			return "open: " + err.Error()
		}
		defer s.Close()
		s.SetDeadline(time.Now().Add(5 * time.Second))
		for _, l := range lines {
			if _, err := s.Write([]byte(l)); err != nil {
				break
			}
		}
		var out strings.Builder
		sc := bufio.NewScanner(s)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
		}
		return out.String()
	}
	// The other side would be the prober, at an address in the range the
	// NAT tests simulate: this host, with no public address of its own,
	// declines before opening any socket.
	offer := `{"Role":"prober","QUIC":["/ip4/192.0.0.200/udp/4747/quic-v1"]}` + "\n"
	declined := `"Fail":"no public address of mine"`

	if out := send(stranger, offer); strings.Contains(out, "Fail") || strings.Contains(out, "QUIC") {
		t.Errorf("a stranger's offer was answered: %q", out)
	}
	if out := send(other, offer); !strings.Contains(out, declined) {
		t.Errorf("a collaborator's offer: %q, want %s", out, declined)
	}
	// Malformed: a short token, bad JSON, a line over the bound (each
	// ends its stream and counts as an attempt).
	for _, bad := range []string{`{"Role":"opener","QUIC":["/ip4/192.0.0.200/udp/4747/quic-v1"]}` + "\n" + `{"Ready":"c2hvcnQ="}` + "\n",
		"not json\n", strings.Repeat("x", 3*punchMsgMax) + "\n"} {
		send(other, bad)
	}
	// That made four attempts this minute; the host still answers up to
	// punchAnswersPerMinute, then refuses.
	for i := 4; i < punchAnswersPerMinute; i++ {
		if out := send(other, offer); !strings.Contains(out, declined) {
			t.Errorf("attempt %d after malformed messages: %q, want %s", i+1, out, declined)
		}
	}
	if out := send(other, offer); !strings.Contains(out, `"Fail":"too many attempts"`) {
		t.Errorf("one attempt more than %d in a minute: %q, want a refusal", punchAnswersPerMinute, out)
	}
	if p := host.Path(other.ID()); p.Kind != PathRelayed {
		t.Errorf("the host's path to its collaborator is %v after all that", p.Kind)
	}

	// Per peer and per minute.
	var pu puncher
	now := time.Now()
	for i := range punchAnswersPerMinute {
		if !pu.allow(friend, now) {
			t.Fatalf("attempt %d refused", i)
		}
	}
	if pu.allow(friend, now) {
		t.Error("one attempt too many allowed")
	}
	if !pu.allow(stranger.ID(), now) || !pu.allow(friend, now.Add(61*time.Second)) {
		t.Error("limits are per peer and per minute")
	}
}
