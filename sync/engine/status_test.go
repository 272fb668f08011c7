package engine

import (
	"strings"
	"testing"
	"time"
)

// Peers says how a connected peer is reached (direct, over the LAN here)
// and, once it is gone, why it cannot be reached, in plain words with what
// to do.
func TestPeersSayPathAndWhyUnreachable(t *testing.T) {
	ann := newPeer(t, "ann")
	bob := newPeer(t, "bob")
	id := ann.create("plans", "x\n")
	if err := bob.join(id, ann); err != nil {
		t.Fatal(err)
	}
	bob.eng.SetCursorContext(id, 0, 0, "", "x\n") // his presence (his name) reaches ann
	waitFor(t, 10*time.Second, "bob connected over the LAN at ann's, by name", func() bool {
		ps := ann.eng.Peers(id)
		return len(ps) == 1 && ps[0].Connected && ps[0].Name == "bob" && ps[0].Path == "direct (LAN)" && ps[0].Problem == ""
	})
	waitFor(t, 10*time.Second, "bob's name kept with the note's peers", func() bool {
		peers, err := ann.nb.PeersOf(id)
		return err == nil && len(peers) == 1 && peers[0].Name == "bob"
	})
	bob.stop()
	waitFor(t, 20*time.Second, "ann to say why bob is unreachable", func() bool {
		ps := ann.eng.Peers(id)
		return len(ps) == 1 && !ps[0].Connected && ps[0].Path == "" &&
			strings.HasPrefix(ps[0].Problem, "couldn't reach bob on this machine (port ") &&
			strings.HasSuffix(ps[0].Problem, "is collab running there?")
	})
}
