package p2p

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	bhost "github.com/libp2p/go-libp2p/p2p/host/basic"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/quicreuse"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	quicgo "github.com/quic-go/quic-go"
)

// DefaultPort is the TCP and UDP port collab listens on when no listen
// address is configured.
const DefaultPort = 4747

// DefaultMDNSService is the DNS-SD service name collab peers advertise and
// browse for on the LAN. It differs from libp2p's "_p2p._udp" so that other
// libp2p software on the LAN is neither found nor dialed.
const DefaultMDNSService = "_collab._udp"

// Connection manager watermarks: above ConnMgrHigh connections the host
// trims down to ConnMgrLow, sparing protected peers and connections younger
// than ConnMgrGrace. The resource manager's connection limits are kept well
// above ConnMgrHigh so that the connection manager, which knows about
// protected collaborators, is the one that trims.
const (
	ConnMgrLow   = 64
	ConnMgrHigh  = 96
	ConnMgrGrace = time.Minute
)

// UserAgent is the agent string the host sends in identify.
const UserAgent = "collab"

// discoveryDialTimeout bounds one connection attempt to a peer found by mDNS.
const discoveryDialTimeout = 15 * time.Second

// maxDiscoveryDials bounds concurrent connection attempts to mDNS finds.
const maxDiscoveryDials = 8

// DefaultListenAddrs returns the addresses used when Config.ListenAddrs is
// empty: TCP and QUIC on DefaultPort, IPv4 and IPv6, all interfaces.
func DefaultListenAddrs() []string {
	return []string{
		fmt.Sprintf("/ip4/0.0.0.0/tcp/%d", DefaultPort),
		fmt.Sprintf("/ip4/0.0.0.0/udp/%d/quic-v1", DefaultPort),
		fmt.Sprintf("/ip6/::/tcp/%d", DefaultPort),
		fmt.Sprintf("/ip6/::/udp/%d/quic-v1", DefaultPort),
	}
}

// Config configures a Host.
type Config struct {
	// IdentityPath is the file holding the peer's Ed25519 private key
	// (see LoadOrCreateIdentity). Ignored when Identity is set.
	IdentityPath string
	// Identity, if set, is used instead of loading IdentityPath.
	Identity crypto.PrivKey

	// ListenAddrs are multiaddrs given by the user (e.g. --listen). Each
	// must be listened on, or New fails.
	ListenAddrs []string
	// DefaultListenAddrs are used when ListenAddrs is empty; nil means
	// DefaultListenAddrs(). Unlike ListenAddrs they are best effort: an
	// address whose port is taken is retried with port 0 (a free port) and
	// a notice says so; an address that cannot be listened on at all (e.g.
	// IPv6 disabled) is skipped with a notice. New fails only if nothing at
	// all can be listened on.
	DefaultListenAddrs []string

	// MDNS enables LAN discovery by multicast DNS under MDNSServiceName.
	// Found peers are connected to and then reported on Discovered.
	MDNS bool
	// MDNSServiceName defaults to DefaultMDNSService.
	MDNSServiceName string

	// NATPortMap asks the router for a port mapping by UPnP / NAT-PMP.
	// Off by default: it multicasts on the LAN as soon as the host starts.
	NATPortMap bool

	// Trusted reports whether a peer is one the user works with: a
	// collaborator (a known peer of some note) or a peer the user named.
	// Only trusted peers are used as relays, asked for peer records, and
	// believed about how they see us (reachability). nil trusts nobody but
	// Relays.
	Trusted func(peer.ID) bool

	// Relays are relays the user named (e.g. --relay-via); they are trusted
	// and tried first. Relay-capable collaborators are found by themselves.
	Relays []peer.AddrInfo

	// RelayService runs the circuit relay v2 service for the peers
	// RelayAllowed admits (see RelayCircuitDuration and the other limits).
	RelayService bool
	// RelayAllowed decides whom the relay service serves; nil means
	// Trusted.
	RelayAllowed func(peer.ID) bool

	// Reachability forces the reachability verdict (public: never use a
	// relay; private: always reserve relay slots). ReachabilityUnknown, the
	// default, decides from what collaborators observe.
	Reachability Reachability

	// DialFilter, if set, is consulted (by the connection gater) before
	// every outgoing dial, whoever asked for it; addresses it rejects are
	// not dialed. Tests use it to forbid anything but loopback.
	DialFilter func(ma.Multiaddr) bool

	// Logger receives the host's own log lines; nil discards them.
	Logger *slog.Logger
}

