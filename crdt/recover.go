package crdt

import (
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/collab-editor/collab/crdt/splice"
)

// How a Note talks to its worker, and what it does when the worker dies.
//
// Requests are serialised (under Note.reqMu), so a death is always the
// death of one request. Note.mu is let go while a request is on its way
// (see roundTrip): keystrokes and the UI's reads never wait for the
// worker, however long a request takes. If that request carried untrusted bytes, the bytes are
// to blame: the worker is rebuilt without them and the call fails with
// ErrRejected. Otherwise something accepted earlier may be poisonous: the
// worker is rebuilt and the request retried once, and if it dies again the
// change it dies on is found by rebuilding from prefixes of the changes
// (bisection), set aside, and the note continues without it.

// maxSetAside bounds how many poisonous changes one operation may set aside
// before the note gives up on it (each costs a bisection).
const maxSetAside = 8

// flushFirst lists the operations that commit the open edits first, as
// automerge would otherwise commit them anonymously (or they would not
// travel).
var flushFirst = map[opCode]bool{
	opFlush: true, opHeads: true, opSave: true, opTextDigest: true, opApply: true,
	opReceiveSync: true, opGenerateSync: true, opHistory: true, opAt: true, opMerge: true,
}

func (n *Note) usable() error {
	if n.closed {
		return ErrClosed
	}
	return nil
}

func isDeath(err error) bool {
	var d *DeathError
	return errors.As(err, &d)
}

// callLocked runs req on the worker (starting or rebuilding it first if
// need be), recovering from the worker's death as described above.
// untrusted says whether req carries bytes from outside.
func (n *Note) callLocked(req *request, untrusted bool) (*response, error) {
	// One request at a time; mu is re-taken after reqMu (the lock order).
	n.mu.Unlock()
	n.reqMu.Lock()
	n.mu.Lock()
	defer n.reqMu.Unlock()
	return n.callHeld(req, untrusted)
}

// callHeld is callLocked for a caller that holds reqMu already (a sequence
// of requests nothing may come between).
func (n *Note) callHeld(req *request, untrusted bool) (*response, error) {
	if err := n.usable(); err != nil {
		return nil, err
	}
	if flushFirst[req.Op] && n.pending > 0 {
		req.Commit = true
		req.Message = formatMessage(n.author, n.pendingAdded, n.pendingRemoved)
	}
	if !n.workerUpLocked() {
		// Not started yet, or it died between requests (killed, say):
		// nothing of this request is to blame.
		if err := n.rebuildLocked(); err != nil {
			return nil, err
		}
	}
	resp, err := n.sendLocked(req)
	if !isDeath(err) {
		if err == nil && n.textDrift {
			n.textDrift = false
			if _, err := n.sendLocked(&request{Op: opText}); err != nil {
				return nil, err
			}
		}
		return resp, err
	}
	n.proc.swap(nil)
	if untrusted {
		// The input is to blame only if it kills a fresh worker too: the
		// core is deterministic, and a peer must not be refused because
		// the worker was killed for some other reason meanwhile.
		if rerr := n.rebuildLocked(); rerr != nil {
			return nil, errors.Join(fmt.Errorf("%s: %w", req.Op, err), rerr)
		}
		again, err2 := n.sendLocked(req)
		if !isDeath(err2) {
			return again, err2
		}
		n.proc.swap(nil)
		rejected := fmt.Errorf("%s: %w: %w", req.Op, ErrRejected, err2)
		if rerr := n.rebuildLocked(); rerr != nil {
			return nil, errors.Join(rejected, rerr)
		}
		return nil, rejected
	}
	// A trusted request: the worker may have died of something else (the
	// OOM killer, a signal), so rebuild and try once more.
	if err := n.rebuildLocked(); err != nil {
		return nil, err
	}
	resp, err = n.sendLocked(req)
	if !isDeath(err) {
		return resp, err
	}
	return n.buildLocked(req)
}

// sendLocked sends req with the journal edits the worker lacks and the
// sync states to let go, and takes in the response.
func (n *Note) sendLocked(req *request) (*response, error) {
	w := n.proc.w
	req.Edits = n.journal[n.sent:len(n.journal):len(n.journal)]
	req.Free = n.takeFreed()
	req.NoText = n.model != nil
	at := n.mark(req)
	resp, err := n.roundTrip(w, req, n.timeout(req.Op))
	if err != nil {
		return nil, err
	}
	n.absorb(req, resp, at)
	return resp, nil
}

