package engine

import (
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/sync/wire"
)

// onEphemeral handles an ephemeral message: de-duplicated, rate-limited,
// relayed unchanged to the note's other peers, and read as presence.
//
// The senderId of an ephemeral message is a claim (relays forward others'
// messages), so limits are kept per stream, and a message claiming a
// sender we hear on a stream of its own is dropped: presence is only ever
// shown next to the peer that sent it, or marked as relayed by the stream
// it came on.
func (c *conn) onEphemeral(id crdt.DocumentID, m *wire.Ephemeral) bool {
	e := c.e
	if m.SenderID == e.self {
		return true
	}
	if !c.allowEphemeral(len(m.Data)) {
		return true
	}
	dp := c.doc(id)
	if dp == nil || !dp.isActive() {
		e.invitationPresence(c, id, m)
		return true
	}
	from := m.SenderID
	if m.SenderID == c.remoteSender {
		from = c.peerKey
	} else if e.heardDirectly(m.SenderID, c) {
		e.log.Debug("dropping ephemeral message that claims another connected peer", "peer", c.pid, "claims", firstRunes(m.SenderID, 64))
		return true
	}
	ns := dp.ns
	if !ns.pres.fresh(from, m.SessionID, m.Count) || !ns.pres.allow(from) {
		return true
	}
	for _, o := range ns.activePeers() {
		if o.c == c || o.c.remoteSender == m.SenderID {
			continue
		}
		relay := *m
		relay.TargetID = o.c.remoteSender
		o.c.send(&relay)
	}
	if ns.pres.apply(from, m.Data, c) {
		e.emit(Event{Kind: PresenceChanged, Note: id, Peer: from})
	}
	return true
}

// allowEphemeral applies the stream's limits on ephemeral messages (size,
// messages and bytes a second); a message over them is dropped, neither
// relayed nor shown, and the first such drop is logged.
func (c *conn) allowEphemeral(size int) bool {
	why := ""
	switch {
	case size > maxEphemeralData:
		why = fmt.Sprintf("ephemeral message of %d bytes (at most %d)", size, maxEphemeralData)
	case !c.ephMsgs.Allow():
		why = fmt.Sprintf("more than %d ephemeral messages a second", ephemeralStreamRate)
	case !c.ephBytes.AllowN(time.Now(), size):
		why = fmt.Sprintf("more than %d bytes of ephemeral messages a second", ephemeralStreamBytes)
	default:
		return true
	}
	if !c.ephDropped.Swap(true) {
		c.e.log.Warn("dropping ephemeral messages from peer", "peer", c.pid, "reason", why)
	}
	return false
}

// heardDirectly reports whether a live stream other than c declared
// sender in its handshake (a peer ID, or a senderId automerge-repo made
// up; several streams may declare the same one): a message that c relays
// in that sender's name is a claim we can check, and it is dropped.
func (e *Engine) heardDirectly(sender string, c *conn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if pid, err := peer.Decode(sender); err == nil {
		o := e.conns[pid]
		return o != nil && o != c && !o.isClosed()
	}
	for _, o := range e.conns {
		if o != c && o.remoteSender == sender && !o.isClosed() {
			return true
		}
	}
	return false
}
