package p2p

import (
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// RelayRetireGrace is how long a relayed connection may stay open after a
// direct one to the same peer appeared, so that the sync engine can move its
// stream over first. A relayed connection with no streams left closes
// sooner, after relaySettle.
var RelayRetireGrace = 3 * time.Second

// relaySettle is how long an idle relayed connection stays after a direct one
// appeared. The other side may not have seen the direct connection yet and
// may be opening a stream on the relayed one at this moment; closing it at
// once would reset that stream.
const relaySettle = 1500 * time.Millisecond

// PathKind is how this host is connected to a peer.
type PathKind int

const (
	PathNone     PathKind = iota // not connected
	PathLAN                      // directly, over a private or loopback address
	PathInternet                 // directly, over a public address
	PathRelayed                  // through a relay only
)

func (k PathKind) String() string {
	switch k {
	case PathLAN:
		return "direct (LAN)"
	case PathInternet:
		return "direct (internet)"
	case PathRelayed:
		return "relayed"
	}
	return "not connected"
}

// Path is the best connection to a peer right now.
type Path struct {
	Kind   PathKind
	Via    peer.ID      // the relay, for PathRelayed
	Remote ma.Multiaddr // the peer's address on that connection
	Since  time.Time    // when that connection opened
}

// Path returns how this host is connected to p: a direct connection wins
// over a relayed one.
func (h *Host) Path(p peer.ID) Path {
	best := Path{}
	for _, c := range h.h.Network().ConnsToPeer(p) {
		cand := pathOf(c)
		if better(cand, best) {
			best = cand
		}
	}
	return best
}

func pathOf(c network.Conn) Path {
	remote := c.RemoteMultiaddr()
	p := Path{Remote: remote, Since: c.Stat().Opened}
	switch {
	case isRelayed(remote):
		p.Kind, p.Via = PathRelayed, relayOf(remote)
	case manet.IsPublicAddr(remote):
		p.Kind = PathInternet
	default:
		p.Kind = PathLAN
	}
	return p
}

// better orders paths: LAN, internet, relayed, none.
func better(a, b Path) bool {
	order := func(k PathKind) int {
		switch k {
		case PathLAN:
			return 3
		case PathInternet:
			return 2
		case PathRelayed:
			return 1
		}
		return 0
	}
	return order(a.Kind) > order(b.Kind)
}

// PathChanges delivers a peer's ID whenever its path may have changed
// (connected, disconnected, moved from a relay to a direct connection).
// Call Path for the new one. If the reader falls behind, changes are
// coalesced per peer rather than lost. Closed by Close.
func (h *Host) PathChanges() <-chan peer.ID { return h.pathOut }

// runPaths watches connections: it reports path changes and retires a
// relayed connection once a direct one to the same peer exists.
func (h *Host) runPaths(sub event.Subscription) {
	defer h.wg.Done()
	defer sub.Close()
	defer close(h.pathOut)
	pending := make(map[peer.ID]bool) // changes not yet delivered
	var order []peer.ID
	retire := time.NewTicker(time.Second)
	defer retire.Stop()
	upgraded := make(map[peer.ID]time.Time) // when a direct conn appeared beside a relayed one
	// The event-bus loop every subscriber has (mdns.go's too); only the
	// handling of an event differs.
	for {
		var out chan<- peer.ID
		var next peer.ID
		if len(order) > 0 {
			out, next = h.pathOut, order[0]
		}
		select {
		case <-h.ctx.Done():
			return
		case e, ok := <-sub.Out():
			if !ok {
				return
			}
			ev := e.(event.EvtPeerConnectednessChanged)
			if !pending[ev.Peer] {
				pending[ev.Peer] = true
				order = append(order, ev.Peer)
			}
			if ev.Connectedness == network.Connected && h.hasRelayed(ev.Peer) {
				if _, ok := upgraded[ev.Peer]; !ok {
					upgraded[ev.Peer] = time.Now()
					h.log.Info("direct connection to peer; leaving the relay", "peer", ev.Peer, "path", h.Path(ev.Peer).Kind.String())
				}
			}
			h.relays.kick()
		case out <- next:
			delete(pending, next)
			order = order[1:]
		case now := <-retire.C:
			for p, since := range upgraded {
				age := now.Sub(since)
				if age < relaySettle {
					continue
				}
				if h.retireRelayed(p, age >= RelayRetireGrace) {
					delete(upgraded, p)
				}
			}
		}
	}
}

// hasRelayed reports whether p has both a relayed and a direct connection.
func (h *Host) hasRelayed(p peer.ID) bool {
	relayed, direct := false, false
	for _, c := range h.h.Network().ConnsToPeer(p) {
		if isRelayed(c.RemoteMultiaddr()) {
			relayed = true
		} else {
			direct = true
		}
	}
	return relayed && direct
}

// retireRelayed closes p's relayed connections if a direct one exists: those
// without streams at once, the rest when force is set. It reports whether
// nothing is left to retire.
func (h *Host) retireRelayed(p peer.ID, force bool) bool {
	if !h.hasRelayed(p) {
		return true
	}
	done := true
	for _, c := range h.h.Network().ConnsToPeer(p) {
		if !isRelayed(c.RemoteMultiaddr()) {
			continue
		}
		if len(c.GetStreams()) == 0 || force {
			h.log.Debug("closing relayed connection now that a direct one exists", "peer", p, "streams", len(c.GetStreams()))
			_ = c.Close()
			continue
		}
		done = false
	}
	return done
}
