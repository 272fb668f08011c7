package engine

import (
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/collab-editor/collab/crdt"
)

// A peer whose stream was closed for bad input (malformed messages,
// floods, spoofed senders, bytes that are not automerge or that abort the
// core) is dropped at once. One that does it offencesToRefuse times within
// offenceWindow is refused for a while: its streams are reset and its
// connections closed on arrival, and we do not dial it. Each further
// refusal doubles, up to refuseMax. Collaborators are no exception (a
// member gone bad); what is only too large, newer or outside the note
// schema is not an offence (crdt.IsBadInput), nor is a change the core
// refuses because it collides with another.
const (
	offenceWindow    = 10 * time.Minute
	offencesToRefuse = 3
	refuseFirst      = 10 * time.Minute
	refuseMax        = 6 * time.Hour
	// maxOffenders bounds the table: strangers are free to make up
	// identities, so a full table forgets the offenders whose refusal
	// ends first.
	maxOffenders = 1024
)

type offender struct {
	strikes  []time.Time // within offenceWindow, oldest first
	refusals int         // how many times refused so far
	until    time.Time   // refused until then
	reason   string      // the last offence, for the log and status
}

// offences is the engine's record of peers' bad input.
type offences struct {
	mu sync.Mutex
	m  map[peer.ID]*offender
}

// strike records an offence by pid at now; it returns the end of a
// refusal that this offence starts (zero if none).
func (o *offences) strike(pid peer.ID, reason string, now time.Time) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = map[peer.ID]*offender{}
	}
	f := o.m[pid]
	if f == nil {
		o.makeRoom(now)
		f = &offender{}
		o.m[pid] = f
	}
	f.reason = reason
	kept := f.strikes[:0]
	for _, t := range f.strikes {
		if now.Sub(t) < offenceWindow {
			kept = append(kept, t)
		}
	}
	f.strikes = append(kept, now)
	if len(f.strikes) < offencesToRefuse || now.Before(f.until) {
		return time.Time{}
	}
	f.strikes = f.strikes[:0]
	d := refuseFirst << min(f.refusals, 10)
	f.refusals++
	f.until = now.Add(min(d, refuseMax))
	return f.until
}

// refused reports until when pid is refused, and for what.
func (o *offences) refused(pid peer.ID, now time.Time) (until time.Time, reason string, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	f := o.m[pid]
	if f == nil || !now.Before(f.until) {
		return time.Time{}, "", false
	}
	return f.until, f.reason, true
}

// makeRoom drops offenders nothing is held against any more, then, if the
// table is still full, the one whose refusal ends first. o.mu is held.
func (o *offences) makeRoom(now time.Time) {
	if len(o.m) < maxOffenders {
		return
	}
	var first peer.ID
	var firstUntil time.Time
	for pid, f := range o.m {
		stale := !now.Before(f.until) && (len(f.strikes) == 0 || now.Sub(f.strikes[len(f.strikes)-1]) >= offenceWindow)
		if stale {
			delete(o.m, pid)
			continue
		}
		if first == "" || f.until.Before(firstUntil) {
			first, firstUntil = pid, f.until
		}
	}
	if len(o.m) >= maxOffenders {
		delete(o.m, first)
	}
}

// punish records an offence by pid; when it starts a refusal, the peer's
// connections are closed. It reports whether pid is refused now.
func (e *Engine) punish(pid peer.ID, reason string) bool {
	refused := e.strike(pid, reason)
	if refused {
		e.host.LibP2P().Network().ClosePeer(pid)
	}
	return refused
}

// strike records an offence by pid, logs a refusal it starts, and reports
// whether pid is refused now.
func (e *Engine) strike(pid peer.ID, reason string) bool {
	now := time.Now()
	reason = peerText(reason)
	until := e.offences.strike(pid, reason, now)
	if until.IsZero() {
		_, _, ok := e.offences.refused(pid, now)
		return ok
	}
	e.log.Warn("refusing peer after repeated bad input", "peer", pid, "until", until.Format(time.DateTime), "reason", reason)
	return true
}

// badInput counts a peer's bytes that the note refused as bad input
// (crdt.IsBadInput) as an offence; it reports whether the peer is now
// refused, so that the caller ends the stream.
func (c *conn) badInput(id crdt.DocumentID, what string, err error) bool {
	if !crdt.IsBadInput(err) {
		return false
	}
	if !c.e.punish(c.pid, fmt.Sprintf("%s for note %s: %v", what, id, err)) {
		return false
	}
	c.refuse("refused: repeated bad input")
	return true
}
