package notebook

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/store"
)

// Epochs cut a note's history (crdt/epoch.go, store/epoch.go): the note
// goes on in a new document that holds its title and text, so opening,
// syncing and keeping it cost what its text costs. The epoch before is
// archived in the note's directory; History and At reach back through it.

// ErrShared: the note is shared with a peer not known to follow epochs
// (an automerge-repo peer, or a collab too old): such a peer keeps the one
// document, so cutting it would leave that peer a copy nobody could merge
// with again.
var ErrShared = errors.New("the note is shared with a peer that cannot follow a cut history")

// StartEpoch begins a new epoch of the note at its current heads: the
// history so far is archived, and the note goes on from one change that
// holds its title and text. Open edits are committed and stored first;
// other processes with the note open follow on their next look, peers
// when the sync engine announces it. It refuses a note shared with a peer
// that cannot follow (ErrShared).
func (n *Note) StartEpoch() (crdt.Epoch, error) {
	if n.nb.readOnly {
		return crdt.Epoch{}, fmt.Errorf("note %s: start an epoch: %w", n.ID, store.ErrReadOnly)
	}
	if err := n.CanCut(); err != nil {
		return crdt.Epoch{}, err
	}
	n.editMu.Lock()
	defer n.editMu.Unlock()
	// A note not loaded for editing is cut from its stored history in Go,
	// without loading it (crdt.Note.BeginEpoch); that history is read
	// before the cut holds the log's lock, which reading it takes.
	if err := n.doc.ReadStored(); err != nil {
		return crdt.Epoch{}, err
	}
	var e crdt.Epoch
	err := n.step(func() error {
		var err error
		e, err = n.cutLocked("start an epoch", nil, func() ([]byte, crdt.Epoch, []byte, [][]byte, error) {
			archive, begun, first, err := n.doc.BeginEpoch(n.ID, n.epoch.Load()+1)
			return archive, begun, first, nil, err
		})
		return err
	})
	if err != nil {
		return crdt.Epoch{}, err
	}
	return e, n.step(n.writeView) // writeView wants mu
}

// cutLocked ends the note's epoch and goes on in the next, under mu
// throughout (the lock order is mu, then the log's: no change may reach the
// document between the cut and the reset). Open edits are committed and
// stored; then, under the log's lock, cut makes from the document (holding
// every stored record) the archive of the epoch that ends, how the next
// begins, its first document, and changes to apply after it (translated
// late ones). A cut another process made meanwhile is followed first;
// settled, if given, is asked before each try whether nothing is left to
// do (or why it cannot be done).
func (n *Note) cutLocked(what string, settled func() (bool, error), cut func() (archive []byte, e crdt.Epoch, first []byte, late [][]byte, err error)) (crdt.Epoch, error) {
	if _, err := n.commitLocked(); err != nil {
		return crdt.Epoch{}, err
	}
	if err := n.storeLocked(); err != nil {
		return crdt.Epoch{}, err
	}
	var e crdt.Epoch
	var first []byte
	var late [][]byte
	for try := 0; ; try++ {
		if settled != nil {
			if done, err := settled(); done || err != nil {
				if err != nil {
					err = fmt.Errorf("note %s: %s: %w", n.ID, what, err)
				}
				return crdt.Epoch{}, err
			}
		}
		err := n.log.StartEpoch(func(unseen [][]byte) ([]byte, store.EpochInfo, []byte, error) {
			if err := n.applyLocked(unseen); err != nil {
				return nil, store.EpochInfo{}, nil, err
			}
			archive, begun, doc, translated, err := cut()
			if err != nil {
				return nil, store.EpochInfo{}, nil, err
			}
			e, first, late = begun, doc, translated
			return archive, epochInfo(e), doc, nil
		})
		if errors.Is(err, store.ErrNewEpoch) && try < 3 {
			// Another process began one: follow it, then try again.
			if err := n.followEpochLocked(); err != nil {
				return crdt.Epoch{}, err
			}
			if err := n.storeLocked(); err != nil {
				return crdt.Epoch{}, err
			}
			continue
		}
		if err != nil {
			return crdt.Epoch{}, fmt.Errorf("note %s: %s: %w", n.ID, what, err)
		}
		break
	}
	if err := n.doc.Reset(first); err != nil {
		return crdt.Epoch{}, fmt.Errorf("note %s: %s: %w", n.ID, what, err)
	}
	for _, c := range late {
		if err := n.doc.Apply(c); err != nil {
			return crdt.Epoch{}, fmt.Errorf("note %s: %s: %w", n.ID, what, err)
		}
	}
	n.unsaved = append(n.unsaved, late...)
	n.unsavedN.Store(int64(len(n.unsaved)))
	n.epoch.Store(e.Number)
	n.compactDue.Store(false)
	n.compactNow.Store(false)
	n.compactRefusedAt.Store(0)
	n.viewStale = true
	n.queue(Update{Origin: FromDisk}) // no list: the document is new
	return e, n.storeLocked()
}

