package engine

import (
	"errors"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/sync/wire"
)

// docPeer is one note synced with one peer over one stream: the automerge
// sync state and what we know of the peer's copy.
type docPeer struct {
	c  *conn
	ns *noteState

	// syncMu serialises every use of state (receive, generate, save) so
	// messages go out in the order automerge made them.
	syncMu   sync.Mutex
	state    *crdt.SyncState
	failures int
	unsaved  bool

	fmu       sync.Mutex
	active    bool // the peer asked for the note, or we did: messages flow
	received  bool // a sync message from the peer arrived on this stream
	caughtUp  bool // a sync round ended with equal heads: pushes may go
	dirty     bool // a sync round is due
	throttled bool // dirty because of a local change (JS: ≤ 1 round per 100 ms)
	gotDoc    bool // a collab-doc arrived: answer the heads that follow even if automerge would not
	// Pushed changes whose dependencies had not arrived: usually they come
	// by another path within milliseconds; if not, a sync round fetches them.
	missing  []missingChange
	nextSync time.Time

	// What the peer last said its heads are (in its sync messages and its
	// collab-heads): the two copies are equal exactly when these are our
	// heads.
	theirHeads []crdt.ChangeHash
	knowHeads  bool
	// Our heads are due to the peer (collab-heads, at most every
	// headsEvery); differing heads that stay different lead to a round.
	headsDue    bool
	nextHeads   time.Time
	sentHeads   string
	differSince time.Time
	// differFrom is when the stated heads began to differ from ours (zero
	// while equal); restartedAt is when a silent round last started the
	// sync state over (stuck).
	differFrom, restartedAt time.Time
	// recheck is how long differing heads wait for the next round: it
	// doubles from divergedFor up to maxRecheck while they keep differing.
	recheck time.Duration
	// At connect a collab peer's note is compared by heads before any
	// round (which would load the document); headsWait is when a round
	// runs anyway if the peer has not stated its heads.
	headsWait time.Time

	// Epochs (epochs.go): the peer's copy is of an epoch that is not ours
	// and never will be (its announcement was refused); the epochs this
	// stream was told of, by the peer's epoch; the epochs whose archive it
	// was sent; an announced epoch we follow once the epoch before
	// arrived whole.
	epochConflict bool
	// theirEpoch is the epoch the peer's last note message named
	// (knowEpoch: one came). While it differs from ours no sync message
	// goes to the peer: it would not be applied, yet our sync state would
	// count what it carried as sent.
	theirEpoch   uint64
	knowEpoch    bool
	announced    map[uint64]bool // by the peer's epoch<<1 | joining
	archived     map[uint64]bool
	pendingEpoch *crdt.Epoch
}

// attach returns the stream's state for note ns, making it (with the sync
// state kept from earlier connections) if needed; nil if the stream closed.
func (c *conn) attach(ns *noteState) *docPeer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.isClosed() {
		return nil
	}
	if dp := c.docs[ns.id]; dp != nil {
		return dp
	}
	dp := &docPeer{c: c, ns: ns}
	if c.ephemeral {
		dp.state = ns.note.NewSyncState()
	} else {
		dp.state = ns.note.SyncState(c.peerKey)
	}
	c.docs[ns.id] = dp
	ns.mu.Lock()
	ns.dps[c] = dp
	ns.mu.Unlock()
	return dp
}

// activate marks the note as exchanged with this peer and reports whether
// it was not yet.
func (dp *docPeer) activate() bool {
	dp.fmu.Lock()
	first := !dp.active
	dp.active = true
	dp.fmu.Unlock()
	if first {
		dp.ns.updateLive()
		e := dp.c.e
		e.emit(Event{Kind: PeersChanged, Note: dp.ns.id, Peer: dp.c.peerKey})
		e.noteStatusChanged(dp.ns)
		// A new peer of the note hears our presence at once (where we do
		// not have the note open, the presence loop introduces us once
		// per stream instead).
		if dp.ns.pres.hasLocal() {
			e.sendPresence(dp.ns, []*docPeer{dp}, "snapshot")
		}
	}
	return first
}

