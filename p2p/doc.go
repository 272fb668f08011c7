// Package p2p is the libp2p host of a collab peer: identity, transports,
// limits, LAN discovery. It has no sync logic; the sync engine registers its
// stream handler on LibP2P() and decides what to do with connected peers.
//
// # Identity
//
// A peer's identity is an Ed25519 key kept in a file inside the notebook
// (LoadOrCreateIdentity): created with mode 0600 if absent, refused, like
// ssh does, if the group or others can read it.
//
// # Transports and security
//
// TCP and QUIC (v1), over IPv4 and IPv6; Noise (preferred) and TLS 1.3;
// yamux. By default the host listens on port DefaultPort (4747) on all
// interfaces; if that port is taken it listens on a free port instead and
// says so in Notices. Addresses given by the user must all work. TCP listens
// without SO_REUSEPORT (libp2p's default would let a second collab on the
// same machine share port 4747 and receive half of the connections).
//
// # Limits
//
// libp2p's resource manager with its default limits scaled to the machine
// (system connection limits raised to at least 2×ConnMgrHigh), and the
// connection manager with watermarks ConnMgrLow/ConnMgrHigh (64/96) and a
// one-minute grace period. Protect collaborators so that trimming never
// drops them. libp2p's default per-protocol stream limits apply to the sync
// protocol too (e.g. at most 75 inbound streams per peer per protocol on a
// small machine).
//
// # What the host sends by itself
//
// Nothing, until a peer is connected, unless the user turned on MDNS or
// NATPortMap:
//
//   - no bootstrap peers, no DHT, no rendezvous;
//   - no circuit relay (transport disabled), no auto-relay, no relay
//     service, no hole punching, no AutoNAT v2;
//   - AutoNAT v1 is pinned (reachability forced to "private"), so it never
//     asks connected peers to dial us back;
//   - no Prometheus metrics.
//
// Once a peer is connected — because the user connected to it, it connected
// to us, or mDNS found it — libp2p talks to that peer only: identify on the
// new connection (and identify push to connected peers when our addresses
// change), ping replies, yamux keep-alives, and whatever the sync engine
// sends.
//
// With MDNS on, the host multicasts DNS-SD queries and announcements for
// DefaultMDNSService ("_collab._udp", not libp2p's "_p2p._udp") to
// 224.0.0.251 and ff02::fb port 5353 on every multicast interface: a query
// at start, then at growing intervals up to one a minute, plus answers to
// others' queries. Announcements carry all interface addresses (libp2p's
// mdns ignores address filters). A restart, on every change of the host's
// addresses, sends a fresh round.
//
// With NATPortMap on, the host multicasts UPnP/NAT-PMP discovery
// (239.255.255.250:1900 and the gateway) at once and keeps the mapping
// alive.
//
// # LAN discovery
//
// mDNS finds are filtered before anything is dialed: only TCP or QUIC
// addresses on loopback, private ranges or a subnet of one of our interfaces
// are kept, so a LAN peer advertising an Internet address cannot make the
// host dial it. The host connects to each find and then reports it on
// Discovered. mDNS reports a peer once per record lifetime, so keeping a
// connection up is the caller's job (ConnectPeer by ID uses the remembered
// addresses). Loopback addresses a peer advertises are dialed only if that
// peer is on this machine. The mDNS service is started with retries (it fails
// for good when no multicast interface is up yet) and restarted when the
// addresses it advertises change (it reads them once): on
// event.EvtLocalAddressesUpdated and by reading the interface list every 5 s,
// because libp2p caches interface addresses for a minute. Addrs reads the
// interfaces afresh too.
//
// Config.DialFilter plugs into the connection gater and sees every outgoing
// dial; tests use it to allow loopback only.
//
// # Logging
//
// The host logs to Config.Logger. libp2p itself logs through its gologshim
// package (slog; see gologshim.SetDefaultHandler) and the zeroconf library
// behind mDNS prints a few lines with the standard log package; a terminal
// UI should redirect both.
//
// # Goroutines
//
// Every goroutine the host starts (mDNS supervisor, connector, one per mDNS
// connection attempt) stops before Close returns.
package p2p
