package p2p

import (
	"context"
	"net"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// ConfirmedAddrs lists the addresses of a connected peer worth dialling
// again later, even after a restart. What a peer merely claims (identify's
// listen addresses, its signed record) is not enough: it could name anyone's
// address and have us dial it forever. Confirmed are:
//
//   - an outbound direct connection's remote address: we dialled it and
//     the peer answered there (the handshake proves who answered);
//   - addresses VerifyAddrs confirmed in this session;
//   - circuit addresses through a trusted relay: the relayed connection's
//     own, and those the peer claims (its relay reservations) on the IP
//     address we are connected to that relay at. Dialling one reaches only
//     that relay, someone we work with, which connects us only if the peer
//     holds a reservation there.
//
// An inbound connection confirms nothing dialable: its source port is
// ephemeral (see UnverifiedAddrs, VerifyAddrs). Direct addresses come
// first. Nil when the peer is not connected.
func (h *Host) ConfirmedAddrs(id peer.ID) []ma.Multiaddr {
	var out []ma.Multiaddr
	add := func(a ma.Multiaddr) {
		if !slices.ContainsFunc(out, a.Equal) {
			out = append(out, a)
		}
	}
	conns := h.h.Network().ConnsToPeer(id)
	if len(conns) == 0 {
		return nil
	}
	h.mu.Lock()
	verified := slices.Clone(h.verified[id])
	h.mu.Unlock()
	var relayed []ma.Multiaddr
	for _, c := range conns {
		if c.IsClosed() {
			continue
		}
		remote := c.RemoteMultiaddr()
		switch {
		case isRelayed(remote):
			if r := relayOf(remote); r != "" && h.trusted(r) {
				relayed = append(relayed, remote)
			}
		case c.Stat().Direction == network.DirOutbound:
			add(remote)
		}
	}
	for _, a := range verified {
		add(a)
	}
	for _, a := range h.h.Peerstore().Addrs(id) {
		if r := relayOf(a); r != "" && h.trusted(r) && h.connectedAtIP(r, a) {
			relayed = append(relayed, a)
		}
	}
	for _, a := range relayed {
		add(a)
	}
	return out
}

// UnverifiedAddrs lists the listen addresses a peer connected to us claims
// (identify) on the IP address and transport an inbound connection from it
// came from, other than confirmed ones: the IP is observed, the port is the
// peer's word. Worth one dial (which, if it succeeds, confirms the address)
// but not keeping: limited to the peer's own IP address, such a dial cannot
// be aimed at a third party.
func (h *Host) UnverifiedAddrs(id peer.ID) []ma.Multiaddr {
	confirmed := h.ConfirmedAddrs(id)
	var claimed, out []ma.Multiaddr
	for _, c := range h.h.Network().ConnsToPeer(id) {
		remote := c.RemoteMultiaddr()
		if c.IsClosed() || c.Stat().Direction != network.DirInbound || isRelayed(remote) {
			continue
		}
		if claimed == nil {
			claimed = h.h.Peerstore().Addrs(id)
		}
		for _, a := range claimed {
			if !isRelayed(a) && sameHostAndTransport(a, remote) &&
				!slices.ContainsFunc(confirmed, a.Equal) && !slices.ContainsFunc(out, a.Equal) {
				out = append(out, a)
			}
		}
	}
	return out
}

// sameHostAndTransport reports whether a and b are on the same IP address
// with the same protocols (e.g. both tcp, or both udp/quic-v1); ports may
// differ.
func sameHostAndTransport(a, b ma.Multiaddr) bool {
	ipA, errA := manet.ToIP(a)
	ipB, errB := manet.ToIP(b)
	if errA != nil || errB != nil || !net.IP.Equal(ipA, ipB) || len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Code() != b[i].Code() {
			return false
		}
	}
	return true
}

// connectedAtIP reports whether we hold a direct connection to relay r at
// the IP address and transport a circuit address through r begins with.
func (h *Host) connectedAtIP(r peer.ID, circuit ma.Multiaddr) bool {
	var prefix ma.Multiaddr
	for i, c := range circuit {
		if c.Code() == ma.P_P2P {
			prefix = circuit[:i]
			break
		}
	}
	if len(prefix) == 0 {
		return false
	}
	for _, c := range h.h.Network().ConnsToPeer(r) {
		if remote := c.RemoteMultiaddr(); !isRelayed(remote) && sameHostAndTransport(prefix, remote) {
			return true
		}
	}
	return false
}

// MaxVerifyDials is how many claimed addresses of a peer VerifyAddrs dials.
const MaxVerifyDials = 4

// Further bounds of VerifyAddrs: how long each dial may take, and how many
// peers' finds the host remembers.
const (
	verifyDialTimeout = 5 * time.Second
	maxVerifiedPeers  = 256
)

// VerifyAddrs confirms listen addresses a peer that connected to us claims
// on the IP address it came from (UnverifiedAddrs; at most MaxVerifyDials
// of them): it dials each on a connection of its own, outside the swarm,
// and closes it once the security handshake has shown the peer is there.
// Limited to the peer's own IP address, such a dial cannot be aimed at a
// third party. The addresses found are returned and, for this session,
// listed by ConfirmedAddrs.
func (h *Host) VerifyAddrs(ctx context.Context, id peer.ID) []ma.Multiaddr {
	sw, ok := h.h.Network().(*swarm.Swarm)
	if !ok {
		return nil
	}
	claims := h.UnverifiedAddrs(id)
	var found []ma.Multiaddr
	for _, a := range claims[:min(len(claims), MaxVerifyDials)] {
		if ctx.Err() != nil {
			break
		}
		tpt := sw.TransportForDialing(a)
		if tpt == nil || !h.gater.InterceptAddrDial(id, a) {
			continue
		}
		dctx, cancel := context.WithTimeout(ctx, verifyDialTimeout)
		c, err := tpt.Dial(dctx, a, id)
		cancel()
		if err != nil {
			h.log.Debug("claimed address not confirmed", "peer", id, "addr", a, "err", err)
			continue
		}
		_ = c.Close()
		found = append(found, a)
	}
	if len(found) == 0 {
		return nil
	}
	h.mu.Lock()
	if _, known := h.verified[id]; !known && len(h.verified) >= maxVerifiedPeers {
		for p := range h.verified { // any one: the engine has stored what it needs
			delete(h.verified, p)
			break
		}
	}
	h.verified[id] = found
	h.mu.Unlock()
	return found
}
