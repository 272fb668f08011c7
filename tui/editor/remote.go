package editor

import (
	"fmt"
	"image/color"
	"slices"

	"github.com/collab-editor/collab/crdt/splice"
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

// applyText changes the buffer and carries through s the positions nobody
// places explicitly afterwards: collaborators' cursors and the viewport's
// anchor (the first visible text).
func (m *Model) applyText(s Splice) {
	m.buf.splice(s.Pos, s.Delete, s.Insert)
	for i := range m.peers {
		p := &m.peers[i]
		p.Cursor, p.Anchor = splice.MapRange(p.Cursor, p.Anchor, s)
	}
	// Text inserted exactly at the top goes above it, so what the user was
	// reading stays where it was (ApplyRemote keeps the cursor's row when
	// the cursor is on screen, which takes precedence).
	m.top = splice.Map(m.top, s, splice.After)
}

// applyLocal applies the user's own edit: text typed right at the top of
// the viewport stays in view (otherwise typing into an empty note, then
// enter, scrolled the first line away).
func (m *Model) applyLocal(s Splice) {
	top := m.top
	m.applyText(s)
	m.top = splice.Map(top, s, splice.Before)
}

// ApplyRemote applies splices made by others (in order, each on the text
// the previous one left). Everything the editor holds in the text moves by
// splice.Map's rule, so the user stays on the same text: the cursor and
// selection (a collaborator typing at your cursor types after it), the
// drag origin, collaborators' cursors, the undo and redo history (undo
// removes only your own text), and the viewport: if the cursor was on
// screen it stays on the same screen row, otherwise the first visible text
// stays at the top. An out-of-range splice stops the batch with an error
// wrapping ErrOutOfRange; the ones before it stay applied, and the app
// should resync with SetTextFromRemote.
func (m *Model) ApplyRemote(splices []Splice) error {
	row, visible := m.screenRow(m.cursor)
	defer m.afterRemote(row, visible)
	for i, s := range splices {
		if err := s.Check(m.Len()); err != nil {
			return fmt.Errorf("apply remote splice %d of %d: %w", i+1, len(splices), err)
		}
		if s.IsNoop() {
			continue
		}
		m.undo = transformStack(m.undo, s)
		m.redo = transformStack(m.redo, s)
		m.applyText(s)
		m.cursor, m.anchor = splice.MapRange(m.cursor, m.anchor, s)
		if m.drag >= 0 {
			m.drag = splice.Map(m.drag, s, splice.Before)
		}
	}
	return nil
}

// afterRemote restores the invariants a remote change may break: the cursor
// on a grapheme boundary (a peer may have added a combining mark), the
// viewport on a row start and within the text, the cursor on the screen row
// it was on, a followed peer in view.
func (m *Model) afterRemote(cursorRow int, cursorVisible bool) {
	m.cursor = m.snapForward(m.cursor)
	if m.anchor >= 0 {
		m.anchor = m.snapForward(m.anchor)
	}
	if cursorVisible {
		v, _ := m.walk(m.vposOf(m.cursor), -cursorRow)
		m.top = m.rowStart(v)
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
// through the smallest splices between the two (one per changed stretch),
// so everything the editor holds outside the changed stretches stays on
// its text. It returns the splices applied (none when equal). Prefer
// ApplyRemote with the changes' own splices: comparing whole texts costs
// milliseconds on a large note and cannot tell where, among equal
// characters, a collaborator typed.
func (m *Model) SetTextFromRemote(newText string) []Splice {
	d := splice.Diff(string(m.buf.text), newText)
	// Diff always yields in-range splices.
	_ = m.ApplyRemote(d)
	return d
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
