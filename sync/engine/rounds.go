package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/sync/wire"
)

// syncer runs the sync rounds of one stream that are not replies: at
// connect (for the notes this peer is known to share), when marked dirty,
// and every SyncInterval; it saves sync states as it goes.
func (c *conn) syncer() {
	defer c.wg.Done()
	e := c.e
	e.attachKnownNotes(c)
	ticker := time.NewTicker(e.cfg.SyncInterval)
	defer ticker.Stop()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-c.closed:
			return
		case <-c.drain:
			return
		case <-c.kick:
		case <-timer.C:
		case <-ticker.C:
			for _, dp := range c.docList() {
				// A collab peer whose stated heads are ours needs no
				// round: the heads it states tell us when that changes,
				// and an idle note's document stays unloaded (idle.go).
				if dp.isActive() {
					dp.saveState()
					if !dp.isInSync() {
						dp.fmu.Lock()
						dp.dirty = true
						dp.fmu.Unlock()
					}
				}
			}
		}
		wait := c.runDirty()
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		if wait > 0 {
			timer.Reset(wait)
		}
	}
}

// runDirty runs due rounds and returns how long until a throttled one is
// due (0: none waiting).
func (c *conn) runDirty() time.Duration {
	var wait time.Duration
	now := time.Now()
	for _, dp := range c.docList() {
		dp.fmu.Lock()
		if len(dp.missing) > 0 && !now.Before(dp.missing[0].at) {
			// Changes queued at least missingGrace ago: still not applied?
			var due []crdt.ChangeHash
			for len(dp.missing) > 0 && !now.Before(dp.missing[0].at) {
				due = append(due, dp.missing[0].hash)
				dp.missing = dp.missing[1:]
			}
			dp.fmu.Unlock()
			for _, h := range due {
				if !dp.ns.note.HasChange(h) {
					c.e.log.Debug("pushed change still lacks dependencies: syncing", "peer", c.pid, "note", dp.ns.id, "change", h.String()[:12])
					dp.fmu.Lock()
					dp.dirty = true
					dp.fmu.Unlock()
					break
				}
			}
			dp.fmu.Lock()
		}
		if len(dp.missing) > 0 {
			if w := dp.missing[0].at.Sub(now); wait == 0 || w < wait {
				wait = w
			}
		}
		if wait2 := c.headsStep(dp, now); wait2 > 0 && (wait == 0 || wait2 < wait) {
			wait = wait2
		}
		due := dp.dirty && dp.active && (!dp.throttled || !now.Before(dp.nextSync))
		if dp.dirty && !due && dp.active {
			if w := dp.nextSync.Sub(now); wait == 0 || w < wait {
				wait = w
			}
		}
		if due {
			dp.dirty = false
			if dp.throttled {
				dp.throttled = false
				dp.nextSync = now.Add(jsSyncThrottle)
			}
		}
		dp.fmu.Unlock()
		if !due {
			continue
		}
		dp.syncMu.Lock()
		if !c.generate(dp) && dp.stuck(now) {
			// Heads differ and automerge has nothing to say: its sync
			// state believes a refused change arrived (a divergence on
			// either side). A fresh one offers everything we hold by
			// bloom filter, so each side learns what the other lacks.
			c.e.log.Debug("heads differ and the round is silent: starting over", "peer", c.pid, "note", dp.ns.id)
			dp.state = dp.ns.note.NewSyncState()
			c.generate(dp)
		}
		dp.syncMu.Unlock()
		if c.isClosed() {
			return 0
		}
	}
	return wait
}

// generate sends the next automerge sync message for dp, if automerge has
// one, and reports whether it did. The caller holds dp.syncMu.
func (c *conn) generate(dp *docPeer) bool {
	ns := dp.ns
	if dp.inOtherEpoch() {
		return false
	}
	ns.touch()
	msg, epoch, ok, err := ns.note.GenerateSyncIn(dp.state)
	if err != nil {
		c.e.log.Error("cannot make a sync message", "peer", c.pid, "note", ns.id, "err", err)
		return false
	}
	if !ok {
		return false
	}
	dp.unsaved = true
	dp.fmu.Lock()
	asking := !dp.received && !ns.hasBody()
	dp.fmu.Unlock()
	if asking {
		c.send(&wire.Request{SenderID: c.e.self, TargetID: c.remoteSender, DocumentID: ns.id.String(), Data: msg, Epoch: tagIn(c, epoch)})
	} else {
		c.send(&wire.Sync{SenderID: c.e.self, TargetID: c.remoteSender, DocumentID: ns.id.String(), Data: msg, Epoch: tagIn(c, epoch)})
	}
	c.e.log.Debug("sync sent", "peer", c.pid, "note", ns.id, "bytes", len(msg), "request", asking)
	return true
}

