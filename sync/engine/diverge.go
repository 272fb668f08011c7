package engine

import (
	"errors"
	"fmt"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/notebook"
)

// Divergence: a peer's change for a note we share was refused, so the two
// copies cannot become equal by syncing. It is never silent: the peer's
// status says so in plain words (PeerStatus.Diverged) until the copies'
// heads are equal again, and the last one stays on record
// (LastDivergence).
//
// The one divergence the engine recovers from itself is a collision on
// our own actor ID: a peer holds a different change under our actor and a
// sequence number we used (a forgery, made while we were offline). The
// note gives way to theirs and makes our edits again under a fresh actor
// (notebook.Note.Reissue), so they reach everyone. A collision on a third
// party's actor cannot be settled here: nothing tells the genuine change
// from the forgery until changes are signed, so it is shown, and it ends
// when that party's copy gives way.

// divergence is what we know of one peer's divergence on one note.
type divergence struct {
	reason string
	at     time.Time
	active bool
}

// maxDivergencePeers bounds the divergences a note keeps on record.
const maxDivergencePeers = 256

// refusedChange handles a peer's change (in a sync message or pushed) that
// the note refused with err. It reports whether err was a divergence
// (then the peer is not to blame for a malformed message: it may be the
// honest one).
func (c *conn) refusedChange(ns *noteState, err error) bool {
	var ce *crdt.CollisionError
	if !errors.As(err, &ce) {
		return false
	}
	e := c.e
	if theirs, ok := notebook.IsOwnCollision(err); ok {
		reason := fmt.Sprintf("they hold a different change %d under our own author ID %s (forged?); our edits are being made again under a new ID", ce.Seq, short(ce.Actor))
		ns.diverge(c.peerKey, reason)
		e.noteStatusChanged(ns)
		res, rerr := ns.note.Reissue(c.peerKey, theirs, ns.heldByPeers())
		switch {
		case errors.Is(rerr, crdt.ErrHeldElsewhere):
			// Ours is the one other peers hold: theirs is refused.
			e.log.Warn("refused a change forged under our actor: peers hold ours", "peer", c.pid, "note", ns.id, "seq", ce.Seq)
			ns.diverge(c.peerKey, fmt.Sprintf("they sent a different change %d under our own author ID %s (forged?); refused, since other copies hold ours", ce.Seq, short(ce.Actor)))
		case rerr != nil:
			e.log.Error("cannot recover from a change forged under our actor", "peer", c.pid, "note", ns.id, "err", rerr)
			ns.diverge(c.peerKey, fmt.Sprintf("they hold a different change %d under our own author ID %s (forged?), and our edits could not be made again: %v", ce.Seq, short(ce.Actor), rerr))
		default:
			e.log.Warn("a peer holds a change forged under our actor: our edits were made again under a new actor", "peer", c.pid, "note", ns.id, "seq", ce.Seq, "dropped", res.Dropped, "actor", short(res.Actor))
		}
		e.emit(Event{Kind: PeersChanged, Note: ns.id, Peer: c.peerKey})
		e.noteStatusChanged(ns)
		return true
	}
	reason := fmt.Sprintf("refused their change %d of author %s: we already have a different change under that author and number (one of the two is forged)", ce.Seq, short(ce.Actor))
	if ce.Own {
		reason = fmt.Sprintf("they hold a different change %d under our own author ID %s (forged?)", ce.Seq, short(ce.Actor))
	}
	if ns.diverge(c.peerKey, reason) {
		e.log.Warn("diverged: a change from the peer collides with one we hold", "peer", c.pid, "note", ns.id, "actor", short(ce.Actor), "seq", ce.Seq)
		e.emit(Event{Kind: PeersChanged, Note: ns.id, Peer: c.peerKey})
	}
	e.noteStatusChanged(ns)
	return true
}

func short(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

// diverge records a divergence with peer and reports whether it is new.
func (ns *noteState) diverge(peer, reason string) bool {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.divergences == nil {
		ns.divergences = map[string]*divergence{}
	}
	d := ns.divergences[peer]
	if d == nil {
		if len(ns.divergences) >= maxDivergencePeers {
			return false
		}
		d = &divergence{}
		ns.divergences[peer] = d
	}
	fresh := !d.active || d.reason != reason
	d.reason, d.at, d.active = reason, time.Now(), true
	return fresh
}

// converged ends the divergence with peer: its stated heads are ours.
func (ns *noteState) converged(peer string) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if d := ns.divergences[peer]; d != nil {
		d.active = false
	}
}

// divergenceWith is the peer's divergence now ("" when none) and the last
// one on record, with when it was seen.
func (ns *noteState) divergenceWith(peer string) (now, last string) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	d := ns.divergences[peer]
	if d == nil {
		return "", ""
	}
	last = d.at.Format("15:04:05") + " " + d.reason
	if d.active {
		now = d.reason
	}
	return now, last
}

// heldByPeers is every head the note's connected peers stated: what they
// are known to hold.
func (ns *noteState) heldByPeers() []crdt.ChangeHash {
	var out []crdt.ChangeHash
	for _, dp := range ns.activePeers() {
		dp.fmu.Lock()
		if dp.knowHeads {
			out = append(out, dp.theirHeads...)
		}
		dp.fmu.Unlock()
	}
	return out
}
