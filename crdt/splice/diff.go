package splice

import (
	"github.com/sergi/go-diff/diffmatchpatch"
)

// Diff returns the splices that turn old into new: one per changed stretch,
// ascending, each in the coordinates the previous left. Unchanged stretches
// are left alone, so positions in them (and a concurrent edit inside them)
// survive. Use it only where the edits themselves are not known (e.g. a
// whole text replaced); it costs milliseconds on large texts.
func Diff(old, new string) []Splice {
	if old == new {
		return nil
	}
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0 // exact: a timeout would fall back to a coarse diff
	// Line mode first keeps large texts fast; each changed run of lines is
	// then diffed by characters so a one-word edit stays one small splice.
	a, b, lines := dmp.DiffLinesToRunes(old, new)
	coarse := dmp.DiffCharsToLines(dmp.DiffMainRunes(a, b, false), lines)
	var out []Splice
	pos := 0
	for i := 0; i < len(coarse); i++ {
		d := coarse[i]
		if d.Type == diffmatchpatch.DiffEqual {
			pos += len([]rune(d.Text))
			continue
		}
		var dels, ins string
		for ; i < len(coarse) && coarse[i].Type != diffmatchpatch.DiffEqual; i++ {
			if coarse[i].Type == diffmatchpatch.DiffDelete {
				dels += coarse[i].Text
			} else {
				ins += coarse[i].Text
			}
		}
		i--
		for _, f := range dmp.DiffMainRunes([]rune(dels), []rune(ins), false) {
			n := len([]rune(f.Text))
			switch f.Type {
			case diffmatchpatch.DiffEqual:
				pos += n
			case diffmatchpatch.DiffDelete:
				out = appendSplice(out, Splice{Pos: pos, Delete: n})
			case diffmatchpatch.DiffInsert:
				out = appendSplice(out, Splice{Pos: pos, Insert: f.Text})
				pos += n
			}
		}
	}
	return out
}

// appendSplice folds an insert right after a delete at the same place into
// one replacement.
func appendSplice(out []Splice, s Splice) []Splice {
	if k := len(out) - 1; k >= 0 && s.Delete == 0 && out[k].Insert == "" && out[k].Pos == s.Pos {
		out[k].Insert = s.Insert
		return out
	}
	return append(out, s)
}
