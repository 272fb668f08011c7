package engine

import (
	"context"
	"encoding/hex"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/display"
	"github.com/collab-editor/collab/sync/wire"
)

// Presence is what a remote peer shows of itself in a note.
type Presence struct {
	Peer string // the originator's senderId (a collab peer's libp2p ID)
	// Via is set when the presence was relayed: the libp2p ID of the peer
	// whose stream brought it, which is all that vouches for Peer, Name
	// and Color. Empty when Peer itself sent it on its own stream.
	Via       string
	Name      string
	Color     string
	HasCursor bool
	Cursor    int // runes into the note's text, placed on our copy
	Anchor    int // other end of the selection; = Cursor when none
	Seen      time.Time
}

// contextRunes is how much text around a cursor travels with it.
const contextRunes = 16

// SetCursor sets this user's caret and selection anchor (runes into the
// note's text) in note id; peers hear of it within 100 ms.
func (e *Engine) SetCursor(id crdt.DocumentID, cursor, anchor int) {
	e.setCursor(id, cursor, anchor, false, "", "")
}

// SetCursorContext is SetCursor for a caller that holds the text (an
// editor): before and after are up to 16 runes on each side of the cursor.
// It spares the engine reading the whole note, which on a large note
// would hold the note's lock for milliseconds while the user types.
func (e *Engine) SetCursorContext(id crdt.DocumentID, cursor, anchor int, before, after string) {
	e.setCursor(id, cursor, anchor, true, lastRunes(before, contextRunes), firstRunes(after, contextRunes))
}

// ClearCursor says this user left note id (closed it in the editor): peers
// stop showing the cursor at once (within 100 ms), and show the user as
// online rather than in the note while the connection lasts.
func (e *Engine) ClearCursor(id crdt.DocumentID) {
	ns := e.opened(id)
	if ns == nil {
		return
	}
	ns.pres.mu.Lock()
	was := ns.pres.local
	ns.pres.local = false
	ns.pres.payload = nil
	ns.pres.localGen++
	ns.pres.dirty = ns.pres.dirty || was
	ns.pres.mu.Unlock()
	select {
	case e.wakePres <- struct{}{}:
	default:
	}
}

func (e *Engine) setCursor(id crdt.DocumentID, cursor, anchor int, hasContext bool, before, after string) {
	ns := e.opened(id)
	if ns == nil {
		return
	}
	ns.pres.mu.Lock()
	ns.pres.local = true
	ns.pres.cursor, ns.pres.anchor = max(cursor, 0), max(anchor, 0)
	ns.pres.hasContext, ns.pres.before, ns.pres.after = hasContext, before, after
	ns.pres.payload = nil
	ns.pres.localGen++
	ns.pres.dirty = true
	ns.pres.mu.Unlock()
	select {
	case e.wakePres <- struct{}{}:
	default:
	}
}

// localPayload encodes this user's presence state in ns, with the heads and
// the text around the cursor that let receivers place it after concurrent
// edits.
func (e *Engine) localPayload(ns *noteState) []byte {
	ns.pres.mu.Lock()
	if ns.pres.payload != nil {
		p := ns.pres.payload
		ns.pres.mu.Unlock()
		return p
	}
	local, cursor, anchor := ns.pres.local, ns.pres.cursor, ns.pres.anchor
	hasContext, before, after := ns.pres.hasContext, ns.pres.before, ns.pres.after
	gen := ns.pres.localGen
	ns.pres.mu.Unlock()
	st := &stateWire{Name: e.name, Color: e.color}
	if local {
		doc := ns.note
		heads, ok := doc.CommittedHeads()
		if hasContext {
			st.Before, st.After = before, after
		} else {
			// Only the runes around the cursor are read.
			total := doc.Len()
			cursor, anchor = min(cursor, total), min(anchor, total)
			lo := max(0, cursor-contextRunes)
			r, _ := doc.TextWindow(lo, cursor+contextRunes)
			cut := min(cursor-lo, len(r)) // the text may have shrunk meanwhile
			st.Before, st.After = string(r[:cut]), string(r[cut:])
		}
		c, a := uint64(cursor), uint64(anchor)
		st.Cursor, st.Anchor = &c, &a
		if ok {
			for _, h := range heads {
				st.Heads = append(st.Heads, h.String())
			}
		}
	}
	b, err := encodePresence("snapshot", e.self, e.session, st)
	if err != nil {
		e.log.Error("cannot encode presence", "err", err)
		return nil
	}
	ns.pres.mu.Lock()
	if ns.pres.localGen == gen {
		ns.pres.payload = b
	}
	ns.pres.mu.Unlock()
	return b
}

// sendPresence originates one ephemeral message of type typ ("snapshot",
// "goodbye") to dps.
func (e *Engine) sendPresence(ns *noteState, dps []*docPeer, typ string) {
	if len(dps) == 0 {
		return
	}
	var data []byte
	if typ == "snapshot" {
		data = e.localPayload(ns)
	} else {
		data, _ = encodePresence(typ, e.self, e.session, nil)
	}
	if data == nil {
		return
	}
	count := e.count.Add(1)
	for _, dp := range dps {
		dp.c.send(&wire.Ephemeral{SenderID: e.self, TargetID: dp.c.remoteSender, DocumentID: ns.id.String(),
			SessionID: e.session, Count: count, Data: data})
	}
}

