package notebook

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/store"
)

// EditorState is where this device's editor left a note: the cursor and
// how far the view was scrolled. It is this device's alone (a side file of
// the note, never synced).
type EditorState struct {
	Cursor int `json:"cursor"` // rune offset
	Row    int `json:"row"`    // the cursor's row in the view
	// The text just around the cursor, to find its place again when others
	// changed the note since.
	Before string `json:"before"`
	After  string `json:"after"`
}

// editorStateFile is the side file holding a note's EditorState.
const editorStateFile = "editor"

// EditorContext is how many runes around the cursor EditorState keeps.
const EditorContext = 24

// EditorState reads where the editor left note id; false when it never
// was, or the file is unreadable (a lost cursor position costs nothing).
func (nb *Notebook) EditorState(id crdt.DocumentID) (EditorState, bool) {
	log, err := nb.store.OpenNote(id.String())
	if err != nil {
		return EditorState{}, false
	}
	defer log.Close()
	data, err := log.ReadAux(editorStateFile)
	if err != nil {
		return EditorState{}, false
	}
	var st EditorState
	if json.Unmarshal(data, &st) != nil || st.Cursor < 0 {
		return EditorState{}, false
	}
	return st, true
}

// SaveEditorState stores where the editor leaves note id.
func (nb *Notebook) SaveEditorState(id crdt.DocumentID, st EditorState) error {
	log, err := nb.store.OpenNote(id.String())
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil // trashed meanwhile: nothing to remember
		}
		return fmt.Errorf("save editor state: %w", err)
	}
	defer log.Close()
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("save editor state: %w", err)
	}
	return log.WriteAux(editorStateFile, data)
}

// Place finds the cursor's place in text as it is now: where it was if the
// text around it is unchanged, else the occurrence of that text nearest to
// where it was, else where it was clamped to the text.
func (st EditorState) Place(text []rune) int {
	pos := min(max(st.Cursor, 0), len(text))
	before, after := []rune(st.Before), []rune(st.After)
	if hasAt(text, pos-len(before), before) && hasAt(text, pos, after) {
		return pos
	}
	ctx := st.Before + st.After
	if ctx == "" {
		return pos
	}
	s := string(text)
	best, bestDist := -1, 0
	for i, from := 0, 0; ; {
		j := strings.Index(s[from:], ctx)
		if j < 0 {
			break
		}
		i += len([]rune(s[from : from+j]))
		at := i + len(before)
		if d := abs(at - pos); best < 0 || d < bestDist {
			best, bestDist = at, d
		}
		from += j + len(ctx)
		i += len([]rune(ctx))
	}
	if best >= 0 {
		return best
	}
	return pos
}

func hasAt(text []rune, at int, want []rune) bool {
	if at < 0 || at+len(want) > len(text) {
		return false
	}
	for i, r := range want {
		if text[at+i] != r {
			return false
		}
	}
	return true
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
