package amformat

import (
	"fmt"
	"slices"
	"sort"
	"unicode/utf8"

	"github.com/collab-editor/collab/crdt/splice"
)

// Splice is one edit of the text in rune offsets: delete Delete runes at
// Pos, then insert Insert there. A list of splices applies in order, each
// against the text the previous ones left. It is crdt's splice type.
type Splice = splice.Splice

// ElemID names a text element (a character or a mark) for as long as the
// note exists: the op that inserted it. Anchor cursors to it.
type ElemID struct {
	Counter uint64
	Actor   ActorID
}

// The root keys of a collab note.
const (
	KeyText  = "text"
	KeyTitle = "title"
)

// Model is a note's title and text as Automerge holds them: each Text
// object's elements (characters and marks, deleted ones kept) in RGA order
// with their op IDs, and the root map's registers. Apply integrates a change
// exactly as the core does and says which splices it made. A Model is not
// safe for concurrent use.
type Model struct {
	actors   []ActorID
	actorIdx map[ActorID]uint32
	clock    []actorClock
	index    []elemIndex // per actor

	root   map[string]*register
	objs   map[elemKey]*textObj
	blocks []*block // by handle-1

	heads   map[Hash]struct{}
	applied map[Hash]struct{}
	// The hashes of a document's history, rebuilt from doc the first time
	// a change names a dep that is not a head (sorted once rebuilt).
	history    []Hash
	doc        []byte
	historyErr error
}

type actorClock struct {
	seq   uint64
	maxOp uint64
}

// register is one root map key: every op ever put there, live or not.
type register struct {
	ops []regOp
}

type regOp struct {
	id    elemKey
	alive bool
	text  *textObj // for makeText
	val   Value    // for put
}

// NewModel returns the model of an empty document.
func NewModel() *Model {
	return &Model{
		actorIdx: map[ActorID]uint32{},
		root:     map[string]*register{},
		objs:     map[elemKey]*textObj{},
		heads:    map[Hash]struct{}{},
		applied:  map[Hash]struct{}{},
	}
}

func (m *Model) lamportLess(a, b elemKey) bool {
	if a.counter() != b.counter() {
		return a.counter() < b.counter()
	}
	return m.actors[a.actor()] < m.actors[b.actor()]
}

func (r *register) winner(m *Model) *regOp {
	var w *regOp
	for i := range r.ops {
		op := &r.ops[i]
		if op.alive && (w == nil || m.lamportLess(w.id, op.id)) {
			w = op
		}
	}
	return w
}

// textObject is the Text object the key currently shows, if any.
func (m *Model) textObject(key string) *textObj {
	r := m.root[key]
	if r == nil {
		return nil
	}
	if w := r.winner(m); w != nil {
		return w.text
	}
	return nil
}

// Text is the note's body.
func (m *Model) Text() string {
	if o := m.textObject(KeyText); o != nil {
		return o.String()
	}
	return ""
}

// HasText reports whether the body is a Text (a collab note's).
func (m *Model) HasText() bool { return m.textObject(KeyText) != nil }

// Len is the body's length in runes.
func (m *Model) Len() int {
	if o := m.textObject(KeyText); o != nil {
		return o.nvis
	}
	return 0
}

// Title is the note's title: a string at "title", or the text of a Text
// there (as JS writes it).
func (m *Model) Title() string {
	r := m.root[KeyTitle]
	if r == nil {
		return ""
	}
	w := r.winner(m)
	switch {
	case w == nil:
		return ""
	case w.text != nil:
		return w.text.String()
	case w.val.Type == TypeString:
		return w.val.Str()
	}
	return ""
}

// ElemAt names the character at rune position pos of the body.
func (m *Model) ElemAt(pos int) (ElemID, bool) {
	o := m.textObject(KeyText)
	if o == nil {
		return ElemID{}, false
	}
	b, i, ok := o.at(pos)
	if !ok {
		return ElemID{}, false
	}
	k := b.id(i)
	return ElemID{Counter: k.counter(), Actor: m.actors[k.actor()]}, true
}

