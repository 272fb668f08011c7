package notebook

import (
	"errors"
	"fmt"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/store"
)

// IDs lists the notes of the notebook without opening them.
func (nb *Notebook) IDs() ([]crdt.DocumentID, error) {
	ids, err := nb.store.NoteIDs()
	if err != nil {
		return nil, err
	}
	out := make([]crdt.DocumentID, 0, len(ids))
	for _, s := range ids {
		if id, err := crdt.ParseDocumentID(s); err == nil {
			out = append(out, id)
		}
	}
	return out, nil
}

// PeersOf lists the known peers of a note without loading its history
// (what Note.KnownPeers returns once it is open).
func (nb *Notebook) PeersOf(id crdt.DocumentID) ([]KnownPeer, error) {
	log, err := nb.store.OpenNote(id.String())
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%s: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("open note %s: %w", id, err)
	}
	defer log.Close()
	return readPeers(log, id)
}
