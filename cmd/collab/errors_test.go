package main

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/display"
	"github.com/collab-editor/collab/notebook"
)

// binFails runs collab, which must exit 1, and returns its stderr.
func binFails(t *testing.T, home string, args ...string) string {
	t.Helper()
	var errOut bytes.Buffer
	cmd := binCmd(t, home, args...)
	cmd.Stderr = &errOut
	err := cmd.Run()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("collab %v: %v, want exit 1\n%s", args, err, errOut.String())
	}
	return errOut.String()
}

// collabLines are the lines collab itself says on stderr (not its log).
func collabLines(stderr string) string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "collab: ") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// libp2pWords are bits of libp2p's own error text.
var libp2pWords = []string{"failed to dial", "all dials failed", "connection refused", "dial tcp", "12D3KooW", "/ip4/"}

// TestErrorsSpeakOfPeopleAndPlaces: when a peer cannot be reached or lacks
// the note, join and share say so naming the person (by the name ann goes
// by, learnt from her presence and kept while she is offline) and the
// place in plain words, through the running collab as well as from a
// short-lived peer; libp2p's words appear only with --log-level debug.
func TestErrorsSpeakOfPeopleAndPlaces(t *testing.T) {
	homeA, homeB := t.TempDir(), t.TempDir()
	url := strings.TrimSpace(binOK(t, homeA, "new", "Plan"))
	binOK(t, homeA, "append", "Plan", "from A")
	a := startServe(t, homeA, "ann")
	tk := strings.TrimSpace(binOK(t, homeA, "invite", "Plan"))
	loopbackFlags := []string{"--listen", "/ip4/127.0.0.1/tcp/0", "--mdns=false"}
	binOK(t, homeB, append([]string{"join"}, append(loopbackFlags, tk)...)...)
	t0, err := parseTicket(tk)
	if err != nil {
		t.Fatal(err)
	}
	port, err := t0.Addrs[0].ValueForProtocol(ma.P_TCP)
	if err != nil {
		t.Fatal(err)
	}
	annAddr := t0.Addrs[0].String()
	id, _ := crdt.ParseDocumentID(url)

	b := startServe(t, homeB, "bob")
	waitFor(t, 10*time.Second, "ann's name kept with the note's peers at B", func() bool {
		nb, err := notebook.Open(homeB, "test")
		if err != nil {
			return false
		}
		peers, err := nb.PeersOf(id)
		return err == nil && len(peers) == 1 && peers[0].Name == "ann"
	})

	// A note ann lacks, asked through B's running collab.
	unknown := crdt.NewDocumentID().URL() + tk[strings.Index(tk, "#"):]
	got := binFails(t, homeB, "join", unknown)
	if want := "collab: ann on this machine (port " + port + ") doesn't have this note (any more?): ask for a new ticket"; collabLines(got) != want {
		t.Errorf("join of a note ann lacks says\n%s\nwant %q", got, want)
	}

	a.stop()
	unreachable := "collab: couldn't reach ann on this machine (port " + port + "): is collab running there?"
	check := func(what, stderr string, debug bool) {
		t.Helper()
		lines := collabLines(stderr)
		if !strings.HasPrefix(lines, unreachable) {
			t.Errorf("%s says\n%s\nwant %q", what, stderr, unreachable)
		}
		for _, w := range libp2pWords {
			if !debug && strings.Contains(stderr, w) && w != "12D3KooW" && w != "/ip4/" {
				t.Errorf("%s: stderr carries libp2p's %q:\n%s", what, w, stderr)
			}
			if strings.Contains(strings.SplitN(lines, "\n", 2)[0], w) {
				t.Errorf("%s: the message carries %q: %s", what, w, lines)
			}
		}
		if debug && (!strings.Contains(lines, "collab: raw cause:") || !strings.Contains(stderr, "connection refused")) {
			t.Errorf("%s with --log-level debug shows no raw cause:\n%s", what, stderr)
		}
	}
	// Through B's running collab (its control socket)...
	check("join through the running collab", binFails(t, homeB, "join", tk), false)
	check("join through the running collab, debug", binFails(t, homeB, "join", "--log-level", "debug", tk), true)
	b.stop()
	// ...and from a short-lived peer.
	check("share", binFails(t, homeB, append([]string{"share"}, append(loopbackFlags, "Plan", annAddr)...)...), false)
	check("share, debug", binFails(t, homeB, append([]string{"share", "--log-level", "debug"}, append(loopbackFlags, "Plan", annAddr)...)...), true)
	check("join", binFails(t, homeB, append([]string{"join"}, append(loopbackFlags, tk)...)...), false)

	if peers := binOK(t, homeB, "peers", "Plan"); !strings.Contains(peers, "ann") || strings.Contains(peers, " connected,") {
		t.Errorf("collab peers at B while ann is offline: %q", peers)
	}
}

// TestTUIJoinDialogSpeaksPlainly: in the terminal app, a ticket whose peer
// does not answer is refused in plain words (the place, what to check),
// not libp2p's.
func TestTUIJoinDialogSpeaksPlainly(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close() // nothing listens there now
	const somePeer = "12D3KooWLXsixCGBfK3kCB3PgigYXXN8RWRTbJygTpcS4iqWoXDy"
	tk := crdt.NewDocumentID().URL() + "#/ip4/127.0.0.1/tcp/" + port + "/p2p/" + somePeer

	s := startTmux(t, t.TempDir())
	s.waitFor("No notes yet")
	s.keys("j")
	s.waitFor("Join a shared note", "Ticket:")
	s.paste(tk)
	s.keys("Enter")
	s.waitFor("running there?")
	said := strings.Join(dialogLines(s.screen()), " ")
	if !strings.Contains(said, "couldn't reach the peer "+display.ID(somePeer)+" on this machine (port "+port+")") {
		t.Errorf("the join dialog says %q", said)
	}
	for _, w := range libp2pWords {
		if strings.Contains(said, w) {
			t.Errorf("the join dialog carries %q: %q", w, said)
		}
	}
	s.keys("Escape")
	s.waitGone("Join a shared note")
	s.quitAnyway()
}
