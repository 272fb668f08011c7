package engine

import (
	"context"
	"maps"
	"slices"
	"time"
)

// A note the engine keeps open costs little but its document: the worker
// process holding the note's whole history. The engine ends the worker of a
// note nothing has used for IdleAfter (no change made or received, no sync
// round); the note stays open and attached to its peers, and the next
// change or round loads the document again. Notes the UI opened (Open) stay
// loaded: the editor must never wait for a reload.

// touch records that the note was just used.
func (ns *noteState) touch() { ns.lastUsed.Store(time.Now().UnixNano()) }

// idleFor is how long the note has not been used.
func (ns *noteState) idleFor(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, ns.lastUsed.Load()))
}

// idleLoop hibernates idle notes until ctx ends.
func (e *Engine) idleLoop(ctx context.Context) {
	every := max(e.cfg.IdleAfter/4, 10*time.Millisecond)
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		e.hibernateIdle(time.Now())
	}
}

// hibernateIdle ends the workers of notes idle for IdleAfter.
func (e *Engine) hibernateIdle(now time.Time) {
	e.mu.Lock()
	notes := slices.Collect(maps.Values(e.notes))
	e.mu.Unlock()
	for _, ns := range notes {
		if ns.idleFor(now) < e.cfg.IdleAfter {
			continue
		}
		e.cutIfDue(ns)
		if ns.held.Load() {
			// The UI's note stays ready to edit: its worker, if a sync
			// round or a request loaded one, ends, and edits go on in Go.
			if ns.note.Rest() {
				e.log.Debug("note idle in the editor: its document is unloaded, edits go on in Go", "note", ns.id)
			}
			continue
		}
		// A compaction left for a quiet moment runs now, while the
		// document is still loaded.
		if err := ns.note.Tidy(); err != nil {
			e.log.Warn("compacting an idle note failed", "note", ns.id, "err", err)
		}
		if ns.note.Hibernate() {
			e.log.Debug("note idle: its document is unloaded until used", "note", ns.id)
		}
	}
}

// cutIfDue cuts an idle note's history (a new epoch) when its history
// costs far more than its text: at least AutoCut changes in this epoch,
// and more changes than characters (a note committed keystroke by
// keystroke; one edited in bursts under the default commit policy stays
// whole). Only while every connected peer of the note holds exactly our
// heads, so that they follow at once and no other cut can be under way
// from a copy that differs; never for a note shared with a peer that
// cannot follow (notebook.ErrShared).
func (e *Engine) cutIfDue(ns *noteState) {
	if e.cfg.AutoCut < 0 {
		return
	}
	changes, chars, ok := ns.note.HistorySize()
	if !ok || changes < e.cfg.AutoCut || changes <= chars {
		return
	}
	for _, dp := range ns.activePeers() {
		if !dp.isInSync() {
			return
		}
	}
	if err := ns.note.CanCut(); err != nil {
		e.log.Debug("a long history kept whole", "note", ns.id, "changes", changes, "reason", err)
		return
	}
	ep, err := ns.note.StartEpoch()
	if err != nil {
		e.log.Warn("cannot cut a long history", "note", ns.id, "changes", changes, "err", err)
		return
	}
	e.log.Info("cut a long history: the note goes on in a new epoch", "note", ns.id, "epoch", ep.Number, "changes", changes, "chars", chars)
	e.epochMoved(ns)
}
