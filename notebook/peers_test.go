package notebook

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/collab-editor/collab/store"
)

// Known peers are what is stored: what RememberPeer merged is read back by
// the same note (from memory), by a note opened later and by PeersOf (from
// disk), and a caller changing the list it got changes nothing stored.
// LastSeen alone is written to the minute.
func TestKnownPeersReadBackAndCopied(t *testing.T) {
	dir := t.TempDir()
	nb := openNB(t, dir, "ann")
	n, err := nb.Create("shared")
	if err != nil {
		t.Fatal(err)
	}
	id := n.ID
	seen := time.Now().UTC().Truncate(time.Second)
	if err := n.RememberPeer(KnownPeer{ID: "bob", Addrs: []string{"/ip4/127.0.0.1/tcp/1"}, LastSeen: seen}); err != nil {
		t.Fatal(err)
	}
	if err := n.RememberPeer(KnownPeer{ID: "bob", Name: "Bob", Addrs: []string{"/ip4/127.0.0.1/tcp/2"}}); err != nil {
		t.Fatal(err)
	}
	got, err := n.KnownPeers()
	if err != nil || len(got) != 1 || got[0].Name != "Bob" || len(got[0].Addrs) != 2 || !got[0].LastSeen.Equal(seen) {
		t.Fatalf("known peers %+v, %v", got, err)
	}
	if got[0].Addrs[0] != "/ip4/127.0.0.1/tcp/2" {
		t.Errorf("addresses %v: the one confirmed last should come first", got[0].Addrs)
	}
	got[0].Name = "Mallory"
	got[0].Addrs[0] = "changed"
	got = append(got, KnownPeer{ID: "eve"})
	if again, _ := n.KnownPeers(); len(again) != 1 || again[0].Name != "Bob" || again[0].Addrs[0] != "/ip4/127.0.0.1/tcp/2" {
		t.Fatalf("a caller's change reached the list: %+v", again)
	}
	// Seen again within the minute, nothing else new: nothing is written.
	if err := n.RememberPeer(KnownPeer{ID: "bob", LastSeen: seen.Add(10 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if stored, _ := nb.PeersOf(id); !stored[0].LastSeen.Equal(seen) {
		t.Errorf("a LastSeen 10 s newer was written: %v", stored[0].LastSeen)
	}
	later := seen.Add(2 * time.Minute)
	if err := n.RememberPeer(KnownPeer{ID: "bob", LastSeen: later}); err != nil {
		t.Fatal(err)
	}
	if stored, _ := nb.PeersOf(id); !stored[0].LastSeen.Equal(later) {
		t.Errorf("a LastSeen 2 min newer was not written: %v", stored[0].LastSeen)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	fromDisk, err := nb.PeersOf(id)
	if err != nil || len(fromDisk) != 1 || fromDisk[0].Name != "Bob" || len(fromDisk[0].Addrs) != 2 {
		t.Fatalf("peers on disk %+v, %v", fromDisk, err)
	}
	reopened := openNote(t, nb, id)
	if again, _ := reopened.KnownPeers(); len(again) != 1 || again[0].Name != "Bob" {
		t.Fatalf("peers after reopening %+v", again)
	}
}

func addrsFrom(first, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", first+i)
	}
	return out
}

// A peer's address book holds MaxPeerAddrs addresses, the most recently
// confirmed first; a note holds MaxPeersPerNote peers, dropping the least
// recently seen one the user did not choose. Issue 8: a requester's
// addresses used to be stored without limit.
func TestAddressBookBounded(t *testing.T) {
	nb := openNB(t, t.TempDir(), "ann")
	n, err := nb.Create("shared")
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	seen := time.Now().UTC().Truncate(time.Second)
	if err := n.RememberPeer(KnownPeer{ID: "bob", Addrs: addrsFrom(1000, 1000), LastSeen: seen}); err != nil {
		t.Fatal(err)
	}
	if err := n.RememberPeer(KnownPeer{ID: "bob", Addrs: addrsFrom(5000, 2)}); err != nil {
		t.Fatal(err)
	}
	stored, err := nb.PeersOf(n.ID)
	if err != nil || len(stored) != 1 {
		t.Fatalf("peers %+v, %v", stored, err)
	}
	want := append(addrsFrom(5000, 2), addrsFrom(1000, MaxPeerAddrs-2)...)
	if !slices.Equal(stored[0].Addrs, want) {
		t.Errorf("bob's addresses %v\nwant the 2 confirmed last, then the first %d of before: %v", stored[0].Addrs, MaxPeerAddrs-2, want)
	}

	// The user's own choice (a ticket) is kept however long unseen.
	if err := n.RememberPeer(KnownPeer{ID: "ticket-peer", Addrs: addrsFrom(9000, 1), LastSeen: seen.Add(-time.Hour), Chosen: true}); err != nil {
		t.Fatal(err)
	}
	for i := range MaxPeersPerNote + 20 {
		p := KnownPeer{ID: fmt.Sprintf("stranger-%03d", i), Addrs: addrsFrom(i, 1), LastSeen: seen.Add(time.Duration(i) * time.Minute)}
		if err := n.RememberPeer(p); err != nil {
			t.Fatal(err)
		}
	}
	stored, err = nb.PeersOf(n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != MaxPeersPerNote {
		t.Errorf("%d peers stored; want %d", len(stored), MaxPeersPerNote)
	}
	ids := make([]string, len(stored))
	for i, p := range stored {
		ids[i] = p.ID
	}
	if !slices.Contains(ids, "ticket-peer") {
		t.Errorf("the peer the user chose was dropped: %v", ids)
	}
	if slices.Contains(ids, "bob") || slices.Contains(ids, "stranger-000") {
		t.Errorf("the least recently seen peers were kept: %v", ids)
	}
	if !slices.Contains(ids, fmt.Sprintf("stranger-%03d", MaxPeersPerNote+19)) {
		t.Errorf("the newest peer is missing: %v", ids)
	}
}

// A peers file written by an older version (or by hand) may be huge: what
// is read is within the bounds, and a file past the size limit is not read
// at all (the list is rebuilt from what is learnt next).
func TestPeersFileReadBounded(t *testing.T) {
	nb := openNB(t, t.TempDir(), "ann")
	n, err := nb.Create("shared")
	if err != nil {
		t.Fatal(err)
	}
	id := n.ID
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	writePeers := func(peers []KnownPeer) {
		t.Helper()
		data, err := json.Marshal(peers)
		if err != nil {
			t.Fatal(err)
		}
		log, err := nb.store.OpenNote(id.String())
		if err != nil {
			t.Fatal(err)
		}
		defer log.Close()
		if err := log.WriteAux(peersFile, data); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	var old []KnownPeer
	for i := range 300 {
		old = append(old, KnownPeer{ID: fmt.Sprintf("peer-%03d", i), Addrs: addrsFrom(0, 100), LastSeen: now.Add(time.Duration(i) * time.Second)})
	}
	old = append(old, old[299]) // a duplicate entry
	writePeers(old)
	got, err := nb.PeersOf(id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != MaxPeersPerNote {
		t.Errorf("read %d peers; want %d", len(got), MaxPeersPerNote)
	}
	for _, p := range got {
		if len(p.Addrs) > MaxPeerAddrs {
			t.Fatalf("peer %s read with %d addresses", p.ID, len(p.Addrs))
		}
	}
	if got[len(got)-1].ID != "peer-299" || got[0].ID != fmt.Sprintf("peer-%03d", 300-MaxPeersPerNote) {
		t.Errorf("kept %s..%s; want the most recently seen", got[0].ID, got[len(got)-1].ID)
	}

	var huge []KnownPeer
	for i := range 2000 {
		huge = append(huge, KnownPeer{ID: fmt.Sprintf("peer-%04d", i), Addrs: addrsFrom(0, 100)})
	}
	writePeers(huge)
	if _, err := nb.PeersOf(id); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("a %d-peer file was read: %v", len(huge), err)
	}
	reopened := openNote(t, nb, id)
	if err := reopened.RememberPeer(KnownPeer{ID: "bob", Addrs: addrsFrom(1, 1), LastSeen: now}); err != nil {
		t.Fatal(err)
	}
	if got, err := nb.PeersOf(id); err != nil || len(got) != 1 || got[0].ID != "bob" {
		t.Errorf("after the oversized file: %+v, %v", got, err)
	}
}
