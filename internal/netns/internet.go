package netns

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The simulated internet.
//
// PublicRange is the range every "public" address in these tests comes
// from: 192.0.0.192/26, a slice of 192.0.0.0/24 (IANA's IETF protocol
// assignments, never routed on the internet) that go-multiaddr's
// manet.IsPublicAddr nevertheless counts as public — it lists only
// 192.0.0.0/26 as unroutable. That matters: libp2p (relay reservations,
// hole punching, observed addresses, the dial ranker) treats private and
// unroutable ranges differently, so 100.64.0.0/10 (CGNAT, "private" to
// manet) or the TEST-NETs ("unroutable") would test other code paths than
// the ones real users hit. The addresses never leave the namespaces: no
// namespace has a link to the machine's own network.
//
// Home networks are 192.168.<n>.0/24, one per home; the core router drops
// every packet to a private range, so a dial to someone else's LAN address
// vanishes as it would on the internet.
var PublicRange = netip.MustParsePrefix("192.0.0.192/26")

// NATKind is how a home router translates.
type NATKind int

const (
	// NATPortPreserving is MASQUERADE as Linux does it: the source port is
	// kept when free, so one local port maps to one external port whatever
	// the destination (endpoint-independent mapping); replies are let in
	// only from the address and port written to (address-and-port-dependent
	// filtering).
	NATPortPreserving NATKind = iota
	// NATSymmetric is MASQUERADE --random-fully: a new random external port
	// for every destination.
	NATSymmetric
	// NATForward is NATPortPreserving plus a port forward of TCP and UDP
	// ForwardPort to the home's first host.
	NATForward
	// NATPortMapping is NATPortPreserving with an empty port-forward chain
	// (ip home prerouting) that a port-mapping server the test runs in the
	// router's namespace (NAT-PMP, UPnP) fills, as a home router does.
	NATPortMapping
)

// ForwardPort is the port NATForward routers forward (collab's default).
const ForwardPort = 4747

// Like every enum's String here: one case per constant, nothing to share.
func (k NATKind) String() string {
	switch k {
	case NATSymmetric:
		return "symmetric"
	case NATForward:
		return "forward"
	case NATPortMapping:
		return "port-mapping"
	}
	return "port-preserving"
}

// Internet is a core router namespace that public hosts and home routers
// attach to, each over a point-to-point /30 link cut from PublicRange.
type Internet struct {
	Core  string // the core router's namespace
	t     testing.TB
	base  string
	next  int // next /30 index in PublicRange
	homes int
	links int
	made  []string // namespaces, deleted at cleanup (last made first)
}

// Host is a namespace with one interface, eth0, and a default route.
type Host struct {
	NS   string     // namespace name
	Addr netip.Addr // its address
	Home *Home      // nil for a public host

	in   *Internet
	link string // the other end of its link: the core's (public hosts) or the router's
	gw   netip.Addr
}

// Home is a home network: a router doing NAT between its WAN link to the
// core and a LAN bridge with hosts on 192.168.<n>.0/24.
type Home struct {
	Router string     // the router's namespace
	WAN    netip.Addr // the router's public address
	Kind   NATKind
	Hosts  []*Host

	in    *Internet
	n     int
	lanIP netip.Addr
	moved int // hosts moved here (MoveHome): they get .101, .102, …
}

// NewInternet makes the core router namespace <prefix><pid>-<tag>-core. It
// and everything attached is deleted when the test ends (make it before
// starting processes inside it, so the cleanup runs after they are gone).
func NewInternet(t testing.TB, prefix, tag string) *Internet {
	t.Helper()
	base := fmt.Sprintf("%s%d-", prefix, os.Getpid())
	if tag != "" {
		base += tag + "-"
	}
	in := &Internet{t: t, base: base}
	t.Cleanup(func() {
		for i := len(in.made) - 1; i >= 0; i-- {
			if out, err := exec.Command("ip", "netns", "del", in.made[i]).CombinedOutput(); err != nil {
				t.Errorf("ip netns del %s: %v: %s", in.made[i], err, out)
			}
		}
	})
	in.Core = in.addNS("core")
	in.sysctl(in.Core, "net.ipv4.ip_forward", "1")
	// The core forwards between links and drops anything to or from a
	// private range: nobody's LAN is reachable from the internet.
	in.nft(in.Core, `
table ip core {
	chain forward {
		type filter hook forward priority 0; policy accept;
		ip daddr { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10 } drop
		ip saddr { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10 } drop
	}
}`)
	return in
}

// addNS makes a namespace with lo up.
func (in *Internet) addNS(name string) string {
	ns := in.base + name
	in.ip("netns", "add", ns)
	in.made = append(in.made, ns)
	in.ip("-n", ns, "link", "set", "lo", "up")
	// No IPv6 on these links: the simulated internet is IPv4, and
	// duplicate address detection would only add noise to captures.
	in.sysctl(ns, "net.ipv6.conf.all.disable_ipv6", "1")
	in.sysctl(ns, "net.ipv6.conf.default.disable_ipv6", "1")
	return ns
}

