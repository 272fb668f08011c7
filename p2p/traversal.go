package p2p

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/config"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/proto"
	ma "github.com/multiformats/go-multiaddr"
)

// pinAutoNAT forces AutoNAT v1's verdict to "unknown": it then never probes
// (asks connected peers to dial us back) and never emits anything else, and
// libp2p's address manager does not drop public addresses on its word.
func pinAutoNAT(cfg *config.Config) error {
	r := network.ReachabilityUnknown
	cfg.AutoNATConfig.ForceReachability = &r
	return nil
}

// startTraversal starts what reaches peers across NATs: the reachability
// tracker, the relay client, the path watcher, the record protocol, and (if
// configured) the relay service.
func (h *Host) startTraversal(cfg Config) error {
	bus := h.h.EventBus()
	emit, err := bus.Emitter(new(event.EvtAutoRelayAddrsUpdated))
	if err != nil {
		return fmt.Errorf("address update emitter: %w", err)
	}
	h.relayEmit = emit
	reachSub, err := bus.Subscribe([]any{
		new(event.EvtPeerIdentificationCompleted),
		new(event.EvtPeerProtocolsUpdated),
		new(event.EvtPeerConnectednessChanged),
		new(event.EvtLocalAddressesUpdated),
	}, eventbus.Name("collab reachability"), eventbus.BufSize(256))
	if err != nil {
		return fmt.Errorf("subscribe to peer events: %w", err)
	}
	pathSub, err := bus.Subscribe(new(event.EvtPeerConnectednessChanged), eventbus.Name("collab paths"), eventbus.BufSize(256))
	if err != nil {
		reachSub.Close()
		return fmt.Errorf("subscribe to connection events: %w", err)
	}
	punchSub, err := bus.Subscribe(new(event.EvtPeerConnectednessChanged), eventbus.Name("collab punch"), eventbus.BufSize(256))
	if err != nil {
		reachSub.Close()
		pathSub.Close()
		return fmt.Errorf("subscribe to connection events: %w", err)
	}
	h.h.SetStreamHandler(RecordProtocol, h.handleRecordRequest)
	h.h.SetStreamHandler(PunchProtocol, h.handlePunch)
	if cfg.RelayService {
		allowed := cfg.RelayAllowed
		if allowed == nil {
			allowed = h.trusted
		}
		svc, err := startRelayService(h, allowed)
		if err != nil {
			reachSub.Close()
			pathSub.Close()
			punchSub.Close()
			return fmt.Errorf("relay service: %w", err)
		}
		h.relaySvc = svc
	}
	h.wg.Add(4)
	go h.runReachability(reachSub)
	go h.runPaths(pathSub)
	go h.relays.run()
	go h.runPunch(punchSub)
	return nil
}

// advertised is the host's address factory: what libp2p's addresses
// (identify, signed peer records, hole punching) are made of. To the
// listen addresses it adds the NAT's addresses collaborators saw us at and
// our relay circuits.
func (h *Host) advertised(addrs []ma.Multiaddr) []ma.Multiaddr {
	// libp2p resolves 0.0.0.0 with interface addresses it caches for a
	// minute: a laptop that moved would advertise (and sign) its old
	// address that long. Use the interfaces as they are now instead, and
	// keep from libp2p's list what does not come from them (NAT mappings).
	cached, _ := h.h.Network().InterfaceListenAddresses()
	out := h.interfaceAddrs()
	for _, a := range addrs {
		if !slices.ContainsFunc(cached, a.Equal) {
			out = append(out, a)
		}
	}
	out = append(out, h.portMap.mapped()...)
	out = append(out, h.reach.observedAddrs()...)
	out = append(out, h.relays.circuitAddrs()...)
	// A listener a hole punch opened is for one collaborator only.
	out = slices.DeleteFunc(out, h.punching.isPunchPort)
	return ma.Unique(out)
}

// signalAddrs tells libp2p (so that identify pushes the new addresses to
// connected peers at once) and AddrsChanged readers that our addresses
// changed.
func (h *Host) signalAddrs() {
	if h.relayEmit != nil && h.ctx.Err() == nil {
		if err := h.relayEmit.Emit(event.EvtAutoRelayAddrsUpdated{RelayAddrs: h.relays.circuitAddrs()}); err != nil {
			h.log.Debug("emit address update", "err", err)
		}
	}
	select {
	case h.addrsOut <- struct{}{}:
	default:
	}
}

// AddrsChanged receives a value (coalesced) whenever the host's dialable
// addresses may have changed: a relay slot gained or lost, a new observed
// address, a new verdict on reachability. Read Addrs again then.
func (h *Host) AddrsChanged() <-chan struct{} { return h.addrsOut }

// PeerInfo is what the host knows about a peer's connectivity, for status
// output.
type PeerInfo struct {
	Path Path
	// Relay: the peer runs the relay service.
	Relay bool
	// Addrs are the addresses known for it, verified ones (from its signed
	// record) first.
	Addrs []ma.Multiaddr
}

// Peer returns what the host knows about p.
func (h *Host) Peer(p peer.ID) PeerInfo {
	ps := h.h.Peerstore()
	info := PeerInfo{Path: h.Path(p), Addrs: ps.Addrs(p)}
	if protos, err := ps.SupportsProtocols(p, proto.ProtoIDv2Hop); err == nil && len(protos) > 0 {
		info.Relay = true
	}
	return info
}

// jitter returns d ± 20%.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d*4/5 + time.Duration(rand.Int64N(int64(d*2/5)+1))
}
