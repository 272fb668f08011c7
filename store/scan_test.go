package store

import (
	"errors"
	"testing"
)

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

// ReadRawView reads what ReadView reads, position and currency included,
// without decoding the text: a view whose text holds the position key
// (escaped, as JSON strings always are) still parses.
func TestReadRawView(t *testing.T) {
	nb := newNotebook(t)
	const id = "4NMNnkv3xyQjzHMdkvAqDp7bXeR1"
	l, err := nb.Create(id)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	mustAppend(t, l, "a record")
	want := View{Title: "T", Text: `tricky "Position":{"Gen":9,"Offset":9}} <&>` + "\n"}
	if err := l.WriteView(want); err != nil {
		t.Fatal(err)
	}
	v, current, err := l.ReadView()
	if err != nil || !current {
		t.Fatalf("ReadView: current %v, %v", current, err)
	}
	raw, rawCurrent, err := nb.ReadRawView(id, nil)
	if err != nil || !rawCurrent || raw.Position != v.Position {
		t.Fatalf("ReadRawView: position %+v (want %+v), current %v, %v", raw.Position, v.Position, rawCurrent, err)
	}
	got, err := raw.Decode()
	if err != nil || got.Title != want.Title || got.Text != want.Text {
		t.Fatalf("decoded %+v, %v", got, err)
	}
	mustAppend(t, l, "another")
	if _, current, err := nb.ReadRawView(id, nil); err != nil || current {
		t.Fatalf("after an append: current %v, %v; want stale", current, err)
	}
	if _, _, err := nb.ReadRawView("4NMNnkv3xyQjzHMdkvAqDp7bXeR2", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing note: %v", err)
	}
}
