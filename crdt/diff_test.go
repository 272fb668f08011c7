package crdt

import (
	"fmt"
	"strings"
	"testing"
)

func applySplices(s string, splices []Splice) string {
	r := []rune(s)
	for _, sp := range splices {
		r = append(r[:sp.Pos], append([]rune(sp.Insert), r[sp.Pos+sp.Delete:]...)...)
	}
	return string(r)
}

func TestDiffProducesTarget(t *testing.T) {
	cases := [][2]string{
		{"", "abc"}, {"abc", ""}, {"same", "same"},
		{"line one\nline two\nline three\n", "line one\nline 2\nline three\nfour\n"},
		{"héllo wörld 日本", "hallo wörld, 日本語"},
		{strings.Repeat("a\n", 500), strings.Repeat("a\n", 250) + "b\n" + strings.Repeat("a\n", 249)},
	}
	for _, c := range cases {
		got := applySplices(c[0], Diff(c[0], c[1]))
		if got != c[1] {
			t.Errorf("Diff(%q, %q) applied gives %q", c[0], c[1], got)
		}
	}
}

func TestDiffIsSmall(t *testing.T) {
	var lines []string
	for i := range 1000 {
		lines = append(lines, fmt.Sprintf("line %d: the quick brown fox", i))
	}
	old := strings.Join(lines, "\n") + "\n"
	new := strings.Replace(old, "quick", "slow", 1)
	new = new[:len(new)-5] + "cat!\n"
	splices := Diff(old, new)
	total := 0
	for _, s := range splices {
		total += s.Delete + len([]rune(s.Insert))
	}
	if total > 20 {
		t.Fatalf("two small edits became %d runes of splices: %+v", total, splices)
	}
}

// Replacing the whole text with an edited copy must not clobber an edit that
// a collaborator made meanwhile somewhere else.
func TestReplaceTextKeepsConcurrentEdits(t *testing.T) {
	a := mustNew(t, "t", "ann")
	a.Splice(0, 0, "alpha\nbeta\ngamma\n")
	b, _, err := Load(nil, [][]byte{commitBytes(t, a)}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	b.Splice(0, 0, "ZERO\n") // bob edits the top
	if _, err := a.ReplaceText("alpha\nbeta\nGAMMA!\n"); err != nil {
		t.Fatal(err)
	}
	a.Apply(commitBytes(t, b))
	b.Apply(commitBytes(t, a))
	want := "ZERO\nalpha\nbeta\nGAMMA!\n"
	if got := mustText(t, a); got != want || mustText(t, b) != want {
		t.Fatalf("got %q / %q, want %q", got, mustText(t, b), want)
	}
}
