package amformat

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Commit makes the change that performs splices on the body, as the 2023
// core's transaction makes it: one delete per character removed (its
// predecessor the character's insert), one insert per character added,
// each after the character before it (the last visible one before the
// position, or the head), op IDs counting on from the highest the model
// holds, the model's heads as deps, seq one past actor's last. It applies
// the change to the model and returns it, hashed, with its encoding (raw);
// nil when the splices change nothing. Splices apply in order, each against the text the ones
// before left, in code points.
//
// It is what lets a note be edited without loading its history in the
// core: the change is valid Automerge (the core and JavaScript Automerge
// load it; the tests check both agree on the text), so the core, loading
// the note later, takes it like any of its own. An error leaves the model
// as it was.
func (m *Model) Commit(actor ActorID, splices []Splice, timeMs int64, message string) (c *Change, raw []byte, err error) {
	o := m.textObject(KeyText)
	if o == nil {
		return nil, nil, unsupported("the note has no body to edit")
	}
	length, ops := o.nvis, 0
	for i, sp := range splices {
		if sp.Pos < 0 || sp.Delete < 0 || sp.Pos+sp.Delete > length {
			return nil, nil, fmt.Errorf("splice %d at %d deleting %d of %d characters: %w", i, sp.Pos, sp.Delete, length, ErrMalformed)
		}
		if !utf8.ValidString(sp.Insert) {
			return nil, nil, fmt.Errorf("splice %d inserts text that is not UTF-8: %w", i, ErrMalformed)
		}
		n := utf8.RuneCountInString(sp.Insert)
		length += n - sp.Delete
		ops += n + sp.Delete
	}
	if ops == 0 {
		return nil, nil, nil
	}
	if len(actor) == 0 {
		return nil, nil, fmt.Errorf("no actor: %w", ErrMalformed)
	}
	// Checked: nothing below fails, so the model is changed from here on.
	self := m.intern(actor)
	clk := m.clock[self]
	startOp := uint64(0)
	for _, c := range m.clock {
		startOp = max(startOp, c.maxOp)
	}
	startOp++
	// Ops are made with model keys, then written in the change's actor
	// table once every actor they name is known.
	type localOp struct {
		key    elemKey // the element deleted, or the one inserted after
		hasKey bool    // an insert after an element, not at the head
		insert bool
		ch     rune
	}
	local := make([]localOp, 0, ops)
	next := startOp
	for _, sp := range splices {
		if sp.Delete > 0 {
			b, i, _ := o.at(sp.Pos)
			for d := range sp.Delete {
				if d > 0 {
					b, i = o.nextVisible(b, i)
				}
				local = append(local, localOp{key: b.id(i), hasKey: true})
				b.hide(i)
				o.addVisible(b, -1)
				next++
			}
		}
		var ref elemKey
		hasRef := sp.Pos > 0
		if hasRef {
			b, i, _ := o.at(sp.Pos - 1)
			ref = b.id(i)
		}
		for _, r := range sp.Insert {
			k := makeKey(next, self)
			m.integrate(o, ref, hasRef, k, r)
			local = append(local, localOp{key: ref, hasKey: hasRef, insert: true, ch: r})
			ref, hasRef = k, true
			next++
		}
	}
	// The actor table: ours first, then every other actor named, sorted.
	named := map[uint32]bool{o.id.actor(): true}
	for _, op := range local {
		if op.hasKey {
			named[op.key.actor()] = true
		}
	}
	delete(named, self)
	var others []ActorID
	for a := range named {
		others = append(others, m.actors[a])
	}
	slices.SortFunc(others, func(a, b ActorID) int { return strings.Compare(string(a), string(b)) })
	index := map[uint32]uint32{self: 0}
	for i, a := range others {
		index[m.actorIdx[a]] = uint32(i + 1)
	}
	opID := func(k elemKey) OpID { return OpID{Counter: k.counter(), Actor: index[k.actor()]} }
	obj := opID(o.id)
	c = &Change{
		Deps: m.Heads(), Actor: actor, Seq: clk.seq + 1, StartOp: startOp,
		Time: timeMs, Message: message, OtherActors: others, Ops: make([]Op, len(local)),
	}
	for i, op := range local {
		out := Op{ID: OpID{Counter: startOp + uint64(i)}, Obj: obj, Key: Key{IsElem: true}}
		if op.hasKey {
			out.Key.Elem = opID(op.key)
		}
		if op.insert {
			out.Insert, out.Action, out.Value = true, ActionPut, Str(string(op.ch))
		} else {
			out.Action, out.Value, out.Pred = ActionDelete, Null(), []OpID{out.Key.Elem}
		}
		c.Ops[i] = out
	}
	raw = c.EncodeHashed()
	m.clock[self] = actorClock{seq: c.Seq, maxOp: c.MaxOp()}
	for _, d := range c.Deps {
		delete(m.heads, d)
	}
	m.heads[c.Hash] = struct{}{}
	m.applied[c.Hash] = struct{}{}
	return c, raw, nil
}

// nextVisible is the first visible character after index i of block b;
// the caller knows there is one.
func (o *textObj) nextVisible(b *block, i int) (*block, int) {
	for i++; ; i++ {
		for i == b.len() {
			b, i = o.blocks[b.ord+1], 0
		}
		if b.visible(i) {
			return b, i
		}
	}
}
