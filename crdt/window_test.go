package crdt

import "testing"

// TextWindow copies the stretch asked for, clamped to the text, with the
// text's length: what a remote cursor's placement reads instead of the
// whole note.
func TestTextWindow(t *testing.T) {
	n := mustNew(t, "w", "a")
	if err := n.Splice(0, 0, "héllo wörld"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		start, end int
		want       string
	}{
		{0, 5, "héllo"},
		{6, 100, "wörld"},
		{-3, 2, "hé"},
		{20, 30, ""},
		{5, 3, ""},
	} {
		got, total := n.TextWindow(tc.start, tc.end)
		if string(got) != tc.want || total != 11 {
			t.Errorf("TextWindow(%d, %d) = %q, %d; want %q, 11", tc.start, tc.end, string(got), total, tc.want)
		}
	}
	w, _ := n.TextWindow(0, 5)
	w[0] = 'X' // a copy: the note's text is untouched
	if s := mustText(t, n); s != "héllo wörld" {
		t.Fatalf("text %q after changing the window", s)
	}
}
