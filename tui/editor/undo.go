package editor

import (
	"slices"
	"unicode"

	"github.com/collab-editor/collab/crdt/splice"
)

// editKind decides which consecutive edits share one undo entry.
type editKind int

const (
	editOther editKind = iota
	editType
	editBackspace
	editDelete
	editNewline
	editPaste
)

// undoEntry is the inverse of one of the user's own edits: a sequence of
// splices (each on the text the previous one left), in the coordinates of
// the text as it will be when the entry is next to apply (the current text
// for the top entry, the text after undoing the entries above it for the
// others). Remote edits are transformed into every entry's coordinates
// (transformStack), so undo removes only text this user typed and restores
// only text this user deleted.
type undoEntry struct {
	ops  []Splice
	kind editKind
}

// edit replaces [start, end) with ins as the user's own edit: applies it,
// reports the splice, records its inverse and puts the cursor after it.
func (m *Model) edit(start, end int, ins string, kind editKind) {
	if start == end && ins == "" {
		return
	}
	s := Splice{Pos: start, Delete: end - start, Insert: ins}
	deleted := m.buf.str(start, end)
	m.applyLocal(s)
	m.out = append(m.out, s)
	m.pushUndo(Splice{Pos: start, Delete: runeLen(ins), Insert: deleted}, kind)
	m.redo = nil
	m.anchor, m.goalX = -1, -1
	m.cursor = m.snap(start + runeLen(ins))
	m.ensureVisible(m.cursor)
}

// pushUndo records inv, merging it into the top entry while the user keeps
// typing (one word per entry) or keeps deleting in one direction.
func (m *Model) pushUndo(inv Splice, kind editKind) {
	if !m.breakGroup && len(m.undo) > 0 {
		top := &m.undo[len(m.undo)-1]
		if top.kind == kind && len(top.ops) == 1 {
			t := &top.ops[0]
			switch kind {
			case editType:
				if t.Insert == "" && inv.Insert == "" && inv.Pos == t.Pos+t.Delete && !m.wordStart(inv.Pos) {
					t.Delete += inv.Delete
					return
				}
			case editBackspace:
				if t.Delete == 0 && inv.Delete == 0 && inv.Pos+runeLen(inv.Insert) == t.Pos {
					t.Pos, t.Insert = inv.Pos, inv.Insert+t.Insert
					return
				}
			case editDelete:
				if t.Delete == 0 && inv.Delete == 0 && inv.Pos == t.Pos {
					t.Insert += inv.Insert
					return
				}
			}
		}
	}
	m.undo = append(m.undo, undoEntry{ops: []Splice{inv}, kind: kind})
	if len(m.undo) > m.undoLimit {
		m.undo = slices.Delete(m.undo, 0, len(m.undo)-m.undoLimit)
	}
	m.breakGroup = false
}

// wordStart reports whether the text typed at pos begins a new word, which
// starts a new undo entry.
func (m *Model) wordStart(pos int) bool {
	return pos > 0 && pos < m.buf.runes && unicode.IsSpace(m.buf.at(pos)) && !unicode.IsSpace(m.buf.at(pos-1))
}

func (m *Model) doUndo() { m.replay(&m.undo, &m.redo) }

func (m *Model) doRedo() { m.replay(&m.redo, &m.undo) }

// replay applies the newest entry of from and pushes its inverse onto to.
func (m *Model) replay(from, to *[]undoEntry) {
	if len(*from) == 0 {
		return
	}
	e := (*from)[len(*from)-1]
	*from = (*from)[:len(*from)-1]
	inv := m.applyOps(e.ops)
	if inv == nil {
		return
	}
	*to = append(*to, undoEntry{ops: inv, kind: e.kind})
	m.placeAfter(e.ops)
}

// applyOps applies the sequence ops as local edits and returns its inverse.
func (m *Model) applyOps(ops []Splice) []Splice {
	if err := splice.CheckAll(m.buf.runes, ops); err != nil {
		// Defensive: a transform bug must not take the app down; an entry
		// that no longer fits is dropped.
		return nil
	}
	inv := make([]Splice, 0, len(ops))
	for _, o := range ops {
		inv = append(inv, m.inverse(o))
		m.applyLocal(o)
		m.out = append(m.out, o)
	}
	slices.Reverse(inv)
	return inv
}

// placeAfter puts the cursor after the last text the applied ops touched.
func (m *Model) placeAfter(ops []Splice) {
	m.breakGroup = true
	m.anchor, m.goalX = -1, -1
	if len(ops) > 0 {
		last := ops[len(ops)-1]
		m.cursor = m.snap(last.Pos + last.InsertLen())
	}
	m.cursor = m.snap(m.cursor)
	m.ensureVisible(m.cursor)
}

// transformStack moves a remote splice s (in current coordinates) through the
// stack from the top down: each entry is rebased onto s, and s is rebased
// onto the text that entry's application would leave, for the entry below.
// At a shared insertion point the entry's text goes first, so undoing
// restores the user's text where it was, before a collaborator's.
func transformStack(stack []undoEntry, s Splice) []undoEntry {
	cur := []Splice{s}
	for i := len(stack) - 1; i >= 0 && len(cur) > 0; i-- {
		stack[i].ops, cur = splice.Transform(stack[i].ops, cur, true)
	}
	return slices.DeleteFunc(stack, func(e undoEntry) bool { return len(e.ops) == 0 })
}

// Edit applies splices (a sequence made on the current text, each on the
// text the previous left) as one edit of the user's own — one undo step,
// the cursor after the last of them — and returns them for the app to
// apply to the note, as Update does for keys. Use it for edits the app
// computes (restoring an old version, replacing every match).
func (m *Model) Edit(splices []Splice) ([]Splice, error) {
	if err := splice.CheckAll(m.buf.runes, splices); err != nil {
		return nil, err
	}
	if len(splices) == 0 {
		return nil, nil
	}
	inv := make([]Splice, 0, len(splices))
	for _, s := range splices {
		inv = append(inv, m.inverse(s))
		m.applyLocal(s)
	}
	slices.Reverse(inv)
	m.undo = append(m.undo, undoEntry{ops: inv, kind: editOther})
	if len(m.undo) > m.undoLimit {
		m.undo = slices.Delete(m.undo, 0, len(m.undo)-m.undoLimit)
	}
	m.redo = nil
	m.placeAfter(splices)
	return splices, nil
}

// inverse is the splice that undoes s on the text s is about to change.
func (m *Model) inverse(s Splice) Splice {
	return Splice{Pos: s.Pos, Delete: s.InsertLen(), Insert: m.buf.str(s.Pos, s.Pos+s.Delete)}
}
