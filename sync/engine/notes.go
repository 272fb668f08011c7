package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/notebook"
)

// noteState is a note the engine keeps open and in sync.
type noteState struct {
	e    *Engine
	id   crdt.DocumentID
	note *notebook.Note

	live       atomic.Int32 // active peers: the commit policy is live above 0
	lastUsed   atomic.Int64 // unix ns of the last change or sync round (idle.go)
	held       atomic.Bool  // opened for the UI (Open): never hibernated
	lastStatus atomic.Int32
	epoch      atomic.Uint64 // the epoch the engine syncs (epochs.go)
	followMu   sync.Mutex    // held while our copy follows a peer's cut (epochs.go)
	unsub      func()
	seen       hashSet // changes pushed or received by push: no loops, no double applies

	mu          sync.Mutex
	dps         map[*conn]*docPeer     // peers syncing this note
	unavailable map[string]bool        // peers that answered doc-unavailable
	divergences map[string]*divergence // by peer (diverge.go)
	wake        chan struct{}          // closed and replaced when the note or its peers change
	started     bool
	stopRunFn   func()

	pres presenceState
}

func (e *Engine) newNoteState(n *notebook.Note) *noteState {
	ns := &noteState{
		e: e, id: n.ID, note: n,
		dps:         map[*conn]*docPeer{},
		unavailable: map[string]bool{},
		wake:        make(chan struct{}),
	}
	ns.seen.init(8192)
	ns.epoch.Store(n.EpochNumber())
	ns.touch()
	ns.pres.init()
	ns.unsub = n.Subscribe(ns.onUpdate)
	return ns
}

func (ns *noteState) unsubscribe() {
	if ns.unsub != nil {
		ns.unsub()
	}
}

// opened is the engine's open state for id, nil when it has not opened the
// note.
func (e *Engine) opened(id crdt.DocumentID) *noteState {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.notes[id]
}

// openNote returns the engine's open state for id, opening the note if it
// exists in the notebook (notebook.ErrNotFound otherwise).
func (e *Engine) openNote(id crdt.DocumentID) (*noteState, error) {
	for {
		e.mu.Lock()
		if ns := e.notes[id]; ns != nil {
			e.mu.Unlock()
			return ns, nil
		}
		if e.stopped {
			e.mu.Unlock()
			return nil, ErrNotRunning
		}
		if ch := e.opening[id]; ch != nil {
			e.mu.Unlock()
			<-ch
			continue
		}
		ch := make(chan struct{})
		e.opening[id] = ch
		e.mu.Unlock()

		n, warnings, err := e.nb.OpenNoteUnloaded(id)
		for _, w := range warnings {
			e.log.Warn("note opened with damage recovered", "note", id, "warning", w)
		}
		var ns *noteState
		if err == nil {
			ns = e.newNoteState(n)
		}
		e.mu.Lock()
		delete(e.opening, id)
		close(ch)
		if ns != nil {
			if e.stopped {
				e.mu.Unlock()
				ns.unsubscribe()
				n.Close()
				return nil, ErrNotRunning
			}
			e.notes[id] = ns
		}
		e.mu.Unlock()
		if err != nil {
			return nil, err
		}
		e.startNote(ns)
		return ns, nil
	}
}

// adoptNote registers a note just created (joined) by the engine.
func (e *Engine) adoptNote(n *notebook.Note) (*noteState, error) {
	ns := e.newNoteState(n)
	e.mu.Lock()
	if e.stopped || e.notes[n.ID] != nil {
		e.mu.Unlock()
		ns.unsubscribe()
		return nil, fmt.Errorf("adopt note %s: %w", n.ID, ErrNotRunning)
	}
	e.notes[n.ID] = ns
	e.mu.Unlock()
	e.startNote(ns)
	return ns, nil
}

// dropNote stops syncing a note and closes it (a join that failed).
func (e *Engine) dropNote(ns *noteState) error {
	e.mu.Lock()
	if e.notes[ns.id] == ns {
		delete(e.notes, ns.id)
	}
	e.mu.Unlock()
	for _, dp := range ns.allPeers() {
		dp.c.detach(ns.id)
	}
	ns.stopRun()
	ns.unsubscribe()
	return ns.note.Close()
}

// startNote starts the note's Note.Run (once; no-op before Run).
func (e *Engine) startNote(ns *noteState) {
	ns.mu.Lock()
	if ns.started {
		ns.mu.Unlock()
		return
	}
	ns.mu.Unlock()
	ctx, err := e.runCtx()
	if err != nil {
		return
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	ok := e.spawn(func(context.Context) {
		defer close(done)
		policy := func() crdt.CommitPolicy {
			if ns.live.Load() > 0 {
				return crdt.LivePolicy
			}
			return crdt.DefaultPolicy
		}
		for {
			err := ns.note.Run(runCtx, policy)
			if runCtx.Err() != nil {
				return
			}
			e.log.Error("keeping note durable failed; retrying", "note", ns.id, "err", err)
			select {
			case <-runCtx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	})
	if !ok {
		cancel()
		return
	}
	ns.mu.Lock()
	ns.started = true
	ns.stopRunFn = func() { cancel(); <-done }
	ns.mu.Unlock()
}

func (ns *noteState) stopRun() {
	ns.mu.Lock()
	f := ns.stopRunFn
	ns.stopRunFn = nil
	ns.mu.Unlock()
	if f != nil {
		f()
	}
}

// signal wakes whoever waits on the note (joins).
func (ns *noteState) signal() {
	ns.mu.Lock()
	close(ns.wake)
	ns.wake = make(chan struct{})
	ns.mu.Unlock()
}

func (ns *noteState) waitCh() <-chan struct{} {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.wake
}

func (ns *noteState) allPeers() []*docPeer {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return slices.Collect(maps.Values(ns.dps))
}

func (ns *noteState) activePeers() []*docPeer {
	all := ns.allPeers()
	out := all[:0]
	for _, dp := range all {
		if dp.isActive() {
			out = append(out, dp)
		}
	}
	return out
}

func (ns *noteState) updateLive() {
	n := int32(len(ns.activePeers()))
	if old := ns.live.Swap(n); (old == 0) != (n == 0) {
		ns.note.Kick() // the commit policy changed
	}
}

// hasBody reports whether the note's text has arrived.
func (ns *noteState) hasBody() bool { return ns.note.HasBody() }
