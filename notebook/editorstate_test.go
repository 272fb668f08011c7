package notebook

import "testing"

// The editor's place in a note survives a reopen, and finds its text again
// after others edited before it.
func TestEditorState(t *testing.T) {
	nb, err := Open(t.TempDir(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	n, err := nb.Create("Note")
	if err != nil {
		t.Fatal(err)
	}
	n.Close()
	if _, ok := nb.EditorState(n.ID); ok {
		t.Fatal("a note never edited has a state")
	}
	st := EditorState{Cursor: 6, Row: 3, Before: "hello ", After: "world"}
	if err := nb.SaveEditorState(n.ID, st); err != nil {
		t.Fatal(err)
	}
	got, ok := nb.EditorState(n.ID)
	if !ok || got != st {
		t.Fatalf("read back %+v %v", got, ok)
	}
	for text, want := range map[string]int{
		"hello world":             6,  // unchanged
		"oh, hello world":         10, // text inserted before it
		"hello world, hello moon": 6,
		"something else":          6, // no trace of it: where it was
		"hi":                      2, // clamped
	} {
		if p := got.Place([]rune(text)); p != want {
			t.Errorf("in %q placed at %d, want %d", text, p, want)
		}
	}
}
