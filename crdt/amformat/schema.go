package amformat

import "fmt"

// A collab note is a root map holding scalars, with the body at "text" (a
// Text object) and the title at "title" (a string, or a Text as JS writes
// it). Text holds characters, one per insert, and marks; its characters
// are deleted, never overwritten. Anything else (nested maps, lists,
// tables, counters, objects inside the text) is refused as unsupported,
// with a message a user can read.

// CheckNoteChange checks the ops of a change against the note schema as far
// as one change shows (Model.Apply also checks what the ops refer to).
func CheckNoteChange(c *Change) error { return checkNoteChange(c) }

func checkNoteChange(c *Change) error {
	if len(c.ExtraColumns) > 0 {
		// The core drops columns it does not know when it saves, which
		// would change this change's hash in a saved document.
		return unsupported("change %v has op columns this version does not know (%v)", short(c.Hash), c.ExtraColumns[0].Spec)
	}
	for i := range c.Ops {
		op := &c.Ops[i]
		var err error
		if op.Obj.IsZero() {
			err = checkRootOp(op)
		} else {
			err = checkTextOp(op)
		}
		if err != nil {
			return fmt.Errorf("change %v op %d: %w", short(c.Hash), i, err)
		}
	}
	return nil
}

// CheckNoteDocument checks a whole document against the note schema.
func CheckNoteDocument(b []byte) error {
	_, err := FromDocument(b)
	return err
}

func notInNote(what string, args ...any) error {
	return unsupported("%s: a collab note holds only a title and a text", fmt.Sprintf(what, args...))
}

func checkRootOp(op *Op) error {
	if op.Key.IsElem || op.Insert {
		return notInNote("a list operation on the root map")
	}
	k := op.Key.Prop
	switch op.Action {
	case ActionPut:
		switch {
		case k == KeyText:
			return notInNote("the body %q as a plain %v rather than Text", k, op.Value.Type)
		case k == KeyTitle && op.Value.Type != TypeString:
			return notInNote("a title that is a %v", op.Value.Type)
		case op.Value.Type == TypeCounter:
			return notInNote("a counter at key %q", k)
		case op.Value.Type > TypeTimestamp:
			return notInNote("a value of %v at key %q", op.Value.Type, k)
		}
	case ActionMakeText:
		if k != KeyText && k != KeyTitle {
			return notInNote("a Text at key %q", k)
		}
	case ActionDelete:
	case ActionMakeMap:
		return notInNote("a nested map at key %q", k)
	case ActionMakeList:
		return notInNote("a list at key %q", k)
	case ActionMakeTable:
		return notInNote("a table at key %q", k)
	case ActionIncrement:
		return notInNote("a counter at key %q", k)
	default:
		return notInNote("a %v at key %q", op.Action, k)
	}
	return nil
}

func checkTextOp(op *Op) error {
	if !op.Key.IsElem {
		return notInNote("a map key %q in the text", op.Key.Prop)
	}
	if op.Insert {
		switch op.Action {
		case ActionPut:
			if op.Value.Type != TypeString {
				return notInNote("a %v inside the text", op.Value.Type)
			}
			if _, ok := singleRune(op.Value.Str()); !ok {
				return notInNote("a text element of %d bytes that is not one character", len(op.Value.Str()))
			}
		case ActionMark:
			if op.Value.Type == TypeCounter || op.Value.Type > TypeTimestamp {
				return notInNote("a mark whose value is a %v", op.Value.Type)
			}
		case ActionMakeMap, ActionMakeList, ActionMakeText, ActionMakeTable:
			return notInNote("an object (%v) inside the text", op.Action)
		default:
			return notInNote("a %v inserted in the text", op.Action)
		}
		if len(op.Pred) > 0 {
			return notInNote("an insert with predecessors")
		}
		return nil
	}
	switch op.Action {
	case ActionDelete:
		return nil
	case ActionPut:
		return notInNote("an op that overwrites a character of the text")
	case ActionIncrement:
		return notInNote("a counter in the text")
	}
	return notInNote("a %v on a character of the text", op.Action)
}