// isActive and isCaughtUp are locked getters, alike as all such are.
func (dp *docPeer) isActive() bool {
	dp.fmu.Lock()
	defer dp.fmu.Unlock()
	return dp.active
}

func (dp *docPeer) isCaughtUp() bool {
	dp.fmu.Lock()
	defer dp.fmu.Unlock()
	return dp.caughtUp
}

// isInSync reports whether the peer is known to hold exactly what we
// hold: its last stated heads are ours.
func (dp *docPeer) isInSync() bool {
	ours := dp.ns.note.LastHeads()
	dp.fmu.Lock()
	defer dp.fmu.Unlock()
	return dp.knowHeads && crdt.SameHeads(dp.theirHeads, ours)
}

// setTheirHeads records the heads the peer stated and reports whether the
// copies' standing (equal or not) changed. It schedules ours in answer, and
// settles a connect-time wait for them (headsWait): equal copies are caught
// up, differing ones get a round now.
func (dp *docPeer) setTheirHeads(hs []crdt.ChangeHash) bool {
	before := dp.isInSync()
	dp.fmu.Lock()
	dp.theirHeads, dp.knowHeads = hs, true
	waiting := !dp.headsWait.IsZero()
	dp.headsWait = time.Time{}
	dp.fmu.Unlock()
	inSync := dp.isInSync()
	if inSync {
		dp.ns.converged(dp.c.peerKey)
	}
	// A peer that states its heads learns ours in turn (once per change
	// of ours): a peer that attached the note at connect waits for them.
	dp.scheduleHeads()
	if waiting {
		if inSync {
			// Equal copies, as a round would have found: pushes may go.
			dp.fmu.Lock()
			dp.caughtUp = true
			dp.fmu.Unlock()
		} else {
			dp.markDirty(false)
		}
	}
	return inSync != before
}

// scheduleHeads asks the stream's syncer to tell the peer our heads.
func (dp *docPeer) scheduleHeads() {
	if !dp.c.headsExt {
		return
	}
	dp.fmu.Lock()
	dp.headsDue = true
	dp.fmu.Unlock()
	select {
	case dp.c.kick <- struct{}{}:
	default:
	}
}

// markDirty asks the stream's syncer for a sync round; throttled rounds
// (local changes for a JS peer) run at most every 100 ms.
func (dp *docPeer) markDirty(throttled bool) {
	dp.fmu.Lock()
	dp.dirty = true
	dp.throttled = dp.throttled || throttled
	dp.fmu.Unlock()
	select {
	case dp.c.kick <- struct{}{}:
	default:
	}
}

// saveState keeps the sync state for the next connection.
func (dp *docPeer) saveState() {
	dp.syncMu.Lock()
	defer dp.syncMu.Unlock()
	if !dp.unsaved || dp.c.ephemeral {
		return
	}
	if err := dp.ns.note.SaveSyncState(dp.c.peerKey, dp.state); err != nil {
		dp.c.e.log.Warn("cannot save sync state", "peer", dp.c.pid, "note", dp.ns.id, "err", err)
		return
	}
	dp.unsaved = false
}

// heardFrom reports whether the peer has said anything of the note on
// this stream (so it syncs the note with us and takes presence for it).
func (dp *docPeer) heardFrom() bool {
	dp.fmu.Lock()
	defer dp.fmu.Unlock()
	return dp.received || dp.knowHeads || dp.caughtUp
}

// sharesNote reports whether pid is a known peer of note id (it named the
// note to us before, or we to it: it holds the capability).
func (e *Engine) sharesNote(pid peer.ID, id crdt.DocumentID) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.targets[pid]
	return t != nil && t.notes[id]
}

