package tui

import (
	"testing"

	"github.com/collab-editor/collab/tui/editor"
)

// A key typed while the engine merges a peer's change lands where it was
// typed: the editor's offsets predate the change, rebase moves them past it
// (the two-peer tmux test typed "agani" for "again" before).
func TestRebaseEditOverMergedChange(t *testing.T) {
	for _, tc := range []struct {
		name          string
		remote        editor.Splice // merged into the note while the key was handled
		local         []editor.Splice
		want          string
		wantFirstPos  int
		startWithText string
	}{
		{"remote before", editor.Splice{Pos: 0, Insert: "ann: "}, []editor.Splice{{Pos: 11, Insert: "!"}}, "ann: hello\nworld!", 16, "hello\nworld"},
		{"remote after", editor.Splice{Pos: 11, Insert: " (ann)"}, []editor.Splice{{Pos: 0, Insert: "> "}}, "> hello\nworld (ann)", 0, "hello\nworld"},
		{"remote delete before", editor.Splice{Pos: 0, Delete: 6}, []editor.Splice{{Pos: 10, Delete: 1}}, "worl", 4, "hello\nworld"},
		{"replace after remote", editor.Splice{Pos: 0, Insert: "xx"}, []editor.Splice{{Pos: 6, Delete: 5, Insert: "there"}}, "xxhello\nthere", 8, "hello\nworld"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nb := openNotebook(t, "bob")
			id := makeNote(t, nb, "n", tc.startWithText)
			n, _, err := nb.OpenNote(id)
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			s := &session{note: n, ed: editor.New()}
			s.ed.SetText(tc.startWithText)
			before := s.ed.Len()
			// The editor applies the key to its (older) text...
			if err := s.ed.ApplyRemote(tc.local); err != nil {
				t.Fatal(err)
			}
			// ...while the note merged a peer's change.
			if err := n.Doc().Splice(tc.remote.Pos, tc.remote.Delete, tc.remote.Insert); err != nil {
				t.Fatal(err)
			}
			text, _ := n.Doc().Text()
			got := s.rebase(tc.local, before, text)
			if got[0].Pos != tc.wantFirstPos {
				t.Errorf("rebased to %d, want %d", got[0].Pos, tc.wantFirstPos)
			}
			for _, sp := range got {
				if err := n.Doc().Splice(sp.Pos, sp.Delete, sp.Insert); err != nil {
					t.Fatal(err)
				}
			}
			if text, _ := n.Doc().Text(); text != tc.want {
				t.Errorf("note text %q, want %q", text, tc.want)
			}
		})
	}
}
