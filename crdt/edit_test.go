package crdt

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/collab-editor/collab/crdt/splice"
)

var editRounds = flag.Int("crdt.edit-rounds", 300, "keystrokes per seeded run of TestEditConverges")

// coreText reads the body from automerge itself (the worker), to check the
// text Go keeps. (The note brings its own text in step with the answer, so
// compare with a text read before.)
func coreText(t *testing.T, n *Note) string {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	resp, err := n.callLocked(&request{Op: opText}, false)
	if err == nil {
		err = resp.err()
	}
	if err != nil {
		t.Fatal(err)
	}
	return resp.Text
}

func TestEditAtCurrentRevision(t *testing.T) {
	a := mustNew(t, "t", "ann")
	_, rev, _ := a.ReadText()
	res, err := a.Edit(rev, []Splice{{Pos: 0, Insert: "hello"}, {Pos: 5, Insert: "!"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Remote) != 0 || res.Rev == rev {
		t.Fatalf("edit at the current revision: %+v", res)
	}
	if got := mustText(t, a); got != "hello!" || coreText(t, a) != got {
		t.Fatalf("text %q, core %q", got, coreText(t, a))
	}
}

// A keystroke typed against a text that a merged change has moved lands
// where the user typed it, and the editor learns exactly what to apply.
func TestEditRebasesOverAMerge(t *testing.T) {
	a := mustNew(t, "t", "ann")
	a.Splice(0, 0, "one\ntwo\n")
	b, _, _ := Load(nil, [][]byte{commitBytes(t, a)}, "bob")
	editor, base, _ := b.ReadText()

	// ann edits above bob's place, and it is merged on bob's side before
	// bob's keystroke reaches the note.
	a.Splice(0, 0, "zero\n")
	if err := b.Apply(commitBytes(t, a)); err != nil {
		t.Fatal(err)
	}
	// bob types at the end of "two", on the text he sees.
	local := []Splice{{Pos: 7, Insert: "!"}}
	mine := applyRunes(t, editor, local)
	res, err := b.Edit(base, local)
	if err != nil {
		t.Fatal(err)
	}
	shown := applyRunes(t, mine, res.Remote)
	if got := mustText(t, b); got != "zero\none\ntwo!\n" || shown != got || coreText(t, b) != got {
		t.Fatalf("note %q, editor shows %q, core %q", got, shown, coreText(t, b))
	}
}

func TestEditStaleBase(t *testing.T) {
	a := mustNew(t, "t", "ann")
	if _, err := a.Edit(99, []Splice{{Insert: "x"}}); !errors.Is(err, ErrStale) {
		t.Fatalf("edit at a future revision: %v", err)
	}
	if _, _, err := a.TextSince(99); !errors.Is(err, ErrStale) {
		t.Fatalf("TextSince a future revision: %v", err)
	}
}

func applyRunes(t *testing.T, text string, ss []Splice) string {
	t.Helper()
	out, err := splice.Apply([]rune(text), ss)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// An editor typing words at its own cursor while a collaborator's changes
// are merged at random moments (and the editor catches up with them at
// random moments) always ends with the note's text, every word it typed
// intact and in order, and the collaborator's words intact too.
func TestEditConverges(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			a := mustNew(t, "t", "ann")
			a.Splice(0, 0, "ann:\nbob:\n")
			b, _, _ := Load(nil, [][]byte{commitBytes(t, a)}, "bob")
			editor, base, _ := b.ReadText()
			// Where each side types: the end of its own line.
			lineEnd := func(text, who string) int {
				i := strings.Index(text, who+":")
				j := strings.IndexByte(text[i:], '\n')
				return len([]rune(text[:i+j]))
			}
			var typedA, typedB strings.Builder
			cursor := lineEnd(editor, "bob")
			for k := range *editRounds {
				switch r.IntN(4) {
				case 0: // ann types a character on her line, merged into b
					ch := string(rune('a' + k%26))
					if k%5 == 4 {
						ch = " "
					}
					typedA.WriteString(ch)
					at, _ := a.Text()
					a.Splice(lineEnd(at, "ann"), 0, ch)
					if err := b.Apply(commitBytes(t, a)); err != nil {
						t.Fatal(err)
					}
				case 1: // the editor catches up
					ss, rev, err := b.TextSince(base)
					if err != nil {
						t.Fatal(err)
					}
					editor = applyRunes(t, editor, ss)
					cursor = splice.MapAll(cursor, ss, splice.Before)
					base = rev
				default: // bob types at his cursor, on the text he sees
					ch := string(rune('A' + k%26))
					if k%7 == 6 {
						ch = " "
					}
					typedB.WriteString(ch)
					local := []Splice{{Pos: cursor, Insert: ch}}
					editor = applyRunes(t, editor, local)
					cursor++
					res, err := b.Edit(base, local)
					if err != nil {
						t.Fatal(err)
					}
					editor = applyRunes(t, editor, res.Remote)
					cursor = splice.MapAll(cursor, res.Remote, splice.Before)
					base = res.Rev
				}
				if c := lineEnd(editor, "bob"); cursor != c {
					t.Fatalf("step %d: bob's cursor at %d, his line ends at %d: %q", k, cursor, c, editor)
				}
			}
			ss, _, _ := b.TextSince(base)
			editor = applyRunes(t, editor, ss)
			cursor = splice.MapAll(cursor, ss, splice.Before)
			got := mustText(t, b)
			if editor != got || coreText(t, b) != got {
				t.Fatalf("editor %q\nnote   %q\ncore   %q", editor, got, coreText(t, b))
			}
			want := "ann:" + typedA.String() + "\nbob:" + typedB.String() + "\n"
			if got != want {
				t.Fatalf("words scrambled:\n got %q\nwant %q", got, want)
			}
			if c := lineEnd(got, "bob"); cursor != c {
				t.Fatalf("bob's cursor at %d, his line ends at %d", cursor, c)
			}
		})
	}
}

