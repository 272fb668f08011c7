package p2p

import (
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// MaxStrangerConns is how many inbound connections peers that are not
// trusted (Config.Trusted: not collaborators, not relays the user named)
// may hold at once. A first-time joiner is such a stranger until its
// request for the note is accepted, so the share must fit a few joiners at
// once; the rest of the connection limits stay for collaborators, who are
// never refused by the gater.
const MaxStrangerConns = 32

// StrangerGrace is how long a stranger's connection is safe from being
// closed to make room for another stranger: long enough for a joiner to
// present its capability (after which it is a collaborator).
const StrangerGrace = 5 * time.Second

// gater is the host's connection gater.
//
// Dials: it refuses unspecified addresses (0.0.0.0, ::) and, when the
// configuration has a DialFilter, every address the filter rejects.
//
// Inbound connections from strangers: at most MaxStrangerConns at once.
// The resource manager's inbound limits apply at accept time, before the
// peer is known, so they cannot tell a collaborator from a stranger; the
// gater can once the security handshake has named the peer. When the share
// is full, a new stranger takes the slot of the oldest stranger past
// StrangerGrace (one with no open stream first) or, if there is none, is
// refused. Outbound connections (the user dials, joins, shares) and
// trusted peers are always let through. What a stranger costs while
// redialling in a loop is its handshakes: nothing is kept per refused
// connection, and the gater's own table holds at most MaxStrangerConns.
type gater struct {
	allowDial func(ma.Multiaddr) bool
	trusted   func(peer.ID) bool // nil: nobody
	grace     time.Duration      // StrangerGrace; tests shorten it

	mu        sync.Mutex
	strangers []strangerConn // admitted inbound stranger connections, oldest first
}

type strangerConn struct {
	c     network.Conn
	since time.Time
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

// InterceptSecured refuses a stranger early, before the muxer is set up,
// when its share is full and no stranger can make room.
func (g *gater) InterceptSecured(dir network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	if dir != network.DirInbound || g.isTrusted(p) {
		return true
	}
	g.prune()
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.strangers) < MaxStrangerConns || g.victimLocked(time.Now()) >= 0
}

// InterceptUpgraded is where a stranger's slot is taken: the connection
// exists (so it can be closed later to make room) and is added to the
// swarm right after.
func (g *gater) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	if c.Stat().Direction != network.DirInbound || g.isTrusted(c.RemotePeer()) {
		return true, 0
	}
	g.prune()
	now := time.Now()
	g.mu.Lock()
	var evict network.Conn
	if len(g.strangers) >= MaxStrangerConns {
		i := g.victimLocked(now)
		if i < 0 {
			g.mu.Unlock()
			return false, 0
		}
		evict = g.strangers[i].c
		g.strangers = slices.Delete(g.strangers, i, i+1)
	}
	g.strangers = append(g.strangers, strangerConn{c: c, since: now})
	g.mu.Unlock()
	if evict != nil {
		// Not under g.mu: closing may notify subscribers.
		_ = evict.CloseWithError(network.ConnGarbageCollected)
	}
	return true, 0
}

// victimLocked picks the stranger to close for a newcomer: past
// StrangerGrace, one without open streams before one with, oldest first.
// -1 if none may go.
func (g *gater) victimLocked(now time.Time) int {
	victim := -1
	for i, s := range g.strangers {
		if now.Sub(s.since) < g.grace {
			break // oldest first: the rest are younger still
		}
		if len(s.c.GetStreams()) == 0 {
			return i
		}
		if victim < 0 {
			victim = i
		}
	}
	return victim
}

// prune forgets stranger connections that closed or whose peer became
// trusted (a joiner whose request was accepted). The trust check runs
// without g.mu: it calls into the sync engine.
func (g *gater) prune() {
	g.mu.Lock()
	peers := make([]peer.ID, len(g.strangers))
	for i, s := range g.strangers {
		peers[i] = s.c.RemotePeer()
	}
	g.mu.Unlock()
	gone := map[peer.ID]bool{}
	for _, p := range peers {
		if _, seen := gone[p]; !seen {
			gone[p] = g.isTrusted(p)
		}
	}
	g.mu.Lock()
	g.strangers = slices.DeleteFunc(g.strangers, func(s strangerConn) bool {
		return s.c.IsClosed() || gone[s.c.RemotePeer()]
	})
	g.mu.Unlock()
}

func (g *gater) isTrusted(p peer.ID) bool { return g.trusted != nil && g.trusted(p) }
