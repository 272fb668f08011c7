package engine

import (
	"math/rand/v2"
	"testing"
)

// firstRunes and lastRunes cut by runes as []rune would, multi-byte runes
// and invalid UTF-8 included.
func TestFirstAndLastRunes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "é", "😀", "\xff", "\u202e", "\n"}
	for range 2000 {
		s := ""
		for range rng.IntN(12) {
			s += alphabet[rng.IntN(len(alphabet))]
		}
		n := rng.IntN(14)
		r := []rune(s)
		if got, want := firstRunes(s, n), string(r[:min(len(r), n)]); got != want && string([]rune(got)) != want {
			t.Fatalf("firstRunes(%q, %d) = %q, want %q", s, n, got, want)
		}
		if got, want := lastRunes(s, n), string(r[max(0, len(r)-n):]); got != want && string([]rune(got)) != want {
			t.Fatalf("lastRunes(%q, %d) = %q, want %q", s, n, got, want)
		}
	}
}
