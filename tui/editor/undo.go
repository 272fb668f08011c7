package editor

import (
	"slices"
	"unicode"
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

// undoEntry is the inverse of one of the user's own edits: disjoint splices
// in ascending order, in the coordinates of the text as it will be when the
// entry is next to apply (the current text for the top entry, the text after
// undoing the entries above it for the others). Remote edits are transformed
// into every entry's coordinates (transformStack), so undo removes only text
// this user typed and restores only text this user deleted.
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
	deleted := string(m.buf.text[start:end])
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
	t := m.buf.text
	return pos > 0 && pos < len(t) && unicode.IsSpace(t[pos]) && !unicode.IsSpace(t[pos-1])
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
	*to = append(*to, undoEntry{ops: inv, kind: e.kind})
	m.placeAfter(inv)
}

// applyOps applies disjoint ascending ops as local edits (highest first, so
// each splice's position is still valid) and returns their inverse.
func (m *Model) applyOps(ops []Splice) []Splice {
	n := m.Len()
	inv := make([]Splice, 0, len(ops))
	shift := 0
	for i := range ops {
		o := &ops[i]
		// Defensive: a transform bug must not take the app down.
		o.Pos = clamp(o.Pos, 0, n)
		o.Delete = clamp(o.Delete, 0, n-o.Pos)
		inv = append(inv, Splice{Pos: o.Pos + shift, Delete: runeLen(o.Insert), Insert: string(m.buf.text[o.Pos : o.Pos+o.Delete])})
		shift += runeLen(o.Insert) - o.Delete
	}
	for i := len(ops) - 1; i >= 0; i-- {
		m.applyLocal(ops[i])
		m.out = append(m.out, ops[i])
	}
	return inv
}

// placeAfter puts the cursor after the last text an undo/redo touched.
func (m *Model) placeAfter(inv []Splice) {
	m.breakGroup = true
	m.anchor, m.goalX = -1, -1
	if len(inv) > 0 {
		last := inv[len(inv)-1]
		m.cursor = m.snap(last.Pos + last.Delete)
	}
	m.cursor = m.snap(m.cursor)
	m.ensureVisible(m.cursor)
}

// transformStack moves a remote splice s (in current coordinates) through the
// stack from the top down: each entry is rebased onto s, and s is rebased
// onto the text that entry's application would leave, for the entry below.
func transformStack(stack []undoEntry, s Splice) []undoEntry {
	cur := []Splice{s}
	for i := len(stack) - 1; i >= 0 && len(cur) > 0; i-- {
		ops := stack[i].ops
		stack[i].ops = transformList(ops, cur, true)
		cur = transformList(cur, ops, false)
	}
	return slices.DeleteFunc(stack, func(e undoEntry) bool { return len(e.ops) == 0 })
}

// transformList rebases the disjoint ops a onto the disjoint ops e (both in
// the same coordinates). e is applied highest first so each stays valid.
func transformList(a, e []Splice, aFirst bool) []Splice {
	out := slices.Clone(a)
	for j := len(e) - 1; j >= 0; j-- {
		next := make([]Splice, 0, len(out)+1)
		for _, o := range out {
			next = append(next, transform(o, e[j], aFirst)...)
		}
		out = next
	}
	return out
}

// transform rebases a onto e (both in the same coordinates). a's deletion
// keeps only text e left in place — text e inserted inside it is not a's to
// delete, so the range splits around it — and a's insertion point moves
// with the text; aFirst breaks ties when both insert at one point.
func transform(a, e Splice, aFirst bool) []Splice {
	p, d := a.Pos, a.Delete
	q, f, g := e.Pos, e.Delete, runeLen(e.Insert)
	shift := g - f

	var ip int
	switch {
	case p < q:
		ip = p
	case p > q && p >= q+f:
		ip = p + shift
	default: // a's point is where e inserts, or inside what e deleted
		ip = q
		if !aFirst {
			ip += g
		}
	}

	var pieces [2][2]int
	np := 0
	if l, r := p, min(p+d, q); r > l {
		pieces[np] = [2]int{l, r}
		np++
	}
	if l, r := max(p, q+f), p+d; r > l {
		pieces[np] = [2]int{l + shift, r + shift}
		np++
	}

	out := make([]Splice, 0, 2)
	ins := a.Insert
	if ins != "" && (np == 0 || pieces[0][0] != ip) {
		out = append(out, Splice{Pos: ip, Insert: ins})
		ins = ""
	}
	for i := 0; i < np; i++ {
		out = append(out, Splice{Pos: pieces[i][0], Delete: pieces[i][1] - pieces[i][0], Insert: ins})
		ins = ""
	}
	return out
}
