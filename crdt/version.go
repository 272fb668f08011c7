package crdt

import (
	"errors"
	"fmt"
)

// ErrStale is returned by SpliceAt when changes from elsewhere were merged
// after the version the caller's offsets refer to.
var ErrStale = errors.New("the note changed since that version")

// Version counts the merges of changes from elsewhere (peers, other
// processes, merged copies) into the note; local edits do not move it. An
// editor remembers the version its view shows and applies keystrokes with
// SpliceAt, so a change merged in between can never shift them.
func (n *Note) Version() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.version
}

// ReadText returns the body together with the version it shows.
func (n *Note) ReadText() (text string, version uint64, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	text, err = n.textStringLocked()
	return text, n.version, err
}

// SpliceAt applies splices, in order, only if the note is still at version;
// otherwise it changes nothing and returns ErrStale.
func (n *Note) SpliceAt(version uint64, splices []Splice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.version != version {
		return fmt.Errorf("at version %d, now %d: %w", version, n.version, ErrStale)
	}
	for _, s := range splices {
		if err := n.spliceLocked(s.Pos, s.Delete, s.Insert); err != nil {
			return err
		}
	}
	return nil
}
