package p2p

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
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

	mu      sync.Mutex
	notices []string

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

	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.NoListenAddrs, // we listen ourselves, address by address
		// Without SO_REUSEPORT: with it, a second collab on this machine
		// would silently share port 4747 and receive half the connections.
		libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()),
		libp2p.Transport(quic.NewTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.ConnectionGater(&gater{allowDial: cfg.DialFilter}),
		// No circuit relay transport: nothing is dialed through third parties.
		libp2p.DisableRelay(),
		// Pin AutoNAT v1 so that it never probes reachability through
		// connected peers. (AutoNAT v2, auto-relay, the relay service and
		// hole punching are off unless enabled, and we do not enable them.)
		libp2p.ForceReachabilityPrivate(),
		// No Prometheus registration in the global registry.
		libp2p.DisableMetrics(),
		libp2p.UserAgent(UserAgent),
	}
	if cfg.NATPortMap {
		opts = append(opts, libp2p.NATPortMap())
	}
	lh, err := libp2p.New(opts...)
	if err != nil {
		// libp2p.New closes what it built when it fails, except these.
		cm.Close()
		rm.Close()
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
	}
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
	h.log.Info("p2p host started", "peer", lh.ID().String(), "listen", lh.Network().ListenAddresses())
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
// uses those the host still remembers (e.g. of a peer seen recently).
func (h *Host) ConnectPeer(ctx context.Context, info peer.AddrInfo) error {
	if info.ID == h.ID() {
		return errors.New("connect: that address is this peer's own")
	}
	if err := h.ctx.Err(); err != nil {
		return fmt.Errorf("connect to %s: host closed", info.ID)
	}
	if err := h.h.Connect(ctx, info); err != nil {
		return fmt.Errorf("connect to %s: %w", info.ID, err)
	}
	return nil
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
		h.wg.Wait()
		if err := h.h.Close(); err != nil {
			h.closeErr = fmt.Errorf("close host: %w", err)
		}
		close(h.discovered)
	})
	return h.closeErr
}
