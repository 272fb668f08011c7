package amformat

import (
	"fmt"
	"math"
)

// Apply integrates a change into the model exactly as the core would and
// returns the splices it made to the body, in order. A change the model
// already holds changes nothing. A change that does not fit (unknown deps,
// object, element or predecessor; a sequence number or op IDs that clash
// with what is there) or that a note may not contain is refused, and the
// model is left as it was. Where the core would queue a change whose deps
// have not arrived, Apply returns ErrMissingDeps: keep it and apply it
// again once they have. c is a change as DecodeChange returns it.
func (m *Model) Apply(c *Change) ([]Splice, error) {
	// A change the model may hold already: its actor's seq is not past
	// the model's (only then can the history hold it).
	if a, ok := m.actorIdx[c.Actor]; ok && c.Seq <= m.clock[a].seq {
		if have, err := m.Has(c.Hash); err != nil || have {
			return nil, err
		}
	}
	for _, d := range c.Deps {
		have, err := m.Has(d)
		if err != nil {
			return nil, err
		}
		if !have {
			return nil, fmt.Errorf("%w: change %v needs %v", ErrMissingDeps, short(c.Hash), short(d))
		}
	}
	if err := checkNoteChange(c); err != nil {
		return nil, err
	}
	self, known := m.actorIdx[c.Actor]
	var clk actorClock
	if known {
		clk = m.clock[self]
	}
	switch {
	case c.Seq <= clk.seq:
		return nil, fmt.Errorf("%w: change %v is seq %d of actor %v, which the model already has", ErrDuplicateSeq, short(c.Hash), c.Seq, c.Actor)
	case c.Seq != clk.seq+1:
		return nil, conflict("change %v is seq %d of actor %v, whose last is %d", short(c.Hash), c.Seq, c.Actor, clk.seq)
	case c.StartOp <= clk.maxOp:
		return nil, conflict("change %v starts at op %d, but actor %v already has ops up to %d", short(c.Hash), c.StartOp, c.Actor, clk.maxOp)
	}
	// The change's actor table in the model's indexes (new actors are
	// interned only once the change is known to fit).
	tr := make([]uint32, 1+len(c.OtherActors))
	for i, a := range c.Actors() {
		if idx, ok := m.actorIdx[a]; ok {
			tr[i] = idx
		} else {
			tr[i] = math.MaxUint32
		}
	}
	if err := m.check(c, tr); err != nil {
		return nil, err
	}
	for i, a := range c.Actors() {
		tr[i] = m.intern(a)
	}
	self = tr[0]
	var log spliceLog
	body := m.textObject(KeyText)
	for i := range c.Ops {
		body = m.applyOp(&c.Ops[i], tr, &log, body)
	}
	m.clock[self] = actorClock{seq: c.Seq, maxOp: max(clk.maxOp, c.MaxOp())}
	if len(c.Ops) == 0 {
		m.clock[self].maxOp = max(clk.maxOp, c.StartOp-1)
	}
	for _, d := range c.Deps {
		delete(m.heads, d)
	}
	m.heads[c.Hash] = struct{}{}
	m.applied[c.Hash] = struct{}{}
	return log.splices(), nil
}

func short(h Hash) string { return h.String()[:12] }

// key translates a change's op ID into the model's; ok is false when the
// actor is new to the model (so no such op exists yet, unless the change
// itself made it).
func key(id OpID, tr []uint32) (elemKey, bool) {
	a := tr[id.Actor]
	return makeKey(id.Counter, a), a != math.MaxUint32
}

