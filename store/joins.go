package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"
)

// Pending joins (joins that could not reach the inviter yet and are
// retried by the running peer) live in one file, <home>/joins: a
// checksummed blob holding a JSON list, replaced atomically. They are few
// and small, and every change rewrites the whole list under an exclusive
// flock on joins.lock, so the running peer and a `collab join --cancel`
// elsewhere never undo each other.
const (
	joinsName  = "joins"
	joinsLock  = "joins.lock"
	joinsMagic = "CLBJON"
	// MaxJoinsSize bounds the joins file's payload: what a few dozen
	// tickets and their last errors take, many times over. A larger file
	// was not written by collab and is not read.
	MaxJoinsSize = 256 << 10
	// joinsDamagedName keeps the bytes of a damaged joins file that a
	// change replaced, for manual recovery (one copy, the latest).
	joinsDamagedName = "joins.damaged"
)

// PendingJoin is one join waiting for its inviter to become reachable.
type PendingJoin struct {
	ID        string    `json:"id"`    // the note's id
	Addrs     []string  `json:"addrs"` // the ticket's addresses, each ending in /p2p/<peer>
	Added     time.Time `json:"added"`
	Attempts  int       `json:"attempts"`
	LastTry   time.Time `json:"lastTry"`
	LastError string    `json:"lastError"` // why the last attempt failed, in plain words
	NextTry   time.Time `json:"nextTry"`   // zero: when collab next runs
	// Failed: the last attempt failed in a way retrying cannot mend (the
	// inviter answered that it lacks the note, say); it is not retried.
	Failed bool `json:"failed,omitempty"`
}

func (nb *Notebook) joinsPath() string { return filepath.Join(nb.dir, joinsName) }

// PendingJoins reads the pending joins in the order they were added: none
// if there is no file, ErrCorrupt if it is damaged or larger than
// MaxJoinsSize.
func (nb *Notebook) PendingJoins() ([]PendingJoin, error) {
	b, err := readFileLimit(nb.joinsPath(), MaxJoinsSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case errors.Is(err, errTooLarge):
		return nil, fmt.Errorf("pending joins: larger than %d bytes: %w", MaxJoinsSize, ErrCorrupt)
	case err != nil:
		return nil, fmt.Errorf("read pending joins: %w", err)
	}
	payload, err := decodeBlob(joinsMagic, "pending joins", b)
	if err != nil {
		return nil, err
	}
	var joins []PendingJoin
	if err := json.Unmarshal(payload, &joins); err != nil {
		return nil, fmt.Errorf("pending joins: %v: %w", err, ErrCorrupt)
	}
	for _, j := range joins {
		if ValidateID(j.ID) != nil {
			return nil, fmt.Errorf("pending joins: note id %q: %w", j.ID, ErrCorrupt)
		}
	}
	return joins, nil
}

// UpdatePendingJoins changes the pending joins: update gets the list as it
// is on disk and returns the new one, which replaces it atomically (an
// error from update changes nothing and is returned). A damaged file counts
// as no joins; its bytes are kept in joins.damaged first. A list that would
// not fit MaxJoinsSize is refused.
func (nb *Notebook) UpdatePendingJoins(update func([]PendingJoin) ([]PendingJoin, error)) error {
	if err := nb.writable("change pending joins"); err != nil {
		return err
	}
	lf, err := lockExclusive(filepath.Join(nb.dir, joinsLock))
	if err != nil {
		return fmt.Errorf("lock pending joins: %w", err)
	}
	defer lf.Close() // releases the flock
	joins, err := nb.PendingJoins()
	if errors.Is(err, ErrCorrupt) {
		if err := nb.keepDamagedJoins(); err != nil {
			return err
		}
		joins = nil
	} else if err != nil {
		return err
	}
	joins, err = update(joins)
	if err != nil {
		return err
	}
	for _, j := range joins {
		if err := ValidateID(j.ID); err != nil {
			return fmt.Errorf("store pending join: %w", err)
		}
	}
	if joins == nil {
		joins = []PendingJoin{}
	}
	payload, err := json.Marshal(joins)
	if err != nil {
		return fmt.Errorf("store pending joins: %w", err)
	}
	if len(payload) > MaxJoinsSize {
		return fmt.Errorf("store pending joins: %d bytes, at most %d", len(payload), MaxJoinsSize)
	}
	if err := writeFileAtomic(nb.joinsPath(), encodeBlob(joinsMagic, payload), tmpPrefix); err != nil {
		return fmt.Errorf("store pending joins: %w", err)
	}
	return nil
}

// keepDamagedJoins copies a damaged joins file aside before it is
// replaced (at most MaxJoinsSize and a header of it).
func (nb *Notebook) keepDamagedJoins() error {
	b, err := readFileLimit(nb.joinsPath(), MaxJoinsSize)
	if errors.Is(err, errTooLarge) || errors.Is(err, fs.ErrNotExist) {
		return nil // nothing collab wrote, or nothing at all
	}
	if err != nil {
		return fmt.Errorf("read pending joins: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(nb.dir, joinsDamagedName), b, tmpPrefix); err != nil {
		return fmt.Errorf("keep damaged pending joins: %w", err)
	}
	return nil
}