// CanCut reports why the note's history may not be cut (ErrShared), or nil.
func (n *Note) CanCut() error {
	peers, err := n.KnownPeers()
	if err != nil {
		return err
	}
	var cannot int
	for _, p := range peers {
		if !p.Epochs {
			cannot++
		}
	}
	if cannot > 0 {
		return fmt.Errorf("note %s: %d of its %d peers: %w", n.ID, cannot, len(peers), ErrShared)
	}
	return nil
}

// FollowEpoch moves the note into epoch e, which a peer began: the note's
// history is cut at e.Heads exactly as that peer cut it (the root built
// here must be e.Root: crdt.ErrEpochMismatch otherwise), and the changes
// this copy has that e.Heads do not cover (edits made offline) are
// translated into the new epoch and stored there. e must be the next
// epoch; the document must hold e.Heads (crdt.ErrNotCovered otherwise:
// fetch the epoch before first). Nothing changes when it fails.
func (n *Note) FollowEpoch(e crdt.Epoch) error {
	if n.nb.readOnly {
		return fmt.Errorf("note %s: follow epoch %d: %w", n.ID, e.Number, store.ErrReadOnly)
	}
	n.editMu.Lock()
	defer n.editMu.Unlock()
	if err := n.doc.ReadStored(); err != nil { // as in StartEpoch
		return err
	}
	what := fmt.Sprintf("follow epoch %d", e.Number)
	err := n.step(func() error {
		settled := func() (bool, error) {
			if n.epoch.Load() >= e.Number {
				// Another process of this notebook followed it (or began
				// one) meanwhile: it must be the same epoch.
				have, err := n.log.EpochInfo(e.Number)
				if err != nil {
					return true, err
				}
				if have.Root != e.Root.String() {
					return true, fmt.Errorf("this notebook's epoch %d began with %s: %w", e.Number, have.Root, crdt.ErrEpochMismatch)
				}
				return true, nil
			}
			if e.Number != n.epoch.Load()+1 {
				return true, fmt.Errorf("the note is in epoch %d", n.epoch.Load())
			}
			return false, nil
		}
		_, err := n.cutLocked(what, settled, func() ([]byte, crdt.Epoch, []byte, [][]byte, error) {
			archive, first, late, err := n.doc.FollowEpoch(n.ID, e)
			return archive, e, first, late, err
		})
		return err
	})
	if err != nil {
		return err
	}
	return n.step(n.writeView) // writeView wants mu
}

// AdoptEpoch makes a note that holds nothing yet (just joined) go on in
// epoch e of it, which began before this notebook had it: what peers send
// of it belongs to that epoch. The epochs before are not here (History
// begins with e).
func (n *Note) AdoptEpoch(e crdt.Epoch) error {
	if n.nb.readOnly {
		return fmt.Errorf("note %s: adopt epoch %d: %w", n.ID, e.Number, store.ErrReadOnly)
	}
	n.editMu.Lock()
	defer n.editMu.Unlock()
	if err := n.loadForEdit(); err != nil {
		return err
	}
	return n.step(func() error {
		if n.epoch.Load() >= e.Number {
			return nil
		}
		if _, err := n.commitLocked(); err != nil {
			return err
		}
		if err := n.storeLocked(); err != nil {
			return err
		}
		err := n.log.AdoptEpoch(func(unseen [][]byte) ([]byte, store.EpochInfo, []byte, error) {
			if err := n.applyLocked(unseen); err != nil {
				return nil, store.EpochInfo{}, nil, err
			}
			heads, err := n.doc.Heads()
			if err != nil {
				return nil, store.EpochInfo{}, nil, err
			}
			if len(heads) > 0 {
				return nil, store.EpochInfo{}, nil, fmt.Errorf("the note already holds %d heads of its epoch %d", len(heads), n.epoch.Load())
			}
			empty, err := n.doc.Save()
			if err != nil {
				return nil, store.EpochInfo{}, nil, err
			}
			return nil, epochInfo(e), empty, nil
		})
		if err != nil {
			return fmt.Errorf("note %s: adopt epoch %d: %w", n.ID, e.Number, err)
		}
		n.epoch.Store(e.Number)
		return nil
	})
}

