package engine

import (
	"maps"
	"slices"
	"time"

	"github.com/collab-editor/collab/crdt"
)

// register makes c the live stream of its peer. Two streams at once: a
// simultaneous open (both younger than the handshake timeout, opened by
// different sides) keeps the stream opened by the peer whose ID sorts lower,
// as the other side decides too; otherwise the newer stream replaces the
// older (a reconnect).
func (e *Engine) register(c *conn) bool {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		c.close("engine stopping")
		return false
	}
	old := e.conns[c.pid]
	if old != nil && !old.isClosed() {
		if old.outbound != c.outbound && time.Since(old.since) < e.cfg.HandshakeTimeout {
			opener := func(x *conn) string {
				if x.outbound {
					return e.self
				}
				return x.peerKey
			}
			if opener(old) < opener(c) {
				e.mu.Unlock()
				e.log.Debug("duplicate stream (simultaneous dial): keeping the other", "peer", c.pid)
				c.close("duplicate stream (simultaneous dial)")
				return false
			}
		}
	}
	e.conns[c.pid] = c
	if t := e.targets[c.pid]; t != nil {
		t.lastErr = "" // connected, whoever dialled: the old failure is history
	}
	e.mu.Unlock()
	if old != nil {
		old.close("replaced by a newer stream")
	}
	return true
}

func (e *Engine) unregister(c *conn) {
	e.mu.Lock()
	if e.conns[c.pid] == c {
		delete(e.conns, c.pid)
	}
	t := e.targets[c.pid]
	if t != nil {
		t.next = time.Now().Add(200 * time.Millisecond)
	}
	e.mu.Unlock()

	c.mu.Lock()
	docs := slices.Collect(maps.Values(c.docs))
	c.docs = map[crdt.DocumentID]*docPeer{}
	c.mu.Unlock()
	known := e.knownPeer(c.pid) // once: it looks through every note
	for _, dp := range docs {
		dp.saveState()
		dp.ns.mu.Lock()
		delete(dp.ns.dps, c)
		dp.ns.mu.Unlock()
		dp.ns.updateLive()
		if dp.ns.pres.dropVia(c) {
			e.emit(Event{Kind: PresenceChanged, Note: dp.ns.id})
		}
		if dp.isActive() {
			dp.ns.note.RememberPeer(known)
		}
		dp.ns.signal()
		e.noteStatusChanged(dp.ns)
	}
	e.log.Info("peer disconnected", "peer", c.pid, "reason", c.closeReason(),
		"sent", c.bytesOut.Load(), "received", c.bytesIn.Load(), "after", time.Since(c.since).Round(time.Millisecond))
	e.emit(Event{Kind: PeersChanged, Peer: c.peerKey})
	e.wakeDialer()
}