// Host is a collab peer's libp2p host. Create it with New and stop it with
// Close. Its methods are safe for concurrent use.
type Host struct {
	h   host.Host
	log *slog.Logger

	// ctx is canceled by Close; every goroutine the Host starts watches it
	// and is counted in wg.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mdnsService string
	found       chan peer.AddrInfo // mDNS finds, from the notifee to the connector
	discovered  chan peer.AddrInfo // connected mDNS finds, for the caller

	trustedFn func(peer.ID) bool
	gater     *gater
	static    []peer.AddrInfo
	reach     *reachTracker
	relays    *relayClient
	relaySvc  *relayService
	portMap   *portMapper // nil without Config.NATPortMap
	pathOut   chan peer.ID
	addrsOut  chan struct{}
	relayEmit event.Emitter // EvtAutoRelayAddrsUpdated: makes libp2p recompute (and push) our addresses now
	punching  puncher

	mu      sync.Mutex
	notices []string
	lastIPs []string
	// lastIPsSeen is when lastIPs were last read and still held.
	lastIPsSeen time.Time
	verified    map[peer.ID][]ma.Multiaddr // VerifyAddrs' finds this session, at most maxVerifiedPeers

	closeOnce sync.Once
	closeErr  error
}

// New creates a host, starts listening and, if asked, starts mDNS discovery.
// ctx bounds only the construction; the host runs until Close.
func New(ctx context.Context, cfg Config) (*Host, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start host: %w", err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	key := cfg.Identity
	if key == nil {
		if cfg.IdentityPath == "" {
			return nil, errors.New("start host: no identity configured")
		}
		k, err := LoadOrCreateIdentity(cfg.IdentityPath)
		if err != nil {
			return nil, fmt.Errorf("start host: %w", err)
		}
		key = k
	}
	explicit, err := parseAddrs(cfg.ListenAddrs)
	if err != nil {
		return nil, fmt.Errorf("start host: %w", err)
	}
	defStrs := cfg.DefaultListenAddrs
	if defStrs == nil {
		defStrs = DefaultListenAddrs()
	}
	defaults, err := parseAddrs(defStrs)
	if err != nil {
		return nil, fmt.Errorf("start host: default listen addresses: %w", err)
	}
	if len(explicit) == 0 && len(defaults) == 0 {
		return nil, errors.New("start host: no listen addresses")
	}

	cm, err := connmgr.NewConnManager(ConnMgrLow, ConnMgrHigh, connmgr.WithGracePeriod(ConnMgrGrace))
	if err != nil {
		return nil, fmt.Errorf("start host: connection manager: %w", err)
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(resourceLimits()))
	if err != nil {
		cm.Close()
		return nil, fmt.Errorf("start host: resource manager: %w", err)
	}

	var built atomic.Pointer[Host] // for the address factory and the gater, set once the Host exists
	var quicCM atomic.Pointer[quicreuse.ConnManager]
	g := &gater{allowDial: cfg.DialFilter, grace: StrangerGrace, trusted: func(p peer.ID) bool {
		h := built.Load()
		return h != nil && h.trusted(p)
	}}
	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.NoListenAddrs, // we listen ourselves, address by address
		// Without SO_REUSEPORT: with it, a second collab on this machine
		// would silently share port 4747 and receive half the connections.
		libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()),
		libp2p.Transport(quic.NewTransport),
		// The QUIC socket manager as libp2p makes it, kept so that hole
		// punching can send probes from the QUIC socket (punch.go).
		// Closed by Close, after libp2p.
		libp2p.QUICReuse(func(key quicgo.StatelessResetKey, tokenKey quicgo.TokenGeneratorKey, rm network.ResourceManager) (*quicreuse.ConnManager, error) {
			cm, err := newQUICConnManager(key, tokenKey, rm)
			if err != nil {
				return nil, err
			}
			quicCM.Store(cm)
			return cm, nil
		}),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.ConnectionGater(g),
		// The circuit relay transport: dial and accept relayed connections
		// through relays (collaborators, or relays the user named).
		libp2p.EnableRelay(),
		// DCUtR: turn a relayed connection into a direct one where the
		// NATs allow it.
		libp2p.EnableHolePunching(),
		// Pin AutoNAT v1 (to "unknown") so that it never asks connected
		// peers to dial us back: reachability is decided by reachTracker
		// from what collaborators observe. AutoNAT v2 and libp2p's
		// auto-relay (which would pick relays by itself) stay off.
		pinAutoNAT,
		libp2p.AddrsFactory(func(addrs []ma.Multiaddr) []ma.Multiaddr {
			if h := built.Load(); h != nil {
				return h.advertised(addrs)
			}
			return addrs
		}),
		// No Prometheus registration in the global registry.
		libp2p.DisableMetrics(),
		libp2p.UserAgent(UserAgent),
	}
	// libp2p's NAT manager does UPnP; it is kept so status can say whether
	// a UPnP router answered.
	var upnp atomic.Pointer[bhost.NATManager]
	if cfg.NATPortMap {
		opts = append(opts, libp2p.NATManager(func(n network.Network) bhost.NATManager {
			m := bhost.NewNATManager(n)
			upnp.Store(&m)
			return m
		}))
	}
	lh, err := libp2p.New(opts...)
	if err != nil {
		// libp2p.New closes what it built when it fails, except these.
		cm.Close()
		rm.Close()
		if qcm := quicCM.Load(); qcm != nil {
			qcm.Close()
		}
		return nil, fmt.Errorf("start host: %w", err)
	}

	hctx, cancel := context.WithCancel(context.Background())
	h := &Host{
		h:           lh,
		log:         logger,
		ctx:         hctx,
		cancel:      cancel,
		mdnsService: cfg.MDNSServiceName,
		found:       make(chan peer.AddrInfo, 64),
		discovered:  make(chan peer.AddrInfo, 64),
		trustedFn:   cfg.Trusted,
		gater:       g,
		verified:    map[peer.ID][]ma.Multiaddr{},
		static:      cfg.Relays,
		reach:       newReachTracker(cfg.Reachability),
		pathOut:     make(chan peer.ID),
		addrsOut:    make(chan struct{}, 1),
	}
	h.punching.cm.Store(quicCM.Load())
	h.relays = newRelayClient(h, cfg.Relays)
	for _, r := range cfg.Relays {
		lh.Peerstore().AddAddrs(r.ID, r.Addrs, peerstore.PermanentAddrTTL)
	}
	built.Store(h)
	h.ownIPsChanged() // remember the starting ones (nothing is connected yet)
	if h.mdnsService == "" {
		h.mdnsService = DefaultMDNSService
	}

	if err := h.listen(explicit, defaults); err != nil {
		h.Close()
		return nil, fmt.Errorf("start host: %w", err)
	}
	if err := ctx.Err(); err != nil {
		h.Close()
		return nil, fmt.Errorf("start host: %w", err)
	}

	if err := h.startTraversal(cfg); err != nil {
		h.Close()
		return nil, fmt.Errorf("start host: %w", err)
	}
	if cfg.NATPortMap {
		h.portMap = newPortMapper(h)
		h.portMap.upnp = func() bhost.NATManager {
			if m := upnp.Load(); m != nil {
				return *m
			}
			return nil
		}
		h.wg.Add(1)
		go h.portMap.run(h.ctx)
	}

	if cfg.MDNS {
		// Subscribe before mDNS starts so no address change is missed.
		sub, err := lh.EventBus().Subscribe(new(event.EvtLocalAddressesUpdated))
		if err != nil {
			h.Close()
			return nil, fmt.Errorf("start host: subscribe to address updates: %w", err)
		}
		h.wg.Add(2)
		go h.runConnector()
		go h.runMDNS(sub)
	}
	h.log.Info("p2p host started", "peer", lh.ID().String(), "listen", h.ListenAddrs())
	return h, nil
}

