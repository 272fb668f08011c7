package engine

import (
	"math/rand/v2"
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

// runeWindower serves windows of a text and records the widest asked for.
type runeWindower struct {
	text   []rune
	widest int
}

func (w *runeWindower) TextWindow(start, end int) ([]rune, int) {
	start, end = max(0, min(start, len(w.text))), max(0, min(end, len(w.text)))
	end = max(end, start)
	w.widest = max(w.widest, end-start)
	return w.text[start:end], len(w.text)
}

// reanchorIn reads only a window around the cursor and places it exactly
// where reanchor on the whole text would, on random texts with repeats.
func TestReanchorInAWindowIsReanchor(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for i := range 3000 {
		n := r.IntN(3000)
		text := make([]rune, n)
		for j := range text {
			text[j] = rune('a' + r.IntN(3)) // small alphabet: many matches
		}
		ctx := func() string {
			s := make([]rune, r.IntN(12))
			for j := range s {
				s[j] = rune('a' + r.IntN(3))
			}
			return string(s)
		}
		pos := r.IntN(n + 20) // also past the end: a cursor in a longer copy
		before, after := ctx(), ctx()
		w := &runeWindower{text: text}
		got, total := reanchorIn(w, pos, before, after)
		if want := reanchor(text, pos, before, after); got != want || total != n {
			t.Fatalf("case %d: reanchorIn(%d, %q, %q) = %d (of %d), reanchor = %d", i, pos, before, after, got, total, want)
		}
		if limit := 2 * (searchRadius + len(before) + len(after)); w.widest > limit {
			t.Fatalf("case %d: read %d runes, more than the %d it may look at", i, w.widest, limit)
		}
	}
}
