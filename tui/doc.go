// Package tui is collab's terminal app: the notes list, the collaborative
// editor screen (around package tui/editor), the history view, search
// across notes, help and the dialogs for sharing. It works offline on its own; everything networked
// goes through the Network interface, which the sync engine implements.
// The notes list shows invitations and pending joins (joins waiting for
// their inviter, with when the next try is) above the notes.
package tui
