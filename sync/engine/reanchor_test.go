package engine

import (
	"strings"
	"testing"
)

// TestReanchor covers the rules of PROTOCOL.md section 10, step 2: the
// cursor stays where its context still surrounds it, else moves to the
// nearest match of before+after, then of before, then of after, within
// searchRadius runes; with no match it is clamped.
func TestReanchor(t *testing.T) {
	for _, tc := range []struct {
		text          string
		pos           int
		before, after string
		want          int
	}{
		{"hello world", 6, "hello ", "world", 6},                  // unchanged
		{"XXX hello world", 6, "hello ", "world", 10},             // insert before
		{"hello big world", 6, "hello ", "world", 6},              // insert right after: before still ends there
		{"hello world", 6, "", "", 6},                             // no context
		{"hi", 6, "hello ", "world", 2},                           // nothing matches: clamp
		{"say hello world hello world", 6, "hello ", "world", 10}, // nearest of two matches
		{"héllo wörld ✓ hello world", 3, "hé", "llo", 2},
		{"abc", 1, "zz", "c", 2},                                             // only after matches
		{"abc hello", 2, "hello", "zz", 9},                                   // only before matches: just after it
		{strings.Repeat("x", 1000) + "hello world", 6, "hello ", "world", 6}, // beyond the search radius: kept, clamped
	} {
		if got := reanchor([]rune(tc.text), tc.pos, tc.before, tc.after); got != tc.want {
			t.Errorf("reanchor(%q, %d, %q, %q) = %d, want %d", tc.text, tc.pos, tc.before, tc.after, got, tc.want)
		}
	}
}
