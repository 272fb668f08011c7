package engine

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/internal/display"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/p2p"
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
	if cs := ann.eng.Collaborators(); len(cs) != 1 || !cs[0].Connected || cs[0].Name != "bob" || cs[0].Path != "direct (LAN)" {
		t.Errorf("ann's collaborators with bob connected: %+v", cs)
	}
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
	if cs := ann.eng.Collaborators(); len(cs) != 1 || cs[0].Connected || cs[0].Path != "" || cs[0].Problem != ann.eng.Peers(id)[0].Problem {
		t.Errorf("ann's collaborators with bob gone: %+v", cs)
	}
}

// A collaborator known only by an address on its home LAN (not one of
// ours) and through a relay that is offline is shown as behind a NAT with
// no relay both know online, by the name it goes by, with what to do: in
// the note's peers and in the notebook's collaborators.
func TestProblemSaysBehindNAT(t *testing.T) {
	home := "/ip4/10.254.71.23/tcp/4747" // never dialled: the test hosts dial loopback only
	ifaddrs, _ := net.InterfaceAddrs()
	for _, a := range ifaddrs {
		if n, ok := a.(*net.IPNet); ok && n.Contains(net.ParseIP("10.254.71.23")) {
			t.Skip("this machine is on 10.254.71.23's network, the test's home LAN of a peer behind a NAT")
		}
	}
	ann := newPeer(t, "ann")
	annID := ann.host.ID()
	ann.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rita, err := p2p.New(ctx, p2p.Config{Identity: newKey(t), ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, DialFilter: loopbackOnly, RelayService: true})
	if err != nil {
		t.Fatal(err)
	}
	circuit := fmt.Sprintf("%s/p2p/%s/p2p-circuit", rita.ListenAddrs()[0], rita.ID())
	if err := rita.Close(); err != nil {
		t.Fatal(err)
	}

	bob := newPeer(t, "bob")
	id := bob.create("plans", "x\n")
	if _, err := ma.NewMultiaddr(circuit); err != nil {
		t.Fatal(err)
	}
	if err := bob.note(id).RememberPeer(notebook.KnownPeer{ID: annID.String(), Name: "ann", Addrs: []string{home, circuit}, LastSeen: time.Now(), Chosen: true}); err != nil {
		t.Fatal(err)
	}
	bob.stop()
	bob.start() // reads ann as a known peer of the note, and redials her

	want := "ann is behind a NAT and no relay you both know is online (the relay " + display.ID(rita.ID().String()) + " is offline)" +
		": run `collab serve --relay` on a machine with a public address that you both know, or forward port 4747 on one side"
	var got []PeerStatus
	waitFor(t, 20*time.Second, "bob to say why ann is unreachable", func() bool {
		got = bob.eng.Peers(id)
		return len(got) == 1 && got[0].Problem != ""
	})
	if got[0].Problem != want || got[0].Name != "ann" {
		t.Errorf("bob's peers of the note:\n got %+v\nwant Problem %q", got, want)
	}
	if cs := bob.eng.Collaborators(); len(cs) != 1 || cs[0].Problem != want {
		t.Errorf("bob's collaborators: %+v", cs)
	}
}
