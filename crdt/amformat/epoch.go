package amformat

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Epochs cut a note's history without losing a late edit. Epoch k+1 of a
// note begins at heads H of epoch k with one root change that holds the
// title and text at H. Every peer builds the root alike (an actor derived
// from the note, k and H; seq 1; time 0; no deps), so the root needs no
// sending and an announcement of "epoch k+1 at H" is checked by building
// it again.
//
// A change of epoch k that H does not cover (typed by a peer that was
// offline: a late change) is translated into epoch k+1 element by
// element: a character visible at H is the root's character at the same
// place, a character a late change inserted is the one its translation
// inserted. An insert after a character H had deleted goes after the
// nearest character before it that epoch k+1 has. Translations are
// deterministic too: a late change's translation has an actor derived
// from the root and the late change's actor, the same seq counted from H,
// the late change's time and message, and deps on the root or on the
// translations of its late deps. So peers that translate a late change
// each on their own make the same change, and it merges once.

// ErrNotLate: the change is covered by the epoch's start; it needs no
// translation (its effect is in the root).
var ErrNotLate = errors.New("change is covered by the epoch's start")

// EpochActor is the actor of the root of epoch k (k ≥ 1) of note when it
// begins at heads of epoch k-1.
func EpochActor(note []byte, k uint64, heads []Hash) ActorID {
	h := sha256.New()
	h.Write([]byte("collab epoch root\x00"))
	h.Write(binary.AppendUvarint(nil, uint64(len(note))))
	h.Write(note)
	h.Write(binary.AppendUvarint(nil, k))
	sorted := slices.Clone(heads)
	slices.SortFunc(sorted, compareHashes)
	for _, hd := range sorted {
		h.Write(hd[:])
	}
	return ActorID(h.Sum(nil)[:16])
}

// lateActor is the actor of the translations of actor's late changes into
// the epoch that begins with root.
func lateActor(root Hash, actor ActorID) ActorID {
	h := sha256.New()
	h.Write([]byte("collab late change\x00"))
	h.Write(root[:])
	h.Write([]byte(actor))
	return ActorID(h.Sum(nil)[:16])
}

// gid is an op ID with its actor spelt out, so it means the same in every
// change and model.
type gid struct {
	counter uint64
	actor   ActorID
}

// Epoch is the start of an epoch and what it takes to translate late
// changes of the epoch before into it. It is not safe for concurrent use.
type Epoch struct {
	// Root is the epoch's first change; Heads where in the previous epoch
	// it begins (sorted).
	Root  *Change
	Heads []Hash

	prev     *Model             // the previous epoch: H and every late change seen
	covered  map[Hash]bool      // the changes H covers
	seqAtH   map[ActorID]uint64 // each actor's last seq that H covers
	textObj  gid                // the body's Text object at H
	elems    map[gid]gid        // previous epoch's element → this epoch's
	titleOps map[gid]gid        // previous epoch's title ops → this epoch's
	done     map[Hash]*Change   // late change → its translation
	late     map[Hash]*Change   // translated late change by hash
	origin   map[gid]Hash       // element a late change inserted → that change
	maxOp    map[Hash]uint64    // this epoch's change → highest op counter in its past
}

// StartEpoch begins an epoch at heads of the previous epoch, whose
// history (every change it holds, each after its deps, as
// Document.History gives them) is history; actor is the root's actor
// (EpochActor). The changes of history that heads do not cover are late:
// their translations are in Translated, in history's order.
func StartEpoch(actor ActorID, history []*Change, heads []Hash) (*Epoch, []*Change, error) {
	if len(heads) == 0 {
		return nil, nil, fmt.Errorf("start an epoch: no heads")
	}
	covered, err := PastOf(history, heads)
	if err != nil {
		return nil, nil, fmt.Errorf("start an epoch: %w", err)
	}
	// atH becomes the previous epoch's model: Translate adds each late
	// change to it once translated, so a late change's anchors are read
	// among the elements its author saw.
	atH := NewModel()
	var late []*Change
	for _, c := range history {
		if !covered[c.Hash] {
			late = append(late, c)
			continue
		}
		if _, err := atH.Apply(c); err != nil {
			return nil, nil, fmt.Errorf("start an epoch: %w", err)
		}
	}
	e := &Epoch{
		Heads:    slices.Clone(heads),
		prev:     atH,
		covered:  covered,
		seqAtH:   atH.Clock(),
		elems:    map[gid]gid{},
		titleOps: map[gid]gid{},
		done:     map[Hash]*Change{},
		late:     map[Hash]*Change{},
		origin:   map[gid]Hash{},
		maxOp:    map[Hash]uint64{},
	}
	slices.SortFunc(e.Heads, compareHashes)
	e.Root = e.buildRoot(actor, atH)
	e.maxOp[e.Root.Hash] = e.Root.MaxOp()
	var out []*Change
	for _, c := range late {
		t, err := e.Translate(c)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, t)
	}
	return e, out, nil
}

