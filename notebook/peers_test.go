package notebook

import (
	"testing"
	"time"
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
	got[0].Name = "Mallory"
	got[0].Addrs[0] = "changed"
	got = append(got, KnownPeer{ID: "eve"})
	if again, _ := n.KnownPeers(); len(again) != 1 || again[0].Name != "Bob" || again[0].Addrs[0] != "/ip4/127.0.0.1/tcp/1" {
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