// onSync handles request and sync: the peer asks for (or syncs) note id.
func (c *conn) onSync(id crdt.DocumentID, data []byte, isRequest bool, epoch uint64) bool {
	e := c.e
	ns, err := e.openNote(id)
	if err != nil {
		switch {
		case errors.Is(err, notebook.ErrNotFound):
			if isRequest {
				e.log.Info("refused request: no such note here", "peer", c.pid, "note", id)
				c.send(&wire.DocUnavailable{SenderID: e.self, TargetID: c.remoteSender, DocumentID: id.String()})
			} else {
				e.addInvitation(c, id, data, epoch)
			}
			return true
		case errors.Is(err, ErrNotRunning):
			return false
		default:
			e.log.Error("cannot open note a peer asked for", "peer", c.pid, "note", id, "err", err)
			if isRequest {
				c.send(&wire.DocUnavailable{SenderID: e.self, TargetID: c.remoteSender, DocumentID: id.String()})
			}
			return true
		}
	}
	dp := c.attach(ns)
	if dp == nil {
		return false
	}
	if dp.activate() {
		e.log.Info("peer opened note", "peer", c.pid, "note", id)
		e.rememberPeer(ns, c.pid, false)
	}
	if stated, ok := parseSyncHeads(data); !c.admitEpoch(dp, epoch, isRequest, stated, ok) {
		return true
	}
	ns.touch()
	dp.syncMu.Lock()
	defer dp.syncMu.Unlock()
	if isRequest && c.wantsWholeNote(data) && c.sendWholeNote(dp) {
		// The request said only that the peer has nothing: the sync state
		// it would have updated is replaced by one sharing the document's
		// heads, so our copy need not load to take it.
		dp.unsaved = true
		dp.fmu.Lock()
		dp.received = true
		dp.fmu.Unlock()
		e.noteStatusChanged(ns)
		return true
	}
	if err := ns.note.ReceiveSyncIn(appliesIn(c, epoch), c.peerKey, dp.state, data); err != nil {
		if errors.Is(err, notebook.ErrOtherEpoch) {
			return true // the note moved on meanwhile: nothing was applied
		}
		dp.state = ns.note.NewSyncState()
		if c.refusedChange(ns, err) {
			// Not a malformed message: the copies diverged (and perhaps
			// we just recovered). The stream stays; heads tell the rest.
			return true
		}
		dp.failures++
		e.log.Warn("rejected a sync message", "peer", c.pid, "note", id, "err", err, "failures", dp.failures)
		if c.badInput(id, "a sync message", err) {
			return false
		}
		if dp.failures >= maxSyncFailures {
			c.refuse(fmt.Sprintf("%d sync messages in a row for note %s could not be applied", dp.failures, id))
			return false
		}
		return true
	}
	dp.failures = 0
	dp.unsaved = true
	dp.fmu.Lock()
	dp.received = true
	dp.fmu.Unlock()
	if nc, nn, err := crdt.SyncMessageNews(data); err == nil {
		e.log.Debug("sync received", "peer", c.pid, "note", id, "bytes", len(data), "changes", nc, "needs", nn)
	}
	theirs, okTheirs := parseSyncHeads(data)
	if okTheirs && dp.setTheirHeads(theirs) {
		e.noteStatusChanged(ns)
	}
	if isRequest && okTheirs && len(theirs) == 0 && c.sendWholeNote(dp) {
		return true
	}
	sent := false
	if !c.pushesCover(dp, data, theirs, okTheirs) {
		sent = c.generate(dp)
	}
	dp.fmu.Lock()
	gotDoc := dp.gotDoc
	dp.gotDoc = false
	dp.fmu.Unlock()
	if gotDoc && !sent {
		// After a collab-doc automerge sees nothing to say, but the peer's
		// sync state must learn our heads too.
		if _, err := ns.note.Flush(); err == nil {
			if heads, ok := ns.note.CommittedHeads(); ok {
				c.send(&wire.Sync{SenderID: e.self, TargetID: c.remoteSender, DocumentID: id.String(), Data: headsOnlySync(heads), Epoch: ns.epochTag(c)})
			}
		}
	}
	ours, okOurs := ns.note.CommittedHeads()
	same := okTheirs && okOurs && crdt.SameHeads(theirs, ours)
	if !sent || same {
		dp.fmu.Lock()
		was := dp.caughtUp
		dp.caughtUp = true
		dp.fmu.Unlock()
		switch {
		case was:
		case same:
			e.log.Info("in sync", "peer", c.pid, "note", id)
		default:
			e.log.Info("caught up (heads still differ)", "peer", c.pid, "note", id)
		}
	}
	e.noteStatusChanged(ns)
	ns.signal()
	return true
}

