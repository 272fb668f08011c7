package crdt

import (
	"fmt"

	"github.com/collab-editor/collab/crdt/splice"
)

// Splice is one edit in rune offsets: delete Delete runes at Pos, then
// insert Insert there (see package splice for the algebra).
type Splice = splice.Splice

// Diff returns the splices that turn old into new (see splice.Diff).
func Diff(old, new string) []Splice { return splice.Diff(old, new) }

// ReplaceText makes the body equal text through the smallest edits Diff
// finds (uncommitted until Commit). It returns the splices applied.
func (n *Note) ReplaceText(text string) ([]Splice, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	splices := Diff(n.text.String(), text)
	for _, s := range splices {
		if err := n.spliceLocked(s.Pos, s.Delete, s.Insert); err != nil {
			return nil, fmt.Errorf("replace text: %w", err)
		}
	}
	return splices, nil
}
