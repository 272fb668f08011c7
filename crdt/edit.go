package crdt

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"unicode/utf8"

	"github.com/collab-editor/collab/crdt/splice"
)

// Rev names a state of a note's text in this process: it counts every
// change to the text, local or merged from elsewhere. Editors remember the
// Rev their view shows and hand it to Edit with each keystroke.
type Rev uint64

// ErrStale is returned by Edit and TextSince when the revision given is
// older than the text changes the note still remembers: the caller
// re-reads the whole text (ReadText) and starts again from there.
var ErrStale = errors.New("the note changed too much since that revision")

// How much of its text history a note remembers for editors that are
// behind: an editor is at most one frame (or one keystroke) behind, so a
// few thousand entries is plenty; the byte bound keeps a large paste from
// pinning memory.
const (
	maxRevEntries = 4096
	maxRevRunes   = 1 << 20
)

// revEntry is one change of the text: the splices that made revision rev
// from revision rev-1.
type revEntry struct {
	rev     Rev
	splices []Splice
	runes   int
}

// textState is the note's text as Go keeps it, in step with the document:
// the editor path reads and edits it without asking automerge for the
// whole text, and every change to it is remembered for a while so an
// editor that is behind learns exactly what changed.
//
// The text is UTF-8 either way: a string while idle (packed, shared with
// every reader), a byte buffer while edited or merged into, so that a
// keystroke moves bytes rather than copying the text. Hibernate packs it
// again. Splices count runes; mark remembers where the last one ended so
// that the next, usually nearby, finds its bytes by a short scan (none at
// all while the text is ASCII).
type textState struct {
	buf    []byte // the text, unless packed
	packed string // the text while isPacked
	// isPacked: buf is nil and packed holds the text.
	isPacked bool
	length   int // in runes, in either form
	// markRunes runes of buf take markBytes bytes.
	markRunes, markBytes int
	rev                  Rev
	log                  []revEntry
	kept                 int // runes inserted by the entries in log
}

// reset makes text the whole text, packed, as a new revision that editors
// cannot catch up to by splices (they read the text again).
func (t *textState) reset(text string) {
	t.buf, t.packed, t.isPacked = nil, text, true
	t.length = utf8.RuneCountInString(text)
	t.markRunes, t.markBytes = 0, 0
	t.rev++
	t.log, t.kept = nil, 0
}

// pack keeps the text as a string and drops its buffer.
func (t *textState) pack() {
	if !t.isPacked {
		t.packed, t.buf, t.isPacked = string(t.buf), nil, true
	}
}

// unpack moves the text into a buffer to be edited in place.
func (t *textState) unpack() {
	if t.isPacked {
		t.buf = append(make([]byte, 0, len(t.packed)+len(t.packed)/16+64), t.packed...)
		t.packed, t.isPacked = "", false
	}
}

// String is the whole text.
func (t *textState) String() string {
	if t.isPacked {
		return t.packed
	}
	return string(t.buf)
}

// Len is the text's length in runes.
func (t *textState) Len() int { return t.length }

// byteAt is the offset in buf of rune pos (≤ length).
func (t *textState) byteAt(pos int) int {
	if t.length == len(t.buf) {
		return pos // every rune one byte
	}
	r, b := t.markRunes, t.markBytes
	if pos < r-pos {
		r, b = 0, 0
	}
	for ; r < pos; r++ {
		_, n := utf8.DecodeRune(t.buf[b:])
		b += n
	}
	for ; r > pos; r-- {
		_, n := utf8.DecodeLastRune(t.buf[:b])
		b -= n
	}
	t.markRunes, t.markBytes = pos, b
	return b
}

// window copies the runes [start, end) (within the text), unpacking
// nothing: presence reads a few runes of idle notes.
func (t *textState) window(start, end int) []rune {
	text := t.packed
	if !t.isPacked {
		b := t.byteAt(start)
		text = string(t.buf[b:t.byteAt(end)])
		start, end = 0, end-start
	}
	out := make([]rune, 0, end-start)
	i := 0
	for _, r := range text {
		if i >= end {
			break
		}
		if i >= start {
			out = append(out, r)
		}
		i++
	}
	return out
}

