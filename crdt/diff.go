package crdt

import (
	"fmt"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// Splice is one edit in rune offsets: delete Delete runes at Pos, then insert
// Insert there.
type Splice struct {
	Pos    int
	Delete int
	Insert string
}

// Diff returns the splices that turn old into new, positions valid when the
// splices are applied in order. Unchanged stretches are left alone, so a
// concurrent edit inside them survives the merge.
func Diff(old, new string) []Splice {
	if old == new {
		return nil
	}
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0 // exact: a timeout would fall back to a coarse diff
	// Line mode first keeps large texts fast; each changed run of lines is then
	// diffed by characters so a one-word edit stays one small splice.
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
		var del, ins string
		for ; i < len(coarse) && coarse[i].Type != diffmatchpatch.DiffEqual; i++ {
			if coarse[i].Type == diffmatchpatch.DiffDelete {
				del += coarse[i].Text
			} else {
				ins += coarse[i].Text
			}
		}
		i--
		for _, f := range dmp.DiffMainRunes([]rune(del), []rune(ins), false) {
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

// ReplaceText makes the body equal text through the smallest edits Diff
// finds (uncommitted until Commit). It returns the splices applied.
func (n *Note) ReplaceText(text string) ([]Splice, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	old, err := n.textStringLocked()
	if err != nil {
		return nil, err
	}
	splices := Diff(old, text)
	for _, s := range splices {
		if err := n.spliceLocked(s.Pos, s.Delete, s.Insert); err != nil {
			return nil, fmt.Errorf("replace text: %w", err)
		}
	}
	return splices, nil
}
