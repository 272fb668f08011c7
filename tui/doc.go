// Package tui is collab's terminal app: the notes list, the collaborative
// editor screen (around package tui/editor), the history view, search
// across notes, help and the dialogs for sharing. It works offline on its own; everything networked
// goes through the Network interface, which the sync engine implements.
// The notes list shows invitations and pending joins (joins waiting for
// their inviter, with when the next try is) above the notes; ↑ past the
// first note selects a join's line, and d there cancels it after asking
// (Network.CancelJoin).
//
// The editor's status bar says how each connected collaborator is reached,
// short ("● ann direct", "○ bob via rita"), and why one that cannot be
// reached is not, in the network's plain words cut to fit ("✗ ann is
// behind a NAT and no relay you both know is online: …"); ctrl+o opens the
// people dialog with the full words for each. Names, paths and reasons are
// peers' strings and go through internal/display.
package tui
