// Package editor is the collaborative text editor component of the collab
// terminal UI: a Bubble Tea v2 component over a grapheme-aware text buffer
// that renders only the visible, soft-wrapped rows.
//
// The editor does not own the document. Offsets are runes, the CRDT's unit;
// the text itself is kept as UTF-8 (a byte a character for ASCII), found by
// rune offset through a line index, and only a bounded number of lines'
// layouts are kept, so the editor holds about its text's own size.
//
//   - Local edits: Update(msg) handles tea.KeyPressMsg, tea.PasteMsg and
//     mouse messages and returns the []Splice the user's edit produced; the
//     app applies them, in order, to the CRDT (and commits/broadcasts).
//     It also returns a tea.Cmd (OSC 52 clipboard on copy/cut).
//   - Remote edits: ApplyRemote(splices) when the app knows the splices, or
//     SetTextFromRemote(text) when only the text is known (the changed
//     stretches found by a multi-hunk diff). The cursor, selection, peers, undo history and the
//     viewport's anchor (the first visible text, not a row number) shift so
//     the user stays on the same text.
//   - Undo/redo (ctrl+z, ctrl+y / ctrl+shift+z) revert only the user's own
//     edits: entries are inverse splices rebased through remote edits, so a
//     peer's text inside or next to the user's survives undo.
//   - Presence: SetPeers draws collaborators' cursors, selections and names
//     (every cursor on a row keeps a label, shortened alike when the row is
//     full); those scrolled out of view are named at the top or bottom edge
//     ("↑ ann", "↓ bob, cem"). Follow keeps one in view.
//   - Drawing: View returns Height rows of Width cells (with ANSI styling);
//     Cursor returns the real terminal cursor for tea.View.Cursor. Call
//     SetOrigin with the editor's screen position so mouse coordinates map.
//
// Tab inserts spaces to the next tab stop (WithTabWidth, default 4); a tab
// character received from a peer is drawn as that many cells. Control
// characters are drawn in caret notation (^M).
package editor