// allocLink returns the next /30 of PublicRange: the core's end and the
// other end.
func (in *Internet) allocLink() (core, other netip.Addr) {
	in.t.Helper()
	size := 1 << (32 - PublicRange.Bits())
	if (in.next+1)*4 > size {
		in.t.Fatalf("netns: PublicRange %s has no /30 left", PublicRange)
	}
	b := PublicRange.Addr().As4()
	b[3] += byte(in.next * 4)
	in.next++
	net := netip.AddrFrom4(b)
	return net.Next(), net.Next().Next()
}

// attach links ns (interface ifname) to the core with a fresh /30 and
// gives ns a default route through the core.
func (in *Internet) attach(ns, ifname string) (link string, addr, gw netip.Addr) {
	in.links++
	link = fmt.Sprintf("l%d", in.links)
	in.ip("-n", in.Core, "link", "add", link, "type", "veth", "peer", "name", ifname, "netns", ns)
	gw, addr = in.allocLink()
	in.ip("-n", in.Core, "addr", "add", gw.String()+"/30", "dev", link)
	in.ip("-n", in.Core, "link", "set", link, "up")
	in.ip("-n", ns, "addr", "add", addr.String()+"/30", "dev", ifname)
	in.ip("-n", ns, "link", "set", ifname, "up")
	in.ip("-n", ns, "route", "add", "default", "via", gw.String())
	return link, addr, gw
}

// PublicHost makes a host with a public address of its own.
func (in *Internet) PublicHost(name string) *Host {
	in.t.Helper()
	ns := in.addNS(name)
	link, addr, gw := in.attach(ns, "eth0")
	return &Host{NS: ns, Addr: addr, in: in, link: link, gw: gw}
}

// Move gives a public host a new address (a new /30 on its link), as when
// a laptop joins another network: its old address is gone at once.
func (h *Host) Move() {
	in := h.in
	in.t.Helper()
	if h.Home != nil {
		in.t.Fatal("netns: Move is for public hosts")
	}
	gw, addr := in.allocLink()
	in.ip("-n", in.Core, "addr", "flush", "dev", h.link)
	in.ip("-n", in.Core, "addr", "add", gw.String()+"/30", "dev", h.link)
	in.ip("-n", h.NS, "addr", "flush", "dev", "eth0")
	in.ip("-n", h.NS, "addr", "add", addr.String()+"/30", "dev", "eth0")
	in.ip("-n", h.NS, "route", "replace", "default", "via", gw.String())
	h.Addr, h.gw = addr, gw
}

