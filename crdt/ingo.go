package crdt

import (
	"encoding/hex"
	"time"

	"github.com/collab-editor/collab/crdt/amformat"
	"github.com/collab-editor/collab/crdt/splice"
)

// Editing without the core. A note whose document is not loaded in a
// worker is edited and merged in Go: its text model holds every element
// with its op ID, makes the change a commit needs (amformat.Model.Commit,
// one insert or delete per character, as the core's transaction makes it)
// and integrates changes from elsewhere (Model.Apply). That costs what the
// text costs: opening a long note to type in it no longer loads its whole
// history in the core (0.6–0.9 s and ~110 MiB for the 105 KB paper note
// after a cut), and a note edited alone or with peers on the collab-change
// fast path may never load it. The core loads only for what needs it (a
// sync round, the history, saving, a title change, a change the model
// cannot follow), and then takes the changes made in Go like its own: the
// model checks every change against the note schema and the history, and
// the tests check the core takes the changes it makes with the same text.

// modelInGoLocked reports whether the note is edited and merged in Go now:
// no worker (running or loading) and a model that holds exactly the stored
// history. For a note asleep with its model to be made (opened from a view,
// or hibernated), it makes the model from the stored history, once, and
// takes its text, title and heads as the note's (the history may hold more
// than the view the note was opened with). False: the core is needed.
func (n *Note) modelInGoLocked() bool {
	if n.closed || n.workerUpLocked() || n.building != nil || n.textDrift || n.body != bodyText || n.sent != 0 {
		return false
	}
	if n.model != nil {
		return len(n.model.waiting) == 0
	}
	if !n.modelLater || len(n.journal) > 0 || n.pending > 0 {
		// No model because it could not follow the core, or edits the
		// model would have to be built under: the core decides.
		return false
	}
	if err := n.readBaseLocked(); err != nil {
		return false
	}
	t, exact := buildModelExactly(n.snapshot, n.changes)
	if !exact || !t.m.HasText() {
		return false
	}
	if shown, held := n.text.String(), t.m.Text(); shown != held {
		n.text.record(splice.Diff(shown, held))
	}
	n.model, n.modelLater = t, false
	n.title = t.m.Title()
	n.lastHeads.set(changeHashes(t.m.Heads()))
	return true
}

// WakeForEdit readies the note for local edits. Asleep, it makes the text
// model from the stored history in Go, in what the text costs, so edits
// commit without the core; the core loads (Wake) only when the model
// cannot be made or cannot take the edits.
func (n *Note) WakeForEdit() error {
	n.mu.Lock()
	ready := n.workerUpLocked() || n.modelInGoLocked()
	n.mu.Unlock()
	if ready {
		return nil
	}
	return n.Wake()
}

// Rest ends the worker of a note in use (an editor's) and keeps its text
// model, which has followed every change the worker took: edits and
// peers' changes go on in Go, at the cost of the text, and the core loads
// again only if something needs it. False when it cannot: edits open, no
// worker, or a model that does not match the note.
func (n *Note) Rest() bool {
	n.reqMu.Lock()
	defer n.reqMu.Unlock()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || n.pending > 0 || len(n.journal) > 0 || len(n.committed) > 0 || n.textDrift ||
		n.body != bodyText || !n.workerUpLocked() || n.model == nil || len(n.model.waiting) > 0 {
		return false
	}
	if n.model.m.Len() != n.text.Len() || !SameHeads(changeHashes(n.model.m.Heads()), n.lastHeads.get()) {
		return false
	}
	if !n.saveStatesLocked() {
		return false
	}
	n.proc.hibernate()
	return true
}

// EditedInGo reports whether the note is edited and merged without the
// core now (its model holds the history; no worker runs).
func (n *Note) EditedInGo() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return !n.workerUpLocked() && n.building == nil && n.model != nil && !n.modelLater
}

// commitInGoLocked commits the open edits with the model when the note is
// edited in Go (false: the worker commits them).
func (n *Note) commitInGoLocked() bool {
	if n.pending == 0 || !n.modelInGoLocked() {
		return false
	}
	splices := make([]Splice, 0, len(n.journal))
	for _, e := range n.journal {
		if e.Kind != editSplice {
			return false // a title or a new body: the core's
		}
		splices = append(splices, Splice{Pos: e.Pos, Delete: e.Delete, Insert: e.Insert})
	}
	actor, err := hex.DecodeString(n.actor)
	if err != nil {
		return false
	}
	c, raw, err := n.model.m.Commit(amformat.ActorID(actor), splices, time.Now().UnixMilli(),
		formatMessage(n.author, n.pendingAdded, n.pendingRemoved))
	if err != nil {
		// The journal does not fit the model's text (it cannot, unless the
		// two disagree; the model is as it was): the core decides.
		return false
	}
	if n.model.m.Len() != n.text.Len() {
		// The model took the change but disagrees with the note's text:
		// it is made again from the history, and the core decides.
		n.model, n.modelLater = nil, true
		return false
	}
	n.journal, n.sent = nil, 0
	n.recountPending()
	if c == nil {
		return true // the edits cancelled out
	}
	n.committed = append(n.committed, Change{Hash: ChangeHash(c.Hash), Bytes: raw})
	n.changes = append(n.changes, raw)
	n.lastHeads.set(changeHashes(n.model.m.Heads()))
	return true
}

// applyInGoLocked merges checked changes from elsewhere with the model when
// the note is edited in Go: open edits are committed first (as the worker
// would), the model integrates the changes and says what they did to the
// text, and the bytes join the rebuild recipe. False: the worker takes
// them (a document, a change the model refuses, one whose dependencies are
// missing: the core's queue and collision handling decide).
func (n *Note) applyInGoLocked(b []byte, cs []*amformat.Change) bool {
	if IsDocument(b) || !n.modelInGoLocked() {
		return false
	}
	for _, c := range cs {
		for _, d := range c.Deps {
			if has, err := n.model.m.Has(d); (err != nil || !has) && !inBatch(cs, d) {
				return false
			}
		}
	}
	if n.pending > 0 && !n.commitInGoLocked() {
		return false
	}
	var merged []Splice
	for i, c := range cs {
		sp, err := n.model.apply(c)
		if err != nil || len(n.model.waiting) > 0 {
			if i > 0 || len(n.model.waiting) > 0 {
				// Part of the bytes went in: the model is made again from
				// the history, and the worker takes them all.
				n.model, n.modelLater = nil, true
			}
			return false
		}
		merged = append(merged, sp...)
	}
	n.changes = append(n.changes, b)
	n.rebaseTail(merged)
	n.lastHeads.set(changeHashes(n.model.m.Heads()))
	return true
}

func inBatch(cs []*amformat.Change, h amformat.Hash) bool {
	for _, c := range cs {
		if c.Hash == h {
			return true
		}
	}
	return false
}
