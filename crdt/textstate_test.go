package crdt

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTextStateFollowsSplices: the text kept in UTF-8 follows seeded
// random splices exactly as a rune slice would, through packing and
// unpacking, in ASCII and in text with runes of every width, including
// inserts that are not valid UTF-8 (each bad byte a U+FFFD, as a rune
// slice holds it), and windows read from either form.
func TestTextStateFollowsSplices(t *testing.T) {
	pieces := []string{"a", "b", " ", "\n", "é", "字", "😀", "\x7f", "\xff", "\xe2\x82"}
	for seed := uint64(1); seed <= 8; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		ascii := seed%2 == 0
		word := func() string {
			s := ""
			for range rng.IntN(6) {
				p := pieces[rng.IntN(len(pieces))]
				if ascii {
					p = pieces[rng.IntN(4)]
				}
				s += p
			}
			return s
		}
		var ts textState
		start := string([]rune(word() + word())) // a note's text is valid UTF-8
		ts.reset(start)
		want := []rune(start)
		for round := range 3000 {
			switch rng.IntN(10) {
			case 0:
				ts.pack()
			case 1:
				if len(want) > 0 {
					a := rng.IntN(len(want) + 1)
					b := a + rng.IntN(len(want)-a+1)
					if got := ts.window(a, b); !slices.Equal(got, want[a:b]) {
						t.Fatalf("seed %d round %d: window(%d, %d) = %q, want %q", seed, round, a, b, string(got), string(want[a:b]))
					}
				}
			default:
				var splices []Splice
				for range 1 + rng.IntN(3) {
					pos := rng.IntN(len(want) + 1)
					del := 0
					if pos < len(want) && rng.IntN(2) == 0 {
						del = 1 + rng.IntN(min(5, len(want)-pos))
					}
					s := Splice{Pos: pos, Delete: del, Insert: word()}
					splices = append(splices, s)
					want = slices.Replace(want, pos, pos+del, []rune(s.Insert)...)
				}
				ts.record(splices)
			}
			if ts.String() != string(want) || ts.Len() != len(want) {
				t.Fatalf("seed %d round %d: text %q (%d runes), want %q (%d)", seed, round, ts.String(), ts.Len(), string(want), len(want))
			}
		}
	}
}
