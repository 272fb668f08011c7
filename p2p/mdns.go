package p2p

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// mDNS restart timing. Variables so tests could shorten them.
var (
	mdnsRetryMin = time.Second      // first retry after Start fails
	mdnsRetryMax = 30 * time.Second // retry interval cap
	mdnsDebounce = 500 * time.Millisecond
	mdnsPoll     = 5 * time.Second // interface address polling
)

// mdnsNotifee hands mDNS finds to the connector. The mdns package calls
// HandlePeerFound on a goroutine of its own per find, so this must return
// promptly once the host is closing.
type mdnsNotifee struct{ h *Host }

func (n mdnsNotifee) HandlePeerFound(info peer.AddrInfo) {
	select {
	case n.h.found <- info:
	case <-n.h.ctx.Done():
	}
}

// runMDNS owns the mDNS service: it starts it (retrying with backoff while no
// multicast interface is up), and restarts it whenever the addresses it would
// advertise change, because the service reads them only once. Changes are
// noticed on event.EvtLocalAddressesUpdated and by polling the interfaces
// every mdnsPoll (libp2p's own view of interface addresses lags by up to a
// minute). It stops the service when the host closes.
func (h *Host) runMDNS(sub event.Subscription) {
	defer h.wg.Done()
	defer sub.Close()

	var (
		svc     mdns.Service
		tried   string // addrsKey() at the last start attempt
		backoff = mdnsRetryMin
		warned  bool
	)
	stop := func() {
		if svc != nil {
			if err := svc.Close(); err != nil {
				h.log.Debug("mdns close", "err", err)
			}
			svc = nil
		}
	}
	defer stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	poll := time.NewTicker(mdnsPoll)
	defer poll.Stop()

	// start (re)starts the service unless it runs with current addresses.
	start := func() {
		key := h.addrsKey()
		if svc != nil && key == tried {
			return
		}
		stop()
		tried = key
		s := mdns.NewMdnsService(freshAddrsHost{h.h, h}, h.mdnsService, mdnsNotifee{h})
		if err := s.Start(); err != nil {
			_ = s.Close()
			if !warned {
				warned = true
				h.notice("LAN discovery (mDNS) not running yet: " + err.Error() + "; retrying")
			}
			h.log.Debug("mdns start failed", "err", err, "retry", backoff)
			retry.Reset(backoff)
			backoff = min(2*backoff, mdnsRetryMax)
			return
		}
		h.log.Debug("mdns started", "service", h.mdnsService, "addrs", key)
		retry.Stop()
		svc, backoff = s, mdnsRetryMin
	}

	start()
	for {
		select {
		case <-h.ctx.Done():
			return
		case _, ok := <-sub.Out():
			if !ok {
				return
			}
			// Look again shortly; more updates may follow.
			retry.Reset(mdnsDebounce)
		case <-retry.C:
			start()
		case <-poll.C:
			if h.addrsKey() != tried {
				start()
			}
		}
	}
}

// addrsKey identifies the addresses the mDNS service would advertise.
func (h *Host) addrsKey() string {
	return strings.Join(sortedStrings(h.interfaceAddrs()), " ")
}

// sortedStrings is xs as sorted strings: a set of addresses or IPs in a
// form to compare.
func sortedStrings[T fmt.Stringer](xs []T) []string {
	ss := make([]string, len(xs))
	for i, x := range xs {
		ss[i] = x.String()
	}
	slices.Sort(ss)
	return ss
}

// freshAddrsHost is the host as the mdns package sees it: its
// InterfaceListenAddresses reads the interfaces now, where libp2p's swarm
// answers from a cache up to a minute old.
type freshAddrsHost struct {
	host.Host
	h *Host
}

func (f freshAddrsHost) Network() network.Network {
	return freshAddrsNetwork{f.Host.Network(), f.h}
}

type freshAddrsNetwork struct {
	network.Network
	h *Host
}

func (n freshAddrsNetwork) InterfaceListenAddresses() ([]ma.Multiaddr, error) {
	return n.h.interfaceAddrs(), nil
}

