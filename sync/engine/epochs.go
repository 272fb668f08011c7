package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/sync/wire"
)

// Epochs between peers (PROTOCOL.md 9.5). A note's history may be cut
// (notebook.StartEpoch); each copy then holds one epoch's document, and
// copies in different epochs must never exchange changes, which would
// merge two unrelated documents. So, with peers that speak ExtEpoch, every
// note message names its epoch, and one of another epoch is not applied:
//
//   - a peer behind us is told how each later epoch began (collab-epoch);
//     it cuts its own copy at the same heads, which gives the same root,
//     and translates its own late changes as every peer would
//     (crdt.FollowEpoch). If it lacks some of those heads it asks for the
//     epoch before with a request naming it, answered with our archive of
//     that epoch (a collab-doc naming it), and then cuts;
//   - a peer ahead of us tells us the same way;
//   - a joiner with nothing of the note adopts the announced epoch and
//     fetches it as any joiner does.
//
// Peers that do not speak ExtEpoch (automerge-repo) sync the current
// epoch's document; a note they knew before a cut is never cut
// (notebook.ErrShared).

// epochTag is the epoch to name in note messages to the stream's peer:
// the one the note's document is in now. Bytes made from the document say
// the epoch they were made in instead (tagIn), which may be older by the
// time they are sent.
func (ns *noteState) epochTag(c *conn) uint64 { return tagIn(c, ns.note.EpochNumber()) }

// tagIn is epoch as named to the stream's peer (0 for a peer that knows
// no epochs).
func tagIn(c *conn, epoch uint64) uint64 {
	if !c.epochExt {
		return 0
	}
	return epoch
}

// appliesIn is the epoch a note message from the stream's peer is about,
// for the notebook's check (notebook.AnyEpoch for a peer that knows no
// epochs: it has only ever seen the current one).
func appliesIn(c *conn, tagged uint64) uint64 {
	if !c.epochExt {
		return notebook.AnyEpoch
	}
	return tagged
}

// admitEpoch reports whether a note message the peer tagged with epoch m
// is about our copy of the note; when it is not, it does what brings the
// two copies into one epoch. request says the message asks for the note;
// stated are the heads it states (nil if none).
func (c *conn) admitEpoch(dp *docPeer, m uint64, request bool, stated []crdt.ChangeHash, hasHeads bool) bool {
	if !c.epochExt {
		return true
	}
	ours := dp.ns.note.EpochNumber()
	dp.fmu.Lock()
	conflict := dp.epochConflict
	met := m == ours && dp.knowEpoch && dp.theirEpoch != ours
	dp.theirEpoch, dp.knowEpoch = m, true
	dp.fmu.Unlock()
	if conflict {
		return false
	}
	switch {
	case m == ours:
		if met {
			// The peer just came into our epoch: whatever our sync state
			// recorded while it was elsewhere is about nothing it holds.
			dp.syncMu.Lock()
			dp.state = dp.ns.note.NewSyncState()
			dp.unsaved = true
			dp.syncMu.Unlock()
		}
		return true
	case m < ours:
		joining := request && hasHeads && len(stated) == 0
		c.announceEpochs(dp, m, joining)
		if request && !joining {
			c.sendArchive(dp, m)
		}
	default:
		// The peer is ahead: it announces how its epochs began when it
		// sees ours (in this message's answer or our heads).
		dp.scheduleHeads()
	}
	return false
}

// inOtherEpoch reports whether the peer's copy is known to be in another
// epoch than ours (no sync message goes to it then).
func (dp *docPeer) inOtherEpoch() bool {
	if !dp.c.epochExt {
		return false
	}
	ours := dp.ns.note.EpochNumber()
	dp.fmu.Lock()
	defer dp.fmu.Unlock()
	return dp.knowEpoch && dp.theirEpoch != ours
}

// announceEpochs tells a peer in epoch m how each later epoch began (only
// the latest to a joiner, which has nothing to cut), once per stream for
// each epoch it states and each of the two cases (one that only looked at
// an invitation may join after).
func (c *conn) announceEpochs(dp *docPeer, m uint64, joining bool) {
	ours := dp.ns.note.EpochNumber()
	key := m << 1
	if joining {
		key |= 1
	}
	if !dp.firstTime(&dp.announced, key) {
		return
	}
	from := m + 1
	if joining {
		from = ours
	}
	for k := from; k <= ours; k++ {
		ep, err := dp.ns.note.EpochAt(k)
		if errors.Is(err, notebook.ErrEpochNotHere) {
			continue // this copy joined later: another peer can tell
		}
		if err != nil {
			c.e.log.Warn("cannot tell a peer how an epoch began", "peer", c.pid, "note", dp.ns.id, "epoch", k, "err", err)
			return
		}
		c.send(epochMessage(c, dp.ns.id, ep))
		c.e.log.Info("told a peer of a new epoch", "peer", c.pid, "note", dp.ns.id, "epoch", k, "theirs", m)
	}
}

