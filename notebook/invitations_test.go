package notebook

import (
	"errors"
	"testing"
	"time"

	"github.com/collab-editor/collab/crdt"
)

// TestInvitations: what the engine stores another process lists, accepts
// the bytes of, or declines.
func TestInvitations(t *testing.T) {
	dir := t.TempDir()
	engineSide, cliSide := openNB(t, dir, "ann"), openNB(t, dir, "ann")
	offered, announced := crdt.NewDocumentID(), crdt.NewDocumentID()
	if err := engineSide.PutInvitation(Invitation{DocumentID: offered, Title: "Plans", FromPeer: "12D3KooWbob",
		FromName: "bob", Received: time.Unix(10, 0)}, []byte("the whole note")); err != nil {
		t.Fatal(err)
	}
	if err := engineSide.PutInvitation(Invitation{DocumentID: announced, FromPeer: "js", Received: time.Unix(20, 0)}, nil); err != nil {
		t.Fatal(err)
	}
	invs, warnings, err := cliSide.Invitations()
	if err != nil || len(warnings) != 0 || len(invs) != 2 {
		t.Fatalf("Invitations = %+v, %v, %v", invs, warnings, err)
	}
	if invs[0].DocumentID != announced || invs[0].HasOffer || invs[1].DocumentID != offered ||
		invs[1].ID != offered.String() || invs[1].Title != "Plans" || invs[1].FromName != "bob" || !invs[1].HasOffer {
		t.Errorf("Invitations = %+v", invs)
	}
	if data, err := cliSide.InvitationOffer(offered); err != nil || string(data) != "the whole note" {
		t.Errorf("offer = %q, %v", data, err)
	}
	if data, err := cliSide.InvitationOffer(announced); err != nil || data != nil {
		t.Errorf("offer of an announcement = %q, %v", data, err)
	}
	if err := cliSide.DeclineInvitation(offered); err != nil {
		t.Fatal(err)
	}
	if err := engineSide.UpdateInvitation(offered, func(inv *Invitation) bool { inv.FromName = "x"; return true }); !errors.Is(err, ErrNoInvitation) {
		t.Errorf("update after decline: %v", err)
	}
	for _, err := range []error{cliSide.DeclineInvitation(offered), func() error { _, err := cliSide.Invitation(offered); return err }(),
		func() error { _, err := cliSide.InvitationOffer(offered); return err }()} {
		if !errors.Is(err, ErrNoInvitation) {
			t.Errorf("after decline: %v, want ErrNoInvitation", err)
		}
	}
}
