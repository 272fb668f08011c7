package p2p

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	circuit "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	pbv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/pb"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/proto"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// Relay client timing. Collaborators' relays are few and known, so a lost
// one is retried often: the notes must flow again within seconds of it
// coming back.
var (
	// MaxRelays is how many relays a host behind a NAT reserves a slot on.
	MaxRelays = 2

	relayRetryMin       = 500 * time.Millisecond
	relayRetryMax       = 2 * time.Second
	relayReserveTimeout = 10 * time.Second
	// A relay we lost is retried with attempts of a few times what its last
	// reservation took (within these bounds), not relayReserveTimeout: a
	// handshake begun while it was down retransmits with growing gaps and
	// may miss its return by seconds, while a fresh attempt succeeds in one
	// round trip.
	relayRetryAttemptMin = 2 * time.Second
	relayRetryAttemptMax = relayReserveTimeout
	relayRecheck         = 5 * time.Second // re-evaluate candidates at least this often
)

const relayProtectTag = "collab-relay"

// RelayState is one relay this host uses or tried to use, for status output.
type RelayState struct {
	Relay peer.ID
	// Reserved: the relay holds a slot for us; Circuits are the addresses
	// others can reach us at through it.
	Reserved bool
	Expires  time.Time
	Circuits []ma.Multiaddr
	// Err is why the last attempt failed (nil if reserved), in plain words
	// (see DialError for dial failures).
	Err error
}

type relaySlot struct {
	circuits []ma.Multiaddr
	expires  time.Time
	refresh  time.Time
	took     time.Duration // how long the reservation took
}

type relayRetry struct {
	at      time.Time
	backoff time.Duration
	err     error
	attempt time.Duration // how long one attempt may take; 0: relayReserveTimeout
}

// relayClient keeps slots on up to MaxRelays relays while the host is
// behind a NAT. Candidates are the relays the user named and trusted peers
// (collaborators) that speak the relay protocol and have a public address;
// nobody else is asked. It runs on one goroutine (run), woken by kick.
type relayClient struct {
	h      *Host
	static []peer.AddrInfo
	wake   chan struct{}

	mu    sync.Mutex
	slots map[peer.ID]relaySlot
	retry map[peer.ID]relayRetry
	// used holds the public addresses of relays we held a slot on. A relay
	// shutting down tells us (identify push) that it no longer speaks the
	// relay protocol, and the peerstore keeps that until we reconnect: without
	// this memory a lost relay would never be tried again.
	used map[peer.ID][]ma.Multiaddr
}

// maxUsedRelays bounds the relays remembered in relayClient.used.
const maxUsedRelays = 8

func newRelayClient(h *Host, static []peer.AddrInfo) *relayClient {
	return &relayClient{
		h:      h,
		static: static,
		wake:   make(chan struct{}, 1),
		slots:  make(map[peer.ID]relaySlot),
		retry:  make(map[peer.ID]relayRetry),
		used:   make(map[peer.ID][]ma.Multiaddr),
	}
}

// kick asks the relay client to look again (never blocks).
func (c *relayClient) kick() {
	if c == nil {
		return
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// circuitAddrs returns the addresses others can reach us at through our
// relays.
func (c *relayClient) circuitAddrs() []ma.Multiaddr {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]peer.ID, 0, len(c.slots))
	for id := range c.slots {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var out []ma.Multiaddr
	for _, id := range ids {
		out = append(out, c.slots[id].circuits...)
	}
	return out
}

// states returns the relays in use and those that failed, sorted by ID.
func (c *relayClient) states() []RelayState {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []RelayState
	for id, s := range c.slots {
		out = append(out, RelayState{Relay: id, Reserved: true, Expires: s.expires, Circuits: slices.Clone(s.circuits)})
	}
	for id, r := range c.retry {
		if _, ok := c.slots[id]; !ok && r.err != nil {
			out = append(out, RelayState{Relay: id, Err: r.err})
		}
	}
	slices.SortFunc(out, func(a, b RelayState) int { return compareIDs(a.Relay, b.Relay) })
	return out
}

func compareIDs(a, b peer.ID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (c *relayClient) run() {
	defer c.h.wg.Done()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-c.h.ctx.Done():
			return
		case <-c.wake:
		case <-t.C:
		}
		next := c.step()
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(time.Until(next))
	}
}