// check verifies, without changing anything, that every op of c refers to
// objects, elements and predecessors that exist (in the model or earlier
// in c) and acts on them as a note allows.
func (m *Model) check(c *Change, tr []uint32) error {
	// What earlier ops of this change made: text objects (by index) and
	// elements (by index, with the object they went into).
	ownObj := func(id OpID) (int, bool) {
		if id.Actor != 0 || id.Counter < c.StartOp || id.Counter >= c.StartOp+uint64(len(c.Ops)) {
			return 0, false
		}
		return int(id.Counter - c.StartOp), true
	}
	fail := func(i int, format string, args ...any) error {
		return conflict("change %v op %d: %s", short(c.Hash), i, fmt.Sprintf(format, args...))
	}
	for i := range c.Ops {
		op := &c.Ops[i]
		refs := op.Pred
		if !op.Obj.IsZero() && op.Obj.Counter >= c.StartOp+uint64(i) ||
			op.Key.IsElem && op.Key.Elem.Counter >= c.StartOp+uint64(i) {
			return fail(i, "refers to an op that is not earlier than itself")
		}
		for _, p := range refs {
			if p.Counter >= c.StartOp+uint64(i) {
				return fail(i, "predecessor %v is not earlier than the op", p)
			}
		}
		if op.Obj.IsZero() {
			// A root key: every predecessor is an op at the same key.
			for _, p := range op.Pred {
				if j, own := ownObj(p); own {
					if c.Ops[j].Obj.IsZero() && !c.Ops[j].Key.IsElem && c.Ops[j].Key.Prop == op.Key.Prop && c.Ops[j].Action != ActionDelete {
						continue
					}
					return fail(i, "predecessor %v is not an op at key %q", p, op.Key.Prop)
				}
				k, ok := key(p, tr)
				if !ok || !m.rootHas(op.Key.Prop, k) {
					return fail(i, "unknown predecessor %v at key %q", p, op.Key.Prop)
				}
			}
			continue
		}
		// An op in a text object.
		var objText bool
		if j, own := ownObj(op.Obj); own {
			objText = c.Ops[j].Action == ActionMakeText && c.Ops[j].Obj.IsZero()
		} else if k, ok := key(op.Obj, tr); ok {
			_, objText = m.objs[k]
		}
		if !objText {
			return fail(i, "object %v is not a text object the document has", op.Obj)
		}
		if !op.Key.IsElem {
			return fail(i, "a map key in a text object")
		}
		ref := op.Key.Elem
		if !ref.IsZero() {
			if j, own := ownObj(ref); own {
				o := &c.Ops[j]
				if !o.Insert || o.Obj != op.Obj {
					return fail(i, "element %v is not in object %v", ref, op.Obj)
				}
			} else {
				k, ok := key(ref, tr)
				var b *block
				if ok {
					b, _, ok = m.locate(k)
				}
				objKey, _ := key(op.Obj, tr)
				if !ok || b.obj != m.objs[objKey] {
					return fail(i, "unknown element %v in object %v", ref, op.Obj)
				}
			}
		} else if !op.Insert {
			return fail(i, "a delete of the head of the text")
		}
		if op.Action == ActionDelete {
			// A note's text elements are never overwritten, so a delete's
			// only predecessor is the element itself.
			if len(op.Pred) != 1 || op.Pred[0] != ref {
				return fail(i, "a delete whose predecessors are not the element it deletes")
			}
			if j, own := ownObj(ref); own && c.Ops[j].Action == ActionMark {
				return fail(i, "a delete of a mark")
			}
			if k, ok := key(ref, tr); ok {
				if b, x, found := m.locate(k); found && b.char(x) < 0 {
					return fail(i, "a delete of a mark")
				}
			}
		}
	}
	return nil
}

func (m *Model) rootHas(prop string, k elemKey) bool {
	r := m.root[prop]
	if r == nil {
		return false
	}
	for _, op := range r.ops {
		if op.id == k {
			return true
		}
	}
	return false
}

// applyOp applies one checked op, given the body's Text object, and
// returns the body's Text object after it.
func (m *Model) applyOp(op *Op, tr []uint32, log *spliceLog, body *textObj) *textObj {
	id := makeKey(op.ID.Counter, tr[op.ID.Actor])
	if op.Obj.IsZero() {
		before := body
		var oldText string
		if op.Key.Prop == KeyText && before != nil {
			oldText = before.String()
		}
		r := m.root[op.Key.Prop]
		if r == nil {
			r = &register{}
			m.root[op.Key.Prop] = r
		}
		for _, p := range op.Pred {
			pk := makeKey(p.Counter, tr[p.Actor])
			for j := range r.ops {
				if r.ops[j].id == pk {
					r.ops[j].alive = false
				}
			}
		}
		switch op.Action {
		case ActionPut:
			r.ops = append(r.ops, regOp{id: id, alive: true, val: op.Value})
		case ActionMakeText:
			o := &textObj{id: id}
			m.objs[id] = o
			r.ops = append(r.ops, regOp{id: id, alive: true, text: o})
		}
		if op.Key.Prop == KeyText {
			if after := m.textObject(KeyText); after != before {
				// Another Text won the key: the body is replaced whole.
				n := runeLen(oldText)
				if n > 0 {
					log.delete(0, n)
				}
				if after != nil && after.nvis > 0 {
					log.insertText(0, after.String())
				}
				return after
			}
		}
		return body
	}
	o := m.objs[makeKey(op.Obj.Counter, tr[op.Obj.Actor])]
	inBody := o == body
	if op.Insert {
		ch := elemChar(op)
		var ref elemKey
		if !op.Key.Elem.IsZero() {
			ref = makeKey(op.Key.Elem.Counter, tr[op.Key.Elem.Actor])
		}
		pos := m.integrate(o, ref, !op.Key.Elem.IsZero(), id, ch)
		if inBody && ch >= 0 {
			log.insert(pos, rune(ch))
		}
		return body
	}
	// A delete.
	b, i, _ := m.locate(makeKey(op.Key.Elem.Counter, tr[op.Key.Elem.Actor]))
	if !b.visible(i) {
		return body
	}
	pos := o.offset(b) + b.visibleBefore(i)
	b.hide(i)
	o.addVisible(b, -1)
	if inBody {
		log.delete(pos, 1)
	}
	return body
}

