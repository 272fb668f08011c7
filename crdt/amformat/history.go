package amformat

import (
	"cmp"
	"slices"
	"sort"
)

// History rebuilds the document's changes as the core does when it loads a
// document (predecessors from successors, deletes from successors that are
// no op of their own), computing each change's hash, and checks that these
// changes have the document's heads. The changes come in the document's
// order, so each change's deps come before it.
func (d *Document) History() ([]*Change, error) {
	out := make([]*Change, 0, d.numChanges)
	err := d.rebuild(func(_ int, c *Change) error {
		k := *c
		k.Deps = slices.Clone(c.Deps)
		k.OtherActors = slices.Clone(c.OtherActors)
		k.Ops = slices.Clone(c.Ops)
		for i := range k.Ops {
			k.Ops[i].Pred = slices.Clone(k.Ops[i].Pred)
		}
		out = append(out, &k)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// HistoryHashes is History's hashes alone, in the document's order, at a
// fraction of its memory.
func (d *Document) HistoryHashes() ([]Hash, error) {
	out := make([]Hash, 0, d.numChanges)
	err := d.rebuild(func(_ int, c *Change) error {
		out = append(out, c.Hash)
		return nil
	})
	return out, err
}

// succRef records that op pred names succ as a successor.
type succRef struct {
	succ OpID
	pred int32 // index into the rebuilt ops, in document order
}

// rebuild reconstructs the changes one by one, calling fn with each; c and
// its slices are reused between calls.
func (d *Document) rebuild(fn func(i int, c *Change) error) error {
	if d.Changes == nil && d.numChanges > 0 {
		return malformed("document decoded without its change metadata")
	}
	// Per actor, its changes in order (their max ops ascend).
	byActor := make([][]int32, len(d.Actors))
	for i, c := range d.Changes {
		byActor[c.Actor] = append(byActor[c.Actor], int32(i))
	}
	changeOf := func(id OpID) (int32, error) {
		list := byActor[id.Actor]
		k := sort.Search(len(list), func(j int) bool { return d.Changes[list[j]].MaxOp >= id.Counter })
		if k == len(list) {
			return 0, malformed("op %v belongs to no change", id)
		}
		return list[k], nil
	}
	// Deletes are not ops in a document; guess half as many as the ops.
	guess := d.numOps + d.numOps/2
	var (
		ops      = make([]Op, 0, guess)    // every op, deletes included
		opChange = make([]int32, 0, guess) // the change of each
		preds    []OpID                    // backing store of the ops' Pred
		refs     []succRef
		explicit = map[OpID]int32{} // the current object's non-insert ops
		curObj   OpID
	)
	lamport := func(a, b OpID) int {
		if a.Counter != b.Counter {
			return cmp.Compare(a.Counter, b.Counter)
		}
		// Document actor indexes sort as the actors' bytes.
		return cmp.Compare(a.Actor, b.Actor)
	}
	// finishObject turns the current object's successor references into
	// predecessors and delete ops.
	finishObject := func() error {
		slices.SortFunc(refs, func(a, b succRef) int {
			if c := lamport(a.succ, b.succ); c != 0 {
				return c
			}
			return cmp.Compare(a.pred, b.pred)
		})
		for i := 0; i < len(refs); {
			j := i
			start := len(preds)
			for ; j < len(refs) && refs[j].succ == refs[i].succ; j++ {
				preds = append(preds, ops[refs[j].pred].ID)
			}
			p := preds[start:len(preds):len(preds)]
			slices.SortFunc(p, lamport)
			succ := refs[i].succ
			if k, ok := explicit[succ]; ok {
				ops[k].Pred = p
			} else {
				// A delete: it acts where its first predecessor (in document
				// order) put or made something.
				first := &ops[refs[i].pred]
				var key Key
				switch first.Action {
				case ActionPut, ActionMakeMap, ActionMakeList, ActionMakeText, ActionMakeTable:
					key = first.Key
					if first.Insert {
						key = Key{Elem: first.ID, IsElem: true}
					}
				default:
					return malformed("delete %v of an op that is neither a put nor a make", succ)
				}
				ci, err := changeOf(succ)
				if err != nil {
					return err
				}
				ops = append(ops, Op{ID: succ, Obj: curObj, Key: key, Action: ActionDelete, Pred: p})
				opChange = append(opChange, ci)
			}
			i = j
		}
		refs = refs[:0]
		clear(explicit)
		return nil
	}
	err := d.EachOp(func(op *Op) error {
		if op.Obj != curObj {
			if err := finishObject(); err != nil {
				return err
			}
			curObj = op.Obj
		}
		ci, err := changeOf(op.ID)
		if err != nil {
			return err
		}
		idx := int32(len(ops))
		o := *op
		o.Succ, o.Pred = nil, nil
		ops = append(ops, o)
		opChange = append(opChange, ci)
		if !op.Insert {
			explicit[op.ID] = idx
		}
		for _, s := range op.Succ {
			refs = append(refs, succRef{succ: s, pred: idx})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := finishObject(); err != nil {
		return err
	}

	// Group the ops by change (a counting sort), then each change's by
	// counter.
	start := make([]int32, len(d.Changes)+1)
	for _, ci := range opChange {
		start[ci+1]++
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	order := make([]int32, len(ops))
	fill := slices.Clone(start[:len(d.Changes)])
	for i, ci := range opChange {
		order[fill[ci]] = int32(i)
		fill[ci]++
	}

	hashes := make([]Hash, len(d.Changes))
	heads := map[Hash]bool{}
	var (
		enc     changeEncoder
		c       Change
		scratch []Op
		local   = map[uint32]uint32{}
		used    []uint32
	)
	for i, cm := range d.Changes {
		mine := order[start[i]:start[i+1]]
		slices.SortFunc(mine, func(a, b int32) int { return cmp.Compare(ops[a].ID.Counter, ops[b].ID.Counter) })
		n := uint64(len(mine))
		if n > cm.MaxOp {
			return malformed("change %d has %d ops but max op %d", i, n, cm.MaxOp)
		}
		c = Change{
			Deps:        c.Deps[:0],
			Actor:       d.Actors[cm.Actor],
			Seq:         cm.Seq,
			StartOp:     cm.MaxOp - n + 1,
			Time:        cm.Time,
			Message:     cm.Message,
			OtherActors: c.OtherActors[:0],
			ExtraBytes:  cm.Extra,
		}
		for j, k := range mine {
			if ops[k].ID.Counter != c.StartOp+uint64(j) {
				return malformed("change %d: its ops' counters are not contiguous", i)
			}
		}
		for _, dep := range cm.Deps {
			c.Deps = append(c.Deps, hashes[dep])
		}
		slices.SortFunc(c.Deps, compareHashes)
		// Other actors: those the ops reference, in byte (= index) order.
		clear(local)
		used = used[:0]
		note := func(id OpID) {
			if id.Counter != 0 && id.Actor != cm.Actor {
				if _, ok := local[id.Actor]; !ok {
					local[id.Actor] = 0
					used = append(used, id.Actor)
				}
			}
		}
		for _, k := range mine {
			op := &ops[k]
			note(op.Obj)
			if op.Key.IsElem {
				note(op.Key.Elem)
			}
			for _, p := range op.Pred {
				note(p)
			}
		}
		slices.Sort(used)
		local[cm.Actor] = 0
		for j, a := range used {
			local[a] = uint32(j + 1)
			c.OtherActors = append(c.OtherActors, d.Actors[a])
		}
		tr := func(id OpID) OpID {
			if id.Counter == 0 {
				return OpID{}
			}
			return OpID{Counter: id.Counter, Actor: local[id.Actor]}
		}
		scratch = scratch[:0]
		predStart := len(preds)
		for _, k := range mine {
			op := ops[k]
			op.ID, op.Obj = tr(op.ID), tr(op.Obj)
			if op.Key.IsElem {
				op.Key.Elem = tr(op.Key.Elem)
			}
			if len(op.Pred) > 0 {
				ps := len(preds)
				for _, p := range op.Pred {
					preds = append(preds, tr(p))
				}
				op.Pred = preds[ps:len(preds):len(preds)]
			}
			scratch = append(scratch, op)
		}
		c.Ops = scratch
		c.Hash = hashBody(ChunkChange, enc.body(&c))
		hashes[i] = c.Hash
		for _, dep := range c.Deps {
			delete(heads, dep)
		}
		heads[c.Hash] = true
		if err := fn(i, &c); err != nil {
			return err
		}
		preds = preds[:predStart]
	}
	if len(heads) != len(d.Heads) {
		return malformed("the document's changes have %d heads, it records %d", len(heads), len(d.Heads))
	}
	for _, h := range d.Heads {
		if !heads[h] {
			return malformed("the document's head %v is not the head of its changes", h)
		}
	}
	return nil
}
