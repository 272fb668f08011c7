package notebook

import (
	"errors"
	"fmt"

	"github.com/collab-editor/collab/crdt"
)

// What the sync engine needs of a note beyond the storing calls in note.go
// (ApplyRemote, GenerateSync, ReceiveSync): sync states, what the note
// holds, and whole copies for peers.

// SyncState returns the saved automerge sync state for a peer, or a fresh
// one. Kept states make a reconnect cheap: a fresh one starts with a bloom
// filter of the whole history.
func (n *Note) SyncState(peer string) *crdt.SyncState {
	data, err := n.log.ReadAux(n.syncStateName(peer))
	if err == nil {
		if s, err := n.doc.LoadSyncState(data); err == nil {
			return s
		}
	}
	return n.doc.NewSyncState()
}

// NewSyncState is a fresh sync state, for a peer that keeps nothing or
// whose state went wrong.
func (n *Note) NewSyncState() *crdt.SyncState { return n.doc.NewSyncState() }

// SyncStateSharing is a sync state with a peer known to hold exactly heads
// (see crdt.Note.SyncStateSharing).
func (n *Note) SyncStateSharing(heads []crdt.ChangeHash) (*crdt.SyncState, error) {
	return n.doc.SyncStateSharing(heads)
}

// SaveSyncState keeps a peer's sync state for the next connection.
func (n *Note) SaveSyncState(peer string, s *crdt.SyncState) error {
	return n.log.WriteAux(n.syncStateName(peer), n.doc.SaveSyncState(s))
}

// syncStateName is the side file of a peer's sync state in the note's
// epoch: a state is about one document, and each epoch is another.
func (n *Note) syncStateName(peer string) string {
	if k := n.epoch.Load(); k > 0 {
		return fmt.Sprintf("sync.%d.%s", k, peer)
	}
	return "sync." + peer
}

// HasChange reports whether the note has the change with this hash.
func (n *Note) HasChange(h crdt.ChangeHash) bool { return n.doc.HasChange(h) }

// LastHeads returns the note's heads as of its last commit or merge,
// without waiting for the note (see crdt.Note.LastHeads).
func (n *Note) LastHeads() []crdt.ChangeHash { return n.doc.LastHeads() }

// CommittedHeads returns the note's heads without committing anything;
// ok=false while edits are open (their heads are not known yet).
func (n *Note) CommittedHeads() (heads []crdt.ChangeHash, ok bool) { return n.doc.CommittedHeads() }

// Snapshot commits open edits, stores them, and returns the whole note in
// automerge's saved form with the heads it has: what a peer that has
// nothing of the note is sent. No edit can slip in between the commit and
// the save, so the copy holds exactly what is stored.
func (n *Note) Snapshot() (doc []byte, heads []crdt.ChangeHash, err error) {
	doc, heads, _, err = n.SnapshotIn()
	return doc, heads, err
}

// SnapshotIn is Snapshot that also says which epoch of the note the copy
// is of.
func (n *Note) SnapshotIn() (doc []byte, heads []crdt.ChangeHash, epoch uint64, err error) {
	// A sleeping note whose history is one saved document (just cut, say)
	// is sent as stored, without loading it: read it first, outside the
	// note's locks.
	if err := n.doc.ReadStored(); err != nil {
		return nil, nil, 0, fmt.Errorf("snapshot of note %s: %w", n.ID, err)
	}
	n.editMu.Lock()
	epoch = n.epoch.Load()
	err = n.step(func() error {
		_, err := n.commitLocked()
		return err
	})
	var ok bool
	if err == nil {
		doc, heads, ok = n.doc.SaveIfCommitted()
	}
	n.editMu.Unlock()
	if err != nil {
		return nil, nil, 0, fmt.Errorf("snapshot of note %s: %w", n.ID, err)
	}
	if !ok {
		return nil, nil, 0, fmt.Errorf("snapshot of note %s: edits opened outside the note", n.ID)
	}
	if now := n.epoch.Load(); now != epoch {
		// Another process's cut was followed meanwhile: which document
		// was saved is not known.
		return nil, nil, 0, fmt.Errorf("snapshot of note %s: epoch %d began meanwhile: %w", n.ID, now, ErrOtherEpoch)
	}
	if err := n.persist(); err != nil {
		return nil, nil, 0, err
	}
	return doc, heads, epoch, nil
}

// OfferSync is the sync message that answers an empty copy's first
// message: the whole note as a cold join carries it, which a peer we offer
// the note to keeps as an invitation. Open edits are committed and stored
// first.
func (n *Note) OfferSync() ([]byte, error) {
	if _, err := n.Flush(); err != nil {
		return nil, err
	}
	empty, _, err := crdt.Load(nil, nil, "")
	if err != nil {
		return nil, err
	}
	defer empty.Close()
	first, ok, err := empty.GenerateSyncMessage(empty.NewSyncState())
	if err != nil || !ok {
		return nil, fmt.Errorf("make offer: %v", err)
	}
	st := n.doc.NewSyncState()
	if _, err := n.doc.ReceiveSyncMessage(st, first); err != nil {
		return nil, fmt.Errorf("make offer: %w", err)
	}
	msg, ok, err := n.GenerateSync(st)
	if err != nil {
		return nil, fmt.Errorf("make offer: %w", err)
	}
	if !ok {
		return nil, errors.New("make offer: automerge has nothing to send")
	}
	return msg, nil
}
