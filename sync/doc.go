// Package sync implements the sync protocol that collab peers speak with each
// other and with JavaScript automerge-repo peers.
//
// The protocol is automerge-repo's message set (join, peer, error, sync,
// request, doc-unavailable, ephemeral, ...) carried over libp2p streams with
// protocol ID [ProtocolID]: each stream is a sequence of frames, each frame an
// unsigned-varint length followed by one CBOR map. PROTOCOL.md at the
// repository root is the specification.
//
// For now the package holds the wire layer only: framing ([FrameReader],
// [FrameWriter], [MaxFrameSize]), the message types with their CBOR codec
// ([Decode], [Encode]) and the protocol-version handshake decision
// ([SelectProtocolVersion], [AcceptProtocolVersion]). It imports neither
// libp2p nor automerge. The sync engine (per-peer streams, per-document sync
// states, access control, presence) will live in this package too and builds
// on these pieces.
package sync