// PosOf gives the rune position of an element of the body: where it is if
// visible, else where it was (the position of the next visible character).
// ok is false if the body holds no such element.
func (m *Model) PosOf(id ElemID) (pos int, visible bool, ok bool) {
	o := m.textObject(KeyText)
	a, known := m.actorIdx[id.Actor]
	if o == nil || !known {
		return 0, false, false
	}
	b, i, found := m.locate(makeKey(id.Counter, a))
	if !found || b.obj != o {
		return 0, false, false
	}
	return o.offset(b) + b.visibleBefore(i), b.visible(i), true
}

// Heads are the heads of the changes the model holds, sorted.
func (m *Model) Heads() []Hash {
	hs := make([]Hash, 0, len(m.heads))
	for h := range m.heads {
		hs = append(hs, h)
	}
	sort.Slice(hs, func(i, j int) bool { return compareHashes(hs[i], hs[j]) < 0 })
	return hs
}

// Clock gives each actor's highest sequence number.
func (m *Model) Clock() map[ActorID]uint64 {
	out := make(map[ActorID]uint64, len(m.actors))
	for i, a := range m.actors {
		if m.clock[i].seq > 0 {
			out[a] = m.clock[i].seq
		}
	}
	return out
}

// Has reports whether the model holds the change with hash h.
func (m *Model) Has(h Hash) (bool, error) {
	if _, ok := m.heads[h]; ok {
		return true, nil
	}
	if _, ok := m.applied[h]; ok {
		return true, nil
	}
	if err := m.loadHistory(); err != nil {
		return false, err
	}
	_, found := slices.BinarySearchFunc(m.history, h, compareHashes)
	return found, nil
}

// CheckHistory rebuilds the changes of the document the model was made
// from and checks that they have the heads it records (as the core does
// when it loads a document; FromDocument trusts them). A model that is to
// make changes on a document from elsewhere is checked first: its heads
// become their deps.
func (m *Model) CheckHistory() error { return m.loadHistory() }

// loadHistory rebuilds the hashes of the document the model was made from.
func (m *Model) loadHistory() error {
	if m.doc == nil {
		return m.historyErr
	}
	doc := m.doc
	m.doc = nil
	d, err := DefaultLimits.DecodeDocument(doc)
	if err == nil {
		if m.history, err = d.HistoryHashes(); err == nil {
			slices.SortFunc(m.history, compareHashes)
			return nil
		}
	}
	m.historyErr = fmt.Errorf("rebuild the history of the document the model was made from: %w", err)
	return m.historyErr
}

func (m *Model) intern(a ActorID) uint32 {
	if i, ok := m.actorIdx[a]; ok {
		return i
	}
	i := uint32(len(m.actors))
	m.actors = append(m.actors, a)
	m.actorIdx[a] = i
	m.clock = append(m.clock, actorClock{})
	m.index = append(m.index, elemIndex{})
	return i
}

// locate finds an element by its key.
func (m *Model) locate(k elemKey) (*block, int, bool) {
	if int(k.actor()) >= len(m.index) {
		return nil, 0, false
	}
	h := m.index[k.actor()].get(k.counter())
	if h == 0 {
		return nil, 0, false
	}
	b := m.blocks[h-1]
	if i, ok := b.find(k); ok {
		return b, i, true
	}
	return nil, 0, false
}

func (m *Model) newBlock(o *textObj, ord int) *block {
	b := &block{obj: o, ord: ord, handle: uint32(len(m.blocks) + 1)}
	m.blocks = append(m.blocks, b)
	o.blocks = slices.Insert(o.blocks, ord, b)
	for _, x := range o.blocks[ord+1:] {
		x.ord++
	}
	// The new block is empty, so the anchor's offset stands; only its
	// index moves if the block went in before it.
	if ord <= o.anchorOrd && o.anchorOrd < len(o.blocks)-1 {
		o.anchorOrd++
	}
	return b
}