// RootAt returns the root of an epoch that begins at m's own heads, m
// holding the whole epoch before (so no change of it is late): the change
// StartEpoch builds from that history, built from the model alone, so a
// history too long to decode again (or to load in the core) is cut at the
// cost of its text.
func RootAt(actor ActorID, m *Model) *Change {
	e := &Epoch{elems: map[gid]gid{}, titleOps: map[gid]gid{}}
	return e.buildRoot(actor, m)
}

// buildRoot makes the root change from the model at H: op 1 makes the
// body's Text, op 2 puts the title, then one insert per character.
func (e *Epoch) buildRoot(actor ActorID, atH *Model) *Change {
	self := OpID{Counter: 1}
	ops := []Op{
		{ID: self, Key: Key{Prop: KeyText}, Action: ActionMakeText, Value: Null()},
		{ID: OpID{Counter: 2}, Key: Key{Prop: KeyTitle}, Action: ActionPut, Value: Str(atH.Title())},
	}
	if r := atH.root[KeyTitle]; r != nil {
		for _, op := range r.ops {
			if op.alive {
				e.titleOps[atH.gidOf(op.id)] = gid{2, actor}
			}
		}
	}
	if o := atH.textObject(KeyText); o != nil {
		e.textObj = atH.gidOf(o.id)
		prevElem := OpID{}
		for _, b := range o.blocks {
			b.each(func(k elemKey, ch int32, vis bool) bool {
				if !vis || ch < 0 {
					return true
				}
				id := OpID{Counter: uint64(len(ops)) + 1}
				ops = append(ops, Op{ID: id, Obj: self, Key: Key{Elem: prevElem, IsElem: true}, Insert: true,
					Action: ActionPut, Value: Str(string(rune(ch)))})
				e.elems[atH.gidOf(k)] = gid{id.Counter, actor}
				prevElem = id
				return true
			})
		}
	}
	c := &Change{Actor: actor, Seq: 1, StartOp: 1, Ops: ops}
	c.Rehash()
	return c
}

func (m *Model) gidOf(k elemKey) gid { return gid{k.counter(), m.actors[k.actor()]} }

// Translated returns the translation of a late change already translated.
func (e *Epoch) Translated(h Hash) (*Change, bool) {
	t, ok := e.done[h]
	return t, ok
}

// Covers reports whether the epoch's start covers change h of the
// previous epoch.
func (e *Epoch) Covers(h Hash) bool { return e.covered[h] }

