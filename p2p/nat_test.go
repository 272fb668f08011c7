package p2p

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/collab-editor/collab/internal/netns"
)

// The NAT suite: an "internet" (netns.Internet) with a public relay peer and
// home routers of each kind (netns.NATKind), peers behind them started as
// agents (agent_test.go). Everything runs inside namespaces the test makes
// and removes; a capture checks that no packet carried an address outside
// the simulated ranges.

var natFull = flag.Bool("nat.full", false, "NAT suite: also wait the full DCUtR give-up time on pairs expected to stay relayed")

var natListen = []string{"/ip4/0.0.0.0/tcp/4747", "/ip4/0.0.0.0/udp/4747/quic-v1"}

const twoMB = 2 << 20

// natWorld is the topology shared by the NAT tests.
type natWorld struct {
	t     *testing.T
	in    *netns.Internet
	relay *netns.Host
	homes map[netns.NATKind][2]*netns.Home
	pub   [2]*netns.Host
	cap   *netns.Capture
	dir   string

	relayKey crypto.PrivKey
	relayID  peer.ID
	keys     map[string]crypto.PrivKey
	ids      []peer.ID
}

func newNATWorld(t *testing.T, tag string) *natWorld {
	if os.Getenv(envAgent) != "" {
		t.Skip("agent process")
	}
	if testing.Short() {
		t.Skip("short mode: the NAT suite builds a dozen network namespaces")
	}
	netns.Require(t, nsPrefix)
	netns.RequireNFT(t)
	w := &natWorld{t: t, homes: map[netns.NATKind][2]*netns.Home{}, dir: t.TempDir(), keys: map[string]crypto.PrivKey{}}
	w.in = netns.NewInternet(t, nsPrefix, tag)
	w.relay = w.in.PublicHost("relay")
	for _, k := range []netns.NATKind{netns.NATPortPreserving, netns.NATSymmetric, netns.NATForward} {
		w.homes[k] = [2]*netns.Home{w.in.NewHome(k, 1), w.in.NewHome(k, 1)}
	}
	w.pub = [2]*netns.Host{w.in.PublicHost("p1"), w.in.PublicHost("p2")}
	w.relayKey, w.relayID = newAgentKey(t)
	w.ids = append(w.ids, w.relayID)
	for _, name := range []string{"a", "b"} {
		k, id := newAgentKey(t)
		w.keys[name] = k
		w.ids = append(w.ids, id)
	}
	w.cap = netns.StartCapture(t, w.in.Namespaces(), w.in.Allowed())
	t.Cleanup(func() { w.cap.Check(t) })
	return w
}

func (w *natWorld) startRelay() *agent {
	r := spawn(w.t, fmt.Sprintf("relay-%d", time.Now().UnixNano()), w.relay.NS, w.dir, w.relayKey)
	r.start(natListen, w.ids, nil, true)
	return r
}

func (w *natWorld) relayAddr() string {
	return fmt.Sprintf("/ip4/%s/udp/4747/quic-v1/p2p/%s", w.relay.Addr, w.relayID)
}

// peerAt starts peer name (key "a" or "b") in namespace ns and connects it
// to the relay (a collaborator it has met).
func (w *natWorld) peerAt(name, ns string) *agent {
	a := spawn(w.t, name+"-"+ns[strings.LastIndex(ns, "-")+1:], ns, w.dir, w.keys[name])
	a.start(natListen, w.ids, nil, false)
	a.do(agentReq{Op: "connect", Peer: w.relayID.String(), Addrs: []string{w.relayAddr()}}, false)
	return a
}

// expectDirect says whether a direct connection can open between NATs of
// these kinds: wherever one side keeps ports (a port forward always lets
// DCUtR through; two port-preserving NATs punch with DCUtR; a symmetric NAT
// facing a port-preserving one takes collab's birthday punch, punch.go).
// Two symmetric NATs stay relayed.
func expectDirect(a, b netns.NATKind) bool {
	return a != netns.NATSymmetric || b != netns.NATSymmetric
}

