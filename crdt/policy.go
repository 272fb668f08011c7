package crdt

import "time"

// CommitPolicy decides when the open change of an editing burst is closed.
//
// Every automerge change costs for the rest of the note's life: loading,
// syncing and joining all grow with the number of changes (one change per
// keystroke makes the paper-sized note load in 4 s instead of 1 s). So edits
// are grouped into one change per burst, the way an editor groups undo steps,
// bounded so that little is ever uncommitted:
//
//   - Idle: the burst ends when typing pauses this long;
//   - MaxAge: a burst never stays open longer than this, however fast one types;
//   - MaxEdits: nor holds more edits than this (large pastes are one edit).
//
// A change is durable (fsync'd) right after it is committed, so MaxAge is also
// the most typing a crash of a long-running collab process can lose.
//
// While peers are connected, changes must reach them within milliseconds, so
// the live policy commits every edit at once; the sync layer then sends the
// change bytes straight to peers known to be in sync.
type CommitPolicy struct {
	Idle     time.Duration
	MaxAge   time.Duration
	MaxEdits int
}

// DefaultPolicy is for editing alone. Its bounds follow vim's swap file
// (written after 4 s idle or 200 keystrokes) but lean to shorter waits.
var DefaultPolicy = CommitPolicy{Idle: time.Second, MaxAge: 4 * time.Second, MaxEdits: 200}

// LivePolicy is for editing while collaborators are connected.
var LivePolicy = CommitPolicy{Idle: 0, MaxAge: 0, MaxEdits: 1}

// Due reports whether a burst of edits edits long, begun at first with its
// last edit at last, should be committed at now.
func (p CommitPolicy) Due(now time.Time, edits int, first, last time.Time) bool {
	if edits == 0 {
		return false
	}
	return edits >= p.MaxEdits || now.Sub(last) >= p.Idle || now.Sub(first) >= p.MaxAge
}

// Wait is how long from now until the burst becomes due if no more edits come.
func (p CommitPolicy) Wait(now time.Time, edits int, first, last time.Time) time.Duration {
	if edits == 0 {
		return -1
	}
	if p.Due(now, edits, first, last) {
		return 0
	}
	return min(last.Add(p.Idle).Sub(now), first.Add(p.MaxAge).Sub(now))
}