// presenceLoop sends presence on change (≤ 10/s per note) and as a
// heartbeat, and drops remote presences gone silent.
func (e *Engine) presenceLoop(ctx context.Context) {
	tick := time.NewTicker(presenceMinGap)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-e.wakePres:
		}
		e.mu.Lock()
		notes := slices.Collect(maps.Values(e.notes))
		e.mu.Unlock()
		now := time.Now()
		for _, ns := range notes {
			dps := ns.activePeers()
			ns.pres.mu.Lock()
			// The heartbeat only for a note open in an editor here: a user's
			// presence in a note they do not have open says nothing, and
			// with a thousand shared notes it was a message per note and
			// peer every 5 s.
			send := len(dps) > 0 && ((ns.pres.dirty && now.Sub(ns.pres.lastSent) >= presenceMinGap) ||
				(ns.pres.local && now.Sub(ns.pres.lastSent) >= e.cfg.Heartbeat))
			if send {
				ns.pres.dirty = false
				ns.pres.lastSent = now
			}
			gone := false
			for k, r := range ns.pres.remote {
				if now.Sub(r.seen) > e.cfg.PresenceTimeout {
					delete(ns.pres.remote, k)
					gone = true
				}
			}
			ns.pres.mu.Unlock()
			if send {
				e.sendPresence(ns, dps, "snapshot")
			} else if len(dps) > 0 {
				e.introduce(ns, dps)
			}
			if gone {
				e.emit(Event{Kind: PresenceChanged, Note: ns.id})
			}
		}
	}
}

// introduce sends our name (a presence without cursor) to the peers of ns
// that have not had it on their stream yet, once they sync ns with us: a
// peer learns who we are from one note, not from a message per shared
// note (see the heartbeat above).
func (e *Engine) introduce(ns *noteState, dps []*docPeer) {
	var to []*docPeer
	for _, dp := range dps {
		if !dp.c.introduced.Load() && dp.heardFrom() && dp.c.introduced.CompareAndSwap(false, true) {
			to = append(to, dp)
		}
	}
	e.sendPresence(ns, to, "snapshot")
}

// sayGoodbye queues presence goodbyes for every note on the stream.
func (c *conn) sayGoodbye() {
	for _, dp := range c.docList() {
		if dp.isActive() {
			c.e.sendPresence(dp.ns, []*docPeer{dp}, "goodbye")
		}
	}
}

// Presence lists remote peers' presence in note id, cursors placed on our
// copy of the text: as sent when our heads equal the sender's, else
// re-anchored by the text that was around them (PROTOCOL.md, Presence).
func (e *Engine) Presence(id crdt.DocumentID) []Presence {
	ns := e.opened(id)
	if ns == nil {
		return nil
	}
	return ns.presenceSnapshot()
}

func (ns *noteState) presenceSnapshot() []Presence {
	doc := ns.note
	heads, ok := doc.CommittedHeads()
	// With edits open the heads are unknown: key is then "?", never equal
	// to a sender's heads, and the cursors are placed afresh on every call
	// (the text may have changed since the last).
	key := "?"
	if ok {
		key = headsKey(heads)
	}
	p := &ns.pres
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Presence, 0, len(p.remote))
	for _, r := range p.remote {
		if r.hasCursor && (key == "?" || r.resolvedAt != key) {
			if r.resolvedAt == "" && r.heads != "" && r.heads == key {
				// Same document as the sender's: the positions are exact.
			} else {
				at, total := reanchorIn(doc, r.cursor, r.before, r.after)
				delta := at - r.cursor
				r.cursor = clamp(r.cursor+delta, total)
				r.anchor = clamp(r.anchor+delta, total)
			}
			r.resolvedAt = key
		}
		pr := Presence{Peer: r.peer, Name: r.name, Color: r.color, HasCursor: r.hasCursor,
			Cursor: r.cursor, Anchor: r.anchor, Seen: r.seen}
		if r.via != nil && r.via.peerKey != r.peer {
			pr.Via = r.via.peerKey
		}
		out = append(out, pr)
	}
	slices.SortFunc(out, func(a, b Presence) int { return strings.Compare(a.Peer, b.Peer) })
	return out
}

func headsKey(hs []crdt.ChangeHash) string {
	ss := make([]string, len(hs))
	for i, h := range hs {
		ss[i] = hex.EncodeToString(h[:])
	}
	return headsKeyStrings(ss)
}

func headsKeyStrings(ss []string) string {
	ss = slices.Clone(ss)
	slices.Sort(ss)
	return strings.Join(ss, ",")
}

// lastRunes and firstRunes cut s to n runes without copying the rest: s
// may be megabytes from a peer.
func lastRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	count := 0
	for i := len(s); i > 0; {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
		if count++; count == n {
			return s[i:]
		}
	}
	return s
}

func firstRunes(s string, n int) string { return display.FirstRunes(s, n) }
