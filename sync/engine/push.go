package engine

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/sync/wire"
)

// onUpdate is the note's subscriber: it runs right after changes are
// committed or applied, before they are fsync'd, on the goroutine that made
// them. It must not block: it only queues frames and marks peers for a sync
// round.
func (ns *noteState) onUpdate(u notebook.Update) {
	if ns.note.EpochNumber() != ns.epoch.Load() {
		// Cut here or by another process, or followed: peers learn it.
		ns.e.epochMoved(ns)
	}
	except := ""
	switch u.Origin {
	case notebook.FromPeer:
		except = u.Peer
	case notebook.FromLocal, notebook.FromDisk:
	}
	defer ns.signal()
	ns.touch()
	dps := ns.activePeers()
	if len(dps) == 0 {
		return
	}
	push := u.Changes != nil && len(u.Changes) <= maxPushBatch
	var hashes []crdt.ChangeHash
	if push {
		hashes = make([]crdt.ChangeHash, len(u.Changes))
		for i, c := range u.Changes {
			h, err := crdt.HashOf(c)
			if err != nil {
				push = false // not single changes: let a sync round carry them
				break
			}
			hashes[i] = h
			ns.seen.add(h)
		}
	}
	for _, dp := range dps {
		dp.scheduleHeads()
		if dp.c.peerKey == except {
			continue
		}
		if push && dp.c.collab && dp.isCaughtUp() {
			for _, c := range u.Changes {
				dp.c.send(&wire.CollabChange{SenderID: ns.e.self, TargetID: dp.c.remoteSender, DocumentID: ns.id.String(), Data: c, Epoch: tagIn(dp.c, u.Epoch)})
			}
			continue
		}
		dp.markDirty(dp.c.js)
	}
}

// onChange applies a change a collab peer pushed, once.
func (c *conn) onChange(id crdt.DocumentID, data []byte, epoch uint64) bool {
	dp := c.doc(id)
	if dp == nil || !dp.isActive() {
		c.e.log.Debug("dropping a change for a note the peer has not opened", "peer", c.pid, "note", id)
		return true
	}
	if !c.admitEpoch(dp, epoch, false, nil, false) {
		return true
	}
	h, err := crdt.HashOf(data)
	if err != nil {
		c.offend(fmt.Sprintf("malformed collab-change for note %s: %v", id, err))
		return false
	}
	ns := dp.ns
	if !ns.seen.add(h) || ns.note.HasChange(h) {
		return true
	}
	if err := ns.note.ApplyRemoteIn(appliesIn(c, epoch), c.peerKey, data); err != nil {
		if errors.Is(err, notebook.ErrOtherEpoch) {
			return true // the note moved on meanwhile: the round after tells
		}
		if c.refusedChange(ns, err) {
			return true
		}
		dp.syncMu.Lock()
		dp.failures++
		n := dp.failures
		dp.syncMu.Unlock()
		c.e.log.Warn("rejected a pushed change", "peer", c.pid, "note", id, "err", err)
		if c.badInput(id, "a collab-change", err) {
			return false
		}
		if n >= maxSyncFailures {
			c.refuse(fmt.Sprintf("%d changes in a row for note %s could not be applied", n, id))
			return false
		}
		return true
	}
	if !ns.note.HasChange(h) {
		// Its dependencies are missing here (still on their way from
		// another peer?): check again shortly, then run a sync round.
		dp.fmu.Lock()
		if len(dp.missing) < 4096 {
			dp.missing = append(dp.missing, missingChange{h, time.Now().Add(missingGrace)})
		}
		dp.fmu.Unlock()
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	return true
}

type missingChange struct {
	hash crdt.ChangeHash
	at   time.Time // when to look again
}

// hashSet remembers the last n change hashes seen. It grows as hashes
// arrive: a note nobody edits costs nothing here (a thousand shared notes
// made 256 MB of empty sets when each was made full size).
type hashSet struct {
	mu   sync.Mutex
	max  int
	set  map[crdt.ChangeHash]struct{}
	ring []crdt.ChangeHash
	next int
}

func (s *hashSet) init(n int) { s.max = n }

// add records h and reports whether it was new.
func (s *hashSet) add(h crdt.ChangeHash) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.set[h]; ok {
		return false
	}
	if s.set == nil {
		s.set = map[crdt.ChangeHash]struct{}{}
	}
	if len(s.ring) < s.max {
		s.ring = append(s.ring, h)
	} else {
		delete(s.set, s.ring[s.next])
		s.ring[s.next] = h
		s.next = (s.next + 1) % len(s.ring)
	}
	s.set[h] = struct{}{}
	return true
}
