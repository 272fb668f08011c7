package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Pending invitations live in <home>/invites, two files each: <id>.invite,
// what the invitation says (read by every listing), and <id>.offer, the
// bytes offered with it (read only when the invitation is accepted), so a
// listing never reads or decodes an offer. Both are checksummed blobs
// written atomically; an invitation exists while its .invite file does.
// Changes take an exclusive flock on invites/lock, so the process running
// the peer and a `collab decline` elsewhere never undo each other.
const (
	invitesDirName = "invites"
	inviteSuffix   = ".invite"
	offerSuffix    = ".offer"
	invitesLock    = "lock"
	inviteMagic    = "CLBINV"
	offerMagic     = "CLBOFR"
)

// Invite is what a pending invitation says: a note a peer offered that the
// user has not accepted or declined yet.
type Invite struct {
	ID       string    `json:"id"`       // the note's id
	Title    string    `json:"title"`    // "" until the note's changes arrived
	FromPeer string    `json:"fromPeer"` // who offered it
	FromName string    `json:"fromName"` // its display name, if it said
	Addrs    []string  `json:"addrs"`    // where the inviter was reachable
	Received time.Time `json:"received"`
	// OfferSize is how many bytes were offered with it (0: none). The store
	// keeps it: whatever callers set is ignored.
	OfferSize int64 `json:"offerSize,omitempty"`
}

func (nb *Notebook) invitesDir() string { return filepath.Join(nb.dir, invitesDirName) }

func (nb *Notebook) invitePath(id, suffix string) string {
	return filepath.Join(nb.invitesDir(), id+suffix)
}

// PutInvite stores an invitation, replacing one with the same id. offer,
// when not nil, replaces the bytes kept with it; nil keeps any there are.
func (nb *Notebook) PutInvite(inv Invite, offer []byte) error {
	if err := ValidateID(inv.ID); err != nil {
		return fmt.Errorf("store invitation: %w", err)
	}
	return nb.withInvitesLocked(func() error {
		return nb.writeInvite(inv, offer)
	})
}

// writeInvite writes the offer first: the .invite file that makes the
// invitation exist never names bytes that are not there yet. The caller
// holds the invitations lock.
func (nb *Notebook) writeInvite(inv Invite, offer []byte) error {
	offerPath := nb.invitePath(inv.ID, offerSuffix)
	switch old, err := nb.Invite(inv.ID); {
	case offer != nil:
		inv.OfferSize = int64(len(offer))
		if err := writeFileAtomic(offerPath, encodeBlob(offerMagic, offer), tmpPrefix); err != nil {
			return fmt.Errorf("store invitation %s: %w", inv.ID, err)
		}
	case err == nil:
		inv.OfferSize = old.OfferSize // the bytes there are stay
	default:
		// No invitation (or a damaged one): bytes left under its name are
		// not this invitation's.
		inv.OfferSize = 0
		if err := os.Remove(offerPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store invitation %s: %w", inv.ID, err)
		}
	}
	meta, err := json.Marshal(inv)
	if err != nil {
		return fmt.Errorf("store invitation %s: %w", inv.ID, err)
	}
	if err := writeFileAtomic(nb.invitePath(inv.ID, inviteSuffix), encodeBlob(inviteMagic, meta), tmpPrefix); err != nil {
		return fmt.Errorf("store invitation %s: %w", inv.ID, err)
	}
	return syncDir(nb.invitesDir())
}

// UpdateInvite changes a pending invitation in place; update reports
// whether it changed anything. It returns ErrNotFound, and stores nothing,
// if the invitation is gone (declined meanwhile, say).
func (nb *Notebook) UpdateInvite(id string, update func(*Invite) bool) error {
	if err := ValidateID(id); err != nil {
		return fmt.Errorf("update invitation: %w", err)
	}
	return nb.withInvitesLocked(func() error {
		inv, err := nb.Invite(id)
		if err != nil {
			return err
		}
		if !update(&inv) {
			return nil
		}
		inv.ID = id
		return nb.writeInvite(inv, nil)
	})
}

