package editor

import (
	"fmt"
	"image/color"
	"slices"
)

// PeerCursor is a collaborator's cursor and selection as the app learns it
// from presence messages. Anchor == Cursor means no selection.
type PeerCursor struct {
	ID     string
	Name   string
	Color  color.Color // e.g. lipgloss.Color("#ff5f87"); ignored with NoColor
	Cursor int
	Anchor int
}

type peer struct {
	PeerCursor
	cur, sel, label int // indexes into renderStyles.pairs
}

// apply changes the buffer and moves everything anchored in the text that the
// caller does not position itself: peers and the viewport.
func (m *Model) apply(s Splice) { m.applyTop(s, true) }

// applyLocal is apply for the user's own edits: text typed right at the top
// of the viewport stays in view (otherwise typing into an empty note, then
// enter, scrolled the first line away).
func (m *Model) applyLocal(s Splice) { m.applyTop(s, false) }

func (m *Model) applyTop(s Splice, topRight bool) {
	ins := []rune(s.Insert)
	m.buf.splice(s.Pos, s.Delete, ins)
	g := len(ins)
	for i := range m.peers {
		p := &m.peers[i]
		p.Cursor, p.Anchor = mapRange(p.Cursor, p.Anchor, s, g)
	}
	// The viewport follows the first visible text: text others insert right
	// at the top goes above it; the user's own stays in view.
	m.top = mapPos(m.top, s, g, topRight)
}

// mapPos maps offset x through splice s (which inserted g runes). Inside a
// deletion x collapses to its start; at an insertion point x stays before the
// new text unless right is set.
func mapPos(x int, s Splice, g int, right bool) int {
	q, f := s.Pos, s.Delete
	switch {
	case x < q:
		return x
	case x == q && f == 0:
		if right {
			return x + g
		}
		return x
	case x >= q+f:
		return x - f + g
	default:
		return q
	}
}

// mapRange maps a cursor and its anchor; the selection's start moves right
// and its end left at insertion points, so text inserted at its edges stays
// outside it.
func mapRange(cur, anchor int, s Splice, g int) (int, int) {
	if anchor < 0 || anchor == cur {
		c := mapPos(cur, s, g, false)
		if anchor < 0 {
			return c, anchor
		}
		return c, c
	}
	if cur < anchor {
		return mapPos(cur, s, g, true), mapPos(anchor, s, g, false)
	}
	return mapPos(cur, s, g, false), mapPos(anchor, s, g, true)
}

// ApplyRemote applies splices made by others (in order, each on the text the
// previous left). The cursor, selection, peers, viewport anchor and undo
// history shift so the user stays on the same text. An out-of-range splice
// stops the batch with an error wrapping ErrOutOfRange; the ones before it
// stay applied, and the app should resync with SetTextFromRemote.
func (m *Model) ApplyRemote(splices []Splice) error {
	defer m.afterRemote()
	for i, s := range splices {
		if err := validate(s, m.Len()); err != nil {
			return fmt.Errorf("apply remote splice %d of %d: %w", i+1, len(splices), err)
		}
		if s.Delete == 0 && s.Insert == "" {
			continue
		}
		m.undo = transformStack(m.undo, s)
		m.redo = transformStack(m.redo, s)
		m.apply(s)
		g := runeLen(s.Insert)
		m.cursor, m.anchor = mapRange(m.cursor, m.anchor, s, g)
		if m.drag >= 0 {
			m.drag = mapPos(m.drag, s, g, false)
		}
	}
	return nil
}

// afterRemote restores the invariants a remote change may break: the cursor
// on a grapheme boundary (a peer may have added a combining mark), the
// viewport on a row start and within the text, a followed peer in view.
func (m *Model) afterRemote() {
	m.cursor = m.snapForward(m.cursor)
	if m.anchor >= 0 {
		m.anchor = m.snapForward(m.anchor)
	}
	m.top = m.rowStartOf(m.top)
	m.clampTop()
	m.goalX = -1
	m.followPeer()
}

// snapForward moves pos inside a cluster to the cluster's end: when a peer
// adds a combining mark to the letter before the cursor, the cursor stays
// after that letter.
func (m *Model) snapForward(pos int) int {
	if s := m.snap(pos); s != pos {
		return m.nextGrapheme(s)
	}
	return pos
}

// SetTextFromRemote replaces the text with newText as a remote change,
// computing the single splice between the two by trimming the common prefix
// and suffix. It returns the splice applied (none when equal).
func (m *Model) SetTextFromRemote(newText string) []Splice {
	s, ok := diffRunes(m.buf.text, []rune(newText))
	if !ok {
		return nil
	}
	// diffRunes always yields an in-range splice.
	_ = m.ApplyRemote([]Splice{s})
	return []Splice{s}
}

// Diff returns the splice turning oldText into newText (common prefix and
// suffix trimmed, in runes), and false if they are equal.
func Diff(oldText, newText string) (Splice, bool) {
	return diffRunes([]rune(oldText), []rune(newText))
}

func diffRunes(a, b []rune) (Splice, bool) {
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	if p == len(a) && p == len(b) {
		return Splice{}, false
	}
	sfx := 0
	for sfx < len(a)-p && sfx < len(b)-p && a[len(a)-1-sfx] == b[len(b)-1-sfx] {
		sfx++
	}
	return Splice{Pos: p, Delete: len(a) - p - sfx, Insert: string(b[p : len(b)-sfx])}, true
}

// SetPeers replaces the collaborators' cursors. Positions are clamped to the
// text; later edits (local and remote) shift them until the next SetPeers.
func (m *Model) SetPeers(peers []PeerCursor) {
	m.peers = m.peers[:0]
	for _, p := range peers {
		p.Cursor = m.snap(p.Cursor)
		p.Anchor = m.snap(p.Anchor)
		m.peers = append(m.peers, peer{PeerCursor: p})
	}
	m.compilePeers()
	m.followPeer()
}

// Peers returns the collaborators' cursors with their current (shifted)
// positions.
func (m *Model) Peers() []PeerCursor {
	out := make([]PeerCursor, len(m.peers))
	for i, p := range m.peers {
		out[i] = p.PeerCursor
	}
	return out
}

// Follow keeps peer id's cursor in view after every remote change or
// SetPeers, until Follow("") or the user moves or edits.
func (m *Model) Follow(id string) {
	m.follow = id
	m.followPeer()
}

// Following returns the followed peer's ID, or "".
func (m *Model) Following() string { return m.follow }

func (m *Model) followPeer() {
	if m.follow == "" {
		return
	}
	i := slices.IndexFunc(m.peers, func(p peer) bool { return p.ID == m.follow })
	if i >= 0 {
		m.ensureVisible(m.peers[i].Cursor)
	}
}