func epochInfo(e crdt.Epoch) store.EpochInfo {
	info := store.EpochInfo{Epoch: e.Number, Root: e.Root.String()}
	for _, h := range e.Heads {
		info.Heads = append(info.Heads, h.String())
	}
	return info
}

func epochOf(info store.EpochInfo) (crdt.Epoch, error) {
	e := crdt.Epoch{Number: info.Epoch}
	var err error
	if e.Root, err = crdt.ParseChangeHash(info.Root); err != nil {
		return crdt.Epoch{}, fmt.Errorf("epoch %d: root: %w", info.Epoch, err)
	}
	for _, s := range info.Heads {
		h, err := crdt.ParseChangeHash(s)
		if err != nil {
			return crdt.Epoch{}, fmt.Errorf("epoch %d: heads: %w", info.Epoch, err)
		}
		e.Heads = append(e.Heads, h)
	}
	return e, nil
}

// ErrEpochNotHere: the notebook never had that epoch of the note (it
// joined in a later one).
var ErrEpochNotHere = errors.New("that epoch of the note is not in this notebook")

// EpochAt returns how epoch k (≥ 1) of the note began (ErrEpochNotHere
// for one this notebook never had).
func (n *Note) EpochAt(k uint64) (crdt.Epoch, error) {
	info, err := n.log.EpochInfo(k)
	if errors.Is(err, store.ErrNotFound) {
		return crdt.Epoch{}, fmt.Errorf("note %s: epoch %d: %w", n.ID, k, ErrEpochNotHere)
	}
	if err != nil {
		return crdt.Epoch{}, err
	}
	return epochOf(info)
}

// Archive returns the whole document of epoch k as it was when epoch k+1
// began (ErrEpochNotHere for one this notebook never had).
func (n *Note) Archive(k uint64) ([]byte, error) {
	data, err := n.log.Archive(k)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("note %s: epoch %d: %w", n.ID, k, ErrEpochNotHere)
	}
	return data, err
}

// HistorySize reports how many changes the note's epoch holds and how
// long its text is, while its document is loaded (ok false otherwise).
func (n *Note) HistorySize() (changes, chars int, ok bool) { return n.doc.HistorySize() }

// EpochNumber is the epoch the note's document is in, as this process
// last looked (without the disk: another process may have begun a later
// one, which the note follows on its next look).
func (n *Note) EpochNumber() uint64 { return n.epoch.Load() }

// Epoch returns the epoch the note is in (Number 0: its history was never
// cut).
func (n *Note) Epoch() (crdt.Epoch, error) {
	info, err := n.log.Epoch()
	if err != nil || info.Epoch == 0 {
		return crdt.Epoch{}, err
	}
	return epochOf(info)
}

