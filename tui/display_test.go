package tui

import (
	"slices"
	"testing"
)

// TestPeerNamesShownInert: names peers chose reach the screen without
// escape sequences, and unnamed peers are told apart by the end of their
// IDs (every Ed25519 peer ID starts 12D3KooW).
func TestPeerNamesShownInert(t *testing.T) {
	got := onlineNames([]Peer{
		{ID: "12D3KooWAnnXqL7nN5f2b8nVdBcZpRr4Nd3QyWq1hB9GkA4Tu7Xz", Name: "\x1b[2J\x1b[Hann\u202E", Connected: true},
		{ID: "12D3KooWBobYv2n8mN5f2b8nVdBcZpRr4Nd3QyWq1hB9GkPq2Lm1", Connected: true},
		{ID: "12D3KooWCarYv2n8mN5f2b8nVdBcZpRr4Nd3QyWq1hB9GkZz9Yy8", Connected: true},
		{ID: "12D3KooWDanYv2n8mN5f2b8nVdBcZpRr4Nd3QyWq1hB9Gk00000000", Name: "dan"},
	})
	if want := []string{"ann", "…GkPq2Lm1", "…GkZz9Yy8"}; !slices.Equal(got, want) {
		t.Fatalf("onlineNames = %q, want %q", got, want)
	}
}
