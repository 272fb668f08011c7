package notebook

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/store"
)

// KnownPeer is a peer this note is shared with, the name it goes by, and
// where it was last seen. The name is what the peer last said of itself
// (presence): kept so that messages can name the person while the peer is
// offline. It comes from a peer: the caller bounds it, and it is shown
// through internal/display like any peer's string.
type KnownPeer struct {
	ID       string    `json:"id"`
	Name     string    `json:"name,omitempty"`
	Addrs    []string  `json:"addrs"`
	LastSeen time.Time `json:"lastSeen"`
}

const peersFile = "peers"

// lastSeenStep is how much newer a LastSeen must be to be written when
// nothing else about the peer changed.
const lastSeenStep = time.Minute

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

// KnownPeers lists the peers this note is shared with. The list is read
// from disk once and then kept: status displays ask for it on every
// frame, and only this process (the notebook's peer) writes it.
func (n *Note) KnownPeers() ([]KnownPeer, error) {
	n.peersMu.Lock()
	defer n.peersMu.Unlock()
	peers, err := n.knownPeersLocked()
	return clonePeers(peers), err
}

// clonePeers copies a list deeply: the cached one is never changed in place.
func clonePeers(peers []KnownPeer) []KnownPeer {
	peers = slices.Clone(peers)
	for i := range peers {
		peers[i].Addrs = slices.Clone(peers[i].Addrs)
	}
	return peers
}

func (n *Note) knownPeersLocked() ([]KnownPeer, error) {
	if n.peersRead {
		return n.peers, nil
	}
	peers, err := readPeers(n.log, n.ID)
	if err != nil {
		return nil, err
	}
	n.peers, n.peersRead = peers, true
	return peers, nil
}

// readPeers reads a note's peers file; a note with none has no peers.
func readPeers(log *store.NoteLog, id crdt.DocumentID) ([]KnownPeer, error) {
	data, err := log.ReadAux(peersFile)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var peers []KnownPeer
	if err := json.Unmarshal(data, &peers); err != nil {
		return nil, fmt.Errorf("peers of note %s: %w", id, err)
	}
	return peers, nil
}

// RememberPeer records that p shares this note (merging its addresses with
// what was known, and taking its name if it has one), so it is dialled
// again after a restart.
func (n *Note) RememberPeer(p KnownPeer) error {
	n.peersMu.Lock()
	defer n.peersMu.Unlock()
	peers, err := n.knownPeersLocked()
	if err != nil {
		peers = nil // a damaged list is rebuilt from what we learn now
	}
	peers = clonePeers(peers) // the cached list changes only once written
	i := slices.IndexFunc(peers, func(k KnownPeer) bool { return k.ID == p.ID })
	changed := i < 0
	if i < 0 {
		peers = append(peers, KnownPeer{ID: p.ID, LastSeen: p.LastSeen})
		i = len(peers) - 1
	}
	for _, a := range p.Addrs {
		if !slices.Contains(peers[i].Addrs, a) {
			peers[i].Addrs = append(peers[i].Addrs, a)
			changed = true
		}
	}
	if p.LastSeen.After(peers[i].LastSeen) {
		// Kept to the minute: a peer sharing a thousand notes would
		// otherwise cost a thousand file writes at every connect and
		// disconnect.
		changed = changed || p.LastSeen.Sub(peers[i].LastSeen) >= lastSeenStep
		peers[i].LastSeen = p.LastSeen
	}
	if p.Name != "" && p.Name != peers[i].Name {
		peers[i].Name = p.Name
		changed = true
	}
	if !changed {
		return nil
	}
	data, err := json.Marshal(peers)
	if err != nil {
		return err
	}
	if err := n.log.WriteAux(peersFile, data); err != nil {
		return err
	}
	n.peers, n.peersRead = peers, true
	return nil
}
