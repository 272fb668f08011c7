package engine

import (
	"slices"
	"unicode/utf8"
)

// searchRadius bounds the search for a cursor's context around its old place.
const searchRadius = 512

// reanchor places a cursor that was at pos with before/after around it on
// text: kept if its context still surrounds it, else moved to the nearest
// match of before+after, of before (just after it), of after (just before
// it) within searchRadius runes; clamped if nothing matches.
func reanchor(text []rune, pos int, before, after string) int {
	b, a := []rune(before), []rune(after)
	at := func(p int, s []rune) bool {
		return p >= 0 && p+len(s) <= len(text) && slices.Equal(text[p:p+len(s)], s)
	}
	if len(b)+len(a) == 0 {
		return clamp(pos, len(text))
	}
	if at(pos-len(b), b) && at(pos, a) {
		return pos
	}
	lo, hi := max(0, pos-searchRadius-len(b)-len(a)), min(len(text), pos+searchRadius+len(b)+len(a))
	nearest := func(pattern []rune, offset int) (int, bool) {
		best, found := 0, false
		if len(pattern) == 0 {
			return 0, false
		}
		for i := lo; i+len(pattern) <= hi; i++ {
			if text[i] != pattern[0] || !slices.Equal(text[i:i+len(pattern)], pattern) {
				continue
			}
			p := i + offset
			if !found || abs(p-pos) < abs(best-pos) {
				best, found = p, true
			}
		}
		return best, found
	}
	if len(b) > 0 && len(a) > 0 {
		if p, ok := nearest(append(slices.Clone(b), a...), len(b)); ok {
			return p
		}
	}
	if at(pos-len(b), b) && len(b) > 0 || at(pos, a) && len(a) > 0 {
		return pos
	}
	if p, ok := nearest(b, len(b)); ok {
		return p
	}
	if p, ok := nearest(a, 0); ok {
		return p
	}
	return clamp(pos, len(text))
}

// textWindower reads a stretch of a note's text (notebook.Note).
type textWindower interface {
	TextWindow(start, end int) ([]rune, int)
}

// reanchorIn is reanchor on doc's text, reading only the runes reanchor
// may look at around pos (so a remote cursor is placed without copying the
// whole note). It returns the position and the text's length.
func reanchorIn(doc textWindower, pos int, before, after string) (at, total int) {
	reach := searchRadius + utf8.RuneCountInString(before) + utf8.RuneCountInString(after)
	lo := max(0, pos-reach)
	window, total := doc.TextWindow(lo, pos+reach)
	lo = min(lo, total)
	return reanchor(window, pos-lo, before, after) + lo, total
}

func clamp(n, hi int) int { return max(0, min(n, hi)) }

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
