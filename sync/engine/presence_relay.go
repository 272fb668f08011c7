package engine

import (
	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/sync/wire"
)

// onEphemeral handles an ephemeral message: de-duplicated, rate-limited,
// relayed unchanged to the note's other peers, and read as presence.
func (c *conn) onEphemeral(id crdt.DocumentID, m *wire.Ephemeral) bool {
	e := c.e
	if m.SenderID == e.self {
		return true
	}
	dp := c.doc(id)
	if dp == nil || !dp.isActive() {
		e.invitationPresence(c, id, m)
		return true
	}
	ns := dp.ns
	if !ns.pres.fresh(m.SenderID, m.SessionID, m.Count) || !ns.pres.allow(m.SenderID) {
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
	if ns.pres.apply(m.SenderID, m.Data, c) {
		e.emit(Event{Kind: PresenceChanged, Note: id, Peer: m.SenderID})
	}
	return true
}
