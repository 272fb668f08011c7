// Package wire is the sync protocol's codec: how collab peers and
// JavaScript automerge-repo peers put messages on a libp2p stream. It owns
// the framing ([FrameReader], [FrameWriter], [MaxFrameSize]: an unsigned
// varint length, then one CBOR map), the message types with their CBOR
// form ([Decode], [Encode], [RouteOf]) and the version handshake
// ([SelectProtocolVersion], [AcceptProtocolVersion]).
//
// It imports neither libp2p nor automerge: it reads and writes bytes, and
// treats every one of them as hostile. PROTOCOL.md at the repository root
// is the specification; the engine that acts on these messages is package
// sync/engine.
package wire
