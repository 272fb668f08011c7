package splice

import (
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"
)

// Splice is one text edit in rune offsets: delete Delete runes at Pos, then
// insert Insert there. Splices in a slice apply in order, each to the text
// the previous one left.
type Splice struct {
	Pos    int
	Delete int
	Insert string
}

// InsertLen is the length of the inserted text in runes.
func (s Splice) InsertLen() int { return utf8.RuneCountInString(s.Insert) }

// IsNoop reports whether s changes nothing.
func (s Splice) IsNoop() bool { return s.Delete == 0 && s.Insert == "" }

// ErrOutOfRange reports a splice that does not fit the text it is applied to.
var ErrOutOfRange = errors.New("splice out of range")

// Check reports whether s fits a text of n runes.
func (s Splice) Check(n int) error {
	if s.Pos < 0 || s.Delete < 0 || s.Pos > n || s.Pos+s.Delete > n {
		return fmt.Errorf("splice at %d deleting %d of %d runes: %w", s.Pos, s.Delete, n, ErrOutOfRange)
	}
	return nil
}

// Apply applies splices to text in order and returns the result; text is
// left unchanged. An out-of-range splice is an error wrapping ErrOutOfRange.
func Apply(text []rune, splices []Splice) ([]rune, error) {
	out := slices.Clone(text)
	for i, s := range splices {
		if err := s.Check(len(out)); err != nil {
			return nil, fmt.Errorf("splice %d of %d: %w", i+1, len(splices), err)
		}
		out = slices.Replace(out, s.Pos, s.Pos+s.Delete, []rune(s.Insert)...)
	}
	return out, nil
}

// Len returns the text length after splices are applied to a text of n
// runes (assuming they fit).
func Len(n int, splices []Splice) int {
	for _, s := range splices {
		n += s.InsertLen() - s.Delete
	}
	return n
}

// Stick says on which side of text inserted exactly at a position the
// position ends up. Everywhere else the rule is the same for every position
// (see Map).
type Stick int

const (
	// Before keeps the position before text inserted at it: a cursor stays
	// put while a collaborator types at it; a selection's end stays before
	// text appended to the selection.
	Before Stick = iota
	// After moves the position past text inserted at it: a selection's
	// start, so text inserted at it stays outside the selection.
	After
)

// Map carries position x (a place between runes) through splice s. It is
// the one rule every position an editor holds follows (cursors, selection
// ends, the viewport's anchor, collaborators' cursors):
//
//   - before the edit (x < s.Pos): unchanged;
//   - after what s deleted (x >= s.Pos+s.Delete and x > s.Pos): shifted by
//     what s inserted minus what it deleted, so it stays after the same text;
//   - inside what s deleted, or at the start of a replaced stretch: to the
//     deletion point, before the inserted text;
//   - exactly at a pure insertion point (x == s.Pos, nothing deleted):
//     before the new text with Before, after it with After.
func Map(x int, s Splice, stick Stick) int {
	q, f := s.Pos, s.Delete
	switch {
	case x < q:
		return x
	case x == q && f == 0:
		if stick == After {
			return x + s.InsertLen()
		}
		return x
	case x >= q+f:
		return x - f + s.InsertLen()
	default:
		return q
	}
}

// MapAll carries x through splices in order.
func MapAll(x int, splices []Splice, stick Stick) int {
	for _, s := range splices {
		x = Map(x, s, stick)
	}
	return x
}

// MapRange carries a selection — cursor and anchor; anchor < 0 or anchor ==
// cursor means none — through s: the selection's start sticks after and its
// end before, so text inserted at its edges stays outside it; a collapsed
// selection is a cursor and sticks before.
func MapRange(cursor, anchor int, s Splice) (int, int) {
	if anchor < 0 || anchor == cursor {
		c := Map(cursor, s, Before)
		if anchor < 0 {
			return c, anchor
		}
		return c, c
	}
	if cursor < anchor {
		return Map(cursor, s, After), Map(anchor, s, Before)
	}
	return Map(cursor, s, Before), Map(anchor, s, After)
}

// Transform rebases two sequences of splices made on the same text onto
// each other: a2 is a's effect on the text e left, and e2 is e's effect on
// the text a left, so that for every text T
//
//	Apply(Apply(T, e), a2) == Apply(Apply(T, a), e2).
//
// A deletion keeps only text the other side left in place (text the other
// side inserted inside it is not its to delete, so the range splits around
// it); an insertion point moves with the text; when both insert at the same
// point, aFirst puts a's text before e's.
func Transform(a, e []Splice, aFirst bool) (a2, e2 []Splice) {
	oa, oe := fromSplices(a), fromSplices(e)
	var ta, te op
	if aFirst {
		ta, te = transform(oa, oe)
	} else {
		te, ta = transform(oe, oa)
	}
	return ta.splices(), te.splices()
}

// Compose returns one canonical sequence with the effect of a followed by b:
// ascending, non-overlapping splices, each in the coordinates the previous
// left.
func Compose(a, b []Splice) []Splice {
	return compose(fromSplices(a), fromSplices(b)).splices()
}

// CheckAll reports whether every splice of seq fits the text the ones
// before it leave, starting from a text of n runes: a sequence to apply
// whole or not at all. An error wraps ErrOutOfRange.
func CheckAll(n int, seq []Splice) error {
	for i, s := range seq {
		if err := s.Check(n); err != nil {
			return fmt.Errorf("splice %d of %d: %w", i+1, len(seq), err)
		}
		n += s.InsertLen() - s.Delete
	}
	return nil
}

// ValidText is s with every byte that is not UTF-8 replaced by U+FFFD, as
// a conversion to runes makes it: text a splice inserts, in the form that
// holds the InsertLen runes counted for it.
func ValidText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string([]rune(s))
}
