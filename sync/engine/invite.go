package engine

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/sync/wire"
)

// Limits on pending invitations (PROTOCOL.md section 8). An invitation
// from a known peer of some note (someone we have met) is vouched for;
// one from anyone else is a stranger's, and strangers, which cost nothing
// to make up, may only take a share of the slots. What makes room is the
// oldest invitation of the lowest rank: a stranger's bare announcement
// (heads only, no note), then a stranger's offer (the note itself, as
// `collab share` sends), then a vouched-for one; a newcomer never evicts
// a higher rank than its own, so strangers never evict a vouched-for
// invitation and bare announcements never evict an offer.
const (
	maxInvitesPerPeer           = 8
	maxAnnouncementsPerStranger = 2
	maxInvites                  = 32
	maxStrangerInvites          = 16
	maxInviteData               = 16 << 20 // larger offers are kept without their bytes
	// maxInviteTitle bounds the title an invitation keeps and shows (in
	// runes): a stranger's title may be megabytes.
	maxInviteTitle = 200
)

// invitationsMaxAge is how long Invitations answers from memory. Changes
// this engine makes are seen at once; this bounds how late one made by
// another process (a `collab decline`) shows, while a UI that lists
// invitations on every frame reads their files at most once a second.
const invitationsMaxAge = time.Second

// Invitations lists pending invitations, newest first. It is cheap to call
// often (a UI's every render): see invitationsMaxAge.
func (e *Engine) Invitations() []notebook.Invitation {
	return e.invCache.get(invitationsMaxAge, e.readInvitations)
}

// invitationsChanged makes the next Invitations read the files again.
func (e *Engine) invitationsChanged() { e.invCache.changed() }

// readInvitations reads the pending invitations from disk.
func (e *Engine) readInvitations() []notebook.Invitation {
	invs, warnings, err := e.nb.Invitations()
	for _, w := range append(warnings, err) {
		if w != nil {
			e.log.Warn("cannot read an invitation", "err", w)
		}
	}
	return invs
}

// Decline drops a pending invitation.
func (e *Engine) Decline(id crdt.DocumentID) error {
	e.invites.Lock()
	defer e.invites.Unlock()
	defer e.invitationsChanged()
	if err := e.nb.DeclineInvitation(id); err != nil {
		return err
	}
	e.log.Info("invitation declined", "note", id)
	return nil
}

// addInvitation turns an unsolicited sync for a note we lack into a pending
// invitation. It is not answered.
func (e *Engine) addInvitation(c *conn, id crdt.DocumentID, data []byte, epoch uint64) {
	title, body := "", false
	if len(data) <= maxInviteData {
		title, body = titleFromSync(data)
		title = strings.Clone(firstRunes(title, maxInviteTitle))
	}
	if _, ok := parseSyncHeads(data); !body && !ok {
		e.log.Debug("dropping an announcement that is not a sync message", "peer", c.pid, "note", id)
		return
	}
	vouched := e.IsKnownPeer(c.pid)
	e.invites.Lock()
	defer e.invites.Unlock()
	invs := e.readInvitations()
	// Where to reach the inviter if the user accepts: what its connection
	// confirms, else what it claims on the IP it came from (bounded; an
	// accepted invitation is the user's choice, like a ticket).
	addrs := mergeAddrs(e.host.ConfirmedAddrs(c.pid), e.host.UnverifiedAddrs(c.pid))
	inv := notebook.Invitation{DocumentID: id, ID: id.String(), Title: title, FromPeer: c.peerKey,
		Addrs: stringsOf(addrs), Received: time.Now()}
	// An offer of a cut note (epoch > 0) is shown, not kept: accepting
	// joins it as a joiner does, which adopts its epoch.
	var offer []byte
	if body && epoch == 0 {
		offer = data
	}
	fresh, hasOffer := true, offer != nil
	for _, old := range invs {
		if old.DocumentID == id {
			fresh = false
			inv.FromName = old.FromName
			if !body {
				// An announcement after the offer: keep what the offer said.
				inv.Title, hasOffer = old.Title, old.HasOffer
			}
		}
	}
	// Keep within the limits (invs is newest first: drop from the end).
	invs = slices.DeleteFunc(invs, func(x notebook.Invitation) bool { return x.DocumentID == id })
	isVouched := func(x notebook.Invitation) bool {
		pid, err := peer.Decode(x.FromPeer)
		return err == nil && e.IsKnownPeer(pid)
	}
	rank := func(vouched, offered bool) int {
		switch {
		case vouched:
			return 2
		case offered:
			return 1
		}
		return 0
	}
	rankOf := func(x notebook.Invitation) int { return rank(isVouched(x), x.HasOffer) }
	mine := rank(vouched, hasOffer)
	// makeRoom drops invitations of pool until fewer than limit are left,
	// oldest of the lowest rank first; false if that would take one of a
	// higher rank than the newcomer's (which is then not kept).
	makeRoom := func(pool func(notebook.Invitation) bool, limit int) bool {
		for {
			var victim *notebook.Invitation
			n := 0
			for i := range invs { // newest first: the last seen of a rank is its oldest
				if x := &invs[i]; pool(*x) {
					n++
					if victim == nil || rankOf(*x) <= rankOf(*victim) {
						victim = x
					}
				}
			}
			if n < limit {
				return true
			}
			if rankOf(*victim) > mine {
				return false
			}
			x := *victim
			if err := e.nb.DeclineInvitation(x.DocumentID); err != nil {
				e.log.Warn("cannot drop an old invitation", "note", x.DocumentID, "err", err)
			}
			e.invitationsChanged()
			invs = slices.DeleteFunc(invs, func(y notebook.Invitation) bool { return y.DocumentID == x.DocumentID })
			e.log.Info("dropped an old invitation: too many pending", "note", x.DocumentID, "from", x.FromPeer)
		}
	}
	fromPeer := func(x notebook.Invitation) bool { return x.FromPeer == c.peerKey }
	stranger := func(x notebook.Invitation) bool { return !isVouched(x) }
	kept := (vouched || hasOffer || makeRoom(func(x notebook.Invitation) bool { return fromPeer(x) && !x.HasOffer }, maxAnnouncementsPerStranger)) &&
		makeRoom(fromPeer, maxInvitesPerPeer) &&
		(vouched || makeRoom(stranger, maxStrangerInvites)) &&
		makeRoom(func(notebook.Invitation) bool { return true }, maxInvites)
	if !kept {
		e.log.Info("ignored an invitation: every slot it may take holds one that ranks higher", "note", id, "from", c.pid)
		return
	}
	if err := e.nb.PutInvitation(inv, offer); err != nil {
		e.log.Error("cannot store invitation", "note", id, "err", err)
		return
	}
	e.invitationsChanged() // before the event: whoever it wakes lists it
	if fresh {
		e.log.Info("invitation received", "note", id, "title", inv.Title, "from", c.pid)
	}
	if !hasOffer && epoch == 0 && len(data) <= maxInviteData && c.askOnce(id) {
		// automerge-repo announces a note with its heads alone. Answer as an
		// empty copy would (it reveals nothing) so the note's changes come
		// and the invitation can show its title; they arrive as another
		// unsolicited sync and are kept here, not stored as a note.
		if msg, ok := askForContent(data); ok {
			c.send(&wire.Sync{SenderID: e.self, TargetID: c.remoteSender, DocumentID: id.String(), Data: msg})
		}
	}
	e.emit(Event{Kind: InvitationReceived, Note: id, Peer: c.peerKey})
}

