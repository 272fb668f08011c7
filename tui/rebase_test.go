package tui

import (
	"strings"
	"testing"

	"github.com/collab-editor/collab/tui/editor"
)

// A key typed while another change reaches the note lands where it was
// typed: the editor's offsets predate the change, and the note rebases them
// past it (the two-peer tmux test typed "agani" for "again" before).
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
			_, s.rev, _ = n.ReadText()
			// The editor applies the key to its text...
			if err := s.ed.ApplyRemote(tc.local); err != nil {
				t.Fatal(err)
			}
			// ...while another change reached the note.
			if err := n.Splice(tc.remote.Pos, tc.remote.Delete, tc.remote.Insert); err != nil {
				t.Fatal(err)
			}
			res, err := n.Edit(s.rev, tc.local)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.ed.ApplyRemote(res.Remote); err != nil {
				t.Fatal(err)
			}
			text, _ := n.Text()
			if text != tc.want || s.ed.Text() != tc.want {
				t.Errorf("note text %q, editor %q, want %q", text, s.ed.Text(), tc.want)
			}
			if pos := strings.Index(text, "!"); tc.name == "remote before" && pos != tc.wantFirstPos {
				t.Errorf("the key landed at %d, want %d", pos, tc.wantFirstPos)
			}
		})
	}
}