// wantsWholeNote reports whether a request says only that the peer has
// nothing of the note: it states no heads, and brings and asks for nothing
// (a malformed one does not: the ordinary path refuses it). Whether the
// peer takes a whole note is sendWholeNote's to decide.
func (c *conn) wantsWholeNote(data []byte) bool {
	if theirs, ok := parseSyncHeads(data); !ok || len(theirs) > 0 {
		return false
	}
	changes, needs, err := crdt.SyncMessageNews(data)
	return err == nil && changes == 0 && needs == 0
}

// sendWholeNote answers a collab peer that has nothing of the note with
// the whole note, as a saved document: a fraction of the size of every
// change in a sync message. The peer answers with its new heads and the
// sync round goes on. false: not a collab-doc peer, no body yet, or the
// note cannot be saved (then it syncs change by change).
func (c *conn) sendWholeNote(dp *docPeer) bool {
	e, ns, id := c.e, dp.ns, dp.ns.id
	if !c.docExt || !ns.hasBody() {
		return false
	}
	doc, heads, docEpoch, err := ns.note.SnapshotIn()
	if err != nil {
		e.log.Warn("cannot send the whole note; syncing change by change", "peer", c.pid, "note", id, "err", err)
		return false
	}
	c.send(&wire.CollabDoc{SenderID: e.self, TargetID: c.remoteSender, DocumentID: id.String(), Data: doc, Epoch: tagIn(c, docEpoch)})
	// Then a sync message with just our heads, so the peer's sync state
	// learns what it now shares with us.
	c.send(&wire.Sync{SenderID: e.self, TargetID: c.remoteSender, DocumentID: id.String(), Data: headsOnlySync(heads), Epoch: tagIn(c, docEpoch)})
	e.log.Info("sent the whole note", "peer", c.pid, "note", id, "bytes", len(doc))
	// The peer holds our heads once it has applied the document (if it
	// cannot, it closes the stream). Until its next message says so, a
	// round must not take it for empty: a fresh sync state would send
	// every change again (33 MB for the paper note at one change per
	// keystroke, where the document is 144 KB).
	c.shareHeads(dp, heads)
	// The stream is ordered: whatever we push next arrives after the
	// document it depends on.
	dp.fmu.Lock()
	dp.caughtUp = true
	dp.fmu.Unlock()
	return true
}

// pushesCover reports whether a sync message needs no answer: it is from a
// collab peer our pushes reach, it brought no changes, asks for none, and
// names only changes we hold. An answer would carry the changes just
// pushed; the peer would answer that, and while anyone types the round
// would never end, each message costing the core a look through the
// history (the paper note at one change per keystroke: ~60 ms per change
// on screen instead of ~3). If a push went missing, the heads the peer
// states show it and a round runs then (headsStep).
func (c *conn) pushesCover(dp *docPeer, msg []byte, theirs []crdt.ChangeHash, okTheirs bool) bool {
	if !c.collab || !okTheirs || !dp.isCaughtUp() {
		return false
	}
	changes, needs, err := crdt.SyncMessageNews(msg)
	if err != nil || changes > 0 || needs > 0 {
		return false
	}
	for _, h := range theirs {
		if !dp.ns.note.HasChange(h) {
			return false
		}
	}
	return true
}

