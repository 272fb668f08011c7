package splice

import "testing"

// Issue 7: a selection carried through others' edits, against a reference
// model on labelled runes. The selection holds the runes between its ends;
// after any sequence of splices every surviving rune that was selected is
// still selected and every one that was not is still outside, the cursor
// keeps its side of the anchor, and a selection whose runes all went
// collapses to a cursor. Where the splices only insert or only delete
// (no replacement), the selection is exactly the span of its runes, where
// text inserted strictly inside it joins it and text inserted at its edges
// stays outside.
func TestMapRangeAgainstLabels(t *testing.T) {
	for i := range *rounds {
		g := newGen(uint64(i) + 5<<20)
		base := g.fresh(1 + g.r.IntN(12))
		pure := g.r.IntN(2) == 0
		var seq []Splice
		n := len(base)
		for range 1 + g.r.IntN(6) {
			s := g.splice(n)
			if pure && s.Delete > 0 && s.Insert != "" {
				s.Insert = "" // only deletions and insertions
			}
			seq = append(seq, s)
			n = Len(n, []Splice{s})
		}
		after := mustApply(t, base, seq)
		idx := map[rune]int{}
		for j, r := range after {
			idx[r] = j
		}
		a, b := g.r.IntN(len(base)+1), g.r.IntN(len(base)+1)
		if g.r.IntN(5) == 0 {
			b = -1 // no selection: just a cursor
		}
		c, an := a, b
		for _, s := range seq {
			c, an = MapRange(c, an, s)
		}
		if c < 0 || c > len(after) || an > len(after) || (b < 0) != (an < 0) {
			t.Fatalf("case %d: MapRange(%d, %d) through %+v = %d, %d (text %d runes)", i, a, b, seq, c, an, len(after))
		}
		if b < 0 || a == b {
			if an >= 0 && an != c {
				t.Fatalf("case %d: a cursor became a selection %d-%d", i, c, an)
			}
			continue
		}
		lo, hi, nlo, nhi := min(a, b), max(a, b), min(c, an), max(c, an)
		if c != an && (a < b) != (c < an) {
			t.Fatalf("case %d: cursor %d anchor %d became %d, %d: sides swapped", i, a, b, c, an)
		}
		for j, r := range base {
			k, ok := idx[r]
			if !ok {
				continue
			}
			inside := j >= lo && j < hi
			if inside != (k >= nlo && k < nhi) {
				t.Fatalf("case %d: rune %d (selected %v) is at %d, selection now %d-%d; through %+v", i, j, inside, k, nlo, nhi, seq)
			}
		}
		// The reference: which labels are selected, step by step.
		text, sel := append([]rune(nil), base...), map[rune]bool{}
		for _, r := range base[lo:hi] {
			sel[r] = true
		}
		for _, s := range seq {
			first, last := span(text, sel)
			inside := first >= 0 && s.Pos > first && s.Pos <= last
			text = mustApply(t, text, []Splice{s})
			for _, r := range s.Insert {
				sel[r] = inside
			}
		}
		first, last := span(after, sel)
		switch {
		case first < 0 && pure && c != an:
			t.Fatalf("case %d (pure %v): every selected rune went but the selection is %d-%d; through %+v", i, pure, nlo, nhi, seq)
		case first >= 0 && pure && (nlo != first || nhi != last+1):
			t.Fatalf("case %d: selection %d-%d, want %d-%d (its runes); through %+v", i, nlo, nhi, first, last+1, seq)
		}
	}
}

// span returns the indexes of the first and last selected rune of text,
// -1 for none.
func span(text []rune, sel map[rune]bool) (first, last int) {
	first, last = -1, -1
	for k, r := range text {
		if sel[r] {
			if first < 0 {
				first = k
			}
			last = k
		}
	}
	return first, last
}
