package notebook

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/store"
)

// Errors about pending joins, matched with errors.Is.
var (
	// ErrNoPendingJoin: no join of that note is pending.
	ErrNoPendingJoin = errors.New("no such pending join")
	// ErrTooManyPendingJoins: MaxPendingJoins joins are pending already.
	ErrTooManyPendingJoins = errors.New("too many pending joins")
)

// Bounds of the pending joins, applied when one is added and when they are
// read (a file written by hand may hold more).
const (
	MaxPendingJoins = 16
	// maxJoinErrorLen bounds a pending join's last error as kept: one
	// plain sentence about a peer, with what to do.
	maxJoinErrorLen = 512
	// maxJoinAddrLen bounds one ticket address as kept.
	maxJoinAddrLen = 512
)

// PendingJoin is a join that could not reach the inviter yet: the running
// peer (the sync engine) retries it until the note arrives or the user
// cancels it. Addrs are the ticket's, each ending in /p2p/<peer ID>.
type PendingJoin struct {
	DocumentID crdt.DocumentID
	Addrs      []string
	Added      time.Time
	Attempts   int
	LastTry    time.Time
	LastError  string    // why the last attempt failed, in plain words
	NextTry    time.Time // zero: as soon as collab runs here
	// Failed: retrying cannot help (LastError says why): it stays listed,
	// untried, until the user cancels it or joins again.
	Failed bool
}

func pendingJoinFromStore(s store.PendingJoin) (PendingJoin, error) {
	id, err := crdt.ParseDocumentID(s.ID)
	if err != nil {
		return PendingJoin{}, fmt.Errorf("pending join %q: %w", s.ID, err)
	}
	return bounded(PendingJoin{DocumentID: id, Addrs: s.Addrs, Added: s.Added, Attempts: s.Attempts,
		LastTry: s.LastTry, LastError: s.LastError, NextTry: s.NextTry, Failed: s.Failed}), nil
}

func (j PendingJoin) toStore() store.PendingJoin {
	j = bounded(j)
	return store.PendingJoin{ID: j.DocumentID.String(), Addrs: j.Addrs, Added: j.Added, Attempts: j.Attempts,
		LastTry: j.LastTry, LastError: j.LastError, NextTry: j.NextTry, Failed: j.Failed}
}

// bounded is j within the bounds a pending join is kept at.
func bounded(j PendingJoin) PendingJoin {
	var addrs []string
	for _, a := range j.Addrs {
		if len(addrs) == MaxPeerAddrs {
			break
		}
		if len(a) <= maxJoinAddrLen {
			addrs = append(addrs, a)
		}
	}
	j.Addrs = addrs
	if len(j.LastError) > maxJoinErrorLen {
		j.LastError = truncateUTF8(j.LastError, maxJoinErrorLen-len("…")) + "…"
	}
	return j
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := 0
	for i := range s {
		if i > n {
			break
		}
		cut = i
	}
	return s[:cut]
}

// PendingJoins lists the pending joins, oldest first (at most
// MaxPendingJoins; entries that do not name a note are left out).
func (nb *Notebook) PendingJoins() ([]PendingJoin, error) {
	stored, err := nb.store.PendingJoins()
	if err != nil {
		return nil, err
	}
	var out []PendingJoin
	for _, s := range stored {
		if len(out) == MaxPendingJoins {
			break
		}
		if j, err := pendingJoinFromStore(s); err == nil {
			out = append(out, j)
		}
	}
	return out, nil
}

// PendingJoin reads the pending join of note id (ErrNoPendingJoin if
// there is none).
func (nb *Notebook) PendingJoin(id crdt.DocumentID) (PendingJoin, error) {
	joins, err := nb.PendingJoins()
	if err != nil {
		return PendingJoin{}, err
	}
	for _, j := range joins {
		if j.DocumentID == id {
			return j, nil
		}
	}
	return PendingJoin{}, fmt.Errorf("join %s: %w", id, ErrNoPendingJoin)
}

// AddPendingJoin keeps a join to retry. A join of the same note already
// pending is replaced (its Added time stays); a new one beyond
// MaxPendingJoins is refused with ErrTooManyPendingJoins.
func (nb *Notebook) AddPendingJoin(j PendingJoin) error {
	return nb.store.UpdatePendingJoins(func(stored []store.PendingJoin) ([]store.PendingJoin, error) {
		s := j.toStore()
		if i := slices.IndexFunc(stored, func(o store.PendingJoin) bool { return o.ID == s.ID }); i >= 0 {
			s.Added = stored[i].Added
			stored[i] = s
			return stored, nil
		}
		if len(stored) >= MaxPendingJoins {
			return nil, fmt.Errorf("join %s: %d joins are pending already (collab join --cancel one): %w",
				j.DocumentID, len(stored), ErrTooManyPendingJoins)
		}
		return append(stored, s), nil
	})
}

// UpdatePendingJoin changes the pending join of note id; update reports
// whether it changed anything. ErrNoPendingJoin if it is gone (cancelled
// meanwhile, say): nothing is stored then.
func (nb *Notebook) UpdatePendingJoin(id crdt.DocumentID, update func(*PendingJoin) bool) error {
	return nb.store.UpdatePendingJoins(func(stored []store.PendingJoin) ([]store.PendingJoin, error) {
		i := slices.IndexFunc(stored, func(o store.PendingJoin) bool { return o.ID == id.String() })
		if i < 0 {
			return nil, fmt.Errorf("join %s: %w", id, ErrNoPendingJoin)
		}
		j, err := pendingJoinFromStore(stored[i])
		if err != nil {
			return nil, err
		}
		if update(&j) {
			j.DocumentID = id
			stored[i] = j.toStore()
		}
		return stored, nil
	})
}

// RemovePendingJoin forgets the pending join of note id
// (ErrNoPendingJoin if there is none).
func (nb *Notebook) RemovePendingJoin(id crdt.DocumentID) error {
	return nb.store.UpdatePendingJoins(func(stored []store.PendingJoin) ([]store.PendingJoin, error) {
		i := slices.IndexFunc(stored, func(o store.PendingJoin) bool { return o.ID == id.String() })
		if i < 0 {
			return nil, fmt.Errorf("join %s: %w", id, ErrNoPendingJoin)
		}
		return slices.Delete(stored, i, i+1), nil
	})
}