func TestTextKeptEqualsCore(t *testing.T) {
	a := mustNew(t, "t", "ann")
	b, _, _ := Load(nil, [][]byte{commitBytes(t, a)}, "bob")
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		for _, n := range []*Note{a, b} {
			l := n.Len()
			pos := r.IntN(l + 1)
			del := 0
			if pos < l {
				del = r.IntN(min(3, l-pos) + 1)
			}
			if err := n.Splice(pos, del, strings.Repeat("é", r.IntN(3))); err != nil {
				t.Fatal(err)
			}
		}
		ca, cb := commitBytes(t, a), commitBytes(t, b)
		if err := a.Apply(cb); err != nil {
			t.Fatal(err)
		}
		if err := b.Apply(ca); err != nil {
			t.Fatal(err)
		}
		for _, n := range []*Note{a, b} {
			if got := mustText(t, n); got != coreText(t, n) {
				t.Fatalf("kept text %q differs from the core's %q", got, coreText(t, n))
			}
		}
	}
	if !slices.Equal([]rune(mustText(t, a)), []rune(mustText(t, b))) {
		t.Fatal("copies differ")
	}
}

// Keystrokes go on while the worker merges a collaborator's changes (the
// note lets its lock go during a request): an editor typing on one
// goroutine while changes are applied on another ends with the note's text,
// its own words intact, and the core agreeing.
func TestEditWhileMerging(t *testing.T) {
	a := mustNew(t, "t", "ann")
	a.Splice(0, 0, "ann:\nbob:\n")
	b, _, err := Load(nil, [][]byte{commitBytes(t, a)}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const rounds = 150
	var typedA strings.Builder
	changes := make([][]byte, 0, rounds)
	for k := range rounds {
		ch := string(rune('a' + k%26))
		typedA.WriteString(ch)
		at, _ := a.Text()
		a.Splice(strings.IndexByte(at, '\n'), 0, ch)
		changes = append(changes, commitBytes(t, a))
	}
	done := make(chan error, 1)
	go func() {
		for _, c := range changes {
			if err := b.Apply(c); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	editor, base, _ := b.ReadText()
	var typedB strings.Builder
	cursor := len([]rune(editor)) - 1 // the end of bob's line
	for k := range rounds {
		ch := string(rune('A' + k%26))
		typedB.WriteString(ch)
		local := []Splice{{Pos: cursor, Insert: ch}}
		editor = applyRunes(t, editor, local)
		cursor++
		res, err := b.Edit(base, local)
		if err != nil {
			t.Fatal(err)
		}
		editor = applyRunes(t, editor, res.Remote)
		cursor = splice.MapAll(cursor, res.Remote, splice.Before)
		base = res.Rev
		if k%10 == 0 {
			b.Commit() // a request of the editor's own, among the merges
		}
		time.Sleep(50 * time.Microsecond) // typing speed: merges run in between

	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ss, _, err := b.TextSince(base)
	if err != nil {
		t.Fatal(err)
	}
	editor = applyRunes(t, editor, ss)
	want := "ann:" + typedA.String() + "\nbob:" + typedB.String() + "\n"
	if got := mustText(t, b); got != want || editor != want {
		t.Fatalf("note %q\neditor %q\nwant %q", got, editor, want)
	}
	if got := coreText(t, b); got != want {
		t.Fatalf("the core has %q", got)
	}
}
