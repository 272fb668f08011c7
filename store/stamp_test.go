package store

import "testing"

// The notes stamp changes whenever what a notes list shows may have: a note
// created, its view rewritten, trashed, restored; and stays put otherwise.
func TestNotesStamp(t *testing.T) {
	nb := newNotebook(t)
	stamp := func() uint64 {
		t.Helper()
		s, err := nb.NotesStamp()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	changed := func(what string, before uint64) uint64 {
		t.Helper()
		now := stamp()
		if now == before {
			t.Fatalf("the stamp did not change when %s", what)
		}
		return now
	}
	empty := stamp()
	if again := stamp(); again != empty {
		t.Fatal("the stamp changed with nothing done")
	}
	const id = "4NMNnkv3xyQjzHMdkvAqDp7bXeR1"
	l, err := nb.Create(id)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s := changed("a note was created", empty)
	mustAppend(t, l, "a record")
	if stamp() != s {
		t.Fatal("an append changed the stamp (only renames in the directory should)")
	}
	if err := l.WriteView(View{Title: "renamed"}); err != nil {
		t.Fatal(err)
	}
	s = changed("the view was rewritten", s)
	if err := nb.Trash(id); err != nil {
		t.Fatal(err)
	}
	s = changed("the note was trashed", s)
	if err := nb.Restore(id); err != nil {
		t.Fatal(err)
	}
	changed("the note was restored", s)
}
