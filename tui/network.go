package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/display"
	"github.com/collab-editor/collab/notebook"
)

// Network is everything networked the app uses. The sync engine implements
// it; a nil Network means offline: no peers, the status says "offline", and
// the invite and join dialogs explain that networking is off.
//
// Methods are called from the Bubble Tea loop and must not block for long,
// except Open, Invite, Join and Accept, which the app calls from commands
// (off the loop).
type Network interface {
	// Open returns the process-wide open note, owned by the engine: the app
	// edits it and never closes it. (Offline, the app opens notes itself and
	// runs Note.Run.)
	Open(id crdt.DocumentID) (*notebook.Note, error)
	// Peers lists the peers a note is shared with.
	Peers(id crdt.DocumentID) []Peer
	// Status is the note's sync state at a glance.
	Status(id crdt.DocumentID) SyncStatus
	// Presence lists the other people's cursors in a note.
	Presence(id crdt.DocumentID) []Presence
	// SetCursor tells peers where this user's cursor and selection anchor
	// are (rune offsets; anchor == cursor: no selection).
	// before and after are the text just around the cursor (up to
	// PresenceContext runes each), which lets peers place it after
	// concurrent edits without the engine reading the whole note.
	SetCursor(id crdt.DocumentID, cursor, anchor int, before, after string)
	// ClearCursor tells peers this user closed the note: they stop
	// showing the cursor and show the user online, not in the note.
	ClearCursor(id crdt.DocumentID)
	// Invite returns a ticket another person pastes to join the note.
	Invite(id crdt.DocumentID) (ticket string, err error)
	// Join fetches the note a ticket names; the note may have no body until
	// its text arrives (crdt.ErrNoBody). When the inviter cannot be reached
	// yet, the error Is ErrJoinPending (its text says why) and the join
	// goes on in the background: it shows in PendingJoins.
	Join(ctx context.Context, ticket string) (crdt.DocumentID, error)
	// PendingJoins lists joins waiting for their inviter to become
	// reachable, which the network retries until the note arrives.
	PendingJoins() []PendingJoin
	// CancelJoin gives up a pending join: it is no longer retried (an
	// attempt under way stops) and leaves PendingJoins.
	CancelJoin(id crdt.DocumentID) error
	// Invitations lists invitations waiting for an answer.
	Invitations() []Invitation
	// Accept and Decline answer an invitation.
	Accept(ctx context.Context, id crdt.DocumentID) error
	Decline(id crdt.DocumentID) error
	// Events delivers a value whenever anything above changed (presence,
	// peers, invitations, status); the app then re-reads what it shows.
	// Values are hints and may be coalesced.
	Events() <-chan any
}

// PresenceContext is how many runes on each side of the cursor SetCursor
// is given.
const PresenceContext = 16

// Peer is someone a note is shared with.
type Peer struct {
	ID, Name  string
	Connected bool // a live connection right now
	InNote    bool // has the note open in an editor (not just online)
	InSync    bool // both sides have each other's changes (equal heads)
	// Diverged says in plain words why the two copies cannot become equal
	// ("": they can). Untrusted: shown through display.
	Diverged string
	// Path is how a connected peer is reached: "direct (LAN)", "direct
	// (internet)", "relayed via NAME" ("" when not connected or not known).
	// Untrusted (a relay's name): shown through display.
	Path string
	// Problem is why the last attempt to reach a peer that is not
	// connected failed, in plain words with what to do ("": none failed).
	// Untrusted: shown through display.
	Problem string
}

// Presence is another person's cursor in a note.
type Presence struct {
	Peer, Name string
	Color      string // hex, e.g. "#ff5f87"
	Cursor     int    // rune offset
	Anchor     int    // selection anchor; == Cursor: no selection
}

// ErrJoinPending: a join could not reach the inviter yet and goes on in
// the background (see Network.Join).
var ErrJoinPending = errors.New("join pending")

// PendingJoin is a join waiting for its inviter.
type PendingJoin struct {
	ID      crdt.DocumentID
	From    string    // who invited: a name or a short ID, safe to show
	NextTry time.Time // zero or past: trying now
	Failed  bool      // not retried: Why says why
	Why     string    // the last failure, in plain words
}

// Invitation is an offer to join a note.
type Invitation struct {
	ID    crdt.DocumentID
	Title string
	From  string
}

// SyncStatus is a note's sync state at a glance. The zero value is Offline.
type SyncStatus int

const (
	Offline     SyncStatus = iota // networking is off, or the note is not shared
	InSync                        // every connected peer has every change
	Syncing                       // changes are on their way
	Unreachable                   // the note is shared but no peer can be reached
	Diverged                      // a peer's copy cannot become equal to ours (see Peer.Diverged)
)

func (s SyncStatus) String() string {
	switch s {
	case InSync:
		return "in sync"
	case Syncing:
		return "syncing"
	case Unreachable:
		return "peers unreachable"
	case Diverged:
		return "diverged"
	default:
		return "offline"
	}
}

// shortPath is a connected peer's path as the status bar says it: "direct"
// (LAN or internet), "via NAME" (a relay), or "" when not known.
func shortPath(path string) string {
	path = display.Line(path)
	switch {
	case strings.HasPrefix(path, "direct"):
		return "direct"
	case strings.HasPrefix(path, "relayed via "):
		return "via " + display.FirstRunes(strings.TrimPrefix(path, "relayed via "), 16)
	case path == "relayed":
		return "relayed"
	}
	return ""
}

// cantReach says whom the status bar cannot reach, by name: "can't reach
// ann", "can't reach ann and bob", "can't reach ann, bob and 2 more".
func cantReach(names []string) string {
	switch len(names) {
	case 1:
		return "can't reach " + names[0]
	case 2:
		return "can't reach " + names[0] + " and " + names[1]
	}
	return fmt.Sprintf("can't reach %s, %s and %d more", names[0], names[1], len(names)-2)
}