// runConnector connects to the peers mDNS finds, a few at a time, and reports
// those it reached on h.discovered.
func (h *Host) runConnector() {
	defer h.wg.Done()
	inflight := make(map[peer.ID]bool)
	done := make(chan peer.ID)
	for {
		select {
		case <-h.ctx.Done():
			return
		case id := <-done:
			delete(inflight, id)
		case info := <-h.found:
			h.log.Debug("mdns find", "peer", info.ID, "addrs", info.Addrs)
			if info.ID == h.ID() || inflight[info.ID] {
				continue
			}
			info.Addrs = lanAddrs(info.Addrs)
			if len(info.Addrs) == 0 {
				h.log.Debug("mdns find without usable LAN address", "peer", info.ID)
				continue
			}
			if len(inflight) >= maxDiscoveryDials {
				h.log.Debug("too many mdns dials in flight; skipping", "peer", info.ID)
				continue
			}
			inflight[info.ID] = true
			h.wg.Add(1)
			go h.dialDiscovered(info, done)
		}
	}
}

func (h *Host) dialDiscovered(info peer.AddrInfo, done chan<- peer.ID) {
	defer h.wg.Done()
	defer func() {
		select {
		case done <- info.ID:
		case <-h.ctx.Done():
		}
	}()
	ctx, cancel := context.WithTimeout(h.ctx, discoveryDialTimeout)
	defer cancel()
	if err := h.h.Connect(ctx, info); err != nil {
		h.log.Debug("connect to mdns find failed", "peer", info.ID, "err", err)
		return
	}
	// Remember the addresses beyond the connection so that the caller can
	// reconnect by peer ID after a drop.
	h.h.Peerstore().AddAddrs(info.ID, info.Addrs, peerstore.RecentlyConnectedAddrTTL)
	h.log.Info("connected to peer found on the LAN", "peer", info.ID)
	select {
	case h.discovered <- info:
	default:
		h.log.Warn("discovered-peers channel full; dropping a find", "peer", info.ID)
	}
}

// lanAddrs keeps the addresses worth dialing for a peer found by mDNS: TCP or
// QUIC over a concrete IP that is private, inside a subnet of one of this
// machine's interfaces, or loopback. A LAN peer could advertise anything;
// this keeps discovery from making the host dial out to the Internet.
// Loopback addresses are kept only for a peer on this machine (one that
// shares an address with us, or advertises nothing but loopback): for any
// other peer they would reach ourselves or a stranger.
func lanAddrs(addrs []ma.Multiaddr) []ma.Multiaddr {
	var subnets []*net.IPNet
	if ifaddrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range ifaddrs {
			if n, ok := a.(*net.IPNet); ok {
				subnets = append(subnets, n)
			}
		}
	}
	var lan, loopback []ma.Multiaddr
	sameMachine := false
	for _, a := range addrs {
		if !dialableTransport(a) || manet.IsIPUnspecified(a) || manet.IsIP6LinkLocal(a) {
			continue
		}
		ip, err := manet.ToIP(a)
		if err != nil {
			continue
		}
		if manet.IsIPLoopback(a) {
			loopback = append(loopback, a)
			continue
		}
		ok := manet.IsPrivateAddr(a)
		for _, n := range subnets {
			if n.IP.Equal(ip) {
				sameMachine = true
			}
			ok = ok || n.Contains(ip)
		}
		if ok {
			lan = append(lan, a)
		}
	}
	if sameMachine || len(lan) == 0 {
		lan = append(lan, loopback...)
	}
	return lan
}

// dialableTransport reports whether a is /ip4|ip6/x/tcp/n or
// /ip4|ip6/x/udp/n/quic-v1 (optionally followed by /p2p/<id>).
func dialableTransport(a ma.Multiaddr) bool {
	if len(a) > 0 && a[len(a)-1].Code() == ma.P_P2P {
		a = a[:len(a)-1]
	}
	if len(a) < 2 {
		return false
	}
	if c := a[0].Code(); c != ma.P_IP4 && c != ma.P_IP6 {
		return false
	}
	switch {
	case len(a) == 2 && a[1].Code() == ma.P_TCP:
		return true
	case len(a) == 3 && a[1].Code() == ma.P_UDP && a[2].Code() == ma.P_QUIC_V1:
		return true
	}
	return false
}
