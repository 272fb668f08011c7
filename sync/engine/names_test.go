package engine

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/display"
)

// TestErrorsNameThePersonAndThePlace: a failed join says who and where in
// plain words ("couldn't reach ann on this machine (port N): is collab
// running there?"), never a peer ID or libp2p's text, which stays
// available as the raw cause. The name is the one the peer gave in
// presence (made one plain line), kept with the note's known peers so it
// is there after a restart, while the peer is offline.
func TestErrorsNameThePersonAndThePlace(t *testing.T) {
	ann := newPeer(t, "ann", func(c *Config) { c.Name = "ann\x1b[2J\n" })
	bob := newPeer(t, "bob")
	id := ann.create("Plan", "x\n")
	annAddr := ann.addr()
	port, err := annAddr.ValueForProtocol(ma.P_TCP)
	if err != nil {
		t.Fatal(err)
	}
	plain := func(err error, want string) {
		t.Helper()
		if err == nil {
			t.Fatalf("no error; want %q", want)
		}
		if err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		for _, raw := range []string{ann.host.ID().String(), "12D3KooW", "dial", "/ip4/", "libp2p", "stream"} {
			if strings.Contains(err.Error(), raw) {
				t.Errorf("error %q carries %q", err, raw)
			}
		}
	}

	// Bob has never heard of ann: the peer is named by the end of its ID.
	err = bob.join(crdt.NewDocumentID(), ann)
	plain(err, fmt.Sprintf("the peer %s on this machine (port %s) doesn't have this note (any more?): ask for a new ticket", display.ID(ann.host.ID().String()), port))
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("%v is not ErrUnavailable", err)
	}

	if err := bob.join(id, ann); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "ann's name in bob's known peers of the note", func() bool {
		peers, err := bob.nb.PeersOf(id)
		return err == nil && len(peers) == 1 && peers[0].Name == "ann"
	})
	ann.stop()
	bob.stop()
	bob.start()
	if ps := bob.eng.Peers(id); len(ps) != 1 || ps[0].Name != "ann" || ps[0].Connected {
		t.Errorf("bob's peers of the note while ann is offline: %+v", ps)
	}
	// The redial loop's failure is what `collab peers` shows, in the same
	// plain words.
	wantProblem := fmt.Sprintf("couldn't reach ann on this machine (port %s): is collab running there?", port)
	waitFor(t, 10*time.Second, "why ann is unreachable in bob's peers of the note", func() bool {
		ps := bob.eng.Peers(id)
		return len(ps) == 1 && ps[0].Problem == wantProblem
	})
	err = bob.eng.Join(t.Context(), id, []ma.Multiaddr{annAddr})
	plain(err, fmt.Sprintf("couldn't reach ann on this machine (port %s): is collab running there?", port))
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("%v is not ErrUnreachable", err)
	}
	if raw := strings.Join(RawCauses(err), "; "); !strings.Contains(raw, "connection refused") {
		t.Errorf("raw cause %q lost libp2p's words", raw)
	}
	if got := bob.text(id); got != "x\n" {
		t.Errorf("a failed join of a note bob has changed it: %q", got)
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"ann":                    "ann",
		"  ann\n\tlee ":          "ann lee",
		"ann\x1b[31m\u202e":      "ann",
		strings.Repeat("é", 100): strings.Repeat("é", maxNameRunes),
		"\x00\x07":               "",
	} {
		if got := cleanName(in); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
}
