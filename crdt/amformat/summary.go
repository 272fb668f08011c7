package amformat

import "bytes"

// RootSummary reads a note's title, and whether it has a body, from its
// changes alone, resolving the root map's "title" and "text" registers as
// the core does (the ops no later op overwrote or deleted; of concurrent
// ones, the greatest op ID) without building a text model. An invitation
// needs no more, and a stranger's offer may hold megabytes of text.
// ok is false when the title is a Text object (as JS may write it): its
// characters need the model.
func RootSummary(changes []*Change) (title string, body, ok bool) {
	type lamport struct {
		counter uint64
		actor   ActorID
	}
	type rootOp struct {
		id     lamport
		action Action
		value  Value
	}
	less := func(a, b lamport) bool {
		if a.counter != b.counter {
			return a.counter < b.counter
		}
		return bytes.Compare([]byte(a.actor), []byte(b.actor)) < 0
	}
	ops := map[string][]rootOp{}
	overwritten := map[string]map[lamport]bool{}
	for _, c := range changes {
		actorOf := func(i uint32) ActorID {
			if i == 0 {
				return c.Actor
			}
			if int(i-1) < len(c.OtherActors) {
				return c.OtherActors[i-1]
			}
			return ""
		}
		for i := range c.Ops {
			op := &c.Ops[i]
			if !op.Obj.IsZero() || op.Key.IsElem {
				continue
			}
			k := op.Key.Prop
			if k != KeyTitle && k != KeyText {
				continue
			}
			for _, p := range op.Pred {
				if overwritten[k] == nil {
					overwritten[k] = map[lamport]bool{}
				}
				overwritten[k][lamport{p.Counter, actorOf(p.Actor)}] = true
			}
			if op.Action != ActionDelete {
				ops[k] = append(ops[k], rootOp{lamport{op.ID.Counter, actorOf(op.ID.Actor)}, op.Action, op.Value})
			}
		}
	}
	winner := func(k string) *rootOp {
		var w *rootOp
		for i := range ops[k] {
			op := &ops[k][i]
			if !overwritten[k][op.id] && (w == nil || less(w.id, op.id)) {
				w = op
			}
		}
		return w
	}
	if w := winner(KeyText); w != nil && w.action == ActionMakeText {
		body = true
	}
	w := winner(KeyTitle)
	switch {
	case w == nil:
		return "", body, true
	case w.action == ActionPut && w.value.Type == TypeString:
		return w.value.Str(), body, true
	case w.action == ActionPut:
		return "", body, true // not a string: no title a note shows
	}
	return "", body, false
}
