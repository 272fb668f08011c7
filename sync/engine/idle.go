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
		if ns.held.Load() || ns.idleFor(now) < e.cfg.IdleAfter {
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
