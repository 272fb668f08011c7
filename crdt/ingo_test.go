package crdt

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"
)

// TestANoteAsleepIsEditedAndMergedInGo opens a note from a view that is
// behind its stored history, edits it, and merges a peer's changes into it,
// all without a worker; the core, loading it afterwards, holds the same.
func TestANoteAsleepIsEditedAndMergedInGo(t *testing.T) {
	peer := mustNew(t, "plan", "pia")
	defer peer.Close()
	if err := peer.Splice(0, 0, "first line\n"); err != nil {
		t.Fatal(err)
	}
	base := commitBytes(t, peer)
	viewHeads, err := peer.Heads()
	if err != nil {
		t.Fatal(err)
	}
	if err := peer.Splice(peer.Len(), 0, "second line\n"); err != nil {
		t.Fatal(err)
	}
	later := commitBytes(t, peer)

	// The view says "first line\n"; the records hold the second line too.
	n := LoadKnown(nil, [][]byte{base, later}, "ned", Known{Title: "plan", Text: "first line\n", Heads: viewHeads})
	defer n.Close()
	_, rev, _ := n.ReadText()
	if err := n.WakeForEdit(); err != nil {
		t.Fatal(err)
	}
	if n.Awake() || !n.EditedInGo() {
		t.Fatalf("readied for editing: awake %v, in Go %v", n.Awake(), n.EditedInGo())
	}
	if s, _, err := n.TextSince(rev); err != nil || len(s) != 1 || s[0].Insert != "second line\n" {
		t.Fatalf("what the history holds beyond the view: %+v (%v)", s, err)
	}
	if err := n.Splice(0, 5, "1st"); err != nil {
		t.Fatal(err)
	}
	mine := commitBytes(t, n)

	// A peer's concurrent edit merges in Go and shows as splices.
	if err := peer.Splice(peer.Len(), 0, "third"); err != nil {
		t.Fatal(err)
	}
	theirs := commitBytes(t, peer)
	_, rev, _ = n.ReadText()
	if err := n.Apply(theirs); err != nil {
		t.Fatal(err)
	}
	if s, _, err := n.TextSince(rev); err != nil || len(s) != 1 || s[0].Insert != "third" {
		t.Fatalf("the peer's edit: %+v (%v)", s, err)
	}
	if !n.HasChange(mustHash(t, mine)) || !n.HasChange(viewHeads[0]) {
		t.Fatal("HasChange does not know the note's own history")
	}
	if n.Awake() {
		t.Fatal("editing and merging loaded the core")
	}
	if err := peer.Apply(mine); err != nil {
		t.Fatal(err)
	}
	want := "1st line\nsecond line\nthird"
	if got, _, _ := n.ReadText(); got != want || mustText(t, peer) != want {
		t.Fatalf("texts %q and %q, want %q", got, mustText(t, peer), want)
	}
	// The core loads the history with the change made in Go.
	if err := n.Wake(); err != nil {
		t.Fatal(err)
	}
	if got := mustText(t, n); got != want {
		t.Fatalf("loaded: %q", got)
	}
	h1, _ := n.Heads()
	h2, _ := peer.Heads()
	if !SameHeads(h1, h2) {
		t.Fatalf("heads %v and %v", h1, h2)
	}
}

