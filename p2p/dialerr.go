package p2p

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/collab-editor/collab/internal/display"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/sec"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// FailureKind says in one word why a peer could not be reached.
type FailureKind int

const (
	FailUnknown       FailureKind = iota
	FailNoAddrs                   // we know no address for the peer
	FailRefused                   // the machine answered, nothing listens there
	FailTimeout                   // nothing answered: offline, or behind a NAT or firewall
	FailNoRoute                   // our own network cannot reach that address
	FailWrongPeer                 // someone else answered at that address
	FailSelf                      // the address is our own
	FailNoReservation             // the relay holds no slot for the peer (it is not connected to it)
	FailRelayRefused              // the relay does not relay for us or for the peer
	FailRelayFull                 // the relay is at its limits
	FailRelayOffline              // the relay itself could not be reached
	FailClosed                    // this host is shutting down
)

// DialError is a failure to reach a peer, classified so that it can be told
// to the user in plain words (Explain). Error() is already plain; the raw
// libp2p error is kept for debug logs (Unwrap, Raw).
type DialError struct {
	Peer peer.ID
	Kind FailureKind
	// Addr is the address the most telling failure was at (for relay
	// failures, the circuit address), or nil.
	Addr ma.Multiaddr
	// Relay is the relay involved, for relay failures.
	Relay peer.ID
	// BehindNAT: besides Kind, what we hold of the peer says it sits
	// behind a NAT that only a relay gets through, and no relay it uses
	// is connected to us (Host.ConnectPeer decides; see looksBehindNAT).
	// Explain then says so, and what to do.
	BehindNAT bool
	Err       error
}

func (e *DialError) Error() string { return e.Explain("the peer "+shortID(e.Peer), "") }

func (e *DialError) Unwrap() error { return e.Err }

// Raw returns the underlying libp2p error text, for --log-level debug.
func (e *DialError) Raw() string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Error()
}

// Explain says what went wrong, naming the peer as name and the relay as
// relayName (a short ID if empty), with what to do about it.
func (e *DialError) Explain(name, relayName string) string {
	if relayName == "" && e.Relay != "" {
		relayName = shortID(e.Relay)
	}
	where := ""
	if place := Place(e.Addr, relayName); place != "" {
		where = " " + place
	}
	if e.BehindNAT {
		relayNote := ""
		if e.Kind == FailRelayOffline && relayName != "" {
			relayNote = fmt.Sprintf(" (the relay %s is offline)", relayName)
		}
		return fmt.Sprintf("%s is behind a NAT and no relay you both know is online%s: run `collab serve --relay` on a machine with a public address that you both know, or forward port %d on one side", name, relayNote, DefaultPort)
	}
	switch e.Kind {
	case FailNoAddrs:
		return fmt.Sprintf("no address is known for %s: ask them for a new ticket, or connect to someone you both work with", name)
	case FailRefused:
		return fmt.Sprintf("couldn't reach %s%s: is collab running there?", name, where)
	case FailTimeout:
		if e.Addr != nil && manet.IsPrivateAddr(e.Addr) {
			return fmt.Sprintf("couldn't reach %s%s: no answer (that address is on their local network; are you on the same one?)", name, where)
		}
		return fmt.Sprintf("couldn't reach %s%s: no answer (offline, or behind a NAT or firewall; a relay both of you know helps: run `collab serve --relay` on a public machine, or forward port %d to them)", name, where, DefaultPort)
	case FailNoRoute:
		return fmt.Sprintf("couldn't reach %s%s: your network has no route there", name, where)
	case FailWrongPeer:
		return fmt.Sprintf("couldn't reach %s%s: another peer answered at that address (they moved, or it is someone else's local address)", name, where)
	case FailSelf:
		return fmt.Sprintf("%s%s is this peer itself", name, where)
	case FailNoReservation:
		return fmt.Sprintf("couldn't reach %s through the relay %s: they are not connected to it right now", name, relayName)
	case FailRelayRefused:
		if e.Peer == e.Relay {
			return fmt.Sprintf("the relay %s does not relay for you: it relays only for its collaborators (on it: `collab relay allow` your ID)", relayName)
		}
		return fmt.Sprintf("the relay %s refused to connect you to %s: it relays only for its collaborators", relayName, name)
	case FailRelayFull:
		return fmt.Sprintf("the relay %s is at its limits right now", relayName)
	case FailRelayOffline:
		return fmt.Sprintf("couldn't reach %s: the relay %s is offline", name, relayName)
	case FailClosed:
		return "collab is shutting down"
	}
	return fmt.Sprintf("couldn't reach %s%s", name, where)
}

// shortID is how a peer shows in errors: display.ID, the same as everywhere
// else it is shown (every Ed25519 peer ID starts alike, so it keeps the end).
func shortID(id peer.ID) string { return display.ID(id.String()) }

