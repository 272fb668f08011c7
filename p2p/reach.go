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
	// held is how connected peers not trusted (yet) see us. A peer becomes
	// trusted when the user joins its note, which happens over a connection
	// whose identify already ran: without this, the first collaborator's
	// word (often the only one: the relay the user just met) would count
	// only after a reconnection. At most maxHeldObservations; dropped when
	// the peer disconnects.
	held map[peer.ID]observation
}

// maxHeldObservations bounds what strangers can make the tracker keep.
const maxHeldObservations = 2 * MaxStrangerConns

func newReachTracker(forced Reachability) *reachTracker {
	return &reachTracker{forced: forced, obs: make(map[peer.ID]observation), held: make(map[peer.ID]observation)}
}

// observationOf is how a peer connected over conn sees us, if conn is a
// direct connection to a public address (ok false otherwise).
func observationOf(conn network.Conn, observed ma.Multiaddr, ownIPs []net.IP) (observation, bool) {
	if conn == nil || observed == nil || isRelayed(conn.RemoteMultiaddr()) || !manet.IsPublicAddr(conn.RemoteMultiaddr()) {
		return observation{}, false
	}
	if !dialableTransport(observed) {
		return observation{}, false
	}
	ip, err := manet.ToIP(observed)
	if err != nil {
		return observation{}, false
	}
	o := observation{observed: observed, natted: !slices.ContainsFunc(ownIPs, ip.Equal)}
	// A TCP connection we dialed leaves from an ephemeral port (the host
	// dials without SO_REUSEPORT), so its observed port says nothing about
	// where we can be reached; keep only the verdict.
	if conn.Stat().Direction == network.DirOutbound && isTCP(observed) {
		o.observed = nil
	}
	return o, true
}

// observe records how p (trusted, connected over conn) sees us, if conn is a
// direct connection to a public address. It reports whether anything changed.
func (r *reachTracker) observe(p peer.ID, conn network.Conn, observed ma.Multiaddr, ownIPs []net.IP) bool {
	o, ok := observationOf(conn, observed, ownIPs)
	if !ok {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.held, p)
	return r.record(p, o)
}

// record stores p's observation; r.mu is held. It reports whether anything
// changed.
func (r *reachTracker) record(p peer.ID, o observation) bool {
	old, had := r.obs[p]
	r.obs[p] = o
	return !had || old.natted != o.natted || !equalAddr(old.observed, o.observed)
}

// hold keeps how p, not trusted now, sees us, in case the user starts
// trusting it while it is connected (see held).
func (r *reachTracker) hold(p peer.ID, conn network.Conn, observed ma.Multiaddr, ownIPs []net.IP) {
	o, ok := observationOf(conn, observed, ownIPs)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, had := r.held[p]; had || len(r.held) < maxHeldObservations {
		r.held[p] = o
	}
}

// forget drops what p, not trusted, said: it disconnected.
func (r *reachTracker) forget(p peer.ID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.held, p)
}

// promote counts the held observations of peers trusted now. trusted is
// called without r.mu held (it may ask the sync engine). It reports whether
// anything changed.
func (r *reachTracker) promote(trusted func(peer.ID) bool) bool {
	r.mu.Lock()
	held := make([]peer.ID, 0, len(r.held))
	for p := range r.held {
		held = append(held, p)
	}
	r.mu.Unlock()
	changed := false
	for _, p := range held {
		if !trusted(p) {
			continue
		}
		r.mu.Lock()
		if o, ok := r.held[p]; ok {
			delete(r.held, p)
			changed = r.record(p, o) || changed
		}
		r.mu.Unlock()
	}
	return changed
}

// reset drops every observation: our own addresses changed (a new network),
// so what peers saw before no longer holds.
func (r *reachTracker) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.obs)
	clear(r.held)
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
			if lost, seen, ok := h.ownIPsChanged(); ok {
				h.log.Info("this machine's addresses changed", "addrs", h.interfaceAddrs())
				h.closeStranded(lost, seen)
				h.reach.reset()
				changed()
			}
			if h.reach.promote(h.trusted) {
				h.log.Debug("a peer that is a collaborator now had observed our address")
				changed()
			}
		case e, ok := <-sub.Out():
			if !ok {
				return
			}
			switch e := e.(type) {
			case event.EvtPeerIdentificationCompleted:
				if !h.trusted(e.Peer) {
					h.reach.hold(e.Peer, e.Conn, e.ObservedAddr, h.interfaceIPs())
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
				// does not change when a collaborator goes offline. A
				// stranger's held word goes with it.
				if e.Connectedness != network.Connected {
					h.reach.forget(e.Peer)
				}
				h.relays.kick()
			case event.EvtLocalAddressesUpdated:
				if lost, seen, ok := h.ownIPsChanged(); ok {
					h.closeStranded(lost, seen)
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
// last call's, which of those are gone, and when they were last seen.
func (h *Host) ownIPsChanged() (lost []string, seen time.Time, changed bool) {
	ss := sortedStrings(h.interfaceIPs())
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	seen, h.lastIPsSeen = h.lastIPsSeen, now
	if slices.Equal(ss, h.lastIPs) {
		return nil, seen, false
	}
	for _, ip := range h.lastIPs {
		if !slices.Contains(ss, ip) {
			lost = append(lost, ip)
		}
	}
	h.lastIPs = ss
	return lost, seen, true
}

// closeStranded closes the connections that went out from an address this
// machine lost (a laptop that moved to another network). Nothing tells
// them they are dead: packets now leave from another address, which the
// NATs on the way and the peer do not know, and the connection would only
// time out (QUIC after 30 s), while redials would reuse it meanwhile. A
// connection whose local address is a wildcard (a QUIC socket listening on
// 0.0.0.0) may have used the lost address too, so it goes as well if it
// opened while the address was there (before seen) and is not to this
// machine. Closing them makes the sync engine redial at once, through a
// relay or a collaborator who knows where the peer is now.
func (h *Host) closeStranded(lost []string, seen time.Time) {
	if len(lost) == 0 {
		return
	}
	for _, c := range h.h.Network().Conns() {
		if isRelayed(c.RemoteMultiaddr()) || manet.IsIPLoopback(c.RemoteMultiaddr()) {
			continue // a circuit goes with the connection to its relay
		}
		ip, err := manet.ToIP(c.LocalMultiaddr())
		if err != nil {
			continue
		}
		if !slices.Contains(lost, ip.String()) && !(ip.IsUnspecified() && c.Stat().Opened.Before(seen)) {
			continue
		}
		h.log.Info("closing a connection from an address this machine no longer has", "peer", c.RemotePeer(), "local", c.LocalMultiaddr())
		_ = c.Close()
	}
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