// sent is where a request left the note: the journal it carried ended at
// journal index end, and the text was at revision rev (with base, the text
// then, kept only when the request may merge something and there is no
// model to say what it changed).
type sentAt struct {
	end     int
	rev     Rev
	base    string
	hasBase bool // base was taken (a merge with no model)
}

func (n *Note) mark(req *request) sentAt {
	at := sentAt{end: n.sent + len(req.Edits), rev: n.text.rev}
	if n.model == nil && mergingOps[req.Op] {
		at.base, at.hasBase = n.text.String(), true
	}
	return at
}

// roundTrip runs one request on w with mu let go, so edits and reads go on
// meanwhile; the caller holds reqMu, so no other request starts.
func (n *Note) roundTrip(w *worker, req *request, timeout time.Duration) (*response, error) {
	n.mu.Unlock()
	defer n.mu.Lock()
	return w.call(req, timeout)
}

func (n *Note) timeout(op opCode) time.Duration {
	if op == opInit || op == opMerge {
		return n.limits.Load
	}
	return n.limits.Call
}

// absorb takes in what the worker did for req, which left the note at at:
// the edits it now has, the commit it made, what it merged from elsewhere
// (as splices of the text, rebased past edits made while the request was
// on its way), and the read-back the note caches.
func (n *Note) absorb(req *request, resp *response, at sentAt) {
	first := at.end - len(req.Edits)
	n.sent = at.end
	if len(resp.FailedEdits) > 0 {
		// The worker refused edits the note had checked (its cached length
		// was off): drop them, and trust the read-back below.
		drop := map[int]bool{}
		for _, f := range resp.FailedEdits {
			drop[first+f.Index] = true
		}
		kept := n.journal[:0:0]
		for i, e := range n.journal {
			if !drop[i] {
				kept = append(kept, e)
			}
		}
		n.sent -= len(n.journal) - len(kept)
		at.end -= len(n.journal) - len(kept)
		n.journal = kept
		n.textDrift = true
	}
	// Edits made while the request was on its way: the worker has none.
	tail := n.journal[n.sent:]
	if resp.Flushed {
		n.journal, n.sent = slices.Clone(tail), 0
		n.recountPending()
		if resp.Committed != nil {
			n.committed = append(n.committed, *resp.Committed)
			n.changes = append(n.changes, resp.Committed.Bytes)
			n.feedModel(resp.Committed.Bytes) // already in the text: no splices
		}
	}
	switch {
	case mergingOps[req.Op] && resp.Err != nil:
		// A merge that failed may have brought in part of its changes:
		// the heads are not known until the next request reads them.
		n.lastHeads.set(nil)
	case resp.Heads != nil:
		n.lastHeads.set(resp.Heads)
	}
	n.body, n.title = resp.Body, resp.Title
	merged, known := n.merged(req, resp, at)
	if !known && resp.HasText {
		// No model (or it gave up): what the worker's text says changed
		// since the text the request left from.
		base, have := at.base, at.hasBase
		if !have && n.text.rev == at.rev {
			base, have = n.text.String(), true
		}
		if have {
			merged, known = splice.Diff(base, resp.Text), true
		} else {
			n.textDrift = true
		}
	}
	if known && len(merged) > 0 {
		n.rebaseTail(merged)
	}
	if !resp.HasText && resp.Body == bodyText && n.model != nil && resp.Flushed && resp.Len != n.model.m.Len() {
		// The model and the core disagree: the core is right.
		n.model = nil
		n.textDrift = true
	} else if !resp.HasText && resp.Body == bodyText && n.model == nil && len(n.journal) == 0 && resp.Len != n.text.Len() {
		n.textDrift = true
	}
}

// merged returns the splices the changes req brought in made to the text,
// as the model works them out (known=false: no model, or not a merge).
func (n *Note) merged(req *request, resp *response, at sentAt) (splices []Splice, known bool) {
	if n.model == nil || !mergingOps[req.Op] || resp.Err != nil {
		return nil, false
	}
	feed := func(b []byte) bool {
		sp, err := n.model.applyBytes(b)
		if err != nil {
			n.model = nil // the core took what the model cannot: trust the core
			return false
		}
		splices = append(splices, sp...)
		return true
	}
	switch req.Op {
	case opApply:
		if !feed(req.Data) {
			return nil, false
		}
	case opReceiveSync, opMerge:
		for _, c := range resp.Changes {
			if !feed(c.Bytes) {
				return nil, false
			}
		}
	}
	return splices, true
}

// feedModel gives the model a change the text already shows (a local
// commit).
func (n *Note) feedModel(b []byte) {
	if n.model == nil {
		return
	}
	if _, err := n.model.applyBytes(b); err != nil {
		n.model = nil
	}
}

