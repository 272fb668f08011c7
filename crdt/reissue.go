package crdt

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/collab-editor/collab/crdt/amformat"
	"github.com/collab-editor/collab/crdt/splice"
)

// Collisions: two different changes under one actor and sequence number.
//
// Automerge names a change by its actor and sequence number as well as by
// its hash, and refuses a second change with the same pair: a copy that
// holds one of them can never take the other, nor anything built on it. A
// member who knows someone's actor ID (every change carries it) can forge
// their next change while they are offline; when they return, their own
// changes are refused everywhere the forgery went.
//
// Nothing in the bytes tells the forgery from the original (signed
// authorship is a later step), so the note does not pick one. When the
// colliding actor is one of its own, it gives way instead (Reissue): it
// drops its changes from that sequence number on, takes the other change
// as the peers have it, and makes its own edits again, as splices of the
// text, under a fresh actor ID. Every character typed survives once, and
// the copies can become equal. The dropped changes are set aside
// (SetAside), so the caller keeps them on disk outside the log.

// ErrCollision: a change from elsewhere has the actor and sequence number
// of a different change this note holds.
var ErrCollision = errors.New("a different change already has this author and sequence number")

// ErrNotOwnActor: Reissue was asked to give way for an actor this note
// never wrote under.
var ErrNotOwnActor = errors.New("not an actor of this note's own edits")

// ErrHeldElsewhere: Reissue was asked to give way where a change of ours
// it would drop is held by peers already (or was itself taken in by an
// earlier Reissue): giving way would part us from them, so the other
// change is the one refused.
var ErrHeldElsewhere = errors.New("our change is held by peers already")

// CollisionError is an Apply or ReceiveSyncMessage refused for a
// collision. The note is as it was.
type CollisionError struct {
	Actor string // hex
	Seq   uint64
	// Theirs is the refused change's bytes (nil if they could not be
	// told apart in what was sent).
	Theirs []byte
	// Own: the actor is one this note's own edits used, so Reissue can
	// recover; otherwise a third copy's change collides, and the note
	// cannot tell which of the two is genuine.
	Own bool
}

func (e *CollisionError) Error() string {
	return fmt.Sprintf("change %d of actor %s: %v", e.Seq, shortActor(e.Actor), ErrCollision)
}

func (e *CollisionError) Unwrap() error { return ErrCollision }

func shortActor(a string) string {
	if len(a) > 8 {
		return a[:8]
	}
	return a
}

// coreDuplicateSeq is how the core says it refused a collision.
var coreDuplicateSeq = regexp.MustCompile(`duplicate seq (\d+) found for actor ([0-9a-f]+)`)

// collisionLocked turns a refusal by the core into a *CollisionError when
// it was one; data is what was sent (change chunks, or a sync message).
func (n *Note) collisionLocked(err error, data []byte, syncMessage bool) error {
	if err == nil {
		return nil
	}
	m := coreDuplicateSeq.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	seq, perr := strconv.ParseUint(m[1], 10, 64)
	if perr != nil {
		return err
	}
	ce := &CollisionError{Actor: m[2], Seq: seq, Own: n.ownActorLocked(m[2])}
	var raws [][]byte
	if syncMessage {
		if sm, derr := amformat.DecodeSyncMessage(data); derr == nil {
			raws = sm.RawChanges
		}
	} else if chunks, serr := amformat.SplitChunks(data); serr == nil {
		for _, ch := range chunks {
			if ch.Type != amformat.ChunkDocument {
				raws = append(raws, ch.Raw)
			}
		}
	}
	for _, raw := range raws {
		if c, derr := amformat.DecodeChange(raw); derr == nil && c.Actor.String() == ce.Actor && c.Seq == seq {
			ce.Theirs = slices.Clone(raw)
			break
		}
	}
	return ce
}

// ownActorLocked reports whether this note's own edits used actor.
func (n *Note) ownActorLocked(actor string) bool {
	return actor == n.actor || n.ownActors[actor]
}

// Actor is the actor ID (hex) this note's next edits are recorded under.
func (n *Note) Actor() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.actor
}