// followEpochLocked moves the note into the epoch another process began:
// the new epoch's document replaces this one, and this process's changes
// of the epoch before that are not on disk (committed, not yet stored) are
// translated into it, to be stored with the next Append.
func (n *Note) followEpochLocked() error {
	if _, err := n.commitLocked(); err != nil {
		return err
	}
	snapshot, records, _, err := n.log.Load()
	if err != nil {
		return fmt.Errorf("note %s: follow a new epoch: %w", n.ID, err)
	}
	info, err := n.log.Epoch()
	if err != nil {
		return fmt.Errorf("note %s: follow a new epoch: %w", n.ID, err)
	}
	// The log now reads the new epoch: the document must follow whatever
	// happens. A key typed since the commit above is committed in the
	// old document and translated with the rest.
	for try := 0; ; try++ {
		err = n.doc.Reset(snapshot)
		if !errors.Is(err, crdt.ErrEditsOpen) || try == maxResetTries {
			break
		}
		if _, err := n.commitLocked(); err != nil {
			return err
		}
	}
	if err != nil {
		return fmt.Errorf("note %s: follow a new epoch: %w", n.ID, err)
	}
	// What this process committed in its epoch and had not stored goes
	// through every epoch begun since, one after the other.
	late := n.unsaved
	for k := n.epoch.Load() + 1; k <= info.Epoch && len(late) > 0; k++ {
		if late, err = n.translateInto(k, late); err != nil {
			// Never stored into the new epoch's log, whose document they do
			// not belong to: kept aside for manual recovery instead.
			kept := n.keepUntranslatedLocked()
			return errors.Join(fmt.Errorf("note %s: follow a new epoch: %w", n.ID, err), kept)
		}
	}
	for _, r := range append(slices.Clone(records), late...) {
		if err := n.doc.Apply(r); err != nil {
			return fmt.Errorf("note %s: follow a new epoch: %w", n.ID, err)
		}
	}
	n.unsaved = late
	n.unsavedN.Store(int64(len(late)))
	n.epoch.Store(info.Epoch)
	n.viewStale = true
	n.queue(Update{Origin: FromDisk}) // no list: the document is new
	return nil
}

// translateInto translates changes of epoch k-1 into epoch k.
func (n *Note) translateInto(k uint64, changes [][]byte) ([][]byte, error) {
	info, err := n.log.EpochInfo(k)
	if err != nil {
		return nil, err
	}
	e, err := epochOf(info)
	if err != nil {
		return nil, err
	}
	archive, err := n.log.Archive(k - 1)
	if err != nil {
		return nil, err
	}
	return crdt.TranslateLate(n.ID, e, archive, changes)
}

// keepUntranslatedLocked moves unsaved changes of an epoch before into
// side files (untranslated.<sha256>).
func (n *Note) keepUntranslatedLocked() error {
	var errs []error
	var left [][]byte // not kept aside: stay unsaved, to be stored and then set aside as rejected
	for _, r := range n.unsaved {
		sum := sha256.Sum256(r)
		if err := n.log.WriteAux("untranslated."+hex.EncodeToString(sum[:]), r); err != nil {
			errs = append(errs, err)
			left = append(left, r)
		}
	}
	n.unsaved = left
	n.unsavedN.Store(int64(len(left)))
	return errors.Join(errs...)
}

// maxResetTries bounds how often following an epoch commits keys typed
// meanwhile before it gives up (each try is a commit and a reset).
const maxResetTries = 8

// epochHistory lists the changes of the archived epochs before the
// note's, oldest first.
func (n *Note) epochHistory() ([]crdt.ChangeInfo, crdt.Epoch, error) {
	e, err := n.Epoch()
	if err != nil || e.Number == 0 {
		return nil, e, err
	}
	var out []crdt.ChangeInfo
	for k := range e.Number {
		archive, err := n.log.Archive(k)
		if errors.Is(err, store.ErrNotFound) {
			continue // joined in a later epoch: this one was never here
		}
		if err != nil {
			return nil, e, err
		}
		hist, err := crdt.ArchiveHistory(archive)
		if err != nil {
			return nil, e, fmt.Errorf("note %s: epoch %d: %w", n.ID, k, err)
		}
		for i := range hist {
			hist[i].Epoch = k
			// An epoch's root holds the text at the cut, not an edit; it
			// is shown as following the heads it was cut at.
			if k > 0 && len(hist[i].Deps) == 0 {
				hist[i].BeginsEpoch = true
				if info, err := n.log.EpochInfo(k); err == nil {
					if e, err := epochOf(info); err == nil {
						hist[i].Deps = e.Heads
					}
				}
			}
		}
		out = append(out, hist...)
	}
	return out, e, nil
}

// atArchived returns the title and text as of heads in an archived epoch.
func (n *Note) atArchived(upTo uint64, heads []crdt.ChangeHash) (title, text string, err error) {
	for k := range upTo {
		archive, err := n.log.Archive(k)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", "", err
		}
		title, text, err := crdt.ArchiveAt(archive, heads...)
		if errors.Is(err, crdt.ErrUnknownHash) {
			continue
		}
		return title, text, err
	}
	return "", "", fmt.Errorf("%v: %w", heads, crdt.ErrUnknownHash)
}
