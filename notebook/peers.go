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
//
// Addrs are where the peer can be dialled again, most recently confirmed
// first, at most MaxPeerAddrs: the caller passes only addresses that were
// confirmed (dialled successfully, or observed) or that the user chose (a
// ticket); a note keeps at most MaxPeersPerNote peers. Chosen marks a peer
// the user named (joined through its ticket or address): it is never
// dropped to make room for others.
type KnownPeer struct {
	ID       string    `json:"id"`
	Name     string    `json:"name,omitempty"`
	Addrs    []string  `json:"addrs"`
	LastSeen time.Time `json:"lastSeen"`
	Chosen   bool      `json:"chosen,omitempty"`
	// Epochs: the peer follows cut histories (a collab peer that speaks
	// the epoch extension). Once seen it stays: a note shared with a peer
	// not known to is never cut (StartEpoch).
	Epochs bool `json:"epochs,omitempty"`
}

// Bounds of a note's address book, applied when it is written and when it
// is read (a file written by an older version, or by hand, may hold more).
const (
	MaxPeerAddrs    = 16
	MaxPeersPerNote = 64
	// maxPeersFileSize is far above what the bounds above produce (about
	// 150 KiB); a larger file is treated as damaged, not read.
	maxPeersFileSize = 4 << 20
	maxPeerNameLen   = 256
)

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
// What it returns is within the bounds, whatever the file holds.
func readPeers(log *store.NoteLog, id crdt.DocumentID) ([]KnownPeer, error) {
	data, err := log.ReadAuxLimit(peersFile, maxPeersFileSize)
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
	return boundPeers(peers), nil
}

// boundPeers keeps a list read from disk within the bounds: one entry per
// peer, its first MaxPeerAddrs addresses, a name of at most maxPeerNameLen
// bytes, and at most MaxPeersPerNote peers (chosen ones first, then the
// most recently seen).
func boundPeers(peers []KnownPeer) []KnownPeer {
	var out []KnownPeer
	for _, p := range peers {
		if p.ID == "" || slices.ContainsFunc(out, func(k KnownPeer) bool { return k.ID == p.ID }) {
			continue
		}
		p.Addrs = slices.Compact(p.Addrs[:min(len(p.Addrs), MaxPeerAddrs)])
		if len(p.Name) > maxPeerNameLen {
			p.Name = p.Name[:maxPeerNameLen]
		}
		out = append(out, p)
	}
	for len(out) > MaxPeersPerNote {
		v := leastRecentlySeen(out, "")
		out = slices.Delete(out, v, v+1)
	}
	return out
}

// leastRecentlySeen is the index of the peer to drop when a note has too
// many: the least recently seen that the user did not choose (if all were
// chosen, the least recently seen of all), never the one named keep.
func leastRecentlySeen(peers []KnownPeer, keep string) int {
	victim := -1
	for _, chosenToo := range []bool{false, true} {
		for i, p := range peers {
			if p.ID == keep || (p.Chosen && !chosenToo) {
				continue
			}
			if victim < 0 || p.LastSeen.Before(peers[victim].LastSeen) {
				victim = i
			}
		}
		if victim >= 0 {
			return victim
		}
	}
	return victim
}

// RememberPeer records that p shares this note (its addresses first, then
// those known before, up to MaxPeerAddrs; its name if it has one), so it
// is dialled again after a restart. A new peer beyond MaxPeersPerNote
// takes the place of the least recently seen one the user did not choose.
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
		if len(peers) > MaxPeersPerNote {
			v := leastRecentlySeen(peers, p.ID)
			peers = slices.Delete(peers, v, v+1)
			i = slices.IndexFunc(peers, func(k KnownPeer) bool { return k.ID == p.ID })
		}
	}
	addrs := mergeAddrs(p.Addrs, peers[i].Addrs)
	if !slices.Equal(addrs, peers[i].Addrs) {
		peers[i].Addrs = addrs
		changed = true
	}
	if p.Epochs && !peers[i].Epochs {
		peers[i].Epochs = true
		changed = true
	}
	if p.Chosen && !peers[i].Chosen {
		peers[i].Chosen = true
		changed = true
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

// mergeAddrs is fresh followed by the old addresses not among them, at most
// MaxPeerAddrs: the least recently confirmed go first.
func mergeAddrs(fresh, old []string) []string {
	out := make([]string, 0, min(len(fresh)+len(old), MaxPeerAddrs))
	for _, a := range slices.Concat(fresh, old) {
		if len(out) == MaxPeerAddrs {
			break
		}
		if a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}