// rebaseTail records splices merged into the document at the point the
// request left from: the edits journalled since (the tail, which the
// worker has yet to get) are rebased past them, and they past the tail,
// so text, journal and worker agree again. At a place both inserted, the
// user's text goes first, as in Edit.
func (n *Note) rebaseTail(merged []Splice) {
	var tailSplices []Splice
	var others []edit
	for _, e := range n.journal[n.sent:] {
		if e.Kind == editSplice {
			tailSplices = append(tailSplices, Splice{Pos: e.Pos, Delete: e.Delete, Insert: e.Insert})
		} else {
			others = append(others, e)
		}
	}
	if len(tailSplices) == 0 {
		n.text.record(merged)
		return
	}
	mine, theirs := splice.Transform(tailSplices, merged, true)
	rebuilt := n.journal[:n.sent:n.sent]
	for _, s := range mine {
		rebuilt = append(rebuilt, edit{Kind: editSplice, Pos: s.Pos, Delete: s.Delete, Insert: s.Insert})
	}
	n.journal = append(rebuilt, others...)
	n.text.record(theirs)
}

// recountPending counts the journal's edits as the open change.
func (n *Note) recountPending() {
	n.pending, n.pendingAdded, n.pendingRemoved = 0, 0, 0
	for _, e := range n.journal {
		n.pending++
		if e.Kind == editSplice {
			n.pendingAdded += utf8.RuneCountInString(e.Insert)
			n.pendingRemoved += e.Delete
		}
	}
	if n.pending == 0 {
		n.firstPending, n.lastPending = time.Time{}, time.Time{}
	}
}

// readBaseLocked puts the history of a note opened with LoadKnownFrom into
// its rebuild recipe, once.
func (n *Note) readBaseLocked() error {
	if n.baseSource == nil {
		return nil
	}
	snapshot, records, err := n.baseSource()
	if err != nil {
		return fmt.Errorf("read the note's history: %w", err)
	}
	n.snapshot, n.changes = snapshot, append(records, n.changes...)
	n.baseSource = nil
	return nil
}

func (n *Note) rebuildLocked() error {
	if err := n.readBaseLocked(); err != nil {
		return err
	}
	fresh := n.modelLater
	if fresh {
		n.modelLater = false
		n.model = buildModel(n.snapshot, n.changes)
	}
	_, err := n.buildLocked(nil)
	if fresh || n.model != nil {
		// A model kept while the note was asleep (edited in Go) is
		// checked against the core as a new one is.
		n.checkNewModelLocked()
	}
	return err
}

// checkNewModelLocked drops a model just built from the snapshot and
// changes if it does not see what the worker, just loaded from the same,
// sees: the core is right. (The text holds the journal's edits too, the
// model only changes, so with edits open there is nothing to compare.)
func (n *Note) checkNewModelLocked() {
	if n.model != nil && len(n.journal) == 0 &&
		(n.model.m.Len() != n.text.Len() || n.model.m.Title() != n.title) {
		n.model = nil
	}
}

