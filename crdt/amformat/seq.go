package amformat

import (
	"cmp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// elemKey packs an op ID with a model actor index: counter<<32 | actor.
type elemKey uint64

func makeKey(counter uint64, actor uint32) elemKey { return elemKey(counter<<32 | uint64(actor)) }
func (k elemKey) counter() uint64                  { return uint64(k) >> 32 }
func (k elemKey) actor() uint32                    { return uint32(k) }

// plus is the key of the op j counters after k's, by the same actor.
func (k elemKey) plus(j int) elemKey { return k + elemKey(uint64(j)<<32) }

// Element kinds besides characters (which are their rune, ≥ 0).
const (
	elemMarkBegin = -1
	elemMarkEnd   = -2
)

// blockSize is the most elements a block holds; a full block splits in
// half. Blocks are large so that their fixed cost (about 130 bytes) is
// small beside their elements' (1 byte for an ASCII character). Tests
// shrink it to split blocks often.
var blockSize = 1024

// maxRuns is the most runs of op IDs a block holds before it splits, so
// that finding an element in a block (a scan of its runs) stays short in
// a history typed all over the place, where runs are short.
var maxRuns = 64

// A block keeps each element as one byte: an ASCII character, or escChar
// for anything else (a rune from DEL up, a mark), whose value is kept in
// the block's others. hiddenBit marks an element deleted or a mark.
const (
	escChar   = 0x7f
	hiddenBit = 0x80
)

// idRun is n consecutive elements of a block whose op IDs are one actor's
// consecutive counters, from first: what typing makes, and all a
// compacted note's text is.
type idRun struct {
	first elemKey
	n     uint32
}

// block is a run of consecutive elements of one text object. Its memory is
// a byte per element, four more per element that is not ASCII, and 16 per
// run of op IDs: a note costs about what its text does.
type block struct {
	obj    *textObj
	ord    int    // index in obj.blocks
	handle uint32 // index+1 in Model.blocks
	runs   []idRun
	chars  []byte  // per element: an ASCII character or escChar, | hiddenBit
	others []int32 // the values of the escChar elements, in order
	nvis   int
}

func (b *block) len() int { return len(b.chars) }

func (b *block) visible(i int) bool { return b.chars[i] < hiddenBit }

// hide marks element i deleted; the caller adjusts the visible counts.
func (b *block) hide(i int) { b.chars[i] |= hiddenBit }

// char is element i's rune, or elemMarkBegin / elemMarkEnd.
func (b *block) char(i int) int32 {
	if c := b.chars[i] &^ hiddenBit; c != escChar {
		return int32(c)
	}
	return b.others[b.escapesBefore(i)]
}

func (b *block) escapesBefore(i int) int {
	n := 0
	for _, c := range b.chars[:i] {
		if c&^hiddenBit == escChar {
			n++
		}
	}
	return n
}

func (b *block) visibleBefore(i int) int {
	n := 0
	for _, c := range b.chars[:i] {
		if c < hiddenBit {
			n++
		}
	}
	return n
}

// id is element i's key.
func (b *block) id(i int) elemKey {
	x, j := b.runAt(i)
	return b.runs[x].first.plus(j)
}

// runAt is the run holding element i and i's offset in it; i == len()
// gives len(runs), 0.
func (b *block) runAt(i int) (int, int) {
	for x, r := range b.runs {
		if i < int(r.n) {
			return x, i
		}
		i -= int(r.n)
	}
	return len(b.runs), 0
}

// find is the index of element k in b.
func (b *block) find(k elemKey) (int, bool) {
	i := 0
	for _, r := range b.runs {
		if r.first.actor() == k.actor() && k.counter() >= r.first.counter() &&
			k.counter()-r.first.counter() < uint64(r.n) {
			return i + int(k.counter()-r.first.counter()), true
		}
		i += int(r.n)
	}
	return 0, false
}

// each calls f on every element of b in order, until f returns false.
func (b *block) each(f func(k elemKey, ch int32, vis bool) bool) {
	i, esc := 0, 0
	for _, r := range b.runs {
		for j := range int(r.n) {
			c := b.chars[i]
			ch := int32(c &^ hiddenBit)
			if ch == escChar {
				ch = b.others[esc]
				esc++
			}
			if !f(r.first.plus(j), ch, c < hiddenBit) {
				return
			}
			i++
		}
	}
}

// elemByte is how a block keeps an element: its byte, and whether ch
// goes to the block's others.
func elemByte(ch int32, vis bool) (c byte, escaped bool) {
	c = byte(ch)
	if escaped = ch < 0 || ch >= escChar; escaped {
		c = escChar
	}
	if !vis {
		c |= hiddenBit
	}
	return c, escaped
}

// insert puts element k, ch at index i.
func (b *block) insert(i int, k elemKey, ch int32, vis bool) {
	c, escaped := elemByte(ch, vis)
	if escaped {
		b.others = slices.Insert(b.others, b.escapesBefore(i), ch)
	}
	b.chars = slices.Insert(b.chars, i, c)
	pos := 0
	for x := range b.runs {
		r := &b.runs[x]
		if i > pos+int(r.n) {
			pos += int(r.n)
			continue
		}
		switch j := i - pos; {
		case j == int(r.n) && r.first.plus(j) == k:
			r.n++ // typing: the next counter after the run
		case j == int(r.n):
			b.runs = slices.Insert(b.runs, x+1, idRun{k, 1})
		case j == 0:
			b.runs = slices.Insert(b.runs, x, idRun{k, 1})
		default:
			left, right := idRun{r.first, uint32(j)}, idRun{r.first.plus(j), r.n - uint32(j)}
			b.runs = slices.Replace(b.runs, x, x+1, left, idRun{k, 1}, right)
		}
		return
	}
	b.runs = append(b.runs, idRun{k, 1})
}

// appendElem adds an element at the end, as a document is loaded.
func (b *block) appendElem(k elemKey, ch int32, vis bool) {
	c, escaped := elemByte(ch, vis)
	if escaped {
		b.others = append(b.others, ch)
	}
	if vis {
		b.nvis++
	}
	b.chars = append(b.chars, c)
	if n := len(b.runs); n > 0 && b.runs[n-1].first.plus(int(b.runs[n-1].n)) == k {
		b.runs[n-1].n++
		return
	}
	b.runs = append(b.runs, idRun{k, 1})
}

// splitRuns divides runs at element index at.
func splitRuns(runs []idRun, at int) (lower, upper []idRun) {
	for x, r := range runs {
		if at >= int(r.n) {
			at -= int(r.n)
			continue
		}
		upper = make([]idRun, 0, len(runs)-x)
		if at == 0 {
			return runs[:x], append(upper, runs[x:]...)
		}
		upper = append(upper, idRun{r.first.plus(at), r.n - uint32(at)})
		upper = append(upper, runs[x+1:]...)
		runs[x].n = uint32(at)
		return runs[:x+1], upper
	}
	return runs, nil
}

// textObj is one Text object: its elements in order, in blocks.
type textObj struct {
	id     elemKey
	blocks []*block
	nvis   int
	// anchor remembers the offset of one block (the one last asked for),
	// so that edits near each other (typing, a paste, deleting a range)
	// find their offsets in constant time.
	anchorOrd, anchorOff int
}

// addVisible changes block b's count of visible characters.
func (o *textObj) addVisible(b *block, delta int) {
	b.nvis += delta
	o.nvis += delta
	if b.ord < o.anchorOrd {
		o.anchorOff += delta
	}
}

// offset is the number of visible characters before block b.
func (o *textObj) offset(b *block) int {
	if o.anchorOrd > len(o.blocks) {
		o.anchorOrd, o.anchorOff = 0, 0
	}
	off := o.anchorOff
	if b.ord >= o.anchorOrd {
		for _, x := range o.blocks[o.anchorOrd:b.ord] {
			off += x.nvis
		}
	} else if b.ord > o.anchorOrd/2 {
		for _, x := range o.blocks[b.ord:o.anchorOrd] {
			off -= x.nvis
		}
	} else {
		off = 0
		for _, x := range o.blocks[:b.ord] {
			off += x.nvis
		}
	}
	o.anchorOrd, o.anchorOff = b.ord, off
	return off
}

func (o *textObj) String() string {
	var sb strings.Builder
	sb.Grow(o.nvis)
	for _, b := range o.blocks {
		esc := 0
		for _, c := range b.chars {
			switch {
			case c&^hiddenBit == escChar:
				if c < hiddenBit {
					sb.WriteRune(rune(b.others[esc]))
				}
				esc++
			case c < hiddenBit:
				sb.WriteByte(c)
			}
		}
	}
	return sb.String()
}

// at finds the block and index of the pos-th visible character.
func (o *textObj) at(pos int) (*block, int, bool) {
	if pos < 0 || pos >= o.nvis {
		return nil, 0, false
	}
	for _, b := range o.blocks {
		if pos >= b.nvis {
			pos -= b.nvis
			continue
		}
		for i, c := range b.chars {
			if c < hiddenBit {
				if pos == 0 {
					return b, i, true
				}
				pos--
			}
		}
	}
	return nil, 0, false
}

// elemIndex maps one actor's op counters to the blocks holding the
// elements they inserted, as spans of counters: a span may cover counters
// that are not elements (deletes, puts), which locate does not find in the
// block. A compacted note's text is a span or two per block. Spans are
// kept per chunk of 1,024 counters, so that re-pointing one after a block
// splits moves a chunk's spans, never all of an actor's: a peer that
// scatters its keystrokes cannot make every split cost its whole history.
type elemIndex struct {
	chunks map[uint64][]span // by counter >> indexChunkBits; sorted, disjoint
}

var indexChunkBits = 10 // tests shrink it

type span struct {
	start, end uint64 // counters [start, end), within one chunk
	handle     uint32
}

func (x *elemIndex) get(counter uint64) uint32 {
	spans := x.chunks[counter>>indexChunkBits]
	k := sort.Search(len(spans), func(i int) bool { return spans[i].start > counter }) - 1
	if k < 0 || counter >= spans[k].end {
		return 0
	}
	return spans[k].handle
}

// add records an element. An actor's counters ascend as its changes
// apply, so this extends or follows the last span of the counter's chunk.
func (x *elemIndex) add(counter uint64, h uint32) {
	if x.chunks == nil {
		x.chunks = map[uint64][]span{}
	}
	c := counter >> indexChunkBits
	spans := x.chunks[c]
	n := len(spans)
	switch {
	case n == 0:
	case counter < spans[n-1].end:
		x.setRange(counter, 1, h)
		return
	case spans[n-1].handle == h:
		spans[n-1].end = counter + 1
		return
	}
	x.chunks[c] = append(spans, span{counter, counter + 1, h})
}

// setRange points counters [start, start+n) at block h.
func (x *elemIndex) setRange(start uint64, n int, h uint32) {
	if x.chunks == nil {
		x.chunks = map[uint64][]span{}
	}
	end := start + uint64(n)
	for start < end {
		c := start >> indexChunkBits
		pieceEnd := min(end, (c+1)<<indexChunkBits)
		x.chunks[c] = setSpans(x.chunks[c], start, pieceEnd, h)
		start = pieceEnd
	}
}

// setSpans points counters [start, end) of one chunk's spans at block h.
func setSpans(spans []span, start, end uint64, h uint32) []span {
	lo := sort.Search(len(spans), func(i int) bool { return spans[i].end > start })
	hi := lo
	for hi < len(spans) && spans[hi].start < end {
		hi++
	}
	var repl [3]span
	k := 0
	if lo < hi && spans[lo].start < start {
		repl[k] = span{spans[lo].start, start, spans[lo].handle}
		k++
	}
	repl[k] = span{start, end, h}
	k++
	if lo < hi && spans[hi-1].end > end {
		repl[k] = span{end, spans[hi-1].end, spans[hi-1].handle}
		k++
	}
	return slices.Replace(spans, lo, hi, repl[:k]...)
}

// buildIndex makes an actor's element index from runs of its counters
// (disjoint, in any order), each in one block.
func buildIndex(runs []span) elemIndex {
	slices.SortFunc(runs, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	x := elemIndex{chunks: map[uint64][]span{}}
	for _, r := range runs {
		for start := r.start; start < r.end; {
			c := start >> indexChunkBits
			end := min(r.end, (c+1)<<indexChunkBits)
			spans := x.chunks[c]
			if n := len(spans); n > 0 && spans[n-1].handle == r.handle {
				spans[n-1].end = end
			} else {
				x.chunks[c] = append(spans, span{start, end, r.handle})
			}
			start = end
		}
	}
	return x
}

// singleRune reports whether s is exactly one code point, as a note's text
// element must be, and which.
func singleRune(s string) (rune, bool) {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || n != len(s) || (r == utf8.RuneError && n == 1) {
		return 0, false
	}
	return r, true
}
