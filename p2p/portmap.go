package p2p

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	natpmp "github.com/jackpal/go-nat-pmp"
	bhost "github.com/libp2p/go-libp2p/p2p/host/basic"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// Port mapping (Config.NATPortMap, --nat). libp2p's NAT manager finds UPnP
// routers by SSDP multicast, but on Linux it never tries NAT-PMP: it asks
// go-netroute for the route to 0.0.0.0, which fails (FINDINGS). So NAT-PMP
// (RFC 6886) is done here, to the default gateway read from the kernel's
// routing table, for every IPv4 port the host listens on; UPnP stays with
// libp2p. The mapped addresses join the host's addresses (tickets, `collab
// id`, identify). When neither answers, one log line says so and what to do.

const (
	// PortMapLifetime is the lifetime asked for each mapping; it is renewed
	// at half of what the router grants.
	PortMapLifetime = 2 * time.Hour
	// portMapRetry is how long to wait after the router did not answer.
	portMapRetry = time.Minute
	// portMapTimeout bounds one NAT-PMP exchange (the library retries
	// with growing waits within it).
	portMapTimeout = 3 * time.Second
)

// PortMapping is what port mapping achieved, for status output.
type PortMapping struct {
	On      bool           // the user asked for it (--nat)
	Gateway netip.Addr     // the router NAT-PMP was sent to (invalid: none found)
	Mapped  []ma.Multiaddr // external addresses the router maps to us
	Problem string         // why NAT-PMP mapped nothing, in plain words ("" while trying, or when mapped)
	// UPnP is what libp2p's UPnP port mapping achieved: UPnPRouter says a
	// router answered, UPnPMapped what it maps to us; UPnPAsking that it
	// is too early to say none answered.
	UPnPRouter bool
	UPnPMapped []ma.Multiaddr
	UPnPAsking bool
}

// upnpPatience is how long libp2p's UPnP discovery is given before status
// says no UPnP router answered (its SSDP search takes a few seconds).
const upnpPatience = 15 * time.Second

type portMapper struct {
	h       *Host
	gateway func() (netip.Addr, error)
	upnp    func() bhost.NATManager // libp2p's (nil: not built)
	started time.Time

	mu    sync.Mutex
	state PortMapping
}

func newPortMapper(h *Host) *portMapper {
	return &portMapper{h: h, gateway: defaultGateway, started: time.Now(), state: PortMapping{On: true}}
}

// PortMapping reports what port mapping achieved (On false without --nat).
func (h *Host) PortMapping() PortMapping {
	if h.portMap == nil {
		return PortMapping{}
	}
	h.portMap.mu.Lock()
	s := h.portMap.state
	s.Mapped = slices.Clone(s.Mapped)
	h.portMap.mu.Unlock()
	var m bhost.NATManager
	if h.portMap.upnp != nil {
		m = h.portMap.upnp()
	}
	if m != nil && m.HasDiscoveredNAT() {
		s.UPnPRouter = true
		for _, l := range h.h.Network().ListenAddresses() {
			if ext := m.GetMapping(l); ext != nil && manet.IsPublicAddr(ext) {
				s.UPnPMapped = append(s.UPnPMapped, ext)
			}
		}
	}
	s.UPnPAsking = !s.UPnPRouter && time.Since(h.portMap.started) < upnpPatience
	return s
}

func (m *portMapper) mapped() []ma.Multiaddr {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.state.Mapped)
}

// run keeps the mappings alive until ctx ends; the host owns it.
func (m *portMapper) run(ctx context.Context) {
	defer m.h.wg.Done()
	warned := false
	for {
		wait, err := m.mapOnce()
		if err != nil && !warned {
			warned = true
			m.h.log.Warn("port mapping: no router answered (NAT-PMP "+m.describeGateway()+"; UPnP is tried by libp2p)",
				"err", err, "what to do", "forward the port to this machine by hand, or reach collaborators through a relay (collab serve --relay on a public machine)")
		}
		if err == nil && warned {
			warned = false
		}
		select {
		case <-ctx.Done():
			m.unmapAll()
			return
		case <-time.After(wait):
		}
	}
}

func (m *portMapper) describeGateway() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.state.Gateway.IsValid() {
		return "not sent: no default gateway"
	}
	return "to " + m.state.Gateway.String()
}