// FromDocument builds the model of a saved document (one document chunk)
// within DefaultLimits, checking it against the note schema. It trusts the
// heads the document records; Document.History checks them (as the core
// does on load) at the cost of rebuilding every change.
func FromDocument(b []byte) (*Model, error) { return DefaultLimits.FromDocument(b) }

// FromDocument builds the model of a saved document within l.
func (l Limits) FromDocument(b []byte) (*Model, error) {
	d, err := l.decodeDocumentHeader(b, false)
	if err != nil {
		return nil, err
	}
	m := NewModel()
	for i, a := range d.Actors {
		m.intern(a)
		m.clock[i].seq, m.clock[i].maxOp = d.clockOf(uint32(i))
	}
	for _, h := range d.Heads {
		m.heads[h] = struct{}{}
	}
	// Elements arrive in text order, object by object; runs of counters
	// in one block are indexed at the end, sorted by counter.
	pending := make([][]span, len(d.Actors))
	var cur *textObj
	var last *block
	err = d.EachOp(func(op *Op) error {
		id := makeKey(op.ID.Counter, op.ID.Actor)
		if op.Obj.IsZero() {
			if err := checkRootOp(op); err != nil {
				return err
			}
			r := m.root[op.Key.Prop]
			if r == nil {
				r = &register{}
				m.root[op.Key.Prop] = r
			}
			ro := regOp{id: id, alive: len(op.Succ) == 0}
			if op.Action == ActionMakeText {
				ro.text = &textObj{id: id}
				m.objs[id] = ro.text
			} else {
				ro.val = op.Value
			}
			r.ops = append(r.ops, ro)
			return nil
		}
		o := m.objs[makeKey(op.Obj.Counter, op.Obj.Actor)]
		if o == nil {
			return unsupported("an op in object %v, which is not the note's text or title", op.Obj)
		}
		if err := checkTextOp(op); err != nil {
			return err
		}
		if !op.Insert {
			return unsupported("op %v overwrites a text element", op.ID)
		}
		if o != cur {
			cur, last = o, nil
		}
		ch := elemChar(op)
		if last == nil || last.len() >= blockSize || len(last.runs) >= maxRuns {
			last = m.newBlock(o, len(o.blocks))
			last.chars = make([]byte, 0, blockSize)
		}
		vis := ch >= 0 && len(op.Succ) == 0
		last.appendElem(id, ch, vis)
		if vis {
			o.nvis++
		}
		p := pending[op.ID.Actor]
		if n := len(p); n > 0 && p[n-1].handle == last.handle && p[n-1].end == op.ID.Counter {
			p[n-1].end++
		} else {
			pending[op.ID.Actor] = append(p, span{op.ID.Counter, op.ID.Counter + 1, last.handle})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for a, runs := range pending {
		m.index[a] = buildIndex(runs)
	}
	m.doc = b
	return m, nil
}

// elemChar is what a checked insert into a text puts there: its character,
// or a mark's beginning or end.
func elemChar(op *Op) int32 {
	switch {
	case op.Action == ActionMark && op.HasMarkName:
		return elemMarkBegin
	case op.Action == ActionMark:
		return elemMarkEnd
	}
	r, _ := singleRune(op.Value.Str())
	return int32(r)
}