// Place says where an address is, for people: "at 192.168.1.20 (port
// 4747)", "on this machine (port 4747)" for loopback, "through the relay
// NAME" (or "through a relay" when relayName is empty) for a circuit; ""
// for nil.
func Place(a ma.Multiaddr, relayName string) string {
	if a == nil || len(a) == 0 {
		return ""
	}
	if isRelayed(a) {
		if relayName != "" {
			return "through the relay " + relayName
		}
		return "through a relay"
	}
	port := ""
	for _, c := range a {
		if c.Code() == ma.P_TCP || c.Code() == ma.P_UDP {
			port = " (port " + c.Value() + ")"
			break
		}
	}
	ip, err := manet.ToIP(a)
	switch {
	case err != nil:
		return "at " + a[0].Value() + port // a DNS name
	case ip.IsLoopback():
		return "on this machine" + port
	}
	return "at " + ip.String() + port
}

// classify turns a libp2p connect error into a DialError. Of several
// addresses' failures the most telling wins: a relay's answer, then someone
// else answering, a refusal, no route, and a timeout last.
func classify(p peer.ID, err error) *DialError {
	var de *DialError
	if errors.As(err, &de) {
		return de
	}
	out := &DialError{Peer: p, Kind: kindOf(err), Err: err}
	var sde *swarm.DialError
	if errors.As(err, &sde) {
		best := -1
		for _, te := range sde.DialErrors {
			k := kindOf(te.Cause)
			if r := rank(k); r > best {
				best = r
				out.Kind, out.Addr = k, te.Address
			}
		}
		if best < 0 && sde.Cause != nil {
			out.Kind = kindOf(sde.Cause)
		}
	}
	if out.Addr != nil && isRelayed(out.Addr) {
		out.Relay = relayOf(out.Addr)
	}
	return out
}

func rank(k FailureKind) int {
	switch k {
	case FailNoReservation, FailRelayRefused, FailRelayFull:
		return 9
	case FailWrongPeer:
		return 8
	case FailRefused:
		return 7
	case FailSelf:
		return 6
	case FailRelayOffline:
		return 5
	case FailNoRoute:
		return 4
	case FailTimeout:
		return 3
	case FailUnknown:
		return 1
	}
	return 0
}

func kindOf(err error) FailureKind {
	if err == nil {
		return FailUnknown
	}
	var mismatch sec.ErrPeerIDMismatch
	s := err.Error()
	switch {
	case errors.Is(err, swarm.ErrSwarmClosed):
		return FailClosed
	case errors.Is(err, swarm.ErrDialToSelf):
		return FailSelf
	case errors.Is(err, swarm.ErrNoAddresses), errors.Is(err, swarm.ErrNoGoodAddresses):
		return FailNoAddrs
	case errors.As(err, &mismatch), strings.Contains(s, "peer id mismatch"):
		return FailWrongPeer
	case strings.Contains(s, "NO_RESERVATION"):
		return FailNoReservation
	case strings.Contains(s, "PERMISSION_DENIED"):
		return FailRelayRefused
	case strings.Contains(s, "RESOURCE_LIMIT_EXCEEDED"), strings.Contains(s, "RESERVATION_REFUSED"):
		return FailRelayFull
	case strings.Contains(s, "error opening hop stream to relay") && strings.Contains(s, "protocols not supported"):
		return FailRelayRefused // it runs no relay service
	case strings.Contains(s, "error opening hop stream to relay"):
		return FailRelayOffline
	case errors.Is(err, syscall.ECONNREFUSED), strings.Contains(s, "connection refused"):
		return FailRefused
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH), strings.Contains(s, "no route to host"), strings.Contains(s, "network is unreachable"):
		return FailNoRoute
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, swarm.ErrDialTimeout),
		isTimeout(err), strings.Contains(s, "timeout"), strings.Contains(s, "deadline exceeded"):
		return FailTimeout
	}
	return FailUnknown
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// relayOf returns the relay's ID in a circuit address.
func relayOf(a ma.Multiaddr) peer.ID {
	var last peer.ID
	for _, c := range a {
		switch c.Code() {
		case ma.P_P2P:
			if id, err := peer.Decode(c.Value()); err == nil {
				last = id
			}
		case ma.P_CIRCUIT:
			return last
		}
	}
	return ""
}

// looksBehindNAT reports whether the addresses held for a peer that did
// not answer say it is behind a NAT that only a relay gets through: every
// direct address is a private one on none of our own networks (its home
// LAN, not ours), or it is known only through relays, and no relay in its
// circuit addresses is connected to us. A public, loopback or DNS address,
// or a private one on our own network, leaves other explanations open.
func (h *Host) looksBehindNAT(addrs []ma.Multiaddr) bool {
	if len(addrs) == 0 {
		return false
	}
	ours := ownNetworks()
	for _, a := range addrs {
		if isRelayed(a) {
			if r := relayOf(a); r != "" && h.h.Network().Connectedness(r) == network.Connected {
				return false
			}
			continue
		}
		ip, err := manet.ToIP(a)
		if err != nil || ip.IsLoopback() || !manet.IsPrivateAddr(a) || slices.ContainsFunc(ours, func(n *net.IPNet) bool { return n.Contains(ip) }) {
			return false
		}
	}
	return true
}

// ownNetworks are the networks this machine's interfaces are on.
func ownNetworks() []*net.IPNet {
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []*net.IPNet
	for _, a := range ifaddrs {
		if n, ok := a.(*net.IPNet); ok {
			out = append(out, n)
		}
	}
	return out
}