// AddOwnActors tells the note that edits under these actors (hex) were its
// own in earlier sessions, so it gives way for collisions on them too.
func (n *Note) AddOwnActors(actors ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, a := range actors {
		if a != n.actor && len(n.ownActors) < maxOwnActors {
			n.ownActors[a] = true
		}
	}
}

// maxOwnActors bounds the past actors a note remembers as its own.
const maxOwnActors = 1024

// maxReissue bounds how many changes of ours one Reissue drops and makes
// again: a collision deep in a long history is left for the user.
const maxReissue = 10000

// ReissueResult says what Reissue did.
type ReissueResult struct {
	Dropped int    // our changes taken out (set aside)
	Actor   string // the fresh actor our edits now go under
}

// Reissue gives way to theirs, a change of another copy that collides
// with one of this note's own (see CollisionError): our changes from that
// sequence number on are dropped (and set aside), theirs is taken in, and
// our edits are made again as one new change under a fresh actor ID, which
// Commit returns like any other. held are heads peers stated: what they
// hold. It fails (and changes nothing) when the actor is not one of ours
// (ErrNotOwnActor); when a change to drop is held by a peer, or was taken
// in by an earlier Reissue (ErrHeldElsewhere: giving way would part us
// from the copies that hold ours, or go back and forth); when someone
// else's change in this note builds on the changes to drop; or when too
// many would be.
func (n *Note) Reissue(theirs []byte, held []ChangeHash) (ReissueResult, error) {
	n.reqMu.Lock()
	defer n.reqMu.Unlock()
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.usable(); err != nil {
		return ReissueResult{}, err
	}
	if err := validateChanges(theirs); err != nil {
		return ReissueResult{}, invalid(opApply, err)
	}
	f, err := amformat.DecodeChange(theirs)
	if err != nil {
		return ReissueResult{}, fmt.Errorf("reissue: %w", err)
	}
	if !n.ownActorLocked(f.Actor.String()) {
		return ReissueResult{}, fmt.Errorf("reissue for actor %s: %w", shortActor(f.Actor.String()), ErrNotOwnActor)
	}
	if err := n.readBaseLocked(); err != nil {
		return ReissueResult{}, fmt.Errorf("reissue: %w", err)
	}
	// Every edit of ours must be in a change before the changes are sorted.
	if n.pending > 0 {
		if _, err := n.callHeld(&request{Op: opFlush}, false); err != nil {
			return ReissueResult{}, err
		}
	}
	all, snapHas, err := n.recipeChangesLocked()
	if err != nil {
		return ReissueResult{}, fmt.Errorf("reissue: %w", err)
	}
	drop := map[amformat.Hash]bool{}
	for _, c := range all {
		if c.Hash == f.Hash {
			return ReissueResult{}, nil // we hold theirs already: no collision
		}
		if c.Actor == f.Actor && c.Seq >= f.Seq {
			drop[c.Hash] = true
		}
	}
	if len(drop) == 0 {
		return ReissueResult{}, nil
	}
	// Whatever builds on a dropped change goes too; all must be ours.
	for _, c := range all { // dependencies come first
		if drop[c.Hash] {
			continue
		}
		for _, d := range c.Deps {
			if drop[d] {
				drop[c.Hash] = true
				break
			}
		}
		if drop[c.Hash] && !n.ownActorLocked(c.Actor.String()) {
			return ReissueResult{}, fmt.Errorf("reissue: a change of actor %s builds on ours: %w", shortActor(c.Actor.String()), ErrCollision)
		}
	}
	// Never drop what peers hold (their heads and all before them), nor a
	// change we took in by giving way before.
	heldBy := map[amformat.Hash]bool{}
	var stack []amformat.Hash
	for _, h := range held {
		stack = append(stack, amformat.Hash(h))
	}
	byHash := make(map[amformat.Hash]*amformat.Change, len(all))
	for _, c := range all {
		byHash[c.Hash] = c
	}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		c := byHash[h]
		if c == nil || heldBy[h] {
			continue
		}
		heldBy[h] = true
		stack = append(stack, c.Deps...)
	}
	for h := range drop {
		if heldBy[h] || n.yielded[ChangeHash(h)] {
			return ReissueResult{}, fmt.Errorf("reissue: change %v: %w", h, ErrHeldElsewhere)
		}
	}
	if len(drop) > maxReissue {
		return ReissueResult{}, fmt.Errorf("reissue: %d changes to make again, more than %d: %w", len(drop), maxReissue, ErrCollision)
	}

	// Our edits as splices: what the dropped changes did to the text
	// without them, then moved past what theirs does to it.
	var kept, dropped []*amformat.Change
	for _, c := range all {
		if drop[c.Hash] {
			dropped = append(dropped, c)
		} else {
			kept = append(kept, c)
		}
	}
	ours, err := modelOf(kept)
	if err != nil {
		return ReissueResult{}, fmt.Errorf("reissue: %w", err)
	}
	keptTitle := ours.m.Title()
	var mine []Splice
	for _, c := range dropped {
		sp, err := ours.apply(c)
		if err != nil {
			return ReissueResult{}, fmt.Errorf("reissue: our own change %v: %w", c.Hash, err)
		}
		mine = append(mine, sp...)
	}
	myTitle := ours.m.Title()
	base, err := modelOf(kept)
	if err != nil {
		return ReissueResult{}, fmt.Errorf("reissue: %w", err)
	}
	theirSplices, err := base.apply(f)
	if err != nil {
		return ReissueResult{}, fmt.Errorf("reissue: their change: %w", err)
	}
	mine, _ = splice.Transform(mine, theirSplices, true)
	newText, err := splice.Apply([]rune(base.m.Text()), mine)
	if err != nil {
		return ReissueResult{}, fmt.Errorf("reissue: %w", err)
	}

	// The new recipe: the kept changes and theirs. The snapshot stays the
	// base unless it holds a dropped change; then every kept change is
	// written out on its own.
	snapshot, changes := n.snapshot, [][]byte(nil)
	keepSnapshot := true
	for h := range drop {
		if snapHas[h] {
			keepSnapshot = false
			break
		}
	}
	var setAside []*Rejected
	if keepSnapshot {
		for _, rec := range n.changes {
			chunks, err := amformat.SplitChunks(rec)
			if err != nil {
				changes = append(changes, rec) // as the worker took it
				continue
			}
			clean := true
			for _, ch := range chunks {
				if ch.Type != amformat.ChunkDocument && drop[ch.Hash] {
					clean = false
				}
			}
			if clean {
				changes = append(changes, rec)
				continue
			}
			for _, ch := range chunks {
				if ch.Type == amformat.ChunkDocument || !drop[ch.Hash] {
					changes = append(changes, ch.Raw)
				}
			}
		}
	} else {
		snapshot = nil
		for _, c := range kept {
			b, err := encodeExact(c)
			if err != nil {
				return ReissueResult{}, fmt.Errorf("reissue: %w", err)
			}
			changes = append(changes, b)
		}
	}
	for _, c := range dropped {
		b, err := encodeExact(c)
		if err != nil {
			return ReissueResult{}, fmt.Errorf("reissue: %w", err)
		}
		setAside = append(setAside, &Rejected{Hash: ChangeHash(c.Hash), Bytes: b, Collided: true})
	}
	changes = append(changes, slices.Clone(theirs))

	var actor [16]byte
	if _, err := rand.Read(actor[:]); err != nil {
		return ReissueResult{}, fmt.Errorf("reissue: new actor: %w", err)
	}
	if len(n.ownActors) < maxOwnActors {
		n.ownActors[n.actor] = true
	}
	n.actor = hex.EncodeToString(actor[:])
	if len(n.yielded) < maxOwnActors {
		n.yielded[ChangeHash(f.Hash)] = true
	}
	n.snapshot, n.changes = snapshot, changes
	n.recipeGen++
	n.model, n.modelLater = nil, true
	// Peers' sync states speak of heads we no longer have.
	for id := range n.states {
		n.states[id] = nil
	}
	n.journal, n.sent = nil, 0
	for _, s := range mine {
		n.journal = append(n.journal, edit{Kind: editSplice, Pos: s.Pos, Delete: s.Delete, Insert: s.Insert})
	}
	if myTitle != keptTitle {
		n.journal = append(n.journal, edit{Kind: editTitle, Insert: myTitle})
	}
	n.text.record(splice.Diff(n.text.String(), string(newText)))
	n.setAside = append(n.setAside, setAside...)
	n.recountPending()
	if n.pending > 0 {
		n.firstPending, n.lastPending = time.Now(), time.Now()
	}
	if err := n.rebuildLocked(); err != nil {
		return ReissueResult{}, fmt.Errorf("reissue: %w", err)
	}
	if n.pending > 0 {
		if _, err := n.callHeld(&request{Op: opFlush}, false); err != nil {
			return ReissueResult{}, fmt.Errorf("reissue: %w", err)
		}
	}
	return ReissueResult{Dropped: len(dropped), Actor: n.actor}, nil
}

