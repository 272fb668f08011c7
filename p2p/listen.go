package p2p

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// listen listens on every explicit address (any failure is an error) or, if
// there are none, on the default addresses with fallbacks (see
// Config.DefaultListenAddrs).
func (h *Host) listen(explicit, defaults []ma.Multiaddr) error {
	nw := h.h.Network()
	if len(explicit) > 0 {
		for _, a := range explicit {
			if err := nw.Listen(a); err != nil {
				return fmt.Errorf("listen on %s: %w", a, err)
			}
		}
		return nil
	}
	for _, a := range defaults {
		err := nw.Listen(a)
		if err == nil {
			continue
		}
		proto, port, ok := transportPort(a)
		if !ok || port == "0" {
			h.notice(fmt.Sprintf("not listening on %s: %v", a, err))
			continue
		}
		reason := "is busy"
		if !isAddrInUse(err) {
			reason = fmt.Sprintf("is unavailable (%v)", err)
		}
		before := nw.ListenAddresses()
		a0 := withPort(a, "0")
		if err0 := nw.Listen(a0); err0 != nil {
			h.notice(fmt.Sprintf("not listening on %s: %v", a, err))
			continue
		}
		newPort := "a free port"
		for _, la := range nw.ListenAddresses() {
			if slices.ContainsFunc(before, la.Equal) {
				continue
			}
			if p, q, ok := transportPort(la); ok && p == proto && sameHost(la, a) {
				newPort = "port " + q
				break
			}
		}
		h.notice(fmt.Sprintf("%s port %s on %s %s; listening on %s instead",
			proto, port, hostPart(a), reason, newPort))
	}
	if len(h.ListenAddrs()) == 0 {
		return errors.New("could not listen on any address")
	}
	return nil
}

func isAddrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use")
}

// transportPort returns the transport ("tcp" or "udp") and port of a.
func transportPort(a ma.Multiaddr) (proto, port string, ok bool) {
	for _, c := range a {
		switch c.Code() {
		case ma.P_TCP, ma.P_UDP:
			return c.Protocol().Name, c.Value(), true
		}
	}
	return "", "", false
}

// withPort returns a copy of a with its TCP or UDP port replaced.
func withPort(a ma.Multiaddr, port string) ma.Multiaddr {
	out := make(ma.Multiaddr, 0, len(a))
	for _, c := range a {
		if code := c.Code(); code == ma.P_TCP || code == ma.P_UDP {
			nc, err := ma.NewComponent(c.Protocol().Name, port)
			if err == nil {
				out = append(out, *nc)
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// hostPart returns the IP (or other first component value) of a.
func hostPart(a ma.Multiaddr) string {
	if len(a) == 0 {
		return ""
	}
	return a[0].Value()
}

func sameHost(a, b ma.Multiaddr) bool {
	return len(a) > 0 && len(b) > 0 && a[0].Equal(&b[0])
}

// Addrs returns the addresses other peers can dial this host at, each ending
// in /p2p/<id>, for tickets and invitations, most useful first: public
// addresses (our interfaces', port mappings, and — when we are publicly
// reachable — the addresses collaborators see us at), then relay circuits,
// then the NAT's addresses collaborators saw us at (which answer only if the
// NAT lets them), then private (LAN) ones, loopback last. Unspecified listen
// addresses (0.0.0.0, ::) are expanded into the machine's interface
// addresses; unspecified and IPv6 link-local addresses are left out.
func (h *Host) Addrs() []ma.Multiaddr {
	cands := h.interfaceAddrs()
	cands = append(cands, h.h.Addrs()...) // includes NAT mappings, if any
	observed := dialableAddrs(h.reach.observedAddrs())
	direct := slices.DeleteFunc(dialableAddrs(cands), func(a ma.Multiaddr) bool {
		return slices.ContainsFunc(observed, a.Equal) // placed below, by reachability
	})
	var out []ma.Multiaddr
	split := len(direct)
	for i, a := range direct {
		if addrRank(a) > 0 {
			split = i
			break
		}
	}
	out = append(out, direct[:split]...)
	if h.Reachability() == ReachabilityPublic {
		out = append(out, observed...)
		out = append(out, h.relays.circuitAddrs()...)
	} else {
		out = append(out, h.relays.circuitAddrs()...)
		out = append(out, observed...)
	}
	out = append(out, direct[split:]...)
	out = uniqueAddrs(out)
	p2p, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: h.ID(), Addrs: out})
	if err != nil {
		h.log.Debug("p2p addrs", "err", err)
		return nil
	}
	return p2p
}

// ListenAddrs returns the addresses the host listens on, as configured (with
// 0.0.0.0 and :: unexpanded), without the circuit relay transport's
// "/p2p-circuit" entry.
func (h *Host) ListenAddrs() []ma.Multiaddr {
	return slices.DeleteFunc(h.h.Network().ListenAddresses(), func(a ma.Multiaddr) bool {
		// A listener a hole punch opened is for one collaborator only.
		return isRelayed(a) || h.punching.isPunchPort(a)
	})
}

// uniqueAddrs drops repeated addresses, keeping the order (ma.Unique
// sorts).
func uniqueAddrs(addrs []ma.Multiaddr) []ma.Multiaddr {
	out := addrs[:0:0]
	for _, a := range addrs {
		if !slices.ContainsFunc(out, a.Equal) {
			out = append(out, a)
		}
	}
	return out
}

// interfaceAddrs returns the listen addresses with unspecified ones (0.0.0.0,
// ::) expanded into the current addresses of the machine's interfaces. Unlike
// the swarm's InterfaceListenAddresses it does not cache them for a minute.
func (h *Host) interfaceAddrs() []ma.Multiaddr {
	listen := h.ListenAddrs()
	addrs, err := manet.ResolveUnspecifiedAddresses(listen, nil)
	if err != nil {
		h.log.Debug("resolve interface addresses", "err", err)
		addrs, _ = h.h.Network().InterfaceListenAddresses()
	}
	return addrs
}

// dialableAddrs de-duplicates cands, drops what others cannot dial, and
// orders the rest public, private, other, loopback.
func dialableAddrs(cands []ma.Multiaddr) []ma.Multiaddr {
	seen := make(map[string]bool)
	var out []ma.Multiaddr
	for _, a := range cands {
		if !dialableTransport(a) || manet.IsIPUnspecified(a) || manet.IsIP6LinkLocal(a) {
			continue
		}
		if k := a.String(); !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	slices.SortStableFunc(out, func(a, b ma.Multiaddr) int { return addrRank(a) - addrRank(b) })
	return out
}

func addrRank(a ma.Multiaddr) int {
	switch {
	case manet.IsIPLoopback(a):
		return 3
	case manet.IsPublicAddr(a):
		return 0
	case manet.IsPrivateAddr(a):
		return 1
	default:
		return 2
	}
}
