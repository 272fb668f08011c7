package crdt

import (
	"fmt"

	"github.com/automerge/automerge-go"
)

// SyncState is what this note knows about one peer's copy: automerge's sync
// protocol state. Keep one per peer per note, and keep it across
// reconnects: a fresh one makes the first message carry a bloom filter of
// the whole history.
type SyncState struct {
	ss *automerge.SyncState
}

// NewSyncState starts syncing with a peer this note knows nothing about.
func (n *Note) NewSyncState() *SyncState {
	n.mu.Lock()
	defer n.mu.Unlock()
	return &SyncState{ss: automerge.NewSyncState(n.doc)}
}

// LoadSyncState restores a state saved with SaveSyncState.
func (n *Note) LoadSyncState(data []byte) (*SyncState, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ss, err := automerge.LoadSyncState(n.doc, data)
	if err != nil {
		return nil, fmt.Errorf("load sync state: %w", err)
	}
	return &SyncState{ss: ss}, nil
}

// SaveSyncState encodes a sync state for keeping on disk. (automerge-go's
// own Save takes no lock, so it runs under the note's.)
func (n *Note) SaveSyncState(s *SyncState) []byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	return s.ss.Save()
}

// GenerateSyncMessage returns the next automerge sync message for the peer
// s describes, or ok=false when there is nothing to say. Open edits are
// committed first so they travel too.
func (n *Note) GenerateSyncMessage(s *SyncState) (msg []byte, ok bool, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.flushLocked(); err != nil {
		return nil, false, err
	}
	m, ok := s.ss.GenerateMessage()
	if !ok {
		return nil, false, nil
	}
	return m.Bytes(), true, nil
}

// ReceiveSyncMessage applies an automerge sync message from the peer s
// describes and returns the changes it carried, for storing.
func (n *Note) ReceiveSyncMessage(s *SyncState, msg []byte) ([]Change, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.flushLocked(); err != nil {
		return nil, err
	}
	m, err := s.ss.ReceiveMessage(msg)
	if rerr := n.resyncTextLocked(); err == nil && rerr != nil {
		return nil, rerr
	}
	if err != nil {
		return nil, fmt.Errorf("receive sync message: %w", err)
	}
	var out []Change
	for _, c := range m.Changes() {
		out = append(out, Change{Hash: c.Hash(), Bytes: c.Save()})
	}
	return out, nil
}

// HasChange reports whether the note contains the change with this hash.
func (n *Note) HasChange(h ChangeHash) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, err := n.doc.Change(h)
	return err == nil
}