// firstTime records key in set (one of dp's once-per-stream sets) and
// reports whether it was not there yet.
func (dp *docPeer) firstTime(set *map[uint64]bool, key uint64) bool {
	dp.fmu.Lock()
	defer dp.fmu.Unlock()
	if *set == nil {
		*set = map[uint64]bool{}
	}
	if (*set)[key] {
		return false
	}
	(*set)[key] = true
	return true
}

func epochMessage(c *conn, id crdt.DocumentID, ep crdt.Epoch) *wire.CollabEpoch {
	return &wire.CollabEpoch{SenderID: c.e.self, TargetID: c.remoteSender, DocumentID: id.String(),
		Epoch: ep.Number, Heads: stringsOf(ep.Heads), Root: ep.Root.String()}
}

// sendArchive sends a peer still in epoch m our whole document of it, once
// per stream: it lacks some of the heads epoch m+1 began at.
func (c *conn) sendArchive(dp *docPeer, m uint64) {
	if !dp.firstTime(&dp.archived, m) {
		return
	}
	archive, err := dp.ns.note.Archive(m)
	if err != nil {
		c.e.log.Info("cannot send an epoch this copy does not keep", "peer", c.pid, "note", dp.ns.id, "epoch", m, "err", err)
		return
	}
	c.send(&wire.CollabDoc{SenderID: c.e.self, TargetID: c.remoteSender, DocumentID: dp.ns.id.String(), Data: archive, Epoch: m})
	c.e.log.Info("sent an earlier epoch of the note", "peer", c.pid, "note", dp.ns.id, "epoch", m, "bytes", len(archive))
}

// onEpoch handles a peer's announcement that an epoch of a note began.
func (c *conn) onEpoch(id crdt.DocumentID, m *wire.CollabEpoch) bool {
	ep := crdt.Epoch{Number: m.Epoch}
	root, err := crdt.ParseChangeHash(m.Root)
	if err != nil {
		c.offend(fmt.Sprintf("malformed collab-epoch for note %s: root: %v", id, err))
		return false
	}
	ep.Root = root
	if len(m.Heads) > wire.MaxHeadsPerDoc {
		c.offend(fmt.Sprintf("malformed collab-epoch for note %s: %d heads", id, len(m.Heads)))
		return false
	}
	if ep.Heads, err = parseHeads(m.Heads); err != nil {
		c.offend(fmt.Sprintf("malformed collab-epoch for note %s: heads: %v", id, err))
		return false
	}
	dp := c.doc(id)
	if dp == nil || !dp.isActive() {
		c.e.log.Info("refused an epoch announcement: the peer does not sync this note with us", "peer", c.pid, "note", id)
		return true
	}
	dp.fmu.Lock()
	conflict := dp.epochConflict
	dp.fmu.Unlock()
	if conflict {
		// One refused announcement is enough: checking another costs a
		// look through the whole history again.
		c.e.log.Debug("dropping an epoch announcement from a peer whose cut was refused", "peer", c.pid, "note", id)
		return true
	}
	c.followEpoch(dp, ep)
	return true
}

// followEpoch moves our copy into epoch ep a peer announced, if it is the
// next one; it adopts it if the copy holds nothing yet, asks for the epoch
// before if the copy lacks some of its heads, and refuses it (and syncs
// the note no more on this stream) if its root is not what its heads give.
func (c *conn) followEpoch(dp *docPeer, ep crdt.Epoch) {
	e, ns := c.e, dp.ns
	ours := ns.note.EpochNumber()
	if ep.Number <= ours {
		have, err := ns.note.EpochAt(ep.Number)
		if err == nil && have.Root != ep.Root {
			c.epochConflict(dp, ep, fmt.Sprintf("this copy's epoch %d began with %s", ep.Number, have.Root))
		}
		return
	}
	heads, err := ns.note.Heads()
	if err != nil {
		e.log.Warn("cannot follow a new epoch", "peer", c.pid, "note", ns.id, "epoch", ep.Number, "err", err)
		return
	}
	if len(heads) == 0 {
		// Just joined: the epochs before were never here.
		if err := ns.note.AdoptEpoch(ep); err != nil {
			e.log.Warn("cannot adopt the note's epoch", "peer", c.pid, "note", ns.id, "epoch", ep.Number, "err", err)
			return
		}
		e.log.Info("joined the note in a later epoch", "peer", c.pid, "note", ns.id, "epoch", ep.Number)
		e.epochMoved(ns)
		return
	}
	if ep.Number > ours+1 {
		e.log.Debug("an epoch beyond the next: waiting for the ones before", "peer", c.pid, "note", ns.id, "epoch", ep.Number, "ours", ours)
		return
	}
	covered := true
	for _, h := range ep.Heads {
		covered = covered && ns.note.HasChange(h)
	}
	if !covered {
		// Known without the look through the history.
		c.askForEpochBefore(dp, ep, heads, ours)
		return
	}
	// The cut reads the note's whole history (seconds for a long one):
	// off the stream's reader, so the stream's other notes go on.
	e.spawn(func(context.Context) { c.followCovered(dp, ep, heads, ours) })
}

