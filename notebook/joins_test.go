package notebook

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/collab-editor/collab/crdt"
)

func TestPendingJoins(t *testing.T) {
	nb := openNB(t, t.TempDir(), "bob")
	id := crdt.NewDocumentID()
	ticketAddr := "/ip4/127.0.0.1/tcp/4747/p2p/12D3KooWann"
	added := time.Unix(1000, 0).UTC()
	if err := nb.AddPendingJoin(PendingJoin{DocumentID: id, Addrs: []string{ticketAddr}, Added: added}); err != nil {
		t.Fatal(err)
	}
	// Joining the same note again replaces the join, keeping when it was added.
	if err := nb.AddPendingJoin(PendingJoin{DocumentID: id, Addrs: []string{ticketAddr, "/ip4/10.0.0.1/tcp/4747/p2p/12D3KooWann"}, Added: added.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	joins, err := nb.PendingJoins()
	if err != nil || len(joins) != 1 || len(joins[0].Addrs) != 2 || !joins[0].Added.Equal(added) || joins[0].DocumentID != id {
		t.Fatalf("PendingJoins = %+v, %v; want one join with both addresses, added at %v", joins, err, added)
	}

	next := time.Unix(2000, 0).UTC()
	long := strings.Repeat("é", 1000) // a peer's name can make an error long
	if err := nb.UpdatePendingJoin(id, func(j *PendingJoin) bool {
		j.Attempts++
		j.LastError, j.NextTry = long, next
		return true
	}); err != nil {
		t.Fatal(err)
	}
	j, err := nb.PendingJoin(id)
	if err != nil || j.Attempts != 1 || !j.NextTry.Equal(next) {
		t.Fatalf("after an attempt: %+v, %v", j, err)
	}
	if len(j.LastError) > maxJoinErrorLen || !utf8.ValidString(j.LastError) || !strings.HasSuffix(j.LastError, "…") {
		t.Errorf("last error kept as %d bytes (valid UTF-8: %v)", len(j.LastError), utf8.ValidString(j.LastError))
	}

	if err := nb.RemovePendingJoin(id); err != nil {
		t.Fatal(err)
	}
	if err := nb.RemovePendingJoin(id); !errors.Is(err, ErrNoPendingJoin) {
		t.Fatalf("cancelling a join twice: %v", err)
	}
	if err := nb.UpdatePendingJoin(id, func(*PendingJoin) bool { return true }); !errors.Is(err, ErrNoPendingJoin) {
		t.Fatalf("updating a cancelled join: %v", err)
	}
	if _, err := nb.PendingJoin(id); !errors.Is(err, ErrNoPendingJoin) {
		t.Fatalf("reading a cancelled join: %v", err)
	}
}

// At most MaxPendingJoins joins are kept, each with at most MaxPeerAddrs
// addresses: the 17th is refused, not stored.
func TestPendingJoinsBounded(t *testing.T) {
	nb := openNB(t, t.TempDir(), "bob")
	var addrs []string
	for i := range 40 {
		addrs = append(addrs, fmt.Sprintf("/ip4/10.0.0.%d/tcp/4747/p2p/12D3KooWann", i))
	}
	addrs = append([]string{strings.Repeat("/x", 1000)}, addrs...)
	var first crdt.DocumentID
	for i := range MaxPendingJoins {
		id := crdt.NewDocumentID()
		if i == 0 {
			first = id
		}
		if err := nb.AddPendingJoin(PendingJoin{DocumentID: id, Addrs: addrs}); err != nil {
			t.Fatalf("join %d: %v", i, err)
		}
	}
	err := nb.AddPendingJoin(PendingJoin{DocumentID: crdt.NewDocumentID(), Addrs: addrs})
	if !errors.Is(err, ErrTooManyPendingJoins) {
		t.Fatalf("join %d: %v, want ErrTooManyPendingJoins", MaxPendingJoins+1, err)
	}
	joins, err := nb.PendingJoins()
	if err != nil || len(joins) != MaxPendingJoins {
		t.Fatalf("%d joins kept (%v), want %d", len(joins), err, MaxPendingJoins)
	}
	if got := joins[0].Addrs; len(got) != MaxPeerAddrs || got[0] != addrs[1] {
		t.Errorf("a join kept %d addresses starting %q; want %d, the overlong one left out", len(got), got[0], MaxPeerAddrs)
	}
	// Cancelling one makes room.
	if err := nb.RemovePendingJoin(first); err != nil {
		t.Fatal(err)
	}
	if err := nb.AddPendingJoin(PendingJoin{DocumentID: crdt.NewDocumentID()}); err != nil {
		t.Fatalf("join after a cancel: %v", err)
	}
}