// insertAt puts an element at index i of block b, splitting b if full, and
// returns where it went.
func (m *Model) insertAt(b *block, i int, k elemKey, ch int32, vis bool) (*block, int) {
	if b.len() >= blockSize || len(b.runs) >= maxRuns {
		// Split in half, by elements or, with too many runs, by runs;
		// the upper half moves to a new block after b.
		half := b.len() / 2
		if len(b.runs) >= maxRuns {
			half = 0
			for _, r := range b.runs[:len(b.runs)/2] {
				half += int(r.n)
			}
		}
		nb := m.newBlock(b.obj, b.ord+1)
		nb.chars = append(make([]byte, 0, blockSize), b.chars[half:]...)
		esc := b.escapesBefore(half)
		nb.others = slices.Clone(b.others[esc:])
		nb.nvis = b.nvis - b.visibleBefore(half)
		b.nvis -= nb.nvis
		b.chars, b.others = b.chars[:half], b.others[:esc]
		b.runs, nb.runs = splitRuns(b.runs, half)
		for _, r := range nb.runs {
			m.index[r.first.actor()].setRange(r.first.counter(), int(r.n), nb.handle)
		}
		if i > half {
			b, i = nb, i-half
		}
	}
	b.insert(i, k, ch, vis)
	if vis {
		b.obj.addVisible(b, 1)
	}
	return b, i
}

// integrate inserts element k after ref (zero: the head) as the core does:
// after the reference element, skipping the elements whose op IDs are
// greater than k's. It returns the element's visible offset.
func (m *Model) integrate(o *textObj, ref elemKey, hasRef bool, k elemKey, ch int32) int {
	var b *block
	var i int
	if hasRef {
		var ok bool
		b, i, ok = m.locate(ref)
		if !ok || b.obj != o {
			panic("amformat: integrate after an unchecked reference")
		}
		i++
	} else {
		if len(o.blocks) == 0 {
			m.newBlock(o, 0)
		}
		b, i = o.blocks[0], 0
	}
	// Op IDs ascend along a run, so k is either less than the rest of a
	// run from i, which it then skips whole, or it goes at i.
	x, j := b.runAt(i)
	for {
		if x == len(b.runs) {
			if b.ord+1 >= len(o.blocks) {
				break
			}
			next := o.blocks[b.ord+1]
			if next.len() == 0 {
				break
			}
			// Stay at the end of b if the next element goes after k.
			if !m.lamportLess(k, next.runs[0].first) {
				break
			}
			b, i, x, j = next, 0, 0, 0
		}
		r := b.runs[x]
		if !m.lamportLess(k, r.first.plus(j)) {
			break
		}
		i += int(r.n) - j
		x, j = x+1, 0
	}
	vis := ch >= 0
	b, i = m.insertAt(b, i, k, ch, vis)
	m.index[k.actor()].add(k.counter(), b.handle)
	return o.offset(b) + b.visibleBefore(i)
}

// spliceLog collects the splices of one change, merging adjacent ones. The
// last splice's insert grows in a buffer, so a long paste costs linear time.
type spliceLog struct {
	done    []Splice
	cur     Splice // Insert unused while open: see buf
	buf     []byte
	curLen  int // runes in buf
	hasOpen bool
}

func (s *spliceLog) flush() {
	if s.hasOpen {
		s.cur.Insert = string(s.buf)
		s.done = append(s.done, s.cur)
		s.hasOpen, s.buf, s.curLen = false, s.buf[:0], 0
	}
}

func (s *spliceLog) open(sp Splice) {
	s.flush()
	s.cur, s.hasOpen = sp, true
	s.buf, s.curLen = append(s.buf[:0], sp.Insert...), runeLen(sp.Insert)
}

func (s *spliceLog) insert(pos int, r rune) {
	if s.hasOpen && pos == s.cur.Pos+s.curLen {
		s.buf = utf8.AppendRune(s.buf, r)
		s.curLen++
		return
	}
	s.open(Splice{Pos: pos, Insert: string(r)})
}

func (s *spliceLog) insertText(pos int, text string) {
	if s.hasOpen && pos == s.cur.Pos+s.curLen {
		s.buf = append(s.buf, text...)
		s.curLen += runeLen(text)
		return
	}
	s.open(Splice{Pos: pos, Insert: text})
}

func (s *spliceLog) delete(pos, n int) {
	if n == 0 {
		return
	}
	if s.hasOpen {
		switch {
		case pos == s.cur.Pos+s.curLen:
			s.cur.Delete += n
			return
		case s.curLen == 0 && pos+n == s.cur.Pos:
			s.cur.Pos = pos
			s.cur.Delete += n
			return
		}
	}
	s.open(Splice{Pos: pos, Delete: n})
}

// splices ends the log and returns its splices.
func (s *spliceLog) splices() []Splice {
	s.flush()
	return s.done
}

func runeLen(s string) int {
	n := 0
	for range s {
		n++
	}
	return n
}
