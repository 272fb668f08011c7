package engine

import (
	"context"
	"testing"
	"time"

	"github.com/collab-editor/collab/notebook"
)

// A UI lists invitations on every render: the list comes from memory, at
// most one read of the files a second, yet a change this engine makes
// shows at once and one made by another process within a second or so.
func TestInvitationsListedFromMemory(t *testing.T) {
	a, b := newPeer(t, "ann"), newPeer(t, "bob")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	share := func(title string) {
		t.Helper()
		id := a.create(title, title+"\n")
		if err := a.eng.Share(ctx, id, b.addr()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "invitation "+title, func() bool {
			for _, inv := range b.eng.Invitations() {
				if inv.DocumentID == id {
					return true
				}
			}
			return false
		})
	}
	share("first")
	reads := b.eng.invCache.reads.Load()
	start := time.Now()
	for range 1000 {
		if len(b.eng.Invitations()) != 1 {
			t.Fatal("the invitation went missing")
		}
	}
	if n, most := b.eng.invCache.reads.Load()-reads, int64(time.Since(start)/invitationsMaxAge)+1; n > most {
		t.Errorf("1000 listings read the invitation files %d times; want at most %d", n, most)
	}

	// A change made here shows at once.
	inv := b.eng.Invitations()[0]
	if err := b.eng.Decline(inv.DocumentID); err != nil {
		t.Fatal(err)
	}
	if got := b.eng.Invitations(); len(got) != 0 {
		t.Fatalf("declined invitation still listed: %v", got)
	}

	// One made by another process shows once the listing is a second old.
	share("second")
	other, err := notebook.Open(b.dir, "other process")
	if err != nil {
		t.Fatal(err)
	}
	if err := other.DeclineInvitation(b.eng.Invitations()[0].DocumentID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the other process's decline to show", func() bool { return len(b.eng.Invitations()) == 0 })
}
