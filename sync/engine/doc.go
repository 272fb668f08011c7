// Package engine keeps a notebook's notes in sync with other collab peers
// and with JavaScript automerge-repo peers. It owns the streams, who may
// have which note, sync rounds and the change fast path, redialling known
// peers, joining and offering notes (and retrying joins whose inviter
// could not be reached), invitations as they arrive, and presence.
//
// The protocol is automerge-repo's message set carried over libp2p streams
// with protocol ID [wire.ProtocolID]; package sync/wire is its codec and
// PROTOCOL.md at the repository root its specification.
//
// # Goroutines
//
// [New] makes an [Engine] over a p2p.Host and a notebook.Notebook; [Engine.Run]
// registers the stream handler and owns every goroutine until its context
// ends: per stream a reader (the handshake, then every message), a writer
// with a bounded queue (a peer too slow to drain it is disconnected) and a
// syncer (sync rounds that are not replies, sync-state saving); the
// redialler; the mDNS follower; the path follower (moving a stream off a
// relay, below) and the moves it starts; presence; event delivery; the retries of
// pending joins (one loop, at most two attempts at a time, each bounded);
// and the Note.Run of every note it opened, which commits with
// crdt.LivePolicy while a peer is connected for the note. Run returns after all of them stopped, with
// sync states saved and every note flushed and closed.
//
// Access: a note's ID is its capability. A peer gets a note only after it
// sent a request or sync naming it (or is a known peer of it); nothing is
// announced to anyone else. A request for a note we lack is answered
// doc-unavailable; an unsolicited sync for one becomes a pending
// invitation, kept by the notebook, until [Engine.Accept] or
// [Engine.Decline].
//
// Sync: one automerge sync state per (peer, note), kept on disk between
// connections. Full sync rounds run on gaps, for JavaScript peers (at
// connect, every SyncInterval, and throttled to one per 100 ms per note on
// changes), and with a collab peer only for a note whose heads, stated by
// both sides at connect (every shared note in a few collab-heads-list
// messages) and after each change (collab-heads), differ from ours: an
// idle note in sync costs no round and no loaded document. Between
// collab peers a committed change travels as its own bytes (collab-change,
// ~60 µs to apply however long the history) and is relayed to the note's
// other peers, de-duplicated by change hash; a peer that joins with nothing
// gets the saved document (collab-doc) rather than every change.
//
// Presence: ephemeral messages in automerge-repo's Presence envelope with
// name, colour, cursor, anchor, heads and the text around the cursor, so a
// receiver re-anchors it after concurrent edits ([Engine.Presence]). It is
// repeated only for notes open in an editor here; the first note a stream
// syncs carries our name once.
//
// Known peers and their addresses: a peer that opened a note with us (or
// that we joined through) is remembered in the note's peers file
// (notebook.KnownPeer, bounded there) and redialled with backoff. Only
// confirmed addresses are kept and redialled: those we dialled with
// success, those of the user's ticket, circuits through a trusted relay,
// and, for a peer that only ever connected to us, those it claims on the IP
// it came from that answered a dial back (p2p.Host.VerifyAddrs: once per
// peer per session, at most p2p.MaxVerifyDials). What a peer merely claims
// in identify is never written, and a redial first drops the claims libp2p
// still holds for the peer, so it dials only the confirmed ones. The host
// trusts the known peers (cmd/collab passes [Engine.IsKnownPeer] as
// p2p.Config.Trusted): they are never refused a connection, while
// strangers share p2p.MaxStrangerConns.
//
// Pending joins: a [Engine.Join] of a note we lack whose peers could not be
// reached now but may be later (no answer, refused connection, a dropped
// connection; not a peer that lacks the note, speaks another protocol,
// refuses us or is ourselves) is kept in the notebook
// (notebook.PendingJoin) and returned as a [PendingError]
// ([ErrJoinPending], and why in plain words). Run retries pending joins
// with jittered backoff, Config.JoinRetryMin (5 s) doubling to
// JoinRetryMax (5 min), each attempt bounded to 2 minutes; joins found at
// start are tried at once. Success removes the join (the note is then as
// after any join); an answer that retrying cannot mend marks it Failed
// (listed, not retried); [Engine.CancelJoin] or another process removing
// it stops it. Every change emits [JoinsChanged]. A peer started for one
// command sets Config.NoJoinRetries.
//
// Peer status: [Engine.Peers] says how each connected peer is reached
// (PeerStatus.Path: direct (LAN), direct (internet), relayed via NAME)
// and, for one that is not connected, why the last redial failed
// (Problem: p2p's plain words, among them "ann is behind a NAT and no
// relay you both know is online" when every address we hold for ann is on
// a home LAN not ours or through a relay that is offline).
// [Engine.Collaborators] says the same for every known peer of the
// notebook at once, for `collab id`.
//
// Off the relay (pathmove.go): when a direct connection to a peer appears
// (hole punching) while our stream to it runs over a relay, the side that
// opened the stream opens a new one over the direct connection, which
// replaces it once its handshake is done; the host closes the relayed
// connection soon after (p2p.RelayRetireGrace), so a stream left there
// would be reset. Until the new stream is registered the old one counts as
// connected (the peer may drop it first), and a join waiting for a note
// carries on over the new stream.
//
// Divergence (diverge.go): a peer's change refused by the note as a
// collision (crdt.CollisionError: a different change under an actor and
// sequence number we hold) means the copies cannot become equal by
// syncing. It never counts as the peer's offence (the sender may be the
// honest copy); it is shown in the peer's status (PeerStatus.Diverged) until
// both sides' heads are equal, and "in sync" is only reported for equal
// heads. A collision on our own actor is recovered with
// notebook.Note.Reissue, so our edits reach everyone; one on a third
// party's actor is shown until that party's copy gives way.
//
// Errors about peers are [PeerError]s in plain words: the person by the
// name they go by ([Engine.PeerName]: from presence, kept with the note's
// known peers so it is known while they are offline) and the place ("on
// this machine (port 4747)", "at 192.168.1.20 (port 4747)", "through a
// relay"), never a peer ID or libp2p's text; [RawCauses] gives libp2p's
// words for the log and --log-level debug. [Engine.Peers] tells the same
// for each peer of a note: how a connected one is reached (direct on the
// LAN or the internet, relayed via NAME) and why the last redial of one
// that is not connected failed.
//
// # Files
//
// One concern a file: engine.go (Config, New, Run, spawning), events.go and
// status.go (what the engine tells its users); a stream's life in stream.go
// (reader start, writer, closing), handshake.go (join/peer), senders.go
// (binding a senderId to the authenticated peer), offences.go (refusing
// peers that repeat bad input), registry.go (the live
// stream per peer) and dispatch.go (reading, rate limiting, routing each
// message); a note in notes.go (the engine's open notes), docpeer.go (one
// note with one peer), rounds.go (automerge sync rounds, collab-doc), diverge.go
// (collisions: divergence shown, recovery on our own actor) and
// push.go (collab-change: the per-keystroke fast path and its relay);
// presence in presence.go (the local cursor API and the presence loop),
// presence_state.go (what remote peers show, de-duplication, rate limits),
// presence_codec.go (the envelope), presence_relay.go (passing ephemeral
// messages on) and reanchor.go (placing a cursor after concurrent edits);
// dial.go (known peers, dialling with backoff, mDNS finds), pathmove.go
// (moving a stream off a relay once a direct connection exists), join.go
// (Join, Share, Accept), pendingjoin.go (pending joins and their retries),
// invite.go (invitations as they arrive), listcache.go (the listings of
// both that a UI asks for on every frame) and names.go (peers' names,
// errors in plain words).
package engine
