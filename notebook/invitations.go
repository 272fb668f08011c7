package notebook

import (
	"errors"
	"fmt"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/store"
)

// ErrNoInvitation: no pending invitation for that note.
var ErrNoInvitation = errors.New("no such invitation")

// Invitation is a note a peer offered us (an unsolicited sync): not a note
// until accepted. The sync engine adds them; any process lists, accepts or
// declines them.
type Invitation struct {
	DocumentID crdt.DocumentID `json:"-"`
	ID         string          `json:"id"`
	Title      string          `json:"title"`    // "" until the note's changes arrived
	FromPeer   string          `json:"fromPeer"` // libp2p peer ID of the inviter
	FromName   string          `json:"fromName"` // its display name, if it sent presence
	Addrs      []string        `json:"addrs"`    // where the inviter was reachable
	Received   time.Time       `json:"received"`
	// HasOffer: the inviter sent the note with the invitation (a JS repo
	// announces only its heads).
	HasOffer bool `json:"-"`
}

func invitationFromStore(s store.Invite) (Invitation, error) {
	id, err := crdt.ParseDocumentID(s.ID)
	if err != nil {
		return Invitation{}, fmt.Errorf("invitation %q: %w", s.ID, err)
	}
	return Invitation{DocumentID: id, ID: id.String(), Title: s.Title, FromPeer: s.FromPeer,
		FromName: s.FromName, Addrs: s.Addrs, Received: s.Received, HasOffer: s.OfferSize > 0}, nil
}

func (inv Invitation) toStore() store.Invite {
	return store.Invite{ID: inv.DocumentID.String(), Title: inv.Title, FromPeer: inv.FromPeer,
		FromName: inv.FromName, Addrs: inv.Addrs, Received: inv.Received}
}

// invitationErr turns the store's not-found into ErrNoInvitation.
func invitationErr(id crdt.DocumentID, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("invitation %s: %w", id, ErrNoInvitation)
	}
	return err
}

// Invitations lists the pending invitations, newest first, without reading
// the notes they offer. Damaged ones are left out and reported in warnings.
func (nb *Notebook) Invitations() (invs []Invitation, warnings []error, err error) {
	stored, warnings, err := nb.store.Invites()
	if err != nil {
		return nil, warnings, err
	}
	for _, s := range stored {
		inv, err := invitationFromStore(s)
		if err != nil {
			warnings = append(warnings, err)
			continue
		}
		invs = append(invs, inv)
	}
	return invs, warnings, nil
}

// Invitation reads the pending invitation for note id (ErrNoInvitation if
// there is none).
func (nb *Notebook) Invitation(id crdt.DocumentID) (Invitation, error) {
	s, err := nb.store.Invite(id.String())
	if err != nil {
		return Invitation{}, invitationErr(id, err)
	}
	return invitationFromStore(s)
}

// InvitationOffer returns what the inviter sent with the invitation (an
// automerge sync message; for a collab offer, the whole note), or nil if it
// sent only the note's heads.
func (nb *Notebook) InvitationOffer(id crdt.DocumentID) ([]byte, error) {
	inv, err := nb.Invitation(id)
	if err != nil || !inv.HasOffer {
		return nil, err
	}
	return nb.store.InviteOffer(id.String())
}

// PutInvitation stores an invitation, replacing one for the same note;
// offer, when not nil, replaces the bytes kept with it.
func (nb *Notebook) PutInvitation(inv Invitation, offer []byte) error {
	return nb.store.PutInvite(inv.toStore(), offer)
}

// UpdateInvitation changes a pending invitation; update reports whether it
// changed anything. ErrNoInvitation if it was declined meanwhile.
func (nb *Notebook) UpdateInvitation(id crdt.DocumentID, update func(*Invitation) bool) error {
	err := nb.store.UpdateInvite(id.String(), func(s *store.Invite) bool {
		inv, err := invitationFromStore(*s)
		if err != nil || !update(&inv) {
			return false
		}
		*s = inv.toStore()
		return true
	})
	return invitationErr(id, err)
}

// DeclineInvitation forgets a pending invitation and what came with it.
func (nb *Notebook) DeclineInvitation(id crdt.DocumentID) error {
	return invitationErr(id, nb.store.RemoveInvite(id.String()))
}
