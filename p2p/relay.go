package p2p

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/proto"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	ma "github.com/multiformats/go-multiaddr"
	"golang.org/x/time/rate"
)

// Relay service limits, sized for notes: libp2p's defaults reset a relayed
// connection after 128 KiB or 2 minutes, which a cold join or an editing
// session would hit at once. Instead the relay serves only allowed peers and
// caps what each can make it spend.
const (
	// RelayCircuitDuration and RelayCircuitData bound one relayed
	// connection (data counts each direction). A note's sync never comes
	// near them: the largest sync message is 64 MiB, and a relayed pair
	// normally moves to a direct connection within a second.
	RelayCircuitDuration = 12 * time.Hour
	RelayCircuitData     = 1 << 30
	// RelayPeerRate is the relayed bandwidth per peer and direction, in
	// bytes a second (with a burst of relayBurst). A 2 MB note crosses in
	// well under a second.
	RelayPeerRate = 8 << 20
	// RelayMaxCircuitsPerPeer bounds open relayed connections to or from
	// one peer; RelayMaxReservations the peers holding a slot.
	RelayMaxCircuitsPerPeer = 16
	RelayMaxReservations    = 128
	// RelayMaxReservationsPerIP lets a household of collaborators behind
	// one NAT all hold slots.
	RelayMaxReservationsPerIP = 16
	RelayReservationTTL       = time.Hour

	relayBuffer = 32 << 10
	relayBurst  = 1 << 20
)

// RelayUse is one peer this host relays for, for status output.
type RelayUse struct {
	Peer     peer.ID
	Reserved bool // holds a slot (until Expires)
	Expires  time.Time
	Circuits int // relayed connections open to or from it
}

// relayService runs circuit relay v2 for allowed peers only, with per-peer
// bandwidth caps.
type relayService struct {
	h       *Host
	allowed func(peer.ID) bool
	relay   *relayv2.Relay

	mu       sync.Mutex
	reserved map[peer.ID]time.Time
	circuits map[peer.ID]int
	limiters map[peer.ID]*rate.Limiter
	refused  map[peer.ID]bool // already logged
}

func startRelayService(h *Host, allowed func(peer.ID) bool) (*relayService, error) {
	s := &relayService{
		h:        h,
		allowed:  allowed,
		reserved: make(map[peer.ID]time.Time),
		circuits: make(map[peer.ID]int),
		limiters: make(map[peer.ID]*rate.Limiter),
		refused:  make(map[peer.ID]bool),
	}
	res := relayv2.DefaultResources()
	res.Limit = &relayv2.RelayLimit{Duration: RelayCircuitDuration, Data: RelayCircuitData}
	res.ReservationTTL = RelayReservationTTL
	res.MaxReservations = RelayMaxReservations
	res.MaxCircuits = RelayMaxCircuitsPerPeer
	res.MaxReservationsPerIP = RelayMaxReservationsPerIP
	res.BufferSize = relayBuffer
	r, err := relayv2.New(&limitedHost{Host: h.h, s: s}, relayv2.WithResources(res), relayv2.WithACL(s))
	if err != nil {
		return nil, err
	}
	s.relay = r
	h.log.Info("relay service on: relaying for collaborators and allowed peers only")
	return s, nil
}

func (s *relayService) close() {
	if s != nil && s.relay != nil {
		_ = s.relay.Close()
	}
}

// AllowReserve implements relayv2.ACLFilter.
func (s *relayService) AllowReserve(p peer.ID, _ ma.Multiaddr) bool {
	if !s.allowed(p) {
		s.logRefusal(p, "reservation")
		return false
	}
	s.mu.Lock()
	_, had := s.reserved[p]
	s.reserved[p] = time.Now().Add(RelayReservationTTL)
	s.mu.Unlock()
	if !had {
		s.h.log.Info("relaying for peer", "peer", p)
	}
	return true
}

// AllowConnect implements relayv2.ACLFilter: both ends must be allowed.
func (s *relayService) AllowConnect(src peer.ID, _ ma.Multiaddr, dest peer.ID) bool {
	if !s.allowed(src) {
		s.logRefusal(src, "connection to "+dest.String())
		return false
	}
	if !s.allowed(dest) {
		s.logRefusal(dest, "connection from "+src.String())
		return false
	}
	return true
}

