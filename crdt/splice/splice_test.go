package splice

import (
	"errors"
	"flag"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

var rounds = flag.Int("splice.rounds", 3000, "random cases per property")

// Texts in these tests are made of distinct runes, so where every rune went
// can be checked: the reference model of what an edit does is simply
// "which labelled runes survive, in which order".

type gen struct {
	r    *rand.Rand
	next rune
}

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, 1)), next: 0x4e00} }

func (g *gen) fresh(n int) []rune {
	out := make([]rune, n)
	for i := range out {
		out[i] = g.next
		g.next++
	}
	return out
}

func (g *gen) splice(n int) Splice {
	pos := g.r.IntN(n + 1)
	s := Splice{Pos: pos}
	if pos < n && g.r.IntN(3) > 0 {
		s.Delete = 1 + g.r.IntN(min(n-pos, 4))
	}
	if s.Delete == 0 || g.r.IntN(2) == 0 {
		s.Insert = string(g.fresh(1 + g.r.IntN(3)))
	}
	return s
}

func (g *gen) seq(n, k int) []Splice {
	var out []Splice
	for range k {
		s := g.splice(n)
		out = append(out, s)
		n = Len(n, []Splice{s})
	}
	return out
}

func mustApply(t *testing.T, text []rune, seq []Splice) []rune {
	t.Helper()
	out, err := Apply(text, seq)
	if err != nil {
		t.Fatalf("apply %+v to %d runes: %v", seq, len(text), err)
	}
	return out
}

// deletedBy returns the original runes seq deletes (labels are unique).
func survivors(orig, after []rune) map[rune]bool {
	have := map[rune]bool{}
	for _, r := range after {
		have[r] = true
	}
	out := map[rune]bool{}
	for _, r := range orig {
		if have[r] {
			out[r] = true
		}
	}
	return out
}

func TestTransformConverges(t *testing.T) {
	for i := range *rounds {
		g := newGen(uint64(i))
		base := g.fresh(g.r.IntN(12))
		a := g.seq(len(base), 1+g.r.IntN(4))
		e := g.seq(len(base), 1+g.r.IntN(4))
		aFirst := g.r.IntN(2) == 0
		a2, e2 := Transform(a, e, aFirst)
		left := mustApply(t, mustApply(t, base, e), a2)
		right := mustApply(t, mustApply(t, base, a), e2)
		if !slices.Equal(left, right) {
			t.Fatalf("case %d: base %q a %+v e %+v aFirst %v:\n e then a2 %q\n a then e2 %q", i, string(base), a, e, aFirst, string(left), string(right))
		}
		// Intentions: an original rune survives iff neither side deleted
		// it; everything either side inserted (and kept) is there; order of
		// surviving originals is kept.
		byA, byE := survivors(base, mustApply(t, base, a)), survivors(base, mustApply(t, base, e))
		fin := map[rune]bool{}
		for _, r := range left {
			fin[r] = true
		}
		var order []rune
		for _, r := range base {
			want := byA[r] && byE[r]
			if fin[r] != want {
				t.Fatalf("case %d: rune %q survives=%v, want %v", i, r, fin[r], want)
			}
			if want {
				order = append(order, r)
			}
		}
		var got []rune
		for _, r := range left {
			if slices.Contains(base, r) {
				got = append(got, r)
			}
		}
		if !slices.Equal(got, order) {
			t.Fatalf("case %d: originals reordered", i)
		}
		for _, side := range [][]rune{mustApply(t, base, a), mustApply(t, base, e)} {
			for _, r := range side {
				if !slices.Contains(base, r) && !fin[r] {
					t.Fatalf("case %d: inserted rune %q lost", i, r)
				}
			}
		}
	}
}

func TestTransformTieOrder(t *testing.T) {
	base := []rune("ab")
	a := []Splice{{Pos: 1, Insert: "X"}}
	e := []Splice{{Pos: 1, Insert: "Y"}}
	a2, _ := Transform(a, e, true)
	if got := string(mustApply(t, mustApply(t, base, e), a2)); got != "aXYb" {
		t.Fatalf("aFirst: got %q", got)
	}
	a2, _ = Transform(a, e, false)
	if got := string(mustApply(t, mustApply(t, base, e), a2)); got != "aYXb" {
		t.Fatalf("e first: got %q", got)
	}
}