// resourceLimits returns libp2p's default limits scaled to this machine,
// with the system-wide connection limits raised if needed so that they stay
// well above the connection manager's high water mark.
func resourceLimits() rcmgr.ConcreteLimitConfig {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	scaled := limits.AutoScale()
	part := scaled.ToPartialLimitConfig()
	atLeast := func(v *rcmgr.LimitVal, min int) {
		if *v != rcmgr.Unlimited && *v != rcmgr.DefaultLimit && int(*v) < min {
			*v = rcmgr.LimitVal(min)
		}
	}
	atLeast(&part.System.Conns, 2*ConnMgrHigh)
	atLeast(&part.System.ConnsInbound, 2*ConnMgrHigh)
	atLeast(&part.System.ConnsOutbound, 2*ConnMgrHigh)
	return part.Build(scaled)
}

func parseAddrs(ss []string) ([]ma.Multiaddr, error) {
	out := make([]ma.Multiaddr, 0, len(ss))
	for _, s := range ss {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("parse listen address %q: %w", s, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// ID returns the host's peer ID.
func (h *Host) ID() peer.ID { return h.h.ID() }

// LibP2P returns the underlying libp2p host, e.g. to register stream
// handlers. Do not Close it directly; use Host.Close.
func (h *Host) LibP2P() host.Host { return h.h }

// Notices returns messages worth showing to the user about how the host
// started or runs, e.g. "tcp port 4747 on 0.0.0.0 is busy; listening on
// port 38211 instead".
func (h *Host) Notices() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.notices)
}

func (h *Host) notice(msg string) {
	h.log.Warn(msg)
	h.mu.Lock()
	h.notices = append(h.notices, msg)
	h.mu.Unlock()
}

// Connect connects to the peer at addr, which must end in /p2p/<peer-id>,
// and returns that peer's ID.
func (h *Host) Connect(ctx context.Context, addr ma.Multiaddr) (peer.ID, error) {
	info, err := peer.AddrInfoFromP2pAddr(addr)
	if err != nil {
		return "", fmt.Errorf("connect to %s: address needs a /p2p/<peer-id> part: %w", addr, err)
	}
	if err := h.ConnectPeer(ctx, *info); err != nil {
		return "", err
	}
	return info.ID, nil
}

// ConnectPeer connects to a peer by ID and addresses. With no addresses it
// uses those the host still remembers (e.g. of a peer seen recently). If none
// of them works, it asks the connected collaborators for the peer's current
// signed record (FindPeer) and tries those addresses: that is how a peer
// that moved is found again. A relayed connection counts as connected.
// Errors are *DialError, in plain words.
func (h *Host) ConnectPeer(ctx context.Context, info peer.AddrInfo) error {
	if info.ID == h.ID() {
		return &DialError{Peer: info.ID, Kind: FailSelf, Err: errors.New("connect: that address is this peer's own")}
	}
	if err := h.ctx.Err(); err != nil {
		return &DialError{Peer: info.ID, Kind: FailClosed, Err: err}
	}
	if h.h.Network().Connectedness(info.ID) != network.NotConnected {
		return nil
	}
	// Our callers pace their own retries; libp2p's dial backoff would only
	// turn a retry into an instant "dial backoff" failure.
	h.clearBackoff(info.ID)
	// Leave time for the fallback: addresses that no longer answer would
	// otherwise use up the whole deadline.
	firstCtx, cancel := context.WithTimeout(ctx, firstDialShare(ctx))
	err := h.h.Connect(firstCtx, info)
	cancel()
	if err == nil {
		return nil
	}
	first := h.explain(info, classify(info.ID, err))
	if first.Kind == FailSelf || first.Kind == FailClosed || ctx.Err() != nil {
		return first
	}
	addrs, ferr := h.FindPeer(ctx, info.ID)
	if ferr != nil || len(addrs) == 0 {
		h.log.Debug("connect failed", "peer", info.ID, "err", err, "find", ferr)
		return first
	}
	h.log.Debug("connect failed; trying the addresses collaborators know", "peer", info.ID, "err", err, "addrs", addrs)
	h.clearBackoff(info.ID)
	if err := h.h.Connect(ctx, peer.AddrInfo{ID: info.ID, Addrs: addrs}); err != nil {
		return h.explain(peer.AddrInfo{ID: info.ID, Addrs: addrs}, classify(info.ID, err))
	}
	return nil
}

// explain sharpens a failure that says no more than "no answer in time"
// (libp2p gives up on every address at once when the deadline passes):
// when the peer is known only through relays and none of those relays is
// connected, the relay is what is missing. It then decides whether the
// peer looks behind a NAT (DialError.BehindNAT).
func (h *Host) explain(info peer.AddrInfo, e *DialError) *DialError {
	addrs := append(slices.Clone(info.Addrs), h.h.Peerstore().Addrs(info.ID)...)
	if e.Kind == FailRefused && e.Addr != nil && isRelayed(e.Addr) {
		// The relay's machine refused: no relay runs there now.
		e.Kind = FailRelayOffline
	}
	if e.Kind == FailTimeout || e.Kind == FailUnknown {
		h.blameOfflineRelay(addrs, e)
	}
	switch e.Kind {
	case FailTimeout, FailUnknown, FailNoRoute, FailNoAddrs, FailRelayOffline:
		// Nobody that speaks for the peer answered: what we hold of its
		// addresses is all there is to go by.
		e.BehindNAT = h.looksBehindNAT(addrs)
	}
	return e
}

// blameOfflineRelay makes a timeout a FailRelayOffline when the peer is
// known through relays and none of them is connected.
func (h *Host) blameOfflineRelay(addrs []ma.Multiaddr, e *DialError) {
	var relays []peer.ID
	for _, a := range addrs {
		if r := relayOf(a); r != "" && !slices.Contains(relays, r) {
			relays = append(relays, r)
		}
	}
	if len(relays) == 0 {
		return
	}
	for _, r := range relays {
		if h.h.Network().Connectedness(r) == network.Connected {
			return // the relay is there; the peer is not reachable through it
		}
	}
	e.Kind, e.Relay = FailRelayOffline, relays[0]
}

// firstDialShare is how long ConnectPeer lets the given addresses try before
// it asks collaborators for newer ones: half the time left, at most
// directDialTimeout.
func firstDialShare(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return min(time.Until(dl)/2, directDialTimeout)
	}
	return directDialTimeout
}

