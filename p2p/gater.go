package p2p

import (
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// gater is the host's connection gater. It refuses to dial unspecified
// addresses (0.0.0.0, ::) and, when the configuration has a DialFilter,
// every address the filter rejects. Inbound connections are not gated here:
// the resource manager limits them and the sync engine decides what a peer
// may do.
type gater struct {
	allowDial func(ma.Multiaddr) bool
}

func (g *gater) InterceptPeerDial(peer.ID) bool { return true }

func (g *gater) InterceptAddrDial(_ peer.ID, addr ma.Multiaddr) bool {
	if manet.IsIPUnspecified(addr) {
		return false
	}
	if g.allowDial != nil && !g.allowDial(addr) {
		return false
	}
	return true
}

func (g *gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

func (g *gater) InterceptSecured(network.Direction, peer.ID, network.ConnMultiaddrs) bool {
	return true
}

func (g *gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) {
	return true, 0
}