// recipeChangesLocked decodes every change the note's recipe holds, in an
// order where dependencies come first, and says which the snapshot holds.
func (n *Note) recipeChangesLocked() (all []*amformat.Change, inSnapshot map[amformat.Hash]bool, err error) {
	inSnapshot = map[amformat.Hash]bool{}
	seen := map[amformat.Hash]bool{}
	add := func(c *amformat.Change) {
		if !seen[c.Hash] {
			seen[c.Hash] = true
			all = append(all, c)
		}
	}
	if len(n.snapshot) > 0 {
		d, err := amformat.DecodeDocument(n.snapshot)
		if err != nil {
			return nil, nil, err
		}
		hist, err := d.History()
		if err != nil {
			return nil, nil, err
		}
		for _, c := range hist {
			inSnapshot[c.Hash] = true
			add(c)
		}
	}
	var later []*amformat.Change
	for _, rec := range n.changes {
		chunks, err := amformat.SplitChunks(rec)
		if err != nil {
			continue // the worker refused it too, or the note would not load
		}
		for _, ch := range chunks {
			if ch.Type == amformat.ChunkDocument {
				d, err := amformat.DecodeDocument(ch.Raw)
				if err != nil {
					return nil, nil, err
				}
				hist, err := d.History()
				if err != nil {
					return nil, nil, err
				}
				later = append(later, hist...)
				continue
			}
			c, err := amformat.DecodeChange(ch.Raw)
			if err != nil {
				return nil, nil, err
			}
			later = append(later, c)
		}
	}
	// Records arrive in any order (a change before its dependencies):
	// sort them so dependencies come first.
	for progress := true; progress && len(later) > 0; {
		progress = false
		rest := later[:0]
		for _, c := range later {
			ready := true
			for _, d := range c.Deps {
				if !seen[d] {
					ready = false
					break
				}
			}
			if ready {
				add(c)
				progress = true
			} else if !seen[c.Hash] {
				rest = append(rest, c)
			}
		}
		later = rest
	}
	// Changes still waiting for dependencies wait in the core too: they
	// are not part of the document.
	return all, inSnapshot, nil
}

// modelOf is the text model of changes given dependencies first.
func modelOf(changes []*amformat.Change) (*textModel, error) {
	t := &textModel{m: amformat.NewModel()}
	for _, c := range changes {
		if _, err := t.apply(c); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// encodeExact writes c as a change chunk with its own hash.
func encodeExact(c *amformat.Change) ([]byte, error) {
	b := c.Encode()
	h, err := HashOf(b)
	if err != nil {
		return nil, err
	}
	if h != ChangeHash(c.Hash) {
		return nil, fmt.Errorf("change %v does not encode back to its hash", c.Hash)
	}
	return b, nil
}

// withoutChunk returns the chunks of b other than drop, one record each.
func withoutChunk(b, drop []byte) [][]byte {
	chunks, err := amformat.SplitChunks(b)
	if err != nil {
		return nil
	}
	var out [][]byte
	for _, ch := range chunks {
		if !bytes.Equal(ch.Raw, drop) {
			out = append(out, ch.Raw)
		}
	}
	return out
}