// step drops slots on relays we lost, refreshes those about to expire, and
// reserves new ones until MaxRelays are held. It returns when to look again.
func (c *relayClient) step() time.Time {
	now := time.Now()
	next := now.Add(relayRecheck)
	wanted := c.h.Reachability() == ReachabilityPrivate
	changed := false

	c.mu.Lock()
	for id, s := range c.slots {
		lost := c.h.h.Network().Connectedness(id) != network.Connected
		if !wanted || lost || now.After(s.expires) {
			delete(c.slots, id)
			changed = true
			if lost && wanted {
				c.h.log.Info("lost the relay; reserving again when it is back", "relay", id)
				c.retry[id] = relayRetry{at: now, backoff: relayRetryMin, err: errors.New("the relay went offline"),
					attempt: min(max(4*s.took, relayRetryAttemptMin), relayRetryAttemptMax)}
			}
			c.h.Unprotect(id, relayProtectTag)
		}
	}
	held := len(c.slots)
	var refresh []peer.ID
	for id, s := range c.slots {
		if now.After(s.refresh) {
			refresh = append(refresh, id)
		} else if s.refresh.Before(next) {
			next = s.refresh
		}
	}
	c.mu.Unlock()
	if changed {
		c.h.signalAddrs()
	}
	if !wanted {
		return next
	}

	for _, id := range refresh {
		c.reserve(peer.AddrInfo{ID: id})
	}
	if held >= MaxRelays {
		return next
	}
	for _, cand := range c.candidates() {
		c.mu.Lock()
		_, have := c.slots[cand.ID]
		r, backing := c.retry[cand.ID]
		n := len(c.slots)
		c.mu.Unlock()
		if have {
			continue
		}
		if n >= MaxRelays {
			break
		}
		if backing && now.Before(r.at) {
			if r.at.Before(next) {
				next = r.at
			}
			continue
		}
		if !c.reserve(cand) {
			c.mu.Lock()
			if r := c.retry[cand.ID]; r.at.Before(next) {
				next = r.at
			}
			c.mu.Unlock()
		}
		if c.h.ctx.Err() != nil {
			break
		}
	}
	return next
}

// candidates returns the relays worth trying: the user's, then trusted
// peers that advertise the relay protocol and a public address, or that
// relayed for us before.
func (c *relayClient) candidates() []peer.AddrInfo {
	out := slices.Clone(c.static)
	ps := c.h.h.Peerstore()
	c.mu.Lock()
	used := make(map[peer.ID][]ma.Multiaddr, len(c.used))
	for id, addrs := range c.used {
		used[id] = addrs
	}
	c.mu.Unlock()
	var found []peer.AddrInfo
	consider := func(id peer.ID) {
		if id == c.h.ID() || !c.h.trusted(id) ||
			slices.ContainsFunc(out, func(ai peer.AddrInfo) bool { return ai.ID == id }) ||
			slices.ContainsFunc(found, func(ai peer.AddrInfo) bool { return ai.ID == id }) {
			return
		}
		remembered, wasUsed := used[id]
		if !wasUsed {
			if protos, err := ps.SupportsProtocols(id, proto.ProtoIDv2Hop); err != nil || len(protos) == 0 {
				return
			}
		}
		pub := publicDirectAddrs(ps.Addrs(id))
		for _, a := range remembered {
			if !slices.ContainsFunc(pub, a.Equal) {
				pub = append(pub, a)
			}
		}
		if len(pub) > 0 {
			found = append(found, peer.AddrInfo{ID: id, Addrs: pub})
		}
	}
	for _, id := range ps.Peers() {
		consider(id)
	}
	for id := range used {
		consider(id)
	}
	// Connected ones first (no dial needed), then by ID for a stable choice.
	nw := c.h.h.Network()
	slices.SortFunc(found, func(a, b peer.AddrInfo) int {
		ca, cb := nw.Connectedness(a.ID) == network.Connected, nw.Connectedness(b.ID) == network.Connected
		if ca != cb {
			if ca {
				return -1
			}
			return 1
		}
		return compareIDs(a.ID, b.ID)
	})
	return append(out, found...)
}

