package crdt

import (
	"errors"
	"fmt"

	"github.com/collab-editor/collab/crdt/amformat"
)

// The note's text as the parent process works it out itself: an exact
// model of the body (package amformat) fed the same changes as the worker,
// so that a change from elsewhere yields the splices it made — a few
// microseconds — instead of the worker reading the whole text back and the
// two texts being compared. The worker stays the authority: after every
// merge its text length is compared with the model's, and a model that
// disagrees (or cannot take a change the core took) is dropped for the
// worker's text, read back whole as before.

// textModel is a note's model and the changes it holds back for missing
// dependencies (the core queues them the same way).
type textModel struct {
	m       *amformat.Model
	waiting []*amformat.Change
}

// maxWaiting bounds the changes held back for missing dependencies.
const maxWaiting = 4096

// buildModel makes the model of a note loaded from snapshot and records;
// nil when it cannot (the note then works from the worker's text).
func buildModel(snapshot []byte, records [][]byte) *textModel {
	t, _ := buildModelExactly(snapshot, records)
	return t
}

// buildModelExactly is buildModel that also says whether the model holds
// exactly the history: every record taken, none waiting for dependencies.
func buildModelExactly(snapshot []byte, records [][]byte) (t *textModel, exact bool) {
	t = &textModel{m: amformat.NewModel()}
	if len(snapshot) > 0 {
		m, err := amformat.FromDocument(snapshot)
		if err != nil {
			return nil, false
		}
		t.m = m
	}
	exact = true
	for _, r := range records {
		// A record the model cannot take may be one the core refuses too
		// (a torn or rejected record); whether the two agree in the end is
		// checked against the core's text once it has loaded.
		if _, err := t.applyBytes(r); err != nil {
			exact = false
		}
	}
	return t, exact && len(t.waiting) == 0
}

// applyBytes takes in change bytes or a whole document (what a log record
// or a peer's payload holds) and returns the splices they made.
func (t *textModel) applyBytes(b []byte) ([]Splice, error) {
	chunks, err := amformat.SplitChunks(b)
	if err != nil {
		return nil, err
	}
	var out []Splice
	for _, ch := range chunks {
		var cs []*amformat.Change
		if ch.Type == amformat.ChunkDocument {
			if cs, err = t.documentChanges(ch.Raw); err != nil {
				return nil, err
			}
			if cs == nil { // the whole document became the (empty) model
				if text := t.m.Text(); text != "" {
					out = append(out, Splice{Pos: 0, Insert: text})
				}
				continue
			}
		} else {
			c, err := amformat.DecodeChange(ch.Raw)
			if err != nil {
				return nil, err
			}
			cs = []*amformat.Change{c}
		}
		for _, c := range cs {
			sp, err := t.apply(c)
			if err != nil {
				return nil, err
			}
			out = append(out, sp...)
		}
	}
	return out, nil
}

// documentChanges returns the changes of a document to apply; for an empty
// model it makes the model from the document instead and returns nil.
func (t *textModel) documentChanges(doc []byte) ([]*amformat.Change, error) {
	if len(t.m.Heads()) == 0 && len(t.waiting) == 0 {
		m, err := amformat.FromDocument(doc)
		if err != nil {
			return nil, err
		}
		t.m = m
		return nil, nil
	}
	d, err := amformat.DecodeDocument(doc)
	if err != nil {
		return nil, err
	}
	return d.History()
}

