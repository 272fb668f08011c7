package p2p

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/internal/netns"
)

// TestDefaultGatewayFromRouteTable: the gateway of the IPv4 default route,
// as Linux prints it in /proc/net/route (hex, host byte order).
func TestDefaultGatewayFromRouteTable(t *testing.T) {
	const table = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	0000A8C0	00000000	0001	0	0	0	00FFFFFF	0	0	0
wg0	00000000	00000000	0001	0	0	0	00000000	0	0	0
eth0	00000000	0101A8C0	0003	0	0	100	00000000	0	0	0
`
	gw, err := parseRouteTable(bufio.NewScanner(strings.NewReader(table)))
	if err != nil || gw != netip.MustParseAddr("192.168.1.1") {
		t.Fatalf("gateway %v, %v; want 192.168.1.1", gw, err)
	}
	if _, err := parseRouteTable(bufio.NewScanner(strings.NewReader(strings.Split(table, "eth0\t00000000")[0]))); err == nil {
		t.Error("a table without a default route gave a gateway")
	}
}

// envNATPMPRouter makes this test binary a NAT-PMP server (RFC 6886) in a
// home router's namespace: "LAN-ADDR WAN-ADDR".
const envNATPMPRouter = "COLLAB_NATPMP_ROUTER"

// TestNATPMPRouter is the home router's NAT-PMP server; it runs only as a
// child of TestNATPortMapping. Like a router's, each mapping it grants is
// a real port forward (an nft dnat rule in the router's namespace).
func TestNATPMPRouter(t *testing.T) {
	spec := os.Getenv(envNATPMPRouter)
	if spec == "" {
		t.Skip("runs only as a child of TestNATPortMapping")
	}
	f := strings.Fields(spec)
	if len(f) != 2 {
		t.Fatalf("bad %s %q", envNATPMPRouter, spec)
	}
	lan, wan := netip.MustParseAddr(f[0]), netip.MustParseAddr(f[1])
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lan, 5351)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Println("ready")
	start := time.Now()
	mapped := map[string]bool{}
	buf := make([]byte, 64)
	go func() { // the parent closes stdin to stop us
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		conn.Close()
	}()
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		req := buf[:n]
		epoch := uint32(time.Since(start) / time.Second)
		switch {
		case n == 2 && req[0] == 0 && req[1] == 0:
			rep := make([]byte, 12)
			rep[1] = 128
			binary.BigEndian.PutUint32(rep[4:], epoch)
			copy(rep[8:], wan.AsSlice())
			_, _ = conn.WriteToUDPAddrPort(rep, from)
		case n == 12 && req[0] == 0 && (req[1] == 1 || req[1] == 2):
			proto := map[byte]string{1: "udp", 2: "tcp"}[req[1]]
			internal := binary.BigEndian.Uint16(req[4:])
			external := binary.BigEndian.Uint16(req[6:])
			lifetime := binary.BigEndian.Uint32(req[8:])
			if external == 0 {
				external = internal
			}
			if lifetime > 0 {
				rule := fmt.Sprintf(`iifname "wan0" %s dport %d dnat to %s:%d`, proto, external, from.Addr(), internal)
				if !mapped[rule] {
					mapped[rule] = true
					out, err := exec.Command("nft", "add", "rule", "ip", "home", "prerouting", rule).CombinedOutput()
					fmt.Fprintf(os.Stderr, "map %s: %v %s\n", rule, err, out)
				}
			}
			rep := make([]byte, 16)
			rep[1] = 128 + req[1]
			binary.BigEndian.PutUint32(rep[4:], epoch)
			binary.BigEndian.PutUint16(rep[8:], internal)
			binary.BigEndian.PutUint16(rep[10:], external)
			binary.BigEndian.PutUint32(rep[12:], lifetime)
			_, _ = conn.WriteToUDPAddrPort(rep, from)
		}
	}
}

// TestNATPortMapping (issue 11): with --nat behind a home router that
// answers NAT-PMP, the peer's addresses (what its tickets and `collab id`
// show) hold the router's public address with the mapped port, and a
// public peer reaches it there directly, over TCP and QUIC. Behind a
// router that does not answer, one log line says so and what to do.
func TestNATPortMapping(t *testing.T) {
	if os.Getenv(envAgent) != "" || os.Getenv(envNATPMPRouter) != "" {
		t.Skip("child process")
	}
	netns.Require(t, nsPrefix)
	netns.RequireNFT(t)
	in := netns.NewInternet(t, nsPrefix, "pmp")
	pub := in.PublicHost("p1")
	mapping := in.NewHome(netns.NATPortMapping, 1)
	silent := in.NewHome(netns.NATPortPreserving, 1)
	capture := netns.StartCapture(t, in.Namespaces(), in.Allowed())
	dir := t.TempDir()

	router := exec.Command("ip", "netns", "exec", mapping.Router, os.Args[0], "-test.run=^TestNATPMPRouter$", "-test.count=1")
	router.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s", envNATPMPRouter, mapping.LAN(), mapping.WAN))
	routerIn, err := router.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	routerOut, err := router.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	routerLog, err := os.Create(dir + "/router.log")
	if err != nil {
		t.Fatal(err)
	}
	router.Stderr = routerLog
	if err := router.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		routerIn.Close()
		_ = router.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(routerLog.Name())
			t.Logf("--- NAT-PMP server's log:\n%s", b)
		}
	})
	if line, err := bufio.NewReader(routerOut).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("NAT-PMP server: %q, %v", line, err)
	}

	newKey := func() crypto.PrivKey {
		k, _, err := crypto.GenerateEd25519Key(nil)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	start := func(name, ns string, nat bool) *agent {
		a := spawn(t, name, ns, dir, newKey())
		kb, err := crypto.MarshalPrivateKey(a.key)
		if err != nil {
			t.Fatal(err)
		}
		a.do(agentReq{Op: "start", Key: base64.StdEncoding.EncodeToString(kb), Listen: natListen, NAT: nat}, false)
		return a
	}
	home := start("home", mapping.Hosts[0].NS, true)
	tcp := fmt.Sprintf("/ip4/%s/tcp/4747", mapping.WAN)
	quic := fmt.Sprintf("/ip4/%s/udp/4747/quic-v1", mapping.WAN)
	rep := home.do(agentReq{Op: "wait-addr", Addrs: []string{tcp + "/"}, Timeout: 30 * time.Second}, false)
	home.do(agentReq{Op: "wait-addr", Addrs: []string{quic + "/"}, Timeout: 30 * time.Second}, false)
	if first, err := ma.NewMultiaddr(rep.Addrs[0]); err != nil || !strings.HasPrefix(first.String(), fmt.Sprintf("/ip4/%s/", mapping.WAN)) {
		t.Errorf("the mapped public address is not first of %v", rep.Addrs)
	}

	outside := start("outside", pub.NS, false)
	for _, addr := range []string{tcp, quic} {
		r := outside.do(agentReq{Op: "connect", Peer: home.id.String(), Addrs: []string{addr}, Timeout: 15 * time.Second}, false)
		if r.Path != PathInternet.String() {
			t.Errorf("reached through %s, path %s; want direct", addr, r.Path)
		}
		outside.do(agentReq{Op: "echo", Peer: home.id.String(), Size: 1000, Count: 1}, false)
		outside.do(agentReq{Op: "disconnect", Peer: home.id.String()}, false)
	}

	lonely := start("lonely", silent.Hosts[0].NS, true)
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(lonely.logf.Name())
		if strings.Contains(string(b), "port mapping: no router answered") && strings.Contains(string(b), "forward the port") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line says that no router answered:\n%s", b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Status says that neither NAT-PMP nor UPnP answered, once libp2p's
	// UPnP search had its time; the mapping router answers NAT-PMP only.
	for {
		pm := lonely.do(agentReq{Op: "portmap"}, false).PortMap
		if pm == nil || pm.UPnPRouter || len(pm.Mapped) > 0 || pm.Problem == "" {
			t.Fatalf("port mapping behind a silent router: %+v", pm)
		}
		if !pm.UPnPAsking {
			break
		}
		if time.Now().After(deadline.Add(upnpPatience)) {
			t.Fatalf("status still says it is asking: %+v", pm)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if pm := home.do(agentReq{Op: "portmap"}, false).PortMap; pm == nil || len(pm.Mapped) == 0 || pm.UPnPRouter {
		t.Errorf("port mapping behind the NAT-PMP router: %+v", pm)
	}
	if r := lonely.do(agentReq{Op: "addrs"}, false); strings.Contains(strings.Join(r.Addrs, " "), silent.WAN.String()) {
		t.Errorf("a router that never answered appears in the addresses: %v", r.Addrs)
	}
	n, stray, errs := capture.Result()
	if len(errs) > 0 || len(stray) > 0 || n == 0 {
		t.Errorf("capture: %d packets, outside the simulated ranges: %v, errors %v", n, stray, errs)
	}
}