// Map is checked against what it must mean for the runes around x.
func TestMapAgainstLabels(t *testing.T) {
	for i := range *rounds {
		g := newGen(uint64(i) + 1<<20)
		base := g.fresh(g.r.IntN(10))
		s := g.splice(len(base))
		after := mustApply(t, base, []Splice{s})
		idx := map[rune]int{}
		for j, r := range after {
			idx[r] = j
		}
		inserted := []rune(s.Insert)
		for x := 0; x <= len(base); x++ {
			for _, stick := range []Stick{Before, After} {
				y := Map(x, s, stick)
				if y < 0 || y > len(after) {
					t.Fatalf("case %d: Map(%d, %+v) = %d out of [0,%d]", i, x, s, y, len(after))
				}
				for j, r := range base {
					k, ok := idx[r]
					if !ok {
						continue
					}
					if j < x && k >= y || j >= x && k < y {
						t.Fatalf("case %d: Map(%d, %+v, %v) = %d crosses surviving rune %d (now %d)", i, x, s, stick, y, j, k)
					}
				}
				// Text inserted where x was goes after it unless x sticks
				// after a pure insertion point.
				at := x >= s.Pos && x <= s.Pos+s.Delete && !(x == s.Pos+s.Delete && s.Delete > 0)
				if at && len(inserted) > 0 {
					wantBefore := stick == After && s.Delete == 0
					first := idx[inserted[0]]
					if wantBefore != (first < y) {
						t.Fatalf("case %d: Map(%d, %+v, %v) = %d: inserted text at %d on the wrong side", i, x, s, stick, y, first)
					}
				}
			}
			if x > 0 && Map(x-1, s, Before) > Map(x, s, Before) {
				t.Fatalf("case %d: Map not monotonic at %d", i, x)
			}
		}
	}
}

func TestComposeEqualsSequence(t *testing.T) {
	for i := range *rounds {
		g := newGen(uint64(i) + 2<<20)
		base := g.fresh(g.r.IntN(12))
		seq := g.seq(len(base), 1+g.r.IntN(6))
		want := mustApply(t, base, seq)
		one := Compose(seq[:1], seq[1:])
		if got := mustApply(t, base, one); !slices.Equal(got, want) {
			t.Fatalf("case %d: %+v composed to %+v: %q, want %q", i, seq, one, string(got), string(want))
		}
		for k := 1; k < len(one); k++ {
			if one[k].Pos < one[k-1].Pos+one[k-1].InsertLen() {
				t.Fatalf("case %d: composed splices not ascending: %+v", i, one)
			}
		}
	}
}

// A sequence is checked as it applies: a splice that fits only the text
// the one before it leaves is fine; the first that does not fit is named.
func TestCheckAll(t *testing.T) {
	for i := range *rounds {
		g := newGen(uint64(i) + 3<<20)
		base := g.fresh(g.r.IntN(12))
		seq := g.seq(len(base), 1+g.r.IntN(5))
		if err := CheckAll(len(base), seq); err != nil {
			t.Fatalf("case %d: %+v on %d runes: %v", i, seq, len(base), err)
		}
		if _, err := Apply(base, seq); err != nil {
			t.Fatal(err)
		}
	}
	seq := []Splice{{Pos: 0, Insert: "abc"}, {Pos: 5, Delete: 1}}
	if err := CheckAll(3, seq); err != nil {
		t.Fatalf("the second splice fits the six runes the first leaves: %v", err)
	}
	err := CheckAll(2, seq)
	if !errors.Is(err, ErrOutOfRange) || !strings.Contains(err.Error(), "splice 2 of 2") {
		t.Fatalf("the second splice does not fit five runes: %v", err)
	}
}

// Invalid UTF-8 becomes one U+FFFD a byte, so the text holds as many runes
// as InsertLen counted.
func TestValidText(t *testing.T) {
	for _, s := range []string{"plain", "日本 😀", "a\xffb", "\xe6\x97", "\xf0\x9f\x98"} {
		got := ValidText(s)
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) != (Splice{Insert: s}).InsertLen() || got != string([]rune(s)) {
			t.Fatalf("ValidText(%q) = %q", s, got)
		}
	}
}

func TestDiffProducesTarget(t *testing.T) {
	for i := range 500 {
		g := newGen(uint64(i) + 4<<20)
		base := g.fresh(g.r.IntN(40))
		seq := g.seq(len(base), g.r.IntN(6))
		want := mustApply(t, base, seq)
		d := Diff(string(base), string(want))
		if got := mustApply(t, base, d); !slices.Equal(got, want) {
			t.Fatalf("case %d: diff applied gives %q, want %q", i, string(got), string(want))
		}
	}
}

func TestApplyRefusesOutOfRange(t *testing.T) {
	if _, err := Apply([]rune("abc"), []Splice{{Pos: 2, Delete: 2}}); err == nil {
		t.Fatal("a splice past the end applied")
	}
}