// followCovered cuts our copy where epoch ep began, the copy holding its
// heads; one cut of a note runs at a time.
func (c *conn) followCovered(dp *docPeer, ep crdt.Epoch, heads []crdt.ChangeHash, ours uint64) {
	e, ns := c.e, dp.ns
	ns.followMu.Lock()
	defer ns.followMu.Unlock()
	if now := ns.note.EpochNumber(); now != ours {
		// Followed (or cut here) meanwhile: the same epoch, or a conflict.
		if now >= ep.Number {
			if have, err := ns.note.EpochAt(ep.Number); err == nil && have.Root != ep.Root {
				c.epochConflict(dp, ep, fmt.Sprintf("this copy's epoch %d began with %s", ep.Number, have.Root))
			}
		}
		return
	}
	err := ns.note.FollowEpoch(ep)
	switch {
	case errors.Is(err, crdt.ErrNotCovered):
		c.askForEpochBefore(dp, ep, heads, ours)
	case errors.Is(err, crdt.ErrEpochMismatch):
		c.epochConflict(dp, ep, err.Error())
	case err != nil:
		e.log.Warn("cannot follow a new epoch", "peer", c.pid, "note", ns.id, "epoch", ep.Number, "err", err)
	default:
		e.log.Info("followed a new epoch of the note", "peer", c.pid, "note", ns.id, "epoch", ep.Number)
		e.epochMoved(ns)
	}
}

// askForEpochBefore asks the peer, once while asked, for the epoch we are
// in, some of whose heads ep began at never reached us; onDoc comes back
// to follow ep once it has arrived (followPending).
func (c *conn) askForEpochBefore(dp *docPeer, ep crdt.Epoch, heads []crdt.ChangeHash, ours uint64) {
	e, ns := c.e, dp.ns
	dp.fmu.Lock()
	asked := dp.pendingEpoch != nil && dp.pendingEpoch.Number == ep.Number
	dp.pendingEpoch = &ep
	dp.fmu.Unlock()
	if asked {
		return
	}
	c.send(&wire.Request{SenderID: e.self, TargetID: c.remoteSender, DocumentID: ns.id.String(), Data: headsOnlySync(heads), Epoch: ours})
	e.log.Info("asked for the rest of an epoch before following the next", "peer", c.pid, "note", ns.id, "epoch", ours)
}

// followPending follows, once the epoch before arrived whole, an epoch the
// peer announced that we could not cut at yet.
func (c *conn) followPending(dp *docPeer) {
	dp.fmu.Lock()
	ep := dp.pendingEpoch
	dp.pendingEpoch = nil
	dp.fmu.Unlock()
	if ep != nil {
		c.followEpoch(dp, *ep)
	}
}

// epochConflict refuses an announcement whose epoch is not ours: forged,
// or a cut made elsewhere at the same time as ours. The note is no longer
// synced on this stream (its changes would merge two documents); nothing
// of our copy changes.
func (c *conn) epochConflict(dp *docPeer, ep crdt.Epoch, why string) {
	dp.fmu.Lock()
	dp.epochConflict = true
	dp.fmu.Unlock()
	c.e.log.Warn("refused an epoch announcement: the note is no longer synced with this peer", "peer", c.pid, "note", dp.ns.id, "epoch", ep.Number, "reason", why)
	// Shown where divergences are (collab peers, the status bar) for as
	// long as it lasts.
	dp.ns.diverge(c.peerKey, fmt.Sprintf("they cut this note's history where this copy cannot follow (epoch %d), so it no longer syncs with them; nothing of either copy is lost", ep.Number))
	c.e.noteStatusChanged(dp.ns)
}

// epochMoved brings the engine's state of a note into the epoch its
// document is now in (followed, adopted, or begun here or by another
// process): sync states start afresh, every peer learns the epoch and our
// heads, and a round runs with each.
func (e *Engine) epochMoved(ns *noteState) {
	now := ns.note.EpochNumber()
	for {
		old := ns.epoch.Load()
		if old >= now {
			return
		}
		if ns.epoch.CompareAndSwap(old, now) {
			break
		}
	}
	ep, epErr := ns.note.EpochAt(now)
	for _, dp := range ns.allPeers() {
		dp.syncMu.Lock()
		dp.state = ns.note.NewSyncState()
		dp.unsaved = true
		dp.syncMu.Unlock()
		dp.fmu.Lock()
		dp.caughtUp, dp.knowHeads, dp.theirHeads, dp.sentHeads = false, false, nil, ""
		dp.missing, dp.gotDoc = nil, false
		active := dp.active
		dp.fmu.Unlock()
		if !active {
			continue
		}
		if dp.c.epochExt && epErr == nil {
			dp.c.send(epochMessage(dp.c, ns.id, ep))
		}
		dp.scheduleHeads()
		dp.markDirty(false)
	}
	e.log.Info("the note is in a new epoch", "note", ns.id, "epoch", now)
	e.noteStatusChanged(ns)
	ns.signal()
}
