package p2p

import (
	"net"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// addrPoll is how often the host reads its interface addresses.
var addrPoll = 2 * time.Second

// Reachability says whether peers on the internet can dial this host
// directly.
type Reachability int

const (
	// ReachabilityUnknown: no collaborator on the internet has told us how
	// it sees us (a LAN-only or loopback peer stays here, which is fine:
	// nothing needs a relay there).
	ReachabilityUnknown Reachability = iota
	// ReachabilityPublic: collaborators see us at an address of one of our
	// own interfaces, so there is no NAT in between.
	ReachabilityPublic
	// ReachabilityPrivate: collaborators see us at an address that is not
	// ours: a NAT sits in between, and a relay is needed to be reached.
	ReachabilityPrivate
)

func (r Reachability) String() string {
	switch r {
	case ReachabilityPublic:
		return "public"
	case ReachabilityPrivate:
		return "behind a NAT"
	default:
		return "unknown"
	}
}

// ParseReachability parses the user's override: "auto" (or ""), "public"
// or "private".
func ParseReachability(s string) (Reachability, bool) {
	switch s {
	case "", "auto":
		return ReachabilityUnknown, true
	case "public":
		return ReachabilityPublic, true
	case "private":
		return ReachabilityPrivate, true
	}
	return ReachabilityUnknown, false
}

// observation is how one trusted peer on the internet sees us.
type observation struct {
	observed ma.Multiaddr // our address as that peer saw it (no /p2p)
	natted   bool         // its IP is none of our interfaces' IPs
}

// reachTracker decides reachability from what trusted peers on the internet
// report in identify (the observed address of the connection), and keeps the
// observed addresses worth advertising. It is deliberately simple: one
// collaborator's word is enough, because a lie costs little (we reserve a
// relay slot we did not need, or advertise an address that does not answer)
// and collaborators are few, so libp2p's rule of four distinct observers
// would never be met.
type reachTracker struct {
	forced Reachability // ReachabilityUnknown = decide

	mu  sync.Mutex
	obs map[peer.ID]observation
}

func newReachTracker(forced Reachability) *reachTracker {
	return &reachTracker{forced: forced, obs: make(map[peer.ID]observation)}
}

// observe records how p (trusted, connected over conn) sees us, if conn is a
// direct connection to a public address. It reports whether anything changed.
func (r *reachTracker) observe(p peer.ID, conn network.Conn, observed ma.Multiaddr, ownIPs []net.IP) bool {
	if conn == nil || observed == nil || isRelayed(conn.RemoteMultiaddr()) || !manet.IsPublicAddr(conn.RemoteMultiaddr()) {
		return false
	}
	if !dialableTransport(observed) {
		return false
	}
	ip, err := manet.ToIP(observed)
	if err != nil {
		return false
	}
	o := observation{observed: observed, natted: !slices.ContainsFunc(ownIPs, ip.Equal)}
	// A TCP connection we dialed leaves from an ephemeral port (the host
	// dials without SO_REUSEPORT), so its observed port says nothing about
	// where we can be reached; keep only the verdict.
	if conn.Stat().Direction == network.DirOutbound && isTCP(observed) {
		o.observed = nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old, had := r.obs[p]
	r.obs[p] = o
	return !had || old.natted != o.natted || !equalAddr(old.observed, o.observed)
}

// reset drops every observation: our own addresses changed (a new network),
// so what peers saw before no longer holds.
func (r *reachTracker) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.obs)
}

// reachability is the current verdict.
func (r *reachTracker) reachability() Reachability {
	if r.forced != ReachabilityUnknown {
		return r.forced
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	v := ReachabilityUnknown
	for _, o := range r.obs {
		if o.natted {
			return ReachabilityPrivate
		}
		v = ReachabilityPublic
	}
	return v
}

// observedAddrs returns the NAT's public addresses trusted peers saw us at
// (only those that may be dialable: QUIC, which dials from its listening
// port, and connections peers made to us).
func (r *reachTracker) observedAddrs() []ma.Multiaddr {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []ma.Multiaddr
	for _, o := range r.obs {
		if o.natted && o.observed != nil && !slices.ContainsFunc(out, o.observed.Equal) {
			out = append(out, o.observed)
		}
	}
	slices.SortFunc(out, func(a, b ma.Multiaddr) int { return a.Compare(b) })
	return out
}

// runReachability feeds the tracker from the event bus and wakes the relay
// client when the verdict or the observed addresses change.
func (h *Host) runReachability(sub event.Subscription) {
	defer h.wg.Done()
	defer sub.Close()
	last := h.reach.reachability()
	changed := func() {
		now := h.reach.reachability()
		if now != last {
			h.log.Info("reachability", "now", now.String(), "was", last.String())
			last = now
		}
		h.relays.kick()
		h.signalAddrs()
	}
	// Interface addresses change without an event (a laptop joins another
	// network; libp2p notices only within a minute): look every
	// addrPoll.
	poll := time.NewTicker(addrPoll)
	defer poll.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-poll.C:
			if h.ownIPsChanged() {
				h.log.Info("this machine's addresses changed", "addrs", h.interfaceAddrs())
				h.reach.reset()
				changed()
			}
		case e, ok := <-sub.Out():
			if !ok {
				return
			}
			switch e := e.(type) {
			case event.EvtPeerIdentificationCompleted:
				if !h.trusted(e.Peer) {
					continue
				}
				h.keepRecord(e.Peer, e.SignedPeerRecord)
				if h.reach.observe(e.Peer, e.Conn, e.ObservedAddr, h.interfaceIPs()) {
					h.log.Debug("observed address", "peer", e.Peer, "addr", e.ObservedAddr)
					changed()
				} else {
					h.relays.kick() // may be a new relay candidate
				}
			case event.EvtPeerProtocolsUpdated:
				h.relays.kick()
			case event.EvtPeerConnectednessChanged:
				// Observations outlive connections: how the NAT maps us
				// does not change when a collaborator goes offline.
				h.relays.kick()
			case event.EvtLocalAddressesUpdated:
				if h.ownIPsChanged() {
					h.reach.reset()
					changed()
				}
			}
		}
	}
}

// interfaceIPs returns the IPs of the addresses the host listens on
// (unspecified listen addresses expanded).
func (h *Host) interfaceIPs() []net.IP {
	var ips []net.IP
	for _, a := range h.interfaceAddrs() {
		if ip, err := manet.ToIP(a); err == nil && !slices.ContainsFunc(ips, ip.Equal) {
			ips = append(ips, ip)
		}
	}
	return ips
}

// ownIPsChanged reports whether the host's interface IPs differ from the
// last call's.
func (h *Host) ownIPsChanged() bool {
	ss := sortedStrings(h.interfaceIPs())
	h.mu.Lock()
	defer h.mu.Unlock()
	if slices.Equal(ss, h.lastIPs) {
		return false
	}
	h.lastIPs = ss
	return true
}

// Reachability returns whether peers on the internet can dial this host
// directly, as decided from what collaborators observe (or as the user
// forced it with Config.Reachability).
func (h *Host) Reachability() Reachability { return h.reach.reachability() }

func isRelayed(a ma.Multiaddr) bool {
	for _, c := range a {
		if c.Code() == ma.P_CIRCUIT {
			return true
		}
	}
	return false
}

func isTCP(a ma.Multiaddr) bool {
	for _, c := range a {
		switch c.Code() {
		case ma.P_TCP:
			return true
		case ma.P_UDP:
			return false
		}
	}
	return false
}

func equalAddr(a, b ma.Multiaddr) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(b)
}