// Translate turns a late change of the previous epoch into a change of
// this one, deterministically; c must be valid for the note (Model.Apply
// takes it) and its late deps translated first (else ErrMissingDeps).
// Marks, root keys other than the title and text, and a new body object
// are left out of the translation: collab writes none of them.
func (e *Epoch) Translate(c *Change) (*Change, error) {
	if e.covered[c.Hash] {
		return nil, fmt.Errorf("translate change %v: %w", short(c.Hash), ErrNotLate)
	}
	if t, ok := e.done[c.Hash]; ok {
		return t, nil
	}
	deps := map[Hash]bool{}
	var startOp uint64
	for _, d := range c.Deps {
		if e.covered[d] {
			continue
		}
		t, ok := e.done[d]
		if !ok {
			return nil, fmt.Errorf("translate change %v: %w: its dep %v is not translated", short(c.Hash), ErrMissingDeps, short(d))
		}
		deps[t.Hash] = true
		startOp = max(startOp, e.maxOp[t.Hash])
	}
	if len(deps) == 0 {
		// Every dep is covered (or c has none): the root stands for them.
		// With a late dep, the root is in that dep's past already.
		deps[e.Root.Hash] = true
		startOp = e.maxOp[e.Root.Hash]
	}
	startOp++
	actor := lateActor(e.Root.Hash, c.Actor)
	actors := c.Actors()
	// ops[i]'s IDs are spelt out in refs[i] until resolveOps turns them
	// into the translation's actor indexes.
	var ops []Op
	var refs [][]gid
	own, ownTitle := map[gid]gid{}, map[gid]gid{} // c's elements, c's title ops → the translation's
	mapElem := func(g gid) (gid, bool) {
		if t, ok := own[g]; ok {
			return t, true
		}
		t, ok := e.elems[g]
		return t, ok
	}
	next := func() gid { return gid{startOp + uint64(len(ops)), actor} }
	for i := range c.Ops {
		op := &c.Ops[i]
		opG := gid{op.ID.Counter, actors[op.ID.Actor]}
		if op.Obj.IsZero() {
			if op.Key.Prop != KeyTitle || (op.Action != ActionPut && op.Action != ActionDelete) {
				continue
			}
			var pred []gid
			for _, p := range op.Pred {
				pg := gid{p.Counter, actors[p.Actor]}
				if t, ok := ownTitle[pg]; ok {
					pred = append(pred, t)
				} else if t, ok := e.titleOps[pg]; ok {
					pred = append(pred, t)
				}
			}
			if op.Action == ActionDelete && len(pred) == 0 {
				continue
			}
			id := next()
			if op.Action == ActionPut {
				ownTitle[opG] = id // a later op of c may name it as a predecessor
			}
			ops = append(ops, Op{Key: Key{Prop: KeyTitle}, Action: op.Action, Value: op.Value})
			refs = append(refs, append([]gid{id, {}, {}}, pred...))
			continue
		}
		if (gid{op.Obj.Counter, actors[op.Obj.Actor]}) != e.textObj || op.Action == ActionMark {
			continue
		}
		switch {
		case op.Insert:
			anchor := gid{}
			if !op.Key.Elem.IsZero() {
				ref := gid{op.Key.Elem.Counter, actors[op.Key.Elem.Actor]}
				if t, ok := mapElem(ref); ok {
					anchor = t
				} else {
					anchor = e.nearestBefore(ref, c)
				}
			}
			id := next()
			own[opG] = id
			ops = append(ops, Op{Key: Key{IsElem: true}, Insert: true, Action: op.Action, Value: op.Value})
			refs = append(refs, []gid{id, {1, e.Root.Actor}, anchor})
		case op.Action == ActionDelete:
			target, ok := mapElem(gid{op.Key.Elem.Counter, actors[op.Key.Elem.Actor]})
			if !ok {
				continue // deleted at H already
			}
			ops = append(ops, Op{Key: Key{IsElem: true}, Action: ActionDelete, Value: Null()})
			refs = append(refs, []gid{next(), {1, e.Root.Actor}, target, target})
		}
	}
	t := &Change{Actor: actor, Seq: c.Seq - e.seqAtH[c.Actor], StartOp: startOp, Time: c.Time, Message: c.Message}
	for d := range deps {
		t.Deps = append(t.Deps, d)
	}
	slices.SortFunc(t.Deps, compareHashes)
	t.Ops = resolveOps(t, ops, refs)
	t.Rehash()
	// The previous epoch's model learns c only now: the anchors above
	// were found among the elements c's author saw.
	if _, err := e.prev.Apply(c); err != nil {
		return nil, fmt.Errorf("translate change %v: %w", short(c.Hash), err)
	}
	// Only now that c is known to fit does the epoch remember what its
	// translation made.
	for g, tg := range own {
		e.elems[g] = tg
		e.origin[g] = c.Hash
	}
	maps.Copy(e.titleOps, ownTitle)
	e.done[c.Hash] = t
	e.late[c.Hash] = c
	e.maxOp[t.Hash] = max(startOp-1, t.MaxOp())
	return t, nil
}

