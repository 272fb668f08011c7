package crdt

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"

	"github.com/collab-editor/collab/crdt/amformat"
)

// SyncState is what this note knows about one peer's copy: automerge's sync
// protocol state. Keep one per peer per note, and keep it across
// reconnects: a fresh one makes the first message carry a bloom filter of
// the whole history.
//
// The state itself lives in the note's worker; the Note keeps its last
// saved bytes, which restore it after a restart.
type SyncState struct {
	note *Note
	id   uint64
}

// NewSyncState starts syncing with a peer this note knows nothing about.
func (n *Note) NewSyncState() *SyncState {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.newStateLocked(nil)
}

func (n *Note) newStateLocked(data []byte) *SyncState {
	n.nextState++
	s := &SyncState{note: n, id: n.nextState}
	// The worker makes a fresh state on first use of an id it lacks.
	n.states[s.id] = data
	runtime.AddCleanup(s, n.freeState, s.id)
	return s
}

// freeState lets the worker drop a state nobody holds; it runs on the
// runtime's cleanup goroutine, so it only queues the id for the next request.
func (n *Note) freeState(id uint64) {
	n.freeMu.Lock()
	n.freed = append(n.freed, id)
	n.freeMu.Unlock()
}

func (n *Note) takeFreed() []uint64 {
	n.freeMu.Lock()
	ids := n.freed
	n.freed = nil
	n.freeMu.Unlock()
	for _, id := range ids {
		delete(n.states, id)
	}
	return ids
}

func (n *Note) stateInits() []stateInit {
	out := make([]stateInit, 0, len(n.states))
	for id, data := range n.states {
		out = append(out, stateInit{ID: id, Data: data})
	}
	return out
}

func (n *Note) checkState(s *SyncState) error {
	if s == nil || s.note != n {
		return fmt.Errorf("sync state of another note")
	}
	return nil
}

// LoadSyncState restores a state saved with SaveSyncState. The bytes are
// untrusted (a file): bytes the core aborts on wrap ErrRejected.
func (n *Note) LoadSyncState(data []byte) (*SyncState, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.workerUpLocked() && n.building == nil && plainSyncState(data) {
		// Not loaded: the state goes to the worker with the document,
		// checked here so it cannot make that load abort.
		return n.newStateLocked(data), nil
	}
	s := n.newStateLocked(nil)
	resp, err := n.callLocked(&request{Op: opLoadSyncState, State: s.id, Data: data}, true)
	if err == nil {
		err = resp.err()
	}
	if err != nil {
		return nil, err
	}
	n.states[s.id] = data
	return s, nil
}

// SaveSyncState encodes a sync state for keeping on disk.
func (n *Note) SaveSyncState(s *SyncState) []byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.checkState(s) != nil {
		return nil
	}
	if !n.workerUpLocked() {
		// Not loaded: the state is what it was saved as when the worker
		// ended (Hibernate) or what it was loaded from.
		return n.states[s.id]
	}
	resp, err := n.callLocked(&request{Op: opSaveSyncState, State: s.id}, false)
	if err != nil || resp.err() != nil {
		return n.states[s.id] // the last bytes known good
	}
	n.states[s.id] = resp.Data
	return resp.Data
}

// GenerateSyncMessage returns the next automerge sync message for the peer
// s describes, or ok=false when there is nothing to say. Open edits are
// committed first so they travel too.
func (n *Note) GenerateSyncMessage(s *SyncState) (msg []byte, ok bool, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.checkState(s); err != nil {
		return nil, false, err
	}
	resp, err := n.callLocked(&request{Op: opGenerateSync, State: s.id}, false)
	if err != nil {
		return nil, false, err
	}
	if err := resp.err(); err != nil {
		return nil, false, err
	}
	return resp.Data, resp.OK, nil
}