// TestNATMatrix: for every ordered pair of NAT kinds, with a public relay
// both peers have met, the peer behind one NAT reaches the peer behind the
// other through the relay with the addresses the latter would put in a
// ticket, data flows both ways, a 2 MB transfer crosses, and the path is
// direct where the NATs allow it and relayed otherwise.
func TestNATMatrix(t *testing.T) {
	w := newNATWorld(t, "m")
	relay := w.startRelay()
	kinds := []netns.NATKind{netns.NATPortPreserving, netns.NATSymmetric, netns.NATForward}
	for _, ka := range kinds {
		for _, kb := range kinds {
			t.Run(fmt.Sprintf("%s-invites-%s", ka, kb), func(t *testing.T) {
				w.t = t
				defer func() { w.t = t }()
				runNATPair(t, w, ka, kb)
			})
		}
	}
	rep := relay.do(agentReq{Op: "addrs"}, false)
	if rep.Reach != ReachabilityPublic.String() {
		t.Errorf("the relay decided it is %q, want public", rep.Reach)
	}
}

func runNATPair(t *testing.T, w *natWorld, ka, kb netns.NATKind) {
	a := w.peerAt("a", w.homes[ka][0].Hosts[0].NS)
	b := w.peerAt("b", w.homes[kb][1].Hosts[0].NS)
	defer a.stop()
	defer b.stop()

	// A, behind its NAT, learns it is behind one and reserves a slot on the
	// relay; its ticket addresses put the circuit first, never loopback
	// before anything else.
	ticket := a.do(agentReq{Op: "wait-relayed", Timeout: 10 * time.Second}, false)
	if ticket.Reach != ReachabilityPrivate.String() {
		t.Errorf("A's reachability is %q, want %q", ticket.Reach, ReachabilityPrivate)
	}
	if len(ticket.Addrs) == 0 || !strings.Contains(ticket.Addrs[0], "/p2p-circuit/") {
		t.Errorf("A's first address is not a relay circuit: %v", ticket.Addrs)
	}
	checkTicketOrder(t, ticket.Addrs)
	b.do(agentReq{Op: "wait-relayed", Timeout: 10 * time.Second}, false)

	// B "joins": connects with A's ticket addresses.
	conn := b.do(agentReq{Op: "connect", Peer: a.id.String(), Addrs: ticket.Addrs}, false)
	first := b.do(agentReq{Op: "echo", Peer: a.id.String(), Size: 64}, false)
	back := a.do(agentReq{Op: "echo", Peer: b.id.String(), Size: 64}, false)
	t.Logf("connected in %v (%s), first round trip %v (relayed %v), back %v",
		conn.Elapsed.Round(time.Millisecond), conn.Path, percentile(first.RTTs, 50), first.Relayed, percentile(back.RTTs, 50))

	// 2 MB crosses (through the relay unless the connection was already
	// upgraded).
	bulk := b.do(agentReq{Op: "bulk", Peer: a.id.String(), Size: twoMB, Timeout: 30 * time.Second}, false)
	t.Logf("2 MB in %v (relayed %v)", bulk.Elapsed.Round(time.Millisecond), bulk.Relayed)

	wait := 6 * time.Second
	if expectDirect(ka, kb) || *natFull {
		wait = 20 * time.Second
	}
	direct := b.do(agentReq{Op: "wait-direct", Peer: a.id.String(), Timeout: wait}, true)
	switch {
	case expectDirect(ka, kb) && direct.Err != "":
		t.Errorf("no direct connection between %s and %s NATs: %s", ka, kb, direct.Err)
	case !expectDirect(ka, kb) && direct.Err == "":
		t.Logf("direct connection where none was expected (%s): fine", direct.Path)
	case direct.Err == "":
		t.Logf("direct (%s) %v after connecting", direct.Path, direct.Elapsed.Round(time.Millisecond))
	default:
		t.Logf("stays relayed, as expected: %s", direct.Err)
	}
	if direct.Err == "" {
		// The relayed connection is retired once the direct one exists.
		deadline := time.Now().Add(RelayRetireGrace + 3*time.Second)
		for {
			p := b.do(agentReq{Op: "path", Peer: a.id.String()}, false)
			after := b.do(agentReq{Op: "echo", Peer: a.id.String(), Size: 64}, false)
			if !after.Relayed {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("new streams still go over the relay (path %s)", p.Path)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// A listener the birthday punch opened is never offered to others:
	// every UDP address the peers hand out is on the port they listen on
	// (or, for a symmetric NAT's observed address, its NAT's port).
	for _, x := range []*agent{a, b} {
		for _, addr := range x.do(agentReq{Op: "addrs"}, false).Addrs {
			if strings.Contains(addr, "/udp/") && strings.HasPrefix(addr, "/ip4/192.168.") && !strings.Contains(addr, "/udp/4747/") {
				t.Errorf("%s offers an address on another port: %s", x.name, addr)
			}
		}
	}
	// Either way data still flows both ways.
	b.do(agentReq{Op: "echo", Peer: a.id.String(), Size: 64, Count: 20}, false)
	a.do(agentReq{Op: "echo", Peer: b.id.String(), Size: 64, Count: 20}, false)
}

// checkTicketOrder: circuits and public addresses before LAN ones, loopback
// last.
func checkTicketOrder(t *testing.T, addrs []string) {
	t.Helper()
	seenLAN, seenLoop := false, false
	for _, a := range addrs {
		switch {
		case strings.HasPrefix(a, "/ip4/127.") || strings.HasPrefix(a, "/ip6/::1/"):
			seenLoop = true
		case strings.HasPrefix(a, "/ip4/192.168."):
			if seenLoop {
				t.Errorf("LAN address %s after loopback in %v", a, addrs)
			}
			seenLAN = true
		default:
			if seenLAN || seenLoop {
				t.Errorf("address %s after LAN or loopback ones in %v", a, addrs)
			}
		}
	}
}

// TestNATRelayOffline: two peers behind symmetric NATs (relayed only) lose
// the relay; the failure names the relay; once it is back they reach each
// other again within 5 s.
func TestNATRelayOffline(t *testing.T) {
	w := newNATWorld(t, "o")
	relay := w.startRelay()
	a := w.peerAt("a", w.homes[netns.NATSymmetric][0].Hosts[0].NS)
	b := w.peerAt("b", w.homes[netns.NATSymmetric][1].Hosts[0].NS)
	ticket := a.do(agentReq{Op: "wait-relayed", Timeout: 10 * time.Second}, false)
	b.do(agentReq{Op: "wait-relayed", Timeout: 10 * time.Second}, false)
	b.do(agentReq{Op: "connect", Peer: a.id.String(), Addrs: ticket.Addrs}, false)
	b.do(agentReq{Op: "echo", Peer: a.id.String(), Size: 64}, false)

	// A relay shutting down may tell its peers first that it relays no
	// more; make sure A heard that (it must try the relay again anyway).
	relay.do(agentReq{Op: "drop-hop"}, false)
	deadline := time.Now().Add(10 * time.Second)
	for a.do(agentReq{Op: "knows-hop", Peer: w.relayID.String()}, false).Relayed {
		if time.Now().After(deadline) {
			t.Fatal("A still believes the relay relays 10 s after it stopped")
		}
		time.Sleep(50 * time.Millisecond)
	}
	relay.stop()
	deadline = time.Now().Add(10 * time.Second)
	for b.do(agentReq{Op: "path", Peer: a.id.String()}, false).Path != PathNone.String() {
		if time.Now().After(deadline) {
			t.Fatal("still connected 10 s after the relay stopped")
		}
		time.Sleep(100 * time.Millisecond)
	}
	fail := b.do(agentReq{Op: "connect", Peer: a.id.String(), Addrs: ticket.Addrs, Timeout: 5 * time.Second}, true)
	if fail.Err == "" {
		t.Fatal("reached A with the relay offline")
	}
	t.Logf("with the relay offline: %s\n(raw: %s)", fail.Err, fail.Raw)
	if FailureKind(fail.Kind) != FailRelayOffline {
		t.Errorf("failure kind %d, want FailRelayOffline (%d): %s", fail.Kind, FailRelayOffline, fail.Err)
	}
	if strings.Contains(fail.Err, "all dials failed") || strings.Contains(fail.Err, "failed to dial") {
		t.Errorf("raw libp2p text reached the message: %s", fail.Err)
	}

	time.Sleep(2 * time.Second) // offline for a while: the peers retry with backoff
	w.startRelay()
	back := time.Now()
	for {
		rep := b.do(agentReq{Op: "connect", Peer: a.id.String(), Addrs: ticket.Addrs, Timeout: 2 * time.Second}, true)
		if rep.Err == "" {
			break
		}
		if time.Since(back) > 5*time.Second {
			t.Fatalf("not reconnected within 5 s of the relay coming back: %s", rep.Err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.do(agentReq{Op: "echo", Peer: a.id.String(), Size: 64}, false)
	t.Logf("reconnected through the relay %v after it came back", time.Since(back).Round(time.Millisecond))
}

// TestNATPeerMoves: a public peer moves to a new address; a peer behind a
// NAT that knew only the old address finds it again through the relay they
// both know (its signed peer record), without a new ticket.
func TestNATPeerMoves(t *testing.T) {
	w := newNATWorld(t, "v")
	w.startRelay()
	a := w.peerAt("a", w.homes[netns.NATPortPreserving][0].Hosts[0].NS)
	b := w.peerAt("b", w.pub[0].NS)
	old := b.do(agentReq{Op: "addrs"}, false).Addrs
	a.do(agentReq{Op: "connect", Peer: b.id.String(), Addrs: old}, false)
	a.do(agentReq{Op: "echo", Peer: b.id.String(), Size: 64}, false)

	oldIP := w.pub[0].Addr
	w.pub[0].Move()
	t.Logf("moved B from %s to %s", oldIP, w.pub[0].Addr)
	b.do(agentReq{Op: "wait-addr", Addrs: []string{"/ip4/" + w.pub[0].Addr.String() + "/"}, Timeout: 10 * time.Second}, false)
	// B's engine would redial its collaborators; here B reconnects to the
	// relay, which then holds B's new signed record.
	b.do(agentReq{Op: "disconnect", Peer: w.relayID.String()}, false)
	b.do(agentReq{Op: "connect", Peer: w.relayID.String(), Addrs: []string{w.relayAddr()}}, false)

	a.do(agentReq{Op: "disconnect", Peer: b.id.String()}, false)
	start := time.Now()
	for {
		rep := a.do(agentReq{Op: "connect", Peer: b.id.String(), Addrs: old, Timeout: 5 * time.Second}, true)
		if rep.Err == "" {
			t.Logf("found B again after %v: %s", time.Since(start).Round(time.Millisecond), rep.Path)
			break
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("B not found again within 20 s: %s", rep.Err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	e := a.do(agentReq{Op: "echo", Peer: b.id.String(), Size: 64}, false)
	if e.Relayed {
		t.Errorf("reached B only through the relay; want its new public address")
	}
}

// BenchmarkNATPaths measures, per NAT pair, the time from dialing a peer's
// ticket addresses to the first echoed message, the time until the
// connection is direct (where the NATs allow it), and the round trip of a
// 64-byte message on the final path (p50/p99 over 200).
//
//	go test ./p2p -run '^$' -bench BenchmarkNATPaths -benchtime 5x
func BenchmarkNATPaths(b *testing.B) {
	pairs := []struct{ a, b netns.NATKind }{
		{netns.NATPortPreserving, netns.NATPortPreserving},
		{netns.NATPortPreserving, netns.NATSymmetric},
		{netns.NATSymmetric, netns.NATSymmetric},
		{netns.NATForward, netns.NATSymmetric},
	}
	for _, p := range pairs {
		b.Run(fmt.Sprintf("%s-%s", p.a, p.b), func(b *testing.B) {
			benchNATPair(b, p.a, p.b)
		})
	}
}

func benchNATPair(b *testing.B, ka, kb netns.NATKind) {
	if os.Getenv(envAgent) != "" {
		b.Skip("agent process")
	}
	netns.Require(b, nsPrefix)
	netns.RequireNFT(b)
	in := netns.NewInternet(b, nsPrefix, "b")
	relayHost := in.PublicHost("relay")
	ha, hb := in.NewHome(ka, 1), in.NewHome(kb, 1)
	dir := b.TempDir()
	rk, rid := newAgentKey(b)
	ak, aid := newAgentKey(b)
	bk, bid := newAgentKey(b)
	ids := []peer.ID{rid, aid, bid}
	relay := spawn(b, "relay", relayHost.NS, dir, rk)
	relay.start(natListen, ids, nil, true)
	raddr := fmt.Sprintf("/ip4/%s/udp/4747/quic-v1/p2p/%s", relayHost.Addr, rid)
	a := spawn(b, "a", ha.Hosts[0].NS, dir, ak)
	a.start(natListen, ids, nil, false)
	pb := spawn(b, "b", hb.Hosts[0].NS, dir, bk)
	pb.start(natListen, ids, nil, false)
	for _, x := range []*agent{a, pb} {
		x.do(agentReq{Op: "connect", Peer: rid.String(), Addrs: []string{raddr}}, false)
		x.do(agentReq{Op: "wait-relayed", Timeout: 10 * time.Second}, false)
	}
	ticket := a.do(agentReq{Op: "addrs"}, false).Addrs
	var join, direct time.Duration
	directs := 0
	var rtts []int64
	relayed := false
	b.ResetTimer()
	for range b.N {
		pb.do(agentReq{Op: "disconnect", Peer: aid.String()}, false)
		a.do(agentReq{Op: "disconnect", Peer: bid.String()}, false)
		time.Sleep(200 * time.Millisecond)
		start := time.Now()
		pb.do(agentReq{Op: "connect", Peer: aid.String(), Addrs: ticket}, false)
		pb.do(agentReq{Op: "echo", Peer: aid.String(), Size: 64}, false)
		join += time.Since(start)
		wait := 3 * time.Second
		if expectDirect(ka, kb) {
			wait = 15 * time.Second
		}
		if d := pb.do(agentReq{Op: "wait-direct", Peer: aid.String(), Timeout: wait}, true); d.Err == "" {
			direct += time.Since(start)
			directs++
			time.Sleep(RelayRetireGrace + time.Second) // let the relayed connection go
		}
		e := pb.do(agentReq{Op: "echo", Peer: aid.String(), Size: 64, Count: 200}, false)
		rtts = append(rtts, e.RTTs...)
		relayed = e.Relayed
	}
	b.StopTimer()
	b.ReportMetric(float64(join.Milliseconds())/float64(b.N), "join-ms")
	if directs > 0 {
		b.ReportMetric(float64(direct.Milliseconds())/float64(directs), "direct-ms")
	}
	b.ReportMetric(float64(directs)/float64(b.N), "direct-ratio")
	b.ReportMetric(float64(percentile(rtts, 50).Microseconds()), "rtt-p50-µs")
	b.ReportMetric(float64(percentile(rtts, 99).Microseconds()), "rtt-p99-µs")
	if relayed {
		b.Logf("final path relayed")
	}
}
