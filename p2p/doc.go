// Package p2p is the libp2p host of a collab peer: identity, transports,
// limits, LAN discovery, and reaching peers across NATs (relays run by
// collaborators, hole punching, reachability, peer records). It has no sync logic; the sync engine registers its
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
// Strangers (peers Config.Trusted does not vouch for, and not relays the
// user named) may hold at most MaxStrangerConns (32) inbound connections at
// once; collaborators are never refused by the gater. The resource
// manager's inbound limits apply at accept time, before the peer is known,
// so they bound memory and file descriptors but cannot reserve room; the
// connection gater counts strangers once the security handshake has named
// the peer (refusing early when the share is full, taking the slot when the
// connection is upgraded). A stranger arriving at a full share takes the
// slot of the oldest stranger past StrangerGrace (5 s; one with no open
// stream first), or is refused. A first-time joiner is a stranger until the
// sync engine accepts its request (then Trusted vouches for it and it leaves
// the share); the grace lets it get that far. Outbound connections (the user
// dials, joins, shares, or the engine redials) are not counted. A stranger
// redialling in a loop costs a handshake per attempt; nothing is kept per
// refused connection (libp2p forgets a disconnected peer's peerstore entry a
// minute later).
//
// # Reaching peers across NATs
//
// Trust. Config.Trusted says who the user works with (collaborators and
// peers the user allowed); Config.Relays are relays the user named. Only
// those are used as relays, asked for peer records, or believed about how
// they see us. Note IDs never reach this package: relay reservations,
// circuits and records carry peer IDs and addresses only.
//
// Reachability (Host.Reachability) is decided from what trusted peers on
// the internet report in identify: if one sees us at an address that is
// not one of our interfaces', a NAT is in between (private); if they see
// our own public address, we are public. One collaborator's word suffices
// (libp2p would want four observers). A peer usually becomes a
// collaborator on a connection whose identify already ran (the user joins
// its note), so what connected peers not trusted yet observed is held (at
// most 2×MaxStrangerConns, until they disconnect) and counts once Trusted
// vouches for them (checked every 2 s). Config.Reachability overrides it.
// AutoNAT v1 is pinned so that it never asks peers to dial us back, and
// AutoNAT v2 is off: with the few peers a notebook has, neither gives a
// verdict in useful time (FINDINGS: v2 gave none within 200 s).
//
// Relay client. While private, the host keeps slots on up to MaxRelays
// relays: the user's, then trusted peers that advertise circuit relay v2
// (identify) and a public address. A lost relay is retried every 0.5–2 s
// (jittered), so a relay that comes back is used again within seconds. The
// circuit addresses (…/p2p/RELAY/p2p-circuit) join the host's addresses.
//
// Relay service (Config.RelayService, `collab serve --relay`): circuit
// relay v2 for the peers Config.RelayAllowed admits (both ends of every
// relayed connection must be admitted), with limits sized for notes rather
// than libp2p's 128 KiB / 2 min: RelayCircuitData per connection and
// direction, RelayCircuitDuration, RelayPeerRate bytes/s per peer, and
// RelayMaxCircuitsPerPeer, RelayMaxReservations, RelayMaxReservationsPerIP.
// Host.RelayingFor says whom it relays for.
//
// Hole punching (DCUtR) is on: when a relayed connection opens, both sides
// try to open a direct one. Once a direct connection exists, the relayed one
// is closed once it carries no stream (after 1.5 s, so that a stream the
// other side opens before it sees the direct connection is not reset), and
// after RelayRetireGrace in any case (Host.PathChanges tells the sync engine to move its stream
// first). Host.Path says how a peer is reached: direct (LAN or internet)
// or relayed via whom. Dials try relay circuits 500 ms after a public
// direct address (libp2p's ranking; trying them after 100 ms was measured
// to break hole punching: DCUtR's dial then joins the still-pending direct
// dial and times out).
//
// DCUtR cannot open a port-preserving NAT facing a symmetric one (it sends
// to the port the symmetric NAT chose towards the relay). For that pair
// punch.go runs collab's birthday punch (PunchProtocol) over the relayed
// connection, after punchAfter on the relay alone: the symmetric side (the
// opener) sends a hello from each of punchSockets fresh sockets to the
// other's public QUIC address, TTL 2 so that only its own NAT sees them;
// the other (the prober) sends up to punchProbes probes from its QUIC
// socket to random ports of the opener's public IP. A probe that lands
// opens both NATs for that pair of ports; the opener listens for QUIC on
// the socket's port (never advertised, closed once no connection uses it)
// and the prober dials it. runPunch owns the attempts this host starts
// (one at a time, to peers whose ID sorts after ours); handlePunch answers
// collaborators only, while they are relayed only, eight attempts a minute.
//
// Addresses. Host.Addrs lists, most useful first: public addresses, relay
// circuits, the NAT's addresses collaborators saw us at, LAN addresses,
// loopback. libp2p's advertised addresses (identify, signed peer records)
// are built from the interfaces as they are now (libp2p caches them for a
// minute), polled every 2 s, plus observed addresses and circuits. When an
// address of this machine goes away (a laptop moved to another network),
// the connections that went out from it are closed at once (closeStranded:
// also those on a wildcard-bound QUIC socket opened while the address was
// there, loopback excepted): nothing else would tell the sync engine they
// are dead before QUIC's 30 s idle timeout, and its redials would reuse
// them meanwhile (measured: 34 s to reach a peer that moved behind another
// NAT; 1.7–1.9 s with this).
//
// Addresses worth keeping. ConfirmedAddrs lists a connected peer's
// addresses that are proven, not just claimed: the remote address of a
// connection we dialled, circuits through a trusted relay, and what
// VerifyAddrs confirmed this session. VerifyAddrs dials back the listen
// addresses a peer that connected to us claims on the IP it came from
// (UnverifiedAddrs; at most MaxVerifyDials, each on a connection of its own
// outside the swarm, closed once the handshake proved the peer is there):
// an inbound connection's source port is ephemeral, and limited to the
// peer's own IP such a dial cannot be aimed at anyone else. The sync engine
// keeps and redials only those.
//
// Peer records. Identify hands every connected peer our signed peer record
// (addresses signed with our key), and the host keeps those of trusted
// peers. RecordProtocol lets a trusted peer ask for the record of another
// peer both trust; ConnectPeer falls back to it (FindPeer) when the known
// addresses fail, so a peer that moved is found through any common
// collaborator or relay. No DHT: it would add a large dependency and, as
// measured in FINDINGS, waits out its timeout for peers reachable only
// through a relay; asking the collaborators one is connected to finds
// every peer a common collaborator can point to, which is the case that
// matters for notes shared among a few people.
//
// Errors. ConnectPeer returns *DialError: the failure classified
// (FailureKind) and told in plain words by Explain with the person's and
// the relay's names and the place ("couldn't reach ann at 192.168.1.20
// (port 4747): is collab running there?", "on this machine", "through the
// relay bob"; see Place); Raw keeps libp2p's text for debug logs. When
// nobody answered for the peer and every address held for it is a private
// one on none of our networks, or a circuit through a relay that is not
// connected, DialError.BehindNAT is set and Explain says "ann is behind a
// NAT and no relay you both know is online", with what to do (a relay both
// know, or a forwarded port 4747).
//
// # What the host sends by itself
//
// Nothing, until a peer is connected, unless the user turned on MDNS or
// NATPortMap, or named relays (Config.Relays, which it connects to when it
// finds itself behind a NAT):
//
//   - no bootstrap peers, no DHT, no rendezvous;
//   - no AutoNAT probes (v1 pinned, v2 off), no libp2p auto-relay;
//   - no Prometheus metrics.
//
// Once a peer is connected — because the user connected to it, it connected
// to us, or mDNS found it — libp2p talks to that peer only: identify on the
// new connection (and identify push, with our signed record, to connected
// peers when our addresses change), ping replies, yamux keep-alives, and
// whatever the sync engine sends. Towards trusted peers also: a relay
// reservation request (and its refresh every half reservation lifetime)
// when we are behind a NAT and the peer runs a relay; record requests when
// a dial to another collaborator failed; and DCUtR (hole-punch) messages
// and simultaneous dials to a peer we have a relayed connection with. To a
// collaborator reachable only through a relay: the birthday punch's
// messages over the relayed connection, then either one 29-byte hello from
// each of 256 sockets to its public QUIC address (TTL 2) or up to 2,048
// 31-byte probes from our QUIC port to random ports of its public IP,
// and a QUIC dial to the port a probe opened.
//
// With MDNS on, the host multicasts DNS-SD queries and announcements for
// DefaultMDNSService ("_collab._udp", not libp2p's "_p2p._udp") to
// 224.0.0.251 and ff02::fb port 5353 on every multicast interface: a query
// at start, then at growing intervals up to one a minute, plus answers to
// others' queries. Announcements carry all interface addresses (libp2p's
// mdns ignores address filters). A restart, on every change of the host's
// addresses, sends a fresh round.
//
// With NATPortMap on, two port mappers run. libp2p's multicasts UPnP
// discovery (SSDP M-SEARCH to 239.255.255.250:1900, 7 packets in 4 s) at
// once and keeps a mapping alive if a router answers. It never sends
// NAT-PMP on Linux (go-netroute cannot route 0.0.0.0; FINDINGS), so
// portmap.go does: to the IPv4 default gateway read from /proc/net/route,
// UDP port 5351, one request for the external address and one per
// listened IPv4 TCP and QUIC port (lifetime PortMapLifetime, renewed at
// half; dropped at Close), retried every minute while the router does not
// answer. Mapped addresses join the host's addresses (public first: in
// tickets, identify, `collab id`); Host.PortMapping says what happened
// with each (for UPnP, whether libp2p's NAT manager found a router and
// what it maps; that none answered only after 15 s of searching), and one
// log line says when no router answered and what to do instead.
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
// connection attempt, reachability tracker, path watcher, relay client)
// stops before Close returns; so does the relay service.
package p2p
