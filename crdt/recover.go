package crdt

import (
	"errors"
	"fmt"
	"time"

	"github.com/collab-editor/collab/crdt/splice"
)

// How a Note talks to its worker, and what it does when the worker dies.
//
// Requests are serialised (under Note.mu), so a death is always the death
// of one request. If that request carried untrusted bytes, the bytes are
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
	if err := n.usable(); err != nil {
		return nil, err
	}
	if flushFirst[req.Op] && n.pending > 0 {
		req.Commit = true
		req.Message = formatMessage(n.author, n.pendingAdded, n.pendingRemoved)
	}
	if w := n.proc.w; w == nil || w.gone() {
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
	req.Edits = n.journal[n.sent:]
	req.Free = n.takeFreed()
	resp, err := w.call(req, n.timeout(req.Op))
	if err != nil {
		return nil, err
	}
	n.absorb(req, resp)
	return resp, nil
}

func (n *Note) timeout(op opCode) time.Duration {
	if op == opInit || op == opMerge {
		return n.limits.Load
	}
	return n.limits.Call
}

// absorb takes in what the worker did for req: edits it now has, the
// commit it made, and the read-back the note caches.
func (n *Note) absorb(req *request, resp *response) {
	first := n.sent
	n.sent += len(req.Edits)
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
		n.journal = kept
	}
	if resp.Flushed {
		n.journal, n.sent = nil, 0
		n.pending, n.pendingAdded, n.pendingRemoved = 0, 0, 0
		if resp.Committed != nil {
			n.committed = append(n.committed, *resp.Committed)
			n.changes = append(n.changes, resp.Committed.Bytes)
		}
	}
	if resp.Heads != nil {
		n.lastHeads.set(resp.Heads)
	}
	n.body, n.title = resp.Body, resp.Title
	if resp.HasText {
		// A merge from elsewhere (or a rebuild): bring the text in step.
		if d := splice.Diff(string(n.text.runes), resp.Text); len(d) > 0 {
			n.text.record(d)
		}
	} else if resp.Body == bodyText && resp.Len != len(n.text.runes) {
		// The worker refused an edit the note had checked: ask for the text.
		n.textDrift = true
	}
}

func (n *Note) rebuildLocked() error {
	_, err := n.buildLocked(nil)
	return err
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
	w, err := startWorker(n.limits)
	if err != nil {
		return nil, err
	}
	init := &request{
		Op: opInit, Actor: n.actor, Snapshot: n.snapshot, Records: n.changes[:k],
		Edits: n.journal, States: n.stateInits(), Probe: true,
	}
	resp, err := w.call(init, n.limits.Load)
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
	n.absorb(init, resp)
	if op != nil {
		n.absorb(&opReq, opResp)
		return opResp, nil
	}
	return resp, nil
}