const directDialTimeout = 10 * time.Second

// connectDirect makes sure there is a direct (not relayed) connection to
// ai, as a relay needs.
func (h *Host) connectDirect(ctx context.Context, ai peer.AddrInfo) error {
	for _, c := range h.h.Network().ConnsToPeer(ai.ID) {
		if !isRelayed(c.RemoteMultiaddr()) {
			return nil
		}
	}
	h.clearBackoff(ai.ID)
	ai.Addrs = slices.DeleteFunc(slices.Clone(ai.Addrs), isRelayed)
	if err := h.h.Connect(network.WithForceDirectDial(ctx, "relay"), ai); err != nil {
		return classify(ai.ID, err)
	}
	return nil
}

func (h *Host) clearBackoff(id peer.ID) {
	if sw, ok := h.h.Network().(*swarm.Swarm); ok {
		sw.Backoff().Clear(id)
	}
}

// trusted reports whether p is a collaborator or a relay the user named.
func (h *Host) trusted(p peer.ID) bool {
	if slices.ContainsFunc(h.static, func(ai peer.AddrInfo) bool { return ai.ID == p }) {
		return true
	}
	return h.trustedFn != nil && h.trustedFn(p)
}

// Connected reports whether the host has a live connection to id.
func (h *Host) Connected(id peer.ID) bool {
	return h.h.Network().Connectedness(id) == network.Connected
}

