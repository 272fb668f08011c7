package tui

import (
	"strings"
	"testing"
)

// TestStatusNamesWhoCannotBeReached: with the note's peers unreachable,
// the status bar names them (the name they go by, else the end of their
// ID) instead of "peers unreachable".
func TestStatusNamesWhoCannotBeReached(t *testing.T) {
	nbh, id := poemNotebook(t)
	net := newFakeNet(t, nbh.nb)
	net.peers = []Peer{{ID: "12D3KooWLXsixCGBfK3kCB3PgigYXXN8RWRTbJygTpcS4iqWoXDy", Name: "ann"}}
	net.status = Unreachable
	h := newHarness(t, nbh.nb, Options{Open: &id, Network: net}, 80, 10).noteLoaded()
	if got := h.plain(); !strings.Contains(got, "✗ can't reach ann") || strings.Contains(got, "peers unreachable") {
		t.Fatalf("status bar with ann unreachable:\n%s", got)
	}
	for names, want := range map[string]string{
		"ann":             "can't reach ann",
		"ann,bob":         "can't reach ann and bob",
		"ann,bob,cat,dan": "can't reach ann, bob and 2 more",
	} {
		if got := cantReach(strings.Split(names, ",")); got != want {
			t.Errorf("cantReach(%s) = %q, want %q", names, got, want)
		}
	}
}