// buildLocked starts a worker for the note, built from the snapshot, the
// changes and the journal, and has it run op (nil: just the build). When
// that kills the worker, it bisects the changes for the one it dies on,
// sets it aside and tries again.
func (n *Note) buildLocked(op *request) (*response, error) {
	n.proc.swap(nil)
	var death error
	for round := 0; ; round++ {
		resp, err := n.probeLocked(len(n.changes), op, true)
		if !isDeath(err) {
			return resp, err
		}
		death = err
		if len(n.journal) > 0 {
			// Without the open edits, does it survive? Then they are
			// what it dies on, and no stored change is to blame (a
			// probe without changes cannot tell: with no text object
			// the edits fail harmlessly).
			if _, err := n.probeEditsLocked(len(n.changes), op, false, nil); err == nil {
				return nil, n.dropJournalLocked(death)
			}
		}
		var d *DeathError
		if op == nil && errors.As(death, &d) && d.Outgrown {
			// The stored history as a whole does not fit in the worker's
			// memory: no one change is to blame, and setting one aside
			// would hide what the user wrote. It stays as it is (a cut,
			// made in Go, makes it fit).
			return nil, fmt.Errorf("load: %w: %w", ErrTooLong, death)
		}
		if round == maxSetAside || len(n.changes) == 0 {
			break
		}
		// Does the base survive without any change?
		if _, err := n.probeLocked(0, op, false); err != nil {
			if isDeath(err) {
				break // nothing to set aside: op fails on the base itself
			}
			return nil, err
		}
		// changes[:lo] survives, changes[:hi] dies.
		lo, hi, hiDeath := 0, len(n.changes), death
		for hi-lo > 1 {
			mid := lo + (hi-lo)/2
			_, err := n.probeLocked(mid, op, false)
			switch {
			case err == nil:
				lo = mid
			case isDeath(err):
				hi, hiDeath = mid, err
			default:
				return nil, err
			}
		}
		n.setAside = append(n.setAside, rejectedChange(n.changes[hi-1], hiDeath))
		// A fresh array: the changes may alias the caller's records.
		n.changes = append(n.changes[:hi-1:hi-1], n.changes[hi:]...)
		n.recipeGen++
		if n.model != nil {
			// It took the culprit in: make it again without.
			n.model = buildModel(n.snapshot, n.changes)
		}
	}
	if op != nil {
		// op cannot run on this note: leave the note usable without it.
		if err := n.rebuildLocked(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", op.Op, death)
	}
	return nil, fmt.Errorf("load: %w: %w", ErrRejected, death)
}

func rejectedChange(b []byte, death error) *Rejected {
	r := &Rejected{Bytes: b}
	errors.As(death, &r.Death)
	if h, err := HashOf(b); err == nil {
		r.Hash = h
	}
	return r
}

// probeLocked starts a worker built from the snapshot, changes[:k] and the
// journal, and runs op on it. With keep, a worker that survives becomes the
// note's and its responses are taken in; otherwise it is stopped and the
// note is left as it was.
func (n *Note) probeLocked(k int, op *request, keep bool) (*response, error) {
	return n.probeEditsLocked(k, op, keep, slices.Clone(n.journal))
}

// whileLoading, if set (by tests), runs while a worker loads a note, with
// the note's mu let go.
var whileLoading func()

// probeEditsLocked is probeLocked with edits in place of the journal.
func (n *Note) probeEditsLocked(k int, op *request, keep bool, edits []edit) (*response, error) {
	w, err := startWorker(n.limits)
	if err != nil {
		return nil, err
	}
	init := &request{
		Op: opInit, Actor: n.actor, Snapshot: n.snapshot, Records: n.changes[:k],
		Edits: edits, States: n.stateInits(), Probe: true,
	}
	// The load may take seconds: mu is let go meanwhile (the caller holds
	// reqMu, so no other request starts), so the text, title and heads the
	// note shows, and edits, do not wait for it.
	at := sentAt{end: len(init.Edits), rev: n.text.rev}
	n.building = w
	n.mu.Unlock()
	if whileLoading != nil {
		whileLoading()
	}
	resp, err := w.call(init, n.limits.Load)
	n.mu.Lock()
	n.building = nil
	if n.closed {
		// Closed while it loaded (Close kills the load): not the
		// recipe's fault, whatever the worker died of.
		w.kill()
		return nil, ErrClosed
	}
	if err == nil {
		err = resp.err() // e.g. a snapshot automerge refuses: no use bisecting
	}
	if err != nil {
		w.kill()
		return nil, err
	}
	var opReq request
	var opResp *response
	if op != nil {
		opReq = *op
		opReq.Edits, opReq.Free = nil, nil
		if opResp, err = w.call(&opReq, n.timeout(op.Op)); err != nil {
			return nil, err
		}
	}
	if !keep {
		w.stop()
		return opResp, nil
	}
	n.proc.swap(w)
	n.sent = 0
	n.absorb(init, resp, at)
	if op != nil {
		n.absorb(&opReq, opResp, sentAt{end: n.sent, rev: n.text.rev})
		return opResp, nil
	}
	return resp, nil
}

// ErrEditsDropped: the note's open (uncommitted) edits made its worker die
// however it was rebuilt, so they were dropped; everything committed is
// kept.
var ErrEditsDropped = errors.New("the latest edits could not be applied and were dropped")

// dropJournalLocked drops the open edits the worker dies on, rebuilds the
// note without them and has its text read again.
func (n *Note) dropJournalLocked(death error) error {
	n.journal, n.sent = nil, 0
	n.pending, n.pendingAdded, n.pendingRemoved = 0, 0, 0
	n.firstPending, n.lastPending = time.Time{}, time.Time{}
	n.textDrift = true
	if err := n.rebuildLocked(); err != nil {
		return errors.Join(fmt.Errorf("%w: %w", ErrEditsDropped, death), err)
	}
	if _, err := n.sendLocked(&request{Op: opText}); err != nil {
		return errors.Join(fmt.Errorf("%w: %w", ErrEditsDropped, death), err)
	}
	n.textDrift = false
	return fmt.Errorf("%w: %w", ErrEditsDropped, death)
}