// Protect keeps connections to id from being trimmed by the connection
// manager while at least one tag protects it. Use it for collaborators.
func (h *Host) Protect(id peer.ID, tag string) { h.h.ConnManager().Protect(id, tag) }

// Unprotect removes one protection tag and reports whether id is still
// protected by another.
func (h *Host) Unprotect(id peer.ID, tag string) bool {
	return h.h.ConnManager().Unprotect(id, tag)
}

// Discovered delivers peers found by mDNS, each after the host has connected
// to it, with the LAN addresses it was reached by. A peer is reported again
// when mDNS finds it again (after its record expires, or when either side's
// addresses change), not on every announcement, so keeping the connection up
// (reconnecting with ConnectPeer) is the caller's job. If the caller falls
// behind, finds are dropped (the connection itself stays). The channel is
// closed by Close; it never delivers anything when MDNS is off.
func (h *Host) Discovered() <-chan peer.AddrInfo { return h.discovered }

// Close stops mDNS and every goroutine the host started, closes all
// connections and listeners, and closes the Discovered channel. It is safe to
// call more than once.
func (h *Host) Close() error {
	h.closeOnce.Do(func() {
		h.cancel()
		h.relaySvc.close()
		h.wg.Wait()
		if h.relayEmit != nil {
			_ = h.relayEmit.Close()
		}
		if err := h.h.Close(); err != nil {
			h.closeErr = fmt.Errorf("close host: %w", err)
		}
		if cm := h.punching.cm.Load(); cm != nil {
			cm.Close()
		}
		close(h.discovered)
	})
	return h.closeErr
}
