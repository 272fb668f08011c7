package tui

import "testing"

func TestColorForIsStableAndSpread(t *testing.T) {
	if ColorFor("12D3KooWA") != ColorFor("12D3KooWA") {
		t.Fatal("a peer's colour changed between calls")
	}
	seen := map[string]bool{}
	for _, id := range []string{"12D3KooWA", "12D3KooWB", "12D3KooWC", "12D3KooWD", "12D3KooWE", "12D3KooWF"} {
		seen[ColorFor(id)] = true
	}
	if len(seen) < 3 {
		t.Fatalf("six peers got only %d colours", len(seen))
	}
}