// ReceiveSyncMessage applies an automerge sync message from the peer s
// describes and returns the changes it carried, for storing. A message the
// core aborts on is an error wrapping ErrRejected; the note is as it was.
func (n *Note) ReceiveSyncMessage(s *SyncState, msg []byte) ([]Change, error) {
	m, err := checkedSyncMessage(msg)
	if err == nil {
		err = n.checkSeqs(m.Changes)
	}
	if err != nil {
		return nil, invalid(opReceiveSync, err)
	}
	if n.sharedAsleep(s, m) {
		return nil, nil
	}
	return n.receiveSyncUnchecked(s, msg)
}

// sharedAsleep takes a sync message that brings nothing and asks for
// nothing from a peer stating exactly our heads (the heads that follow a
// whole document, or a reconnect in sync) into a sleeping note without
// loading it. All the core would keep of it, saved, is that the two share
// those heads: so the state becomes that, as if the core had taken the
// message and the note had hibernated. false: the core takes it.
func (n *Note) sharedAsleep(s *SyncState, m *amformat.SyncMessage) bool {
	if len(m.Changes) > 0 || len(m.Need) > 0 || len(m.Heads) == 0 {
		return false
	}
	heads := changeHashes(m.Heads)
	for _, h := range m.Have {
		if !SameHeads(changeHashes(h.LastSync), heads) {
			return false
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.checkState(s) != nil || n.closed || n.workerUpLocked() || n.building != nil ||
		n.pending > 0 || len(n.journal) > 0 || !SameHeads(heads, n.lastHeads.get()) {
		return false
	}
	n.states[s.id] = sharingState(heads)
	return true
}

// sharingState is the saved sync state of a peer known to hold exactly
// heads.
func sharingState(heads []ChangeHash) []byte {
	data := []byte{syncStateType}
	data = binary.AppendUvarint(data, uint64(len(heads)))
	for _, h := range heads {
		data = append(data, h[:]...)
	}
	return data
}

// receiveSyncUnchecked is ReceiveSyncMessage without the Go validation
// (see applyUnchecked).
func (n *Note) receiveSyncUnchecked(s *SyncState, msg []byte) ([]Change, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.checkState(s); err != nil {
		return nil, err
	}
	resp, err := n.callLocked(&request{Op: opReceiveSync, State: s.id, Data: msg}, true)
	if err != nil {
		return nil, err
	}
	for _, c := range resp.Changes {
		n.changes = append(n.changes, c.Bytes)
	}
	if resp.State != nil {
		n.states[s.id] = resp.State
	}
	if err := resp.err(); err != nil {
		return nil, n.collisionLocked(err, msg, true)
	}
	return resp.Changes, nil
}

// HasChange reports whether the note contains the change with this hash.
func (n *Note) HasChange(h ChangeHash) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if slices.Contains(n.lastHeads.get(), h) {
		return true // a head is in the document: no need to load it
	}
	if n.modelInGoLocked() {
		has, err := n.model.m.Has(amformat.Hash(h))
		return err == nil && has
	}
	resp, err := n.callLocked(&request{Op: opHasChange, Hashes: []ChangeHash{h}}, false)
	return err == nil && resp.OK
}

// syncStateType is the first byte of an encoded automerge sync state.
const syncStateType = 0x43

// maxSyncStateHeads bounds the shared heads a stored state may name.
const maxSyncStateHeads = 1024

// plainSyncState reports whether data is exactly an encoded automerge sync
// state: the type byte, a LEB128 count and that many 32-byte change
// hashes, nothing else.
func plainSyncState(data []byte) bool {
	if len(data) < 2 || data[0] != syncStateType {
		return false
	}
	count, n := binary.Uvarint(data[1:])
	if n <= 0 || count > maxSyncStateHeads {
		return false
	}
	return uint64(len(data)-1-n) == count*32
}

// SyncStateSharing returns a sync state with a peer known to hold exactly
// heads (e.g. right after one copy was sent to the other whole): its first
// message offers only what came after them, where a fresh state's offers
// the whole history and makes the peer send every change it lacks proof of.
func (n *Note) SyncStateSharing(heads []ChangeHash) (*SyncState, error) {
	if len(heads) > maxSyncStateHeads {
		return nil, fmt.Errorf("sync state with %d heads: %w", len(heads), ErrOutOfRange)
	}
	return n.LoadSyncState(sharingState(heads))
}
