package amformat

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// elemKey packs an op ID with a model actor index: counter<<32 | actor.
type elemKey uint64

func makeKey(counter uint64, actor uint32) elemKey { return elemKey(counter<<32 | uint64(actor)) }
func (k elemKey) counter() uint64                  { return uint64(k) >> 32 }
func (k elemKey) actor() uint32                    { return uint32(k) }

// Element kinds besides characters (which are their rune, ≥ 0).
const (
	elemMarkBegin = -1
	elemMarkEnd   = -2
)

const blockSize = 128 // elements per block at most; blocks split in half

// block is a run of consecutive elements of one text object.
type block struct {
	obj    *textObj
	ord    int    // index in obj.blocks
	handle uint32 // index+1 in Model.blocks
	ids    []elemKey
	chars  []int32 // rune, or elemMarkBegin / elemMarkEnd
	vis    []bool  // a character not deleted
	nvis   int
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

func (b *block) visibleBefore(i int) int {
	n := 0
	for _, v := range b.vis[:i] {
		if v {
			n++
		}
	}
	return n
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
		for i, c := range b.chars {
			if b.vis[i] {
				sb.WriteRune(rune(c))
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
		for i, v := range b.vis {
			if v {
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
// elements they inserted: ranges of consecutive counters, 0 for counters
// that are not elements (deletes, puts).
type elemIndex struct {
	starts  []uint64 // first counter of each range
	offs    []int    // where each range starts in handles
	handles []uint32
}

const indexGap = 16 // fill gaps up to this many counters rather than start a range

func (x *elemIndex) slot(counter uint64) (int, bool) {
	k := sort.Search(len(x.starts), func(i int) bool { return x.starts[i] > counter }) - 1
	if k < 0 {
		return 0, false
	}
	end := len(x.handles)
	if k+1 < len(x.offs) {
		end = x.offs[k+1]
	}
	off := x.offs[k] + int(counter-x.starts[k])
	if off >= end {
		return 0, false
	}
	return off, true
}

func (x *elemIndex) get(counter uint64) uint32 {
	if off, ok := x.slot(counter); ok {
		return x.handles[off]
	}
	return 0
}

func (x *elemIndex) set(counter uint64, h uint32) {
	if off, ok := x.slot(counter); ok {
		x.handles[off] = h
	}
}

// add records an element; counters must ascend per actor.
func (x *elemIndex) add(counter uint64, h uint32) {
	if n := len(x.starts); n > 0 {
		last := x.starts[n-1] + uint64(len(x.handles)-x.offs[n-1]) // next counter of the last range
		if counter >= last && counter-last <= indexGap {
			for ; last < counter; last++ {
				x.handles = append(x.handles, 0)
			}
			x.handles = append(x.handles, h)
			return
		}
	}
	x.starts = append(x.starts, counter)
	x.offs = append(x.offs, len(x.handles))
	x.handles = append(x.handles, h)
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