// attachKnownNotes starts syncing, with a peer that just connected, every
// note it is a known peer of.
func (e *Engine) attachKnownNotes(c *conn) {
	e.mu.Lock()
	var ids []crdt.DocumentID
	if t := e.targets[c.pid]; t != nil {
		for id := range t.notes {
			ids = append(ids, id)
		}
	}
	e.mu.Unlock()
	var listed []wire.DocHeads
	for _, id := range ids {
		dp := c.attachShared(id)
		if dp == nil {
			continue
		}
		if !c.headsExt && !c.headsListExt {
			dp.markDirty(false)
			continue
		}
		// Heads first: a note both copies hold alike needs no round, so
		// reconnecting loads only the notes that differ.
		dp.awaitHeads()
		if c.headsListExt {
			// Our heads of every note go in a few lists instead of a
			// message each: ~50 bytes a note on the wire.
			if d, ok := dp.listHeads(); ok {
				listed = append(listed, d)
				continue
			}
		}
		dp.scheduleHeads() // alone (if not sent already)
	}
	c.sendHeadsLists(listed)
}

// sendHeadsLists sends docs in as few collab-heads-list messages as the
// bounds allow.
func (c *conn) sendHeadsLists(docs []wire.DocHeads) {
	for len(docs) > 0 {
		n := min(len(docs), wire.MaxHeadsListDocs)
		data, err := wire.EncodeHeadsList(docs[:n])
		if err != nil { // cannot happen: listHeads keeps to the bounds
			c.e.log.Error("cannot list heads", "peer", c.pid, "err", err)
			return
		}
		c.send(&wire.CollabHeadsList{SenderID: c.e.self, TargetID: c.remoteSender, Data: data})
		docs = docs[n:]
	}
}

// awaitHeads starts the connect-time wait for the peer's heads, unless
// they came first: a round runs if they do not come within divergedFor.
func (dp *docPeer) awaitHeads() {
	dp.fmu.Lock()
	defer dp.fmu.Unlock()
	if !dp.knowHeads {
		dp.headsWait = time.Now().Add(divergedFor)
	}
}

// listHeads readies our heads of the note for a collab-heads-list, as
// headsStep would send them alone. It reports false when they were sent
// already (the peer's came first and were answered) or do not fit a list
// (then they go alone).
func (dp *docPeer) listHeads() (wire.DocHeads, bool) {
	ours := dp.ns.note.LastHeads()
	dp.fmu.Lock()
	defer dp.fmu.Unlock()
	key := headsKey(ours)
	if key == dp.sentHeads || len(ours) > wire.MaxHeadsPerDoc || dp.ns.epochTag(dp.c) != 0 {
		// A list has no epoch: heads of a cut note go alone.
		return wire.DocHeads{}, false
	}
	dp.sentHeads = key
	dp.nextHeads = time.Now().Add(headsEvery)
	d := wire.DocHeads{Document: dp.ns.id, Heads: make([][32]byte, len(ours))}
	for i, h := range ours {
		d.Heads[i] = h
	}
	return d, true
}

// attachShared opens a note the peer is a known peer of and starts
// syncing it on this stream; nil if the note cannot be opened or the
// stream closed.
func (c *conn) attachShared(id crdt.DocumentID) *docPeer {
	ns, err := c.e.openNote(id)
	if err != nil {
		if !errors.Is(err, ErrNotRunning) {
			c.e.log.Warn("cannot open a note to sync it", "note", id, "err", err)
		}
		return nil
	}
	dp := c.attach(ns)
	if dp != nil {
		dp.activate()
	}
	return dp
}

// restartEvery bounds how often a silent round between differing copies
// starts the sync state over: each costs a message with a bloom filter of
// the whole history.
const restartEvery = 5 * time.Second

// stuck reports, with dp.syncMu held, whether the peer's stated heads have
// differed from ours for a while (2×divergedFor: pushes and ordinary
// rounds close a gap sooner) although the round had nothing to send,
// and no restart happened lately; if so it counts as a restart.
func (dp *docPeer) stuck(now time.Time) bool {
	ours := dp.ns.note.LastHeads()
	dp.fmu.Lock()
	defer dp.fmu.Unlock()
	if !dp.knowHeads || crdt.SameHeads(dp.theirHeads, ours) || dp.differFrom.IsZero() ||
		now.Sub(dp.differFrom) < 2*divergedFor || now.Sub(dp.restartedAt) < restartEvery {
		return false
	}
	dp.restartedAt = now
	return true
}
