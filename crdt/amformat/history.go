package amformat

import (
	"sort"
)

// History rebuilds the document's changes as the core does when it loads a
// document (predecessors from successors, deletes from successors with no
// op of their own), computing each change's hash, and checks that the heads
// these changes have are the document's. The changes are in the document's
// order, so each change's deps come before it.
func (d *Document) History() ([]*Change, error) {
	type pending struct {
		obj OpID
		op  Op
	}
	perChange := make([][]Op, len(d.Changes))
	// Per actor, the changes in order (their max ops ascend).
	byActor := make([][]int, len(d.Actors))
	for i, c := range d.Changes {
		byActor[c.Actor] = append(byActor[c.Actor], i)
	}
	changeOf := func(id OpID) (int, error) {
		list := byActor[id.Actor]
		k := sort.Search(len(list), func(j int) bool { return d.Changes[list[j]].MaxOp >= id.Counter })
		if k == len(list) {
			return 0, malformed("op %v belongs to no change", id)
		}
		return list[k], nil
	}
	// Ops of the current object, and, per op ID, its predecessors (the ops
	// that name it as a successor) and the element or key it acts on.
	var objOps []Op
	preds := map[OpID][]OpID{}
	keys := map[OpID]Key{}
	var curObj OpID
	flush := func() error {
		for _, op := range objOps {
			if p, ok := preds[op.ID]; ok {
				op.Pred = p
				delete(preds, op.ID)
			}
			ci, err := changeOf(op.ID)
			if err != nil {
				return err
			}
			perChange[ci] = append(perChange[ci], op)
		}
		for id, p := range preds {
			key, ok := keys[p[0]]
			if !ok {
				return malformed("delete %v of an op that is neither a put nor a make", id)
			}
			ci, err := changeOf(id)
			if err != nil {
				return err
			}
			perChange[ci] = append(perChange[ci], Op{ID: id, Obj: curObj, Key: key, Action: ActionDelete, Pred: p})
		}
		objOps = objOps[:0]
		clear(preds)
		clear(keys)
		return nil
	}
	err := d.EachOp(func(op *Op) error {
		if op.Obj != curObj {
			if err := flush(); err != nil {
				return err
			}
			curObj = op.Obj
		}
		o := *op
		o.Succ = nil
		o.Pred = nil
		for _, s := range op.Succ {
			preds[s] = append(preds[s], op.ID)
		}
		switch o.Action {
		case ActionPut, ActionMakeMap, ActionMakeList, ActionMakeText, ActionMakeTable:
			if !o.Key.IsElem {
				keys[o.ID] = o.Key
			} else if o.Insert {
				keys[o.ID] = Key{Elem: o.ID, IsElem: true}
			} else {
				keys[o.ID] = o.Key
			}
		}
		objOps = append(objOps, o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}

	out := make([]*Change, len(d.Changes))
	heads := map[Hash]bool{}
	for i, cm := range d.Changes {
		ops := perChange[i]
		sort.Slice(ops, func(a, b int) bool { return ops[a].ID.Counter < ops[b].ID.Counter })
		for j := range ops {
			// Predecessors are sorted by op ID (counter, then actor, whose
			// document index order is its byte order).
			p := ops[j].Pred
			sort.Slice(p, func(a, b int) bool { return lamportLess(p[a], p[b], d.Actors) })
		}
		n := uint64(len(ops))
		if n > cm.MaxOp {
			return nil, malformed("change %d has %d ops but max op %d", i, n, cm.MaxOp)
		}
		c := &Change{
			Actor:      d.Actors[cm.Actor],
			Seq:        cm.Seq,
			StartOp:    cm.MaxOp - n + 1,
			Time:       cm.Time,
			Message:    cm.Message,
			ExtraBytes: cm.Extra,
		}
		for j, op := range ops {
			if op.ID.Counter != c.StartOp+uint64(j) {
				return nil, malformed("change %d: its ops' counters are not contiguous", i)
			}
		}
		if c.StartOp == 0 {
			return nil, malformed("change %d: start op 0", i)
		}
		for _, dep := range cm.Deps {
			c.Deps = append(c.Deps, out[dep].Hash)
		}
		sort.Slice(c.Deps, func(a, b int) bool { return compareHashes(c.Deps[a], c.Deps[b]) < 0 })
		c.Ops = localizeOps(ops, cm.Actor, d.Actors, &c.OtherActors)
		c.Rehash()
		out[i] = c
		for _, dep := range c.Deps {
			delete(heads, dep)
		}
		heads[c.Hash] = true
	}
	if len(heads) != len(d.Heads) {
		return nil, malformed("the document's changes have %d heads, it records %d", len(heads), len(d.Heads))
	}
	for _, h := range d.Heads {
		if !heads[h] {
			return nil, malformed("the document's head %v is not the head of its changes", h)
		}
	}
	return out, nil
}

// localizeOps rewrites document ops' actor indexes into a change's: 0 for
// the change's actor, then the other actors its ops reference, sorted.
func localizeOps(ops []Op, self uint32, actors []ActorID, others *[]ActorID) []Op {
	used := map[uint32]bool{}
	note := func(id OpID) {
		if id.Counter != 0 && id.Actor != self {
			used[id.Actor] = true
		}
	}
	for _, op := range ops {
		note(op.Obj)
		if op.Key.IsElem {
			note(op.Key.Elem)
		}
		for _, p := range op.Pred {
			note(p)
		}
	}
	// Document actor indexes sort as their bytes do.
	idx := make([]uint32, 0, len(used))
	for a := range used {
		idx = append(idx, a)
	}
	sort.Slice(idx, func(i, j int) bool { return idx[i] < idx[j] })
	local := map[uint32]uint32{self: 0}
	for i, a := range idx {
		local[a] = uint32(i + 1)
		*others = append(*others, actors[a])
	}
	tr := func(id OpID) OpID {
		if id.Counter == 0 {
			return OpID{}
		}
		return OpID{Counter: id.Counter, Actor: local[id.Actor]}
	}
	out := make([]Op, len(ops))
	for i, op := range ops {
		op.ID = tr(op.ID)
		op.Obj = tr(op.Obj)
		if op.Key.IsElem {
			op.Key.Elem = tr(op.Key.Elem)
		}
		if len(op.Pred) > 0 {
			p := make([]OpID, len(op.Pred))
			for j, x := range op.Pred {
				p[j] = tr(x)
			}
			op.Pred = p
		}
		out[i] = op
	}
	return out
}