func mustHash(t *testing.T, b []byte) ChangeHash {
	t.Helper()
	h, err := HashOf(b)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestEditingInGoConvergesInRandomSessions has a note edited in Go and one
// edited through the core exchange changes in a seeded random order, the Go
// one sometimes hibernating (its model dropped, made again on the next edit)
// or loading the core and going back to sleep, or resting (the worker ends
// and the model it kept up to date stays). After quiescence both hold
// the same text and heads, and the core agrees with what Go showed.
func TestEditingInGoConvergesInRandomSessions(t *testing.T) {
	for seed := int64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			core := mustNew(t, "t", "core")
			defer core.Close()
			if err := core.Splice(0, 0, "seed text"); err != nil {
				t.Fatal(err)
			}
			first := commitBytes(t, core)
			heads, _ := core.Heads()
			g := LoadKnown(nil, [][]byte{first}, "go", Known{Title: "t", Text: "seed text", Heads: heads})
			defer g.Close()
			var toCore, toGo [][]byte
			inGo := 0
			edit := func(n *Note) {
				l := n.Len()
				pos := rng.Intn(l + 1)
				del := 0
				if pos < l && rng.Intn(3) == 0 {
					del = 1 + rng.Intn(min(5, l-pos))
				}
				ins := []string{"", "a", "xyz", "ü😀", "\n"}[rng.Intn(5)]
				if del == 0 && ins == "" {
					ins = "b"
				}
				if err := n.Splice(pos, del, ins); err != nil {
					t.Fatal(err)
				}
			}
			for round := range 150 {
				switch r := rng.Intn(10); {
				case r < 4:
					if err := g.WakeForEdit(); err != nil {
						t.Fatal(err)
					}
					if g.EditedInGo() {
						inGo++
					}
					edit(g)
					if rng.Intn(2) == 0 {
						toCore = append(toCore, commitBytes(t, g))
					}
				case r < 6:
					edit(core)
					toGo = append(toGo, commitBytes(t, core))
				case r < 8 && len(toGo) > 0:
					k := 1 + rng.Intn(len(toGo))
					for _, b := range toGo[:k] {
						if err := g.Apply(b); err != nil {
							t.Fatalf("round %d: %v", round, err)
						}
					}
					// Applying commits the open edits first.
					toCore = append(toCore, commitBytes(t, g))
					toGo = toGo[k:]
				case r == 8 && len(toCore) > 0:
					for _, b := range toCore {
						if err := core.Apply(b); err != nil {
							t.Fatalf("round %d: %v", round, err)
						}
					}
					toCore = nil
				default:
					toCore = append(toCore, commitBytes(t, g))
					switch rng.Intn(6) {
					case 0, 1, 2:
						g.Hibernate()
					case 3:
						// Loaded, then back to Go: dropping the model, or
						// keeping it (an editor's note resting).
						if err := g.Wake(); err != nil {
							t.Fatal(err)
						}
						g.Hibernate()
					case 4:
						if err := g.Wake(); err != nil {
							t.Fatal(err)
						}
						if !g.Rest() || g.Awake() || !g.EditedInGo() {
							t.Fatalf("round %d: a loaded note with nothing open did not rest", round)
						}
					}
				}
			}
			toCore = append(toCore, commitBytes(t, g))
			for _, b := range toCore {
				if err := core.Apply(b); err != nil {
					t.Fatal(err)
				}
			}
			for _, b := range toGo {
				if err := g.Apply(b); err != nil {
					t.Fatal(err)
				}
			}
			if inGo == 0 {
				t.Fatal("no edit was made in Go")
			}
			shown, _, _ := g.ReadText()
			if want := mustText(t, core); shown != want {
				t.Fatalf("the note edited in Go shows %q, the core's %q", shown, want)
			}
			if err := g.Wake(); err != nil {
				t.Fatal(err)
			}
			h1, _ := g.Heads()
			h2, _ := core.Heads()
			if got := mustText(t, g); got != shown || !SameHeads(h1, h2) {
				t.Fatalf("loaded: %q, heads %v and %v", got, h1, h2)
			}
		})
	}
}

// TestAForgedDocumentIsNotAdoptedInGo: a document whose stated heads are
// not its changes' (a peer's forgery) is not taken in Go, where edits made
// on it would name those heads as their deps; the core refuses it.
func TestAForgedDocumentIsNotAdoptedInGo(t *testing.T) {
	doc, heads := savedText(t, "shared", "hello")
	forged := bytes.Clone(doc)
	i := bytes.Index(forged, heads[0][:])
	if i < 0 {
		t.Fatal("the document does not state its head")
	}
	forged[i] ^= 1
	// A valid chunk checksum over the changed body.
	_, k := binary.Uvarint(forged[9:])
	sum := sha256.Sum256(forged[8:])
	if 9+k > len(forged) {
		t.Fatal("bad chunk")
	}
	copy(forged[4:8], sum[:4])
	joiner, _, err := Load(nil, nil, "bob")
	if err != nil {
		t.Fatal(err)
	}
	defer joiner.Close()
	err = joiner.Apply(forged)
	if err == nil {
		t.Fatalf("a forged document was taken: %d runes, awake %v", joiner.Len(), joiner.Awake())
	}
	if joiner.Len() != 0 {
		t.Fatalf("a refused document shows: %d runes", joiner.Len())
	}
}