// MoveHome moves a host behind another home's router, as a laptop taken
// from one home network to another: its link to the old router is
// removed (the old address goes with it), and it gets the next address of
// to's LAN and to's router as its gateway. Its processes keep running. (A
// port forward keeps pointing where it did.)
func (h *Host) MoveHome(to *Home) {
	in := h.in
	in.t.Helper()
	if h.Home == nil || to.in != in {
		in.t.Fatal("netns: MoveHome is for hosts behind a home router of the same internet")
	}
	old := h.Home
	in.ip("-n", old.Router, "link", "del", h.link) // and eth0, its peer
	old.Hosts = slices.DeleteFunc(old.Hosts, func(o *Host) bool { return o == h })
	to.moved++
	veth := fmt.Sprintf("m%d", to.moved)
	addr := netip.AddrFrom4([4]byte{192, 168, byte(to.n), byte(100 + to.moved)})
	in.ip("-n", to.Router, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", h.NS)
	in.ip("-n", to.Router, "link", "set", veth, "master", "lan0")
	in.ip("-n", to.Router, "link", "set", veth, "up")
	in.ip("-n", h.NS, "addr", "add", addr.String()+"/24", "dev", "eth0")
	in.ip("-n", h.NS, "link", "set", "eth0", "multicast", "on")
	in.ip("-n", h.NS, "link", "set", "eth0", "up")
	in.ip("-n", h.NS, "route", "replace", "default", "via", to.lanIP.String())
	h.Addr, h.Home, h.gw, h.link = addr, to, to.lanIP, veth
	to.Hosts = append(to.Hosts, h)
}

// Bytes returns what the host's interface received and sent so far.
func (h *Host) Bytes() (rx, tx int64) {
	h.in.t.Helper()
	read := func(what string) int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "ip", "netns", "exec", h.NS, "cat", "/sys/class/net/eth0/statistics/"+what).Output()
		if err != nil {
			h.in.t.Fatalf("netns: %s's %s: %v", h.NS, what, err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err != nil {
			h.in.t.Fatalf("netns: %s's %s: %v", h.NS, what, err)
		}
		return n
	}
	return read("rx_bytes"), read("tx_bytes")
}

// SetLink takes a host's only interface down or up (down: the host is
// offline; its processes keep running).
func (h *Host) SetLink(up bool) {
	h.in.t.Helper()
	state := "down"
	if up {
		state = "up"
	}
	h.in.ip("-n", h.NS, "link", "set", "eth0", state)
	if up && h.Home == nil {
		h.in.ip("-n", h.NS, "route", "replace", "default", "via", h.gw.String())
	}
}

// NewHome makes a home router of the given kind with hosts hosts on its LAN.
func (in *Internet) NewHome(kind NATKind, hosts int) *Home {
	in.t.Helper()
	in.homes++
	n := in.homes
	hm := &Home{Kind: kind, in: in, n: n, lanIP: netip.AddrFrom4([4]byte{192, 168, byte(n), 1})}
	hm.Router = in.addNS(fmt.Sprintf("h%d", n))
	in.sysctl(hm.Router, "net.ipv4.ip_forward", "1")
	_, hm.WAN, _ = in.attach(hm.Router, "wan0")
	in.ip("-n", hm.Router, "link", "add", "lan0", "type", "bridge")
	in.ip("-n", hm.Router, "link", "set", "lan0", "type", "bridge", "mcast_snooping", "0")
	in.ip("-n", hm.Router, "addr", "add", hm.lanIP.String()+"/24", "dev", "lan0")
	in.ip("-n", hm.Router, "link", "set", "lan0", "up")
	for i := range hosts {
		ns := in.addNS(fmt.Sprintf("h%dn%d", n, i+1))
		veth := fmt.Sprintf("p%d", i+1)
		in.ip("-n", hm.Router, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
		in.ip("-n", hm.Router, "link", "set", veth, "master", "lan0")
		in.ip("-n", hm.Router, "link", "set", veth, "up")
		addr := netip.AddrFrom4([4]byte{192, 168, byte(n), byte(i + 2)})
		in.ip("-n", ns, "addr", "add", addr.String()+"/24", "dev", "eth0")
		in.ip("-n", ns, "link", "set", "eth0", "multicast", "on")
		in.ip("-n", ns, "link", "set", "eth0", "up")
		in.ip("-n", ns, "route", "add", "default", "via", hm.lanIP.String())
		hm.Hosts = append(hm.Hosts, &Host{NS: ns, Addr: addr, Home: hm, in: in, link: veth, gw: hm.lanIP})
	}
	in.nft(hm.Router, hm.ruleset())
	return hm
}

// LAN is the router's address on its LAN (the hosts' default gateway).
func (hm *Home) LAN() netip.Addr { return hm.lanIP }

// ruleset is the router's NAT and firewall: outbound is translated on
// wan0, unsolicited inbound dropped (except a forwarded port).
func (hm *Home) ruleset() string {
	masq := "masquerade"
	if hm.Kind == NATSymmetric {
		masq = "masquerade fully-random"
	}
	forward := ""
	dnat := ""
	if hm.Kind == NATPortMapping {
		dnat = `
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
	}`
		forward = "\n\t\tct status dnat accept"
	}
	if hm.Kind == NATForward && len(hm.Hosts) > 0 {
		to := hm.Hosts[0].Addr.String()
		dnat = fmt.Sprintf(`
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "wan0" tcp dport %d dnat to %s
		iifname "wan0" udp dport %d dnat to %s
	}`, ForwardPort, to, ForwardPort, to)
		forward = "\n\t\tct status dnat accept"
	}
	return fmt.Sprintf(`
table ip home {%s
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan0" %s
	}
	chain forward {
		type filter hook forward priority 0; policy drop;
		ct state established,related accept%s
		iifname "lan0" oifname "wan0" accept
	}
	chain input {
		type filter hook input priority 0; policy drop;
		ct state established,related accept
		iifname "lo" accept
		iifname "lan0" accept
	}
}`, dnat, masq, forward)
}

func (in *Internet) sysctl(ns, key, value string) {
	in.t.Helper()
	in.run("ip", "netns", "exec", ns, "sysctl", "-q", "-w", key+"="+value)
}

func (in *Internet) nft(ns, ruleset string) {
	in.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		in.t.Fatalf("nft in %s: %v: %s\n%s", ns, err, out, ruleset)
	}
}

func (in *Internet) ip(args ...string) {
	in.t.Helper()
	in.run("ip", args...)
}

func (in *Internet) run(name string, args ...string) {
	in.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, name, args...).CombinedOutput(); err != nil {
		in.t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// Namespaces returns every namespace of this internet (core, routers,
// hosts).
func (in *Internet) Namespaces() []string { return append([]string(nil), in.made...) }

// Allowed returns the ranges packets inside this internet may carry:
// PublicRange, the homes' LANs, loopback, and link-local multicast
// (mDNS, SSDP) — see Capture.
func (in *Internet) Allowed() []netip.Prefix {
	out := []netip.Prefix{
		PublicRange,
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("224.0.0.0/24"),       // link-local multicast (mDNS)
		netip.MustParsePrefix("239.255.255.250/32"), // SSDP (UPnP discovery)
		netip.MustParsePrefix("0.0.0.0/32"),
	}
	for n := 1; n <= in.homes; n++ {
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(n), 0}), 24))
	}
	return out
}

// RequireNFT skips the test unless nft (nftables) is installed.
func RequireNFT(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		skipOrFail(t, "nft (nftables) not found: cannot build NAT routers")
	}
}

// skipOrFail skips, or fails when CI=true (where everything must run).
func skipOrFail(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(reason + " (CI=true: this must run in CI)")
	}
	t.Skip(reason)
}