func (s *relayService) logRefusal(p peer.ID, what string) {
	s.mu.Lock()
	first := !s.refused[p]
	if first && len(s.refused) < 1024 {
		s.refused[p] = true
	}
	s.mu.Unlock()
	if first {
		s.h.log.Info("relay refused a peer that is not a collaborator", "peer", p, "request", what)
	}
}

func (s *relayService) limiter(p peer.ID) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limiters[p]
	if l == nil {
		l = rate.NewLimiter(rate.Limit(RelayPeerRate), relayBurst)
		s.limiters[p] = l
	}
	return l
}

func (s *relayService) circuitOpened(p peer.ID) {
	s.mu.Lock()
	s.circuits[p]++
	s.mu.Unlock()
}

func (s *relayService) circuitClosed(p peer.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.circuits[p]--; s.circuits[p] <= 0 {
		delete(s.circuits, p)
		if _, ok := s.reserved[p]; !ok {
			delete(s.limiters, p)
		}
	}
}

func (s *relayService) uses() []RelayUse {
	if s == nil {
		return nil
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []RelayUse
	for p, exp := range s.reserved {
		if now.After(exp) || s.h.h.Network().Connectedness(p) == network.NotConnected {
			delete(s.reserved, p)
			continue
		}
		out = append(out, RelayUse{Peer: p, Reserved: true, Expires: exp, Circuits: s.circuits[p]})
	}
	for p, n := range s.circuits {
		if _, ok := s.reserved[p]; !ok {
			out = append(out, RelayUse{Peer: p, Circuits: n})
		}
	}
	slices.SortFunc(out, func(a, b RelayUse) int { return compareIDs(a.Peer, b.Peer) })
	return out
}

// RelayingFor returns the peers this host relays for (holding a slot or with
// relayed connections open); nil when the relay service is off.
func (h *Host) RelayingFor() []RelayUse { return h.relaySvc.uses() }

// RelayService reports whether this host runs the relay service.
func (h *Host) RelayService() bool { return h.relaySvc != nil }

// limitedHost is the host as the relay sees it: every stream the relay
// reads from (the hop stream from the source, the stop stream to the
// destination) is rate-limited per remote peer, and counted.
type limitedHost struct {
	host.Host
	s *relayService
}

func (l *limitedHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	if pid != proto.ProtoIDv2Hop {
		l.Host.SetStreamHandler(pid, handler)
		return
	}
	l.Host.SetStreamHandler(pid, func(st network.Stream) {
		handler(l.wrap(st, false))
	})
}

func (l *limitedHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	st, err := l.Host.NewStream(ctx, p, pids...)
	if err != nil || !slices.Contains(pids, proto.ProtoIDv2Stop) {
		return st, err
	}
	return l.wrap(st, true), nil
}

func (l *limitedHost) wrap(st network.Stream, circuit bool) network.Stream {
	p := st.Conn().RemotePeer()
	w := &limitedStream{Stream: st, lim: l.s.limiter(p), ctx: l.s.h.ctx}
	if circuit {
		l.s.circuitOpened(p)
		w.onClose = func() { l.s.circuitClosed(p) }
	}
	return w
}

// limitedStream throttles reads, which is what the relay's copy loop pulls
// from each side.
type limitedStream struct {
	network.Stream
	lim     *rate.Limiter
	ctx     context.Context
	once    sync.Once
	onClose func()
}

func (s *limitedStream) Read(b []byte) (int, error) {
	if len(b) > relayBurst {
		b = b[:relayBurst]
	}
	n, err := s.Stream.Read(b)
	if n > 0 {
		if werr := s.lim.WaitN(s.ctx, n); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

func (s *limitedStream) closed() {
	if s.onClose != nil {
		s.once.Do(s.onClose)
	}
}

func (s *limitedStream) Close() error {
	s.closed()
	return s.Stream.Close()
}

func (s *limitedStream) Reset() error {
	s.closed()
	return s.Stream.Reset()
}