// nearestBefore is the element of this epoch that stands in for an
// element of the previous one it lacks (a character H had deleted): the
// nearest element before it in the previous epoch that this epoch has and
// c's author saw (the root's, or one a late change before c inserted), or
// the head. Any two elements stand in the same order on every peer, and
// the late changes c's author saw are the same everywhere, so the choice
// does not depend on which other late changes a peer holds.
func (e *Epoch) nearestBefore(ref gid, c *Change) gid {
	seen := e.lateBefore(c)
	m := e.prev
	a, ok := m.actorIdx[ref.actor]
	if !ok {
		return gid{}
	}
	b, i, found := m.locate(makeKey(ref.counter, a))
	if !found {
		return gid{}
	}
	o := b.obj
	for ord := b.ord; ord >= 0; ord-- {
		blk := o.blocks[ord]
		j := blk.len() - 1
		if ord == b.ord {
			j = i
		}
		if j < 0 {
			continue
		}
		// From element j back through its run, then the runs before.
		x, off := blk.runAt(j)
		for ; x >= 0; x-- {
			r := blk.runs[x]
			if off < 0 {
				off = int(r.n) - 1
			}
			for ; off >= 0; off-- {
				g := m.gidOf(r.first.plus(off))
				t, ok := e.elems[g]
				if !ok {
					continue
				}
				if from, isLate := e.origin[g]; !isLate || seen[from] {
					return t
				}
			}
		}
	}
	return gid{}
}

// PastOf is the set of changes of history (any order) that heads cover:
// the heads and everything they depend on. A head or dep history lacks is
// ErrMissingDeps.
func PastOf(history []*Change, heads []Hash) (map[Hash]bool, error) {
	byHash := make(map[Hash]*Change, len(history))
	for _, c := range history {
		byHash[c.Hash] = c
	}
	past := map[Hash]bool{}
	stack := slices.Clone(heads)
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if past[h] {
			continue
		}
		c := byHash[h]
		if c == nil {
			return nil, fmt.Errorf("%w: %v is not in the history", ErrMissingDeps, short(h))
		}
		past[h] = true
		stack = append(stack, c.Deps...)
	}
	return past, nil
}

// lateBefore is the set of late changes in c's past.
func (e *Epoch) lateBefore(c *Change) map[Hash]bool {
	seen := map[Hash]bool{}
	stack := slices.Clone(c.Deps)
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[h] || e.covered[h] {
			continue
		}
		seen[h] = true
		if d := e.late[h]; d != nil {
			stack = append(stack, d.Deps...)
		}
	}
	return seen
}

// resolveOps turns ops whose IDs and references are gids (refs[i]: the
// op's ID, its object, its key element, then its predecessors; a zero
// object or key element is the root or the head) into the change's own
// actor indexes, and sets the change's other actors.
func resolveOps(t *Change, ops []Op, refs [][]gid) []Op {
	others := map[ActorID]bool{}
	for _, r := range refs {
		for _, g := range r {
			if g.counter != 0 && g.actor != t.Actor {
				others[g.actor] = true
			}
		}
	}
	for a := range others {
		t.OtherActors = append(t.OtherActors, a)
	}
	slices.SortFunc(t.OtherActors, func(a, b ActorID) int { return strings.Compare(string(a), string(b)) })
	index := map[ActorID]uint32{t.Actor: 0}
	for i, a := range t.OtherActors {
		index[a] = uint32(i + 1)
	}
	toID := func(g gid) OpID {
		if g.counter == 0 {
			return OpID{}
		}
		return OpID{Counter: g.counter, Actor: index[g.actor]}
	}
	for i := range ops {
		r := refs[i]
		ops[i].ID = toID(r[0])
		ops[i].Obj = toID(r[1])
		if ops[i].Key.IsElem {
			ops[i].Key.Elem = toID(r[2])
		}
		// Predecessors in Lamport order, once each (concurrent title ops
		// of the previous epoch all stand for the root's one).
		pred := slices.Clone(r[3:])
		slices.SortFunc(pred, func(a, b gid) int {
			if a.counter != b.counter {
				return cmp.Compare(a.counter, b.counter)
			}
			return strings.Compare(string(a.actor), string(b.actor))
		})
		for _, p := range slices.Compact(pred) {
			ops[i].Pred = append(ops[i].Pred, toID(p))
		}
	}
	return ops
}
