package editor_test

import (
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/collab-editor/collab/tui/editor"
)

// Example shows the data flow: local edits come out of Update as splices for
// the CRDT; remote changes go in with ApplyRemote (or SetTextFromRemote).
func Example() {
	ed := editor.New()
	ed.SetSize(20, 3)
	ed.SetText("hello")
	ed.SetCursorPos(5)

	splices, _ := ed.Update(tea.KeyPressMsg{Code: '!', Text: "!"})
	fmt.Printf("to the CRDT: %+v\n", splices)

	// A peer inserted text before the cursor: the cursor moves with the text.
	if err := ed.ApplyRemote([]editor.Splice{{Pos: 0, Insert: "oh, "}}); err != nil {
		fmt.Println(err)
	}
	fmt.Println(ed.Text(), ed.CursorPos())

	// Undo removes only the user's own "!".
	splices, _ = ed.Update(tea.KeyPressMsg{Code: 'z', Mod: tea.ModCtrl})
	fmt.Printf("undo: %+v -> %q\n", splices, ed.Text())

	// In the app's View: v := tea.NewView(...ed.View()...); v.Cursor = ed.Cursor()
	x, y, _ := ed.CursorXY()
	fmt.Println(x, y)
	// Output:
	// to the CRDT: [{Pos:5 Delete:0 Insert:!}]
	// oh, hello! 10
	// undo: [{Pos:9 Delete:1 Insert:}] -> "oh, hello"
	// 9 0
}
