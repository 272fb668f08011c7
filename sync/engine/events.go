package engine

import (
	"context"
	"fmt"

	"github.com/collab-editor/collab/crdt"
)

// EventKind says what an Event is about.
type EventKind int

const (
	PresenceChanged EventKind = iota + 1
	PeersChanged
	InvitationReceived
	StatusChanged
	// JoinsChanged: a pending join was added, tried, completed (the note
	// is in the notebook now) or cancelled.
	JoinsChanged
)

// Like every enum's String here: one case per constant, nothing to share.
func (k EventKind) String() string {
	switch k {
	case PresenceChanged:
		return "presence changed"
	case PeersChanged:
		return "peers changed"
	case InvitationReceived:
		return "invitation received"
	case StatusChanged:
		return "status changed"
	case JoinsChanged:
		return "pending joins changed"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event tells a subscriber that something changed; query the engine for the
// details. Note is zero for events not about one note.
type Event struct {
	Kind EventKind
	Note crdt.DocumentID
	Peer string // the peer concerned, if one
}

// Subscribe calls fn for every event until cancel is called. fn runs on the
// engine's event goroutine, one event at a time; it must not block for long
// (events that find the queue full are dropped: they are hints to re-query).
func (e *Engine) Subscribe(fn func(Event)) (cancel func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := e.nextSub
	e.nextSub++
	e.subs[id] = fn
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		delete(e.subs, id)
	}
}

func (e *Engine) emit(ev Event) {
	select {
	case e.events <- ev:
	default:
	}
}

func (e *Engine) deliverEvents(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-e.events:
			e.mu.Lock()
			fns := make([]func(Event), 0, len(e.subs))
			for _, fn := range e.subs {
				fns = append(fns, fn)
			}
			e.mu.Unlock()
			for _, fn := range fns {
				fn(ev)
			}
		}
	}
}