// onDoc applies a whole document a collab peer sent for a note we asked
// it for, then tells it our heads.
func (c *conn) onDoc(id crdt.DocumentID, data []byte, epoch uint64) bool {
	dp := c.doc(id)
	if dp == nil || !dp.isActive() {
		c.e.log.Debug("dropping a document for a note we did not ask for", "peer", c.pid, "note", id)
		return true
	}
	if !crdt.IsDocument(data) {
		c.offend(fmt.Sprintf("malformed collab-doc for note %s: not an automerge document", id))
		return false
	}
	if !c.admitEpoch(dp, epoch, false, nil, false) {
		return true
	}
	// Under syncMu, so that no round (one the arrival itself starts, say)
	// uses the old sync state in between: see below.
	dp.syncMu.Lock()
	if err := dp.ns.note.ApplyRemoteIn(appliesIn(c, epoch), c.peerKey, data); err != nil {
		dp.syncMu.Unlock()
		if errors.Is(err, notebook.ErrOtherEpoch) {
			return true // the note moved on meanwhile: nothing was applied
		}
		reason := fmt.Sprintf("collab-doc for note %s could not be applied: %v", id, err)
		if crdt.IsBadInput(err) {
			c.offend(reason)
		} else {
			c.refuse(reason)
		}
		return false
	}
	// Our copy is now the peer's as of the document (checked: the heads it
	// states are the heads we have now), so our next sync message offers
	// nothing the peer sent us. A fresh state's would offer the whole
	// history, and the peer would take us for empty and send it all.
	if stated, err := crdt.DocumentHeads(data); err == nil {
		if ours, ok := dp.ns.note.CommittedHeads(); ok && crdt.SameHeads(stated, ours) {
			c.shareHeads(dp, ours)
		}
	}
	dp.syncMu.Unlock()
	c.e.log.Info("received the whole note", "peer", c.pid, "note", id, "bytes", len(data))
	// We now have everything the peer had when it sent this; its heads
	// follow in a sync message, which we answer.
	dp.fmu.Lock()
	dp.caughtUp = true
	dp.gotDoc = true
	dp.fmu.Unlock()
	// A join waiting for the note has it now: it need not wait for the
	// heads that follow (answering them may load the document in the core).
	c.e.noteStatusChanged(dp.ns)
	dp.ns.signal()
	// An epoch this copy could not cut at yet lacked what this brought.
	c.followPending(dp)
	return true
}

// shareHeads, with dp.syncMu held, records that the peer holds exactly
// heads of the note: the sync state starts from them, and they are its
// stated heads.
func (c *conn) shareHeads(dp *docPeer, heads []crdt.ChangeHash) {
	if s, err := dp.ns.note.SyncStateSharing(heads); err == nil {
		dp.state = s
	} else {
		c.e.log.Warn("cannot start a sync state from shared heads", "peer", c.pid, "note", dp.ns.id, "err", err)
	}
	dp.setTheirHeads(heads)
}

// headsOnlySync encodes a version-1 automerge sync message that states
// heads and nothing else (no needs, no bloom filter, no changes).
func headsOnlySync(heads []crdt.ChangeHash) []byte {
	b := []byte{0x42}
	b = binary.AppendUvarint(b, uint64(len(heads)))
	for _, h := range heads {
		b = append(b, h[:]...)
	}
	return append(b, 0, 0, 0) // need, have, changes: none
}

// parseSyncHeads reads the sender's heads from a version-1 automerge sync
// message (0x42, then a ULEB128 count of 32-byte hashes).
func parseSyncHeads(msg []byte) ([]crdt.ChangeHash, bool) {
	if len(msg) < 2 || msg[0] != 0x42 {
		return nil, false
	}
	n, k := binary.Uvarint(msg[1:])
	if k <= 0 || n > uint64(len(msg)-1-k)/32 {
		return nil, false
	}
	out := make([]crdt.ChangeHash, n)
	p := 1 + k
	for i := range out {
		copy(out[i][:], msg[p:p+32])
		p += 32
	}
	return out, true
}

// onHeadsList records the heads a collab peer stated for many notes at
// once (collab-heads-list, sent at connect).
func (c *conn) onHeadsList(data []byte) bool {
	docs, err := wire.DecodeHeadsList(data)
	if err != nil {
		c.offend(err.Error())
		return false
	}
	// Ours of the same notes go back in a list too (those not sent yet:
	// usually all, when the peer's list came before our connect-time one).
	// Readied before the peer's heads are taken in, which would schedule
	// ours alone.
	var answer []wire.DocHeads
	for _, d := range docs {
		dp := c.sharedDoc(crdt.DocumentID(d.Document))
		if dp == nil || !c.admitEpoch(dp, 0, false, nil, false) {
			continue // a list has no epoch: it is about epoch 0
		}
		if ours, ok := dp.listHeads(); ok {
			answer = append(answer, ours)
		}
		hs := make([]crdt.ChangeHash, len(d.Heads))
		for i, h := range d.Heads {
			hs[i] = crdt.ChangeHash(h)
		}
		c.takeHeads(dp, hs)
	}
	c.sendHeadsLists(answer)
	select {
	case c.kick <- struct{}{}: // the syncer compares them with ours
	default:
	}
	return true
}