// apply integrates one change, and then whatever was waiting for it.
func (t *textModel) apply(c *amformat.Change) ([]Splice, error) {
	sp, err := t.m.Apply(c)
	if errors.Is(err, amformat.ErrMissingDeps) {
		if len(t.waiting) >= maxWaiting {
			return nil, fmt.Errorf("%d changes wait for dependencies: %w", len(t.waiting), err)
		}
		t.waiting = append(t.waiting, c)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// Whatever was waiting may now fit, in any order: repeat until
	// nothing more does.
	for progress := true; progress && len(t.waiting) > 0; {
		progress = false
		rest := t.waiting[:0]
		for _, w := range t.waiting {
			more, err := t.m.Apply(w)
			switch {
			case errors.Is(err, amformat.ErrMissingDeps):
				rest = append(rest, w)
			case err != nil:
				return nil, err
			default:
				sp = append(sp, more...)
				progress = true
			}
		}
		t.waiting = rest
	}
	return sp, nil
}

// validateChanges checks bytes from outside (a peer's change or document,
// another process's record) before any core sees them: well-formed, within
// limits, and nothing a collab note may not hold. It is the cheap first
// line; the worker is the second.
func validateChanges(b []byte) error {
	_, err := checkedChanges(b)
	return err
}

// checkedChanges is validateChanges, returning the changes it decoded.
func checkedChanges(b []byte) ([]*amformat.Change, error) {
	chunks, err := amformat.SplitChunks(b)
	if err != nil {
		return nil, err
	}
	var changes []*amformat.Change
	for _, ch := range chunks {
		if ch.Type == amformat.ChunkDocument {
			if err := amformat.CheckNoteDocument(ch.Raw); err != nil {
				return nil, err
			}
			continue
		}
		c, err := amformat.DecodeChange(ch.Raw)
		if err != nil {
			return nil, err
		}
		if err := amformat.CheckNoteChange(c); err != nil {
			return nil, err
		}
		changes = append(changes, c)
	}
	return changes, nil
}

// validateSyncMessage is validateChanges for a sync message (its framing,
// bloom filter and every change it carries).
func validateSyncMessage(b []byte) error {
	_, err := checkedSyncMessage(b)
	return err
}

// checkedSyncMessage is validateSyncMessage, returning the message.
func checkedSyncMessage(b []byte) (*amformat.SyncMessage, error) {
	m, err := amformat.DecodeSyncMessage(b)
	if err != nil {
		return nil, err
	}
	for _, c := range m.Changes {
		if err := amformat.CheckNoteChange(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ErrSeqGap: a change skips sequence numbers of its actor. The 2023 core
// takes such a change, and the next sync message it makes aborts on it
// (automerge.rs:916, found by fuzzing).
var ErrSeqGap = errors.New("change skips sequence numbers of its actor")

// checkSeqs refuses a change that skips sequence numbers of its actor.
// Every change of an actor has the actor's earlier changes among its
// ancestors, so once the note holds a change's dependencies its actor's
// last sequence number is exactly one less than its own. Changes whose
// dependencies have not arrived yet (the core queues them) are not judged,
// nor anything without a model.
func (n *Note) checkSeqs(changes []*amformat.Change) error {
	if len(changes) == 0 {
		return nil
	}
	n.mu.Lock()
	later := n.model == nil && n.modelLater && !n.modelInGoLocked()
	n.mu.Unlock()
	if later {
		// Unloaded: the model is made with the document, which taking
		// the changes needs anyway (a failure shows there).
		_ = n.Wake()
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.model == nil {
		return nil
	}
	m := n.model.m
	clock := m.Clock()
	ready := map[amformat.Hash]bool{}
	for _, c := range changes {
		depsHeld := true
		for _, d := range c.Deps {
			if ready[d] {
				continue
			}
			if has, err := m.Has(d); err != nil || !has {
				depsHeld = false
				break
			}
		}
		if !depsHeld {
			continue
		}
		if has, err := m.Has(c.Hash); err == nil && has {
			ready[c.Hash] = true
			continue
		}
		last := clock[c.Actor]
		if c.Seq > last+1 {
			return fmt.Errorf("change %.12s is seq %d of actor %.8s, whose last here is %d: %w", c.Hash, c.Seq, c.Actor, last, ErrSeqGap)
		}
		// A seq not past the last is a collision: the core refuses it
		// and the caller sees a *CollisionError.
		clock[c.Actor] = max(last, c.Seq)
		ready[c.Hash] = true
	}
	return nil
}

// invalid wraps a validation failure as a rejection of the input.
func invalid(op opCode, err error) error {
	return fmt.Errorf("%s: %w: %w", op, ErrRejected, err)
}

// ErrNeedsDocument: OfferedNote cannot tell the title without the document
// (a title written as Text); ask a scratch document (NewScratch).
var ErrNeedsDocument = errors.New("the title needs the whole document")

// OfferedNote reads, in Go and without a worker, the title of the note a
// stranger's sync message offers, and whether it carries the note whole
// (its body, and every change the changes it carries depend on). It is
// what an invitation shows: a stranger's megabytes never reach the core
// before the user accepts. Malformed messages and ones outside the note
// schema fail as ReceiveSyncMessage would (ErrRejected).
func OfferedNote(syncMessage []byte) (title string, whole bool, err error) {
	m, err := amformat.DecodeSyncMessage(syncMessage)
	if err != nil {
		return "", false, invalid(opReceiveSync, err)
	}
	for _, c := range m.Changes {
		if err := amformat.CheckNoteChange(c); err != nil {
			return "", false, invalid(opReceiveSync, err)
		}
	}
	title, body, ok := amformat.RootSummary(m.Changes)
	if !ok {
		return "", false, ErrNeedsDocument
	}
	carried := make(map[amformat.Hash]bool, len(m.Changes))
	for _, c := range m.Changes {
		carried[c.Hash] = true
	}
	for _, c := range m.Changes {
		for _, d := range c.Deps {
			if !carried[d] {
				return title, false, nil
			}
		}
	}
	return title, body, nil
}
