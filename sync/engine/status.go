package engine

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/display"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/p2p"
)

// Status is how a note stands with its peers.
type Status int

const (
	// Offline: no peer connected for the note, and none known to try.
	Offline Status = iota
	// Unreachable: the note has known peers, none of them reachable now.
	Unreachable
	// Syncing: connected to peers of the note, not all known to be in sync.
	Syncing
	// InSync: every connected peer of the note has what we have.
	InSync
	// Diverged: a connected peer's copy cannot become equal to ours by
	// syncing (a change of one was refused by the other; see Peers).
	Diverged
)

// Like every enum's String here: one case per constant, nothing to share.
func (s Status) String() string {
	switch s {
	case Offline:
		return "offline"
	case Unreachable:
		return "unreachable"
	case Syncing:
		return "syncing"
	case InSync:
		return "in sync"
	case Diverged:
		return "diverged"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// PeerStatus is one peer of a note.
type PeerStatus struct {
	ID        string // libp2p peer ID
	Name      string // from its presence, or as last known; "" if never told
	Connected bool
	// InNote: the peer has the note open in an editor (its presence has
	// a cursor); a peer that is only connected (collab serve, or an
	// editor on another note) is online, not in the note.
	InNote   bool
	InSync   bool
	LastSeen time.Time
	// Path is how the peer is connected, for people: "direct (LAN)",
	// "direct (internet)" or "relayed via NAME"; "" when not connected.
	Path string
	// Problem is why the last attempt to reach the peer failed, in plain
	// words with what to do ("couldn't reach ann at …: no answer
	// (offline, or behind a NAT …)"); "" when connected or not tried.
	Problem string
	// Diverged says in plain words why the copies cannot become equal
	// now ("" while they can).
	Diverged string
	// LastDivergence is the last divergence seen with this peer since
	// the engine started, kept after it was recovered from.
	LastDivergence string
}

// Status reports how note id stands with its peers.
func (e *Engine) Status(id crdt.DocumentID) Status {
	e.mu.Lock()
	ns := e.notes[id]
	known, failed := 0, false
	for _, t := range e.targets {
		if t.notes[id] {
			known++
			failed = failed || t.failures > 0
		}
	}
	e.mu.Unlock()
	if ns != nil {
		if dps := ns.activePeers(); len(dps) > 0 {
			st := InSync
			for _, dp := range dps {
				if dp.isInSync() {
					continue
				}
				if now, _ := ns.divergenceWith(dp.c.peerKey); now != "" {
					return Diverged
				}
				st = Syncing
			}
			return st
		}
	}
	if known > 0 && failed {
		return Unreachable
	}
	return Offline
}

// Peers lists the known and connected peers of note id.
func (e *Engine) Peers(id crdt.DocumentID) []PeerStatus {
	byID := map[string]*PeerStatus{}
	var order []string
	add := func(pid string) *PeerStatus {
		if p, ok := byID[pid]; ok {
			return p
		}
		p := &PeerStatus{ID: pid}
		byID[pid] = p
		order = append(order, pid)
		return p
	}
	ns := e.opened(id)
	var known []notebook.KnownPeer
	if ns != nil {
		known, _ = ns.note.KnownPeers()
	} else {
		known, _ = e.nb.PeersOf(id)
	}
	for _, k := range known {
		p := add(k.ID)
		p.LastSeen = k.LastSeen
		p.Name = cleanName(k.Name)
	}
	if ns != nil {
		for _, dp := range ns.activePeers() {
			p := add(dp.c.pid.String())
			p.Connected = true
			p.InSync = dp.isInSync()
			p.LastSeen = time.Now()
			p.Path = e.pathText(dp.c.pid)
		}
		for _, p := range byID {
			now, last := ns.divergenceWith(p.ID)
			p.LastDivergence = last
			if !p.InSync {
				p.Diverged = now
			}
		}
		for _, pr := range ns.presenceSnapshot() {
			if p, ok := byID[pr.Peer]; ok {
				if pr.Name != "" { // what it says now, over what it said before
					p.Name = pr.Name
				}
				p.InNote = p.InNote || (pr.HasCursor && p.Connected)
			}
		}
	}
	e.mu.Lock()
	for _, p := range byID {
		if pid, err := peer.Decode(p.ID); err == nil && !p.Connected {
			if t := e.targets[pid]; t != nil {
				p.Problem = t.lastErr
			}
		}
	}
	e.mu.Unlock()
	out := make([]PeerStatus, 0, len(order))
	for _, pid := range order {
		out = append(out, *byID[pid])
	}
	slices.SortStableFunc(out, func(a, b PeerStatus) int {
		if a.Connected != b.Connected {
			if a.Connected {
				return -1
			}
			return 1
		}
		return 0
	})
	return out
}

// Collaborators lists every known peer of the notebook's notes once, for
// `collab id`: whether a sync stream with it is up, how it is reached
// (Path) or why the last attempt to reach it failed (Problem), and the
// name it goes by (safe to show). Connected ones come first; InNote,
// InSync and the divergence fields are per note and left empty.
func (e *Engine) Collaborators() []PeerStatus {
	type known struct {
		id        peer.ID
		problem   string
		connected bool
	}
	e.mu.Lock()
	all := make([]known, 0, len(e.targets))
	for _, t := range e.targets {
		c := e.conns[t.id]
		all = append(all, known{id: t.id, problem: t.lastErr, connected: c != nil && !c.isClosed()})
	}
	e.mu.Unlock()
	out := make([]PeerStatus, 0, len(all))
	for _, k := range all { // PeerName and pathText take e.mu themselves
		p := PeerStatus{ID: k.id.String(), Name: e.PeerName(k.id), Connected: k.connected}
		if k.connected {
			p.Path, p.LastSeen = e.pathText(k.id), time.Now()
		} else {
			p.Problem = k.problem
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b PeerStatus) int {
		if a.Connected != b.Connected {
			if a.Connected {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name+"\x00"+a.ID, b.Name+"\x00"+b.ID)
	})
	return out
}

// pathText says how pid is reached now, naming the relay for a relayed
// connection.
func (e *Engine) pathText(pid peer.ID) string {
	path := e.host.Path(pid)
	if path.Kind != p2p.PathRelayed {
		return path.Kind.String()
	}
	if path.Via == "" {
		return "relayed"
	}
	relay := e.PeerName(path.Via)
	if relay == "" {
		relay = display.ID(path.Via.String())
	}
	return "relayed via " + relay
}

// noteStatusChanged emits StatusChanged if the note's status moved.
func (e *Engine) noteStatusChanged(ns *noteState) {
	st := e.Status(ns.id)
	if old := Status(ns.lastStatus.Swap(int32(st))); old != st {
		e.log.Debug("note status", "note", ns.id, "status", st)
		e.emit(Event{Kind: StatusChanged, Note: ns.id})
	}
}