// mapOnce asks the gateway for every listened port and records the
// result; it returns when to ask again.
func (m *portMapper) mapOnce() (time.Duration, error) {
	gw, err := m.gateway()
	if err != nil {
		m.set(netip.Addr{}, nil, "no default gateway in the routing table")
		return portMapRetry, err
	}
	c := natpmp.NewClientWithTimeout(net.IP(gw.AsSlice()), portMapTimeout)
	ext, err := c.GetExternalAddress()
	if err != nil {
		m.set(gw, nil, "the router at "+gw.String()+" does not answer NAT-PMP")
		return portMapRetry, fmt.Errorf("nat-pmp external address from %s: %w", gw, err)
	}
	extIP := netip.AddrFrom4(ext.ExternalIPAddress)
	var mapped []ma.Multiaddr
	renew := PortMapLifetime / 2
	var errs []error
	for _, l := range m.listenPorts() {
		res, err := c.AddPortMapping(l.proto, l.port, l.port, int(PortMapLifetime/time.Second))
		if err != nil {
			errs = append(errs, fmt.Errorf("map %s port %d: %w", l.proto, l.port, err))
			continue
		}
		a, err := l.external(extIP, int(res.MappedExternalPort))
		if err != nil {
			continue
		}
		mapped = append(mapped, a)
		if granted := time.Duration(res.PortMappingLifetimeInSeconds) * time.Second; granted > 0 {
			renew = min(renew, granted/2)
		}
	}
	if len(mapped) == 0 {
		m.set(gw, nil, "the router at "+gw.String()+" refused to map a port")
		return portMapRetry, fmt.Errorf("nat-pmp at %s: %w", gw, errors.Join(errs...))
	}
	if !manet.IsPublicAddr(mapped[0]) {
		// Another NAT beyond this router: the mapping helps nobody outside.
		m.set(gw, nil, "the router's own address "+extIP.String()+" is private (a second NAT beyond it)")
		return portMapRetry, fmt.Errorf("nat-pmp at %s: external address %s is not public", gw, extIP)
	}
	m.set(gw, mapped, "")
	return max(renew, 30*time.Second), nil
}

func (m *portMapper) set(gw netip.Addr, mapped []ma.Multiaddr, problem string) {
	m.mu.Lock()
	changed := !slices.EqualFunc(m.state.Mapped, mapped, ma.Multiaddr.Equal)
	first := len(mapped) > 0 && len(m.state.Mapped) == 0
	m.state = PortMapping{On: true, Gateway: gw, Mapped: mapped, Problem: problem}
	m.mu.Unlock()
	if first {
		m.h.log.Info("port mapping: the router maps us", "router", gw.String(), "addrs", mapped)
	}
	if changed {
		m.h.signalAddrs()
	}
}

// unmapAll asks the router to drop our mappings (lifetime 0), best effort.
func (m *portMapper) unmapAll() {
	m.mu.Lock()
	gw, had := m.state.Gateway, len(m.state.Mapped) > 0
	m.mu.Unlock()
	if !had {
		return
	}
	c := natpmp.NewClientWithTimeout(net.IP(gw.AsSlice()), 500*time.Millisecond)
	for _, l := range m.listenPorts() {
		_, _ = c.AddPortMapping(l.proto, l.port, 0, 0)
	}
}

type listenPort struct {
	proto string // "tcp" or "udp"
	port  int
	quic  bool
}

func (l listenPort) external(ip netip.Addr, port int) (ma.Multiaddr, error) {
	s := fmt.Sprintf("/ip4/%s/%s/%d", ip, l.proto, port)
	if l.quic {
		s += "/quic-v1"
	}
	return ma.NewMultiaddr(s)
}

// listenPorts are the IPv4 TCP and QUIC ports the host listens on, not on
// loopback.
func (m *portMapper) listenPorts() []listenPort {
	var out []listenPort
	for _, a := range m.h.ListenAddrs() {
		ip, err := manet.ToIP(a)
		if err != nil || ip.To4() == nil || ip.IsLoopback() {
			continue
		}
		var l listenPort
		if v, err := a.ValueForProtocol(ma.P_TCP); err == nil {
			l.proto = "tcp"
			l.port, _ = strconv.Atoi(v)
		} else if v, err := a.ValueForProtocol(ma.P_UDP); err == nil {
			if _, err := a.ValueForProtocol(ma.P_QUIC_V1); err != nil {
				continue
			}
			l.proto, l.quic = "udp", true
			l.port, _ = strconv.Atoi(v)
		} else {
			continue
		}
		if l.port > 0 && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// defaultGateway reads the IPv4 default route's gateway from the kernel
// (/proc/net/route on Linux); elsewhere there is none to find this way.
func defaultGateway() (netip.Addr, error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return netip.Addr{}, fmt.Errorf("read the routing table: %w", err)
	}
	defer f.Close()
	return parseRouteTable(bufio.NewScanner(f))
}

// parseRouteTable finds the default route with a gateway in the format of
// /proc/net/route (hex fields in host byte order).
func parseRouteTable(s *bufio.Scanner) (netip.Addr, error) {
	const rtfGateway = 0x2
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) < 8 || f[1] != "00000000" || f[7] != "00000000" {
			continue // not a default route (destination and mask 0)
		}
		flags, err := strconv.ParseUint(f[3], 16, 32)
		if err != nil || flags&rtfGateway == 0 {
			continue
		}
		b, err := hex.DecodeString(f[2])
		if err != nil || len(b) != 4 {
			continue
		}
		var ip [4]byte
		binary.BigEndian.PutUint32(ip[:], binary.LittleEndian.Uint32(b))
		if gw := netip.AddrFrom4(ip); !gw.IsUnspecified() {
			return gw, nil
		}
	}
	if err := s.Err(); err != nil {
		return netip.Addr{}, fmt.Errorf("read the routing table: %w", err)
	}
	return netip.Addr{}, errors.New("no IPv4 default route through a gateway")
}