// titleFromSync reads the title a sync message carries (if it carries the
// note's changes): in Go (crdt.OfferedNote), or, for a title only the
// document can tell, on a scratch document.
func titleFromSync(data []byte) (title string, body bool) {
	title, body, err := crdt.OfferedNote(data)
	if !errors.Is(err, crdt.ErrNeedsDocument) {
		return title, body && err == nil
	}
	doc, err := newScratch()
	if err != nil {
		return "", false
	}
	defer doc.Close()
	if _, err := doc.ReceiveSyncMessage(doc.NewSyncState(), data); err != nil {
		return "", false
	}
	return doc.Title(), doc.HasBody()
}

// askForContent is the sync message an empty copy of a note answers an
// announcement with: it needs every change.
func askForContent(announce []byte) ([]byte, bool) {
	scratch, err := newScratch()
	if err != nil {
		return nil, false
	}
	defer scratch.Close()
	state := scratch.NewSyncState()
	if _, err := scratch.ReceiveSyncMessage(state, announce); err != nil {
		return nil, false
	}
	msg, ok, err := scratch.GenerateSyncMessage(state)
	return msg, ok && err == nil
}

// askOnce reports whether this stream has not yet asked for the content of
// note id (an announcement is answered once, so two peers cannot loop).
func (c *conn) askOnce(id crdt.DocumentID) bool {
	c.askedMu.Lock()
	defer c.askedMu.Unlock()
	if c.asked == nil {
		c.asked = map[crdt.DocumentID]bool{}
	}
	if c.asked[id] {
		return false
	}
	c.asked[id] = true
	return true
}

// invitationPresence takes the inviter's name from presence it sent for a
// note it offered us.
func (e *Engine) invitationPresence(c *conn, id crdt.DocumentID, m *wire.Ephemeral) {
	if m.SenderID != c.remoteSender {
		return // someone else's presence relayed: not the inviter's name
	}
	typ, state, _, _, ok := decodePresence(m.Data)
	if !ok || typ != "snapshot" {
		return
	}
	name, _ := state["name"].(string)
	if name = firstRunes(name, 64); name == "" {
		return
	}
	e.invites.Lock()
	defer e.invites.Unlock()
	changed := false
	err := e.nb.UpdateInvitation(id, func(inv *notebook.Invitation) bool {
		changed = inv.FromPeer == c.peerKey && inv.FromName != name
		inv.FromName = name
		return changed
	})
	if changed {
		e.invitationsChanged()
	}
	if err == nil && changed {
		e.emit(Event{Kind: InvitationReceived, Note: id, Peer: c.peerKey})
	}
}

// newScratch is a short-lived document for a stranger's bytes (crdt bounds
// how many run at once; waiting longer than this for one gives up).
func newScratch() (*crdt.Note, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return crdt.NewScratch(ctx)
}