// reserve connects to the relay if needed and asks it for a slot. It
// reports success; on failure it schedules the next attempt.
func (c *relayClient) reserve(ai peer.AddrInfo) bool {
	timeout := relayReserveTimeout
	c.mu.Lock()
	if r := c.retry[ai.ID]; r.attempt > 0 {
		timeout = r.attempt
	}
	c.mu.Unlock()
	start := time.Now()
	ctx, cancel := context.WithTimeout(c.h.ctx, timeout)
	defer cancel()
	err := c.h.connectDirect(ctx, ai)
	var rsvp *circuit.Reservation
	if err == nil {
		rsvp, err = circuit.Reserve(ctx, c.h.h, peer.AddrInfo{ID: ai.ID})
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if c.h.ctx.Err() != nil {
			return false
		}
		r := c.retry[ai.ID]
		r.backoff = min(max(2*r.backoff, relayRetryMin), relayRetryMax)
		r.at = now.Add(jitter(r.backoff))
		r.err = relayError(ai.ID, err)
		c.retry[ai.ID] = r
		if de := (*DialError)(nil); errors.As(r.err, &de) && de.Kind == FailRelayRefused {
			// It answered: it runs no relay service (any more), or not for us.
			delete(c.used, ai.ID)
		}
		if _, had := c.slots[ai.ID]; had {
			delete(c.slots, ai.ID)
			c.h.Unprotect(ai.ID, relayProtectTag)
			go c.h.signalAddrs()
		}
		c.h.log.Debug("relay reservation failed", "relay", ai.ID, "err", err)
		return false
	}
	delete(c.retry, ai.ID)
	circuits := circuitAddrs(ai.ID, rsvp.Addrs, c.h.h.Peerstore().Addrs(ai.ID))
	_, had := c.slots[ai.ID]
	ttl := rsvp.Expiration.Sub(now)
	c.slots[ai.ID] = relaySlot{circuits: circuits, expires: rsvp.Expiration, refresh: now.Add(ttl / 2), took: now.Sub(start)}
	if _, ok := c.used[ai.ID]; !ok && len(c.used) >= maxUsedRelays {
		for id := range c.used {
			if _, held := c.slots[id]; !held {
				delete(c.used, id)
				break
			}
		}
	}
	c.used[ai.ID] = publicDirectAddrs(c.h.h.Peerstore().Addrs(ai.ID))
	c.h.Protect(ai.ID, relayProtectTag)
	if !had {
		c.h.log.Info("reserved a relay slot", "relay", ai.ID, "circuits", circuits, "expires", rsvp.Expiration.Format(time.RFC3339))
		go c.h.signalAddrs()
	}
	return true
}

// relayError turns a reservation failure into plain words.
func relayError(relay peer.ID, err error) error {
	var re circuit.ReservationError
	if errors.As(err, &re) {
		switch re.Status {
		case pbv2.Status_PERMISSION_DENIED:
			return &DialError{Peer: relay, Kind: FailRelayRefused, Err: err}
		case pbv2.Status_RESERVATION_REFUSED, pbv2.Status_RESOURCE_LIMIT_EXCEEDED:
			return &DialError{Peer: relay, Kind: FailRelayFull, Err: err}
		}
	}
	var de *DialError
	if errors.As(err, &de) {
		return de
	}
	return classify(relay, err)
}

// circuitAddrs builds /…/p2p/RELAY/p2p-circuit addresses from the public
// addresses the relay vouched for in the reservation (or, if it gave none,
// those we know for it).
func circuitAddrs(relay peer.ID, vouched, known []ma.Multiaddr) []ma.Multiaddr {
	base := publicDirectAddrs(vouched)
	if len(base) == 0 {
		base = publicDirectAddrs(known)
	}
	suffix, err := ma.NewMultiaddr(fmt.Sprintf("/p2p/%s/p2p-circuit", relay))
	if err != nil {
		return nil
	}
	var out []ma.Multiaddr
	for _, a := range base {
		if len(a) > 0 && a[len(a)-1].Code() == ma.P_P2P {
			a = a[:len(a)-1]
		}
		c := a.Encapsulate(suffix)
		if !slices.ContainsFunc(out, c.Equal) {
			out = append(out, c)
		}
	}
	return out
}

// publicDirectAddrs keeps the TCP and QUIC addresses on public IPs, without
// circuits.
func publicDirectAddrs(addrs []ma.Multiaddr) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, a := range addrs {
		if isRelayed(a) || !dialableTransport(a) || !manet.IsPublicAddr(a) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// Relays returns the relays this host holds slots on, and those it tried
// and failed with (with the reason).
func (h *Host) Relays() []RelayState { return h.relays.states() }