// record applies splices (already applied to the document) to the text
// and remembers them as one new revision.
func (t *textState) record(splices []Splice) {
	if len(splices) == 0 {
		return
	}
	n := 0
	t.unpack()
	for _, s := range splices {
		insert := splice.ValidText(s.Insert)
		end := t.byteAt(s.Pos + s.Delete)
		start := t.byteAt(s.Pos)
		t.buf = slices.Replace(t.buf, start, end, []byte(insert)...)
		ins := s.InsertLen()
		t.length += ins - s.Delete
		t.markRunes, t.markBytes = s.Pos+ins, start+len(insert)
		n += ins
	}
	t.rev++
	t.log = append(t.log, revEntry{rev: t.rev, splices: splices, runes: n})
	t.kept += n
	for len(t.log) > maxRevEntries || (t.kept > maxRevRunes && len(t.log) > 1) {
		t.kept -= t.log[0].runes
		t.log = t.log[1:]
	}
}

// since returns the splices that turn revision rev into the current text.
func (t *textState) since(rev Rev) ([]Splice, error) {
	if rev == t.rev {
		return nil, nil
	}
	if rev > t.rev || len(t.log) == 0 || t.log[0].rev > rev+1 {
		return nil, fmt.Errorf("revision %d, now %d: %w", rev, t.rev, ErrStale)
	}
	var out []Splice
	for _, e := range t.log[int(rev+1-t.log[0].rev):] {
		out = append(out, e.splices...)
	}
	return out, nil
}

// headsNow are the note's heads as of its last commit or merge, kept where
// status checks read them without the note's lock (they run on UI
// frames, which must never wait for a long automerge call).
type headsNow struct {
	p atomic.Pointer[[]ChangeHash]
}

func (h *headsNow) set(hs []ChangeHash) { h.p.Store(&hs) }

func (h *headsNow) get() []ChangeHash {
	if p := h.p.Load(); p != nil {
		return *p
	}
	return nil
}

// LastHeads returns the note's heads as of its last commit or merge,
// without taking the note's lock: what status displays compare.
func (n *Note) LastHeads() []ChangeHash { return n.lastHeads.get() }

// ReadText returns the body together with the revision it shows.
func (n *Note) ReadText() (text string, rev Rev, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.text.String(), n.text.rev, nil
}

// Rev is the revision of the note's text now.
func (n *Note) Rev() Rev {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.text.rev
}

// TextSince returns the splices that turn the text at revision rev into the
// text now, and the revision they lead to; ErrStale when the note no
// longer remembers that far back.
func (n *Note) TextSince(rev Rev) ([]Splice, Rev, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	s, err := n.text.since(rev)
	return s, n.text.rev, err
}

// Edit applies an editor's splices, made on the text at revision base, to
// the note. If the text changed since base (a collaborator's change was
// merged), the splices are rebased onto it first — never applied at offsets
// that no longer mean what the editor meant — and the result says what the
// editor must apply on top of its own text to show the note's text:
//
//	text(base) + local + result.Remote == the note's text at result.Rev
//
// At a place where both inserted, the editor's text goes first, so a
// collaborator typing at your cursor types after what you typed. An
// ErrStale base means the editor must re-read the text; its splices were
// not applied.
func (n *Note) Edit(base Rev, local []Splice) (EditResult, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	seen, err := n.text.since(base)
	if err != nil {
		return EditResult{}, err
	}
	mine, theirs := local, []Splice(nil)
	if len(seen) > 0 {
		mine, theirs = splice.Transform(local, seen, true)
	}
	switch n.body {
	case bodyNone:
		return EditResult{}, ErrNoBody
	case bodyForeign:
		return EditResult{}, fmt.Errorf("%q is not Text: %w", KeyText, ErrNotANote)
	}
	// Check the whole batch first, so a bad one changes nothing.
	if err := splice.CheckAll(n.text.Len(), mine); err != nil {
		return EditResult{}, fmt.Errorf("edit: %w: %w", ErrOutOfRange, err)
	}
	for _, s := range mine {
		if err := n.spliceLocked(s.Pos, s.Delete, s.Insert); err != nil {
			return EditResult{}, err
		}
	}
	return EditResult{Rev: n.text.rev, Remote: theirs}, nil
}

// EditResult is what Edit did.
type EditResult struct {
	// Rev is the revision of the note's text after the edit.
	Rev Rev
	// Remote are the splices (others' changes since the editor's base,
	// rebased past its own) that turn the editor's text into the note's.
	Remote []Splice
}