// sharedDoc is the note's docPeer on this stream for heads the peer
// stated, attaching the note if the peer shares it and our connect-time
// attach has not reached it yet; nil (the heads are dropped) for a note it
// does not share with us: naming a note we hold is not enough to learn
// anything of it here.
func (c *conn) sharedDoc(id crdt.DocumentID) *docPeer {
	dp := c.doc(id)
	if (dp == nil || !dp.isActive()) && c.e.sharesNote(c.pid, id) {
		dp = c.attachShared(id)
	}
	if dp == nil || !dp.isActive() {
		c.e.log.Debug("dropping heads of a note not synced with this peer", "peer", c.pid, "note", id)
		return nil
	}
	return dp
}

// takeHeads records the heads the peer stated for dp's note.
func (c *conn) takeHeads(dp *docPeer, hs []crdt.ChangeHash) {
	if dp.setTheirHeads(hs) {
		c.e.noteStatusChanged(dp.ns)
	}
}

// headsEvery bounds how often a stream tells a peer our heads of one note.
const headsEvery = 100 * time.Millisecond

// divergedFor is how long stated heads may differ before a sync round
// reconciles them (pushes usually close the gap within milliseconds).
const divergedFor = time.Second

// headsStep, with dp.fmu held, sends our heads when due and starts a sync
// round when the peer's stated heads have differed from ours for a while.
// It returns how long until it wants to run again (0: no need).
func (c *conn) headsStep(dp *docPeer, now time.Time) time.Duration {
	var wait time.Duration
	ours := dp.ns.note.LastHeads()
	if dp.headsDue && dp.active {
		if now.Before(dp.nextHeads) {
			wait = dp.nextHeads.Sub(now)
		} else {
			dp.headsDue = false
			if key := headsKey(ours); key != dp.sentHeads {
				dp.sentHeads = key
				dp.nextHeads = now.Add(headsEvery)
				c.send(&wire.CollabHeads{SenderID: c.e.self, TargetID: c.remoteSender, DocumentID: dp.ns.id.String(), Heads: stringsOf(ours), Epoch: dp.ns.epochTag(c)})
				c.e.log.Debug("heads sent", "peer", c.pid, "note", dp.ns.id, "heads", len(ours))
			}
		}
	}
	if !dp.headsWait.IsZero() {
		if now.Before(dp.headsWait) {
			if w := dp.headsWait.Sub(now); wait == 0 || w < wait {
				wait = w
			}
		} else {
			dp.headsWait = time.Time{}
			dp.dirty = true // the peer did not state its heads: a round finds out
		}
	}
	if dp.knowHeads && dp.active && !crdt.SameHeads(dp.theirHeads, ours) {
		if dp.differFrom.IsZero() {
			dp.differFrom = now
		}
		if dp.recheck == 0 {
			dp.recheck = divergedFor
		}
		switch {
		case dp.differSince.IsZero():
			dp.differSince = now
		case now.Sub(dp.differSince) >= dp.recheck:
			// A round now, and while the heads still differ another one
			// later, less and less often (a divergence can last). The
			// wake-up must be asked for here: a silent round leaves no
			// traffic to wake the syncer, and the next tick may be
			// SyncInterval away (a stall seen under load).
			dp.differSince = now
			dp.recheck = min(2*dp.recheck, maxRecheck)
			dp.dirty = true
		}
		if w := dp.recheck - now.Sub(dp.differSince); wait == 0 || w < wait {
			wait = max(w, time.Millisecond)
		}
	} else {
		dp.differSince, dp.differFrom, dp.recheck = time.Time{}, time.Time{}, 0
	}
	return wait
}

// parseHeads reads hex change hashes a peer stated.
func parseHeads(heads []string) ([]crdt.ChangeHash, error) {
	hs := make([]crdt.ChangeHash, 0, len(heads))
	for _, s := range heads {
		h, err := crdt.ParseChangeHash(s)
		if err != nil {
			return nil, err
		}
		hs = append(hs, h)
	}
	return hs, nil
}

// maxRecheck caps the wait between rounds while stated heads differ.
const maxRecheck = 30 * time.Second

// onHeads records the heads a collab peer stated for a note it shares.
func (c *conn) onHeads(id crdt.DocumentID, heads []string, epoch uint64) bool {
	hs, err := parseHeads(heads)
	if err != nil {
		c.offend(fmt.Sprintf("malformed collab-heads for note %s: %v", id, err))
		return false
	}
	if dp := c.sharedDoc(id); dp != nil && c.admitEpoch(dp, epoch, false, nil, false) {
		c.takeHeads(dp, hs)
	}
	select {
	case c.kick <- struct{}{}: // the syncer compares them with ours
	default:
	}
	return true
}
