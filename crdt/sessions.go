package crdt

import (
	"slices"
	"time"
)

// SessionGap ends an author's editing session in the history: changes by
// the same author closer together than this are one entry. While
// collaborators are connected every keystroke is a change of its own, so
// a history of changes would be a history of keystrokes.
const SessionGap = 5 * time.Minute

// Session is one entry of a note's history as people read it: a run of one
// author's changes.
type Session struct {
	Author string // from collab's commit messages; "" for other automerge apps
	Actor  string // the automerge actor of the last change
	First  time.Time
	Last   time.Time
	// Changes are the indexes, in the history Sessions was given, of the
	// session's changes (oldest first); Added and Removed add up their
	// characters (when known, see ChangeInfo.Known).
	Changes        []int
	Added, Removed int
	Created        bool // the session holds the note's first change
	// Heads is the note as of the session's end (its last change), Parent
	// the note just before its first change: what to compare to show what
	// the session did.
	Heads, Parent []ChangeHash
	// Merged marks the entry that stands for the current text when it is
	// more than one session's end: concurrent sessions merged.
	Merged bool
}

// Sessions groups a history (History's order: dependencies first) into
// sessions, newest first. Changes by one author (by commit-message name,
// else by actor) at most gap apart belong together, whatever others did in
// between. When the note's current heads are not one session's end (after
// concurrent edits were merged), the first entry is a Merged one whose
// Heads are heads, so the newest entry always shows the current text.
func Sessions(history []ChangeInfo, heads []ChangeHash, gap time.Duration) []Session {
	type open struct {
		s    *Session
		last time.Time
	}
	var out []*Session
	lastAt := map[*Session]int{} // history index of a session's last change
	byAuthor := map[string]*open{}
	// The change an epoch begins with is nobody's edit: it stands for the
	// heads it was cut at (its Deps, as notebook reports them).
	cutAt := map[ChangeHash][]ChangeHash{}
	for i, c := range history {
		if c.BeginsEpoch {
			cutAt[c.Hash] = c.Deps
			continue
		}
		key := c.Author
		if key == "" {
			key = "actor:" + c.Actor
		}
		o := byAuthor[key]
		if o == nil || c.Time.Sub(o.last) > gap || c.Time.Before(o.last.Add(-gap)) {
			s := &Session{Author: c.Author, First: c.Time, Parent: c.Deps}
			out = append(out, s)
			o = &open{s: s}
			byAuthor[key] = o
		}
		s := o.s
		s.Actor = c.Actor
		s.Last, o.last = c.Time, c.Time
		s.Changes = append(s.Changes, i)
		s.Added += c.Added
		s.Removed += c.Removed
		s.Created = s.Created || len(c.Deps) == 0
		s.Heads = []ChangeHash{c.Hash}
		lastAt[s] = i
	}
	// Newest first; changes within a clock tick keep history order.
	slices.SortFunc(out, func(a, b *Session) int {
		if c := b.Last.Compare(a.Last); c != 0 {
			return c
		}
		return lastAt[b] - lastAt[a]
	})
	res := make([]Session, len(out))
	for i, s := range out {
		res[i] = *s
	}
	if len(heads) == 1 && cutAt[heads[0]] != nil {
		heads = cutAt[heads[0]] // a note just cut reads as it was
	}
	if len(res) > 0 && len(heads) > 0 && !SameHeads(res[0].Heads, heads) {
		m := res[0]
		m.Merged, m.Heads, m.Parent = true, slices.Clone(heads), res[0].Heads
		m.Changes, m.Added, m.Removed, m.Created = nil, 0, 0, false
		res = append([]Session{m}, res...)
	}
	return res
}