// TestInputsThatAbortTheCoreAreNotMergedInGo feeds every kept input that
// made the core abort (on apply, on load, or on a later sync message) to a
// note edited in Go. None may be merged in Go where the core would refuse
// it: the user's edit made after it must survive the core's load, with
// nothing set aside.
func TestInputsThatAbortTheCoreAreNotMergedInGo(t *testing.T) {
	base := baseDocument(t)
	loaded, _, err := Load(base, nil, "ref")
	if err != nil {
		t.Fatal(err)
	}
	text := mustText(t, loaded)
	heads, _ := loaded.Heads()
	known := Known{Title: loaded.Title(), Text: text, Heads: heads}
	loaded.Close()
	var inputs [][]byte
	for _, dir := range []string{"aborts/apply", "aborts/load", "poison/sync"} {
		_, in := readInputs(t, filepath.Join("testdata", dir))
		inputs = append(inputs, in...)
	}
	if len(inputs) == 0 {
		t.Fatal("no kept inputs")
	}
	taken := 0
	for i, in := range inputs {
		n := LoadKnown(base, nil, "go", known)
		if err := n.WakeForEdit(); err != nil || !n.EditedInGo() {
			t.Fatalf("not edited in Go: %v", err)
		}
		if err := n.Apply(in); err == nil {
			taken++
		}
		if err := n.Splice(0, 0, "mine "); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := n.Wake(); err != nil && !IsBadInput(err) {
			t.Fatalf("input %d: load: %v", i, err)
		}
		if got := mustText(t, n); !strings.HasPrefix(got, "mine ") || len(n.SetAside()) > 0 {
			t.Fatalf("input %d: after the core's load the text is %q, %d set aside", i, got, len(n.SetAside()))
		}
		n.Close()
	}
	t.Logf("%d of %d inputs taken (by the core, as harmless)", taken, len(inputs))
}

// TestAnIdleNoteLetsGoOfItsModel: a note edited in Go, or resting, lets go
// of its text model when hibernated (it costs nothing while idle), and
// makes it again from the history for the next edit.
func TestAnIdleNoteLetsGoOfItsModel(t *testing.T) {
	doc, heads := savedText(t, "idle", "some text")
	n := LoadKnown(doc, nil, "ned", Known{Title: "idle", Text: "some text", Heads: heads})
	defer n.Close()
	if err := n.WakeForEdit(); err != nil || !n.EditedInGo() {
		t.Fatalf("not edited in Go: %v", err)
	}
	if err := n.Splice(0, 0, "more "); err != nil {
		t.Fatal(err)
	}
	if n.Hibernate() {
		t.Fatal("hibernated with an edit open")
	}
	commitBytes(t, n)
	if !n.Hibernate() || n.EditedInGo() || n.Awake() {
		t.Fatal("the idle note kept its model")
	}
	if err := n.WakeForEdit(); err != nil || !n.EditedInGo() {
		t.Fatalf("not edited in Go again: %v", err)
	}
	if got, _, _ := n.ReadText(); got != "more some text" {
		t.Fatalf("text %q", got)
	}
	// Resting: loaded, then the worker ends and the model stays; idle
	// later, it goes too.
	if err := n.Wake(); err != nil {
		t.Fatal(err)
	}
	if !n.Rest() || !n.EditedInGo() {
		t.Fatal("did not rest")
	}
	if !n.Hibernate() || n.EditedInGo() {
		t.Fatal("a resting note kept its model when hibernated")
	}
}