// RemoveInvite forgets a pending invitation and its offer; ErrNotFound if
// there is none.
func (nb *Notebook) RemoveInvite(id string) error {
	if err := ValidateID(id); err != nil {
		return fmt.Errorf("remove invitation: %w", err)
	}
	return nb.withInvitesLocked(func() error {
		err := os.Remove(nb.invitePath(id, inviteSuffix))
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("invitation %s: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("remove invitation %s: %w", id, err)
		}
		if err := os.Remove(nb.invitePath(id, offerSuffix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove invitation %s: %w", id, err)
		}
		return syncDir(nb.invitesDir())
	})
}

// Invite reads one pending invitation: ErrNotFound if there is none,
// ErrCorrupt if its file is damaged.
func (nb *Notebook) Invite(id string) (Invite, error) {
	if err := ValidateID(id); err != nil {
		return Invite{}, fmt.Errorf("read invitation: %w", err)
	}
	b, err := nb.readInviteBlob(id, inviteSuffix, inviteMagic)
	if err != nil {
		return Invite{}, err
	}
	var inv Invite
	if err := json.Unmarshal(b, &inv); err != nil {
		return Invite{}, fmt.Errorf("invitation %s: %v: %w", id, err, ErrCorrupt)
	}
	inv.ID = id
	return inv, nil
}

// InviteOffer reads the bytes offered with a pending invitation:
// ErrNotFound if it came without any (or is gone).
func (nb *Notebook) InviteOffer(id string) ([]byte, error) {
	inv, err := nb.Invite(id)
	if err != nil {
		return nil, err
	}
	if inv.OfferSize == 0 {
		return nil, fmt.Errorf("offer of invitation %s: %w", id, ErrNotFound)
	}
	b, err := nb.readInviteBlob(id, offerSuffix, offerMagic)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("offer of invitation %s: missing: %w", id, ErrCorrupt)
	}
	if err == nil && int64(len(b)) != inv.OfferSize {
		return nil, fmt.Errorf("offer of invitation %s: %d bytes, %d offered: %w", id, len(b), inv.OfferSize, ErrCorrupt)
	}
	return b, err
}

func (nb *Notebook) readInviteBlob(id, suffix, magic string) ([]byte, error) {
	b, err := os.ReadFile(nb.invitePath(id, suffix))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("invitation %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read invitation %s: %w", id, err)
	}
	return decodeBlob(magic, "invitation "+id+suffix, b)
}

// Invites lists the pending invitations, newest first, reading only what
// each says. A damaged invitation is left out and reported in warnings.
func (nb *Notebook) Invites() (invites []Invite, warnings []error, err error) {
	entries, err := os.ReadDir(nb.invitesDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("list invitations: %w", err)
	}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), inviteSuffix)
		if !ok || ValidateID(id) != nil {
			continue // offers, the lock, temporary files
		}
		inv, err := nb.Invite(id)
		if errors.Is(err, ErrNotFound) {
			continue // removed since the directory was read
		}
		if err != nil {
			warnings = append(warnings, err)
			continue
		}
		invites = append(invites, inv)
	}
	sort.SliceStable(invites, func(i, j int) bool { return invites[i].Received.After(invites[j].Received) })
	return invites, warnings, nil
}

// withInvitesLocked runs f holding the exclusive lock on invitations
// (making their directory if needed).
func (nb *Notebook) withInvitesLocked(f func() error) error {
	if err := nb.writable("change invitations"); err != nil {
		return err
	}
	if err := mkdirPrivate(nb.invitesDir()); err != nil {
		return fmt.Errorf("invitations: %w", err)
	}
	lf, err := lockExclusive(filepath.Join(nb.invitesDir(), invitesLock))
	if err != nil {
		return fmt.Errorf("lock invitations: %w", err)
	}
	defer lf.Close() // releases the flock
	return f()
}

// removeOrphanOffers deletes, as far as it can, offers whose invitation is
// gone (a process stopped between removing the two files) and stale
// temporary files.
func (nb *Notebook) removeOrphanOffers() {
	if _, err := os.Stat(nb.invitesDir()); err != nil {
		return // no invitation yet
	}
	nb.withInvitesLocked(func() error {
		entries, err := os.ReadDir(nb.invitesDir())
		for _, e := range entries {
			nb.removeIfOrphan(e)
		}
		return err
	})
}

// removeIfOrphan removes e if it is an offer without its invitation or a
// temporary file left over an hour ago.
func (nb *Notebook) removeIfOrphan(e fs.DirEntry) {
	name := e.Name()
	path := filepath.Join(nb.invitesDir(), name)
	if id, ok := strings.CutSuffix(name, offerSuffix); ok {
		if _, err := os.Lstat(nb.invitePath(id, inviteSuffix)); errors.Is(err, fs.ErrNotExist) {
			os.Remove(path)
		}
	}
	if strings.HasPrefix(name, tmpPrefix) {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleTempAfter {
			os.Remove(path)
		}
	}
}

// lockExclusive opens (creating, 0600) the lock file at path and takes an
// exclusive flock on it; closing the file releases it.
func lockExclusive(path string) (*os.File, error) {
	lf, err := openOrCreatePrivate(path)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(lf.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		lf.Close()
		return nil, err
	}
	return lf, nil
}
