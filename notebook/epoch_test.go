package notebook

import (
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// typeInto makes n edits of the note, each committed and stored on its own
// (the keystroke-level history live co-editing leaves).
func typeInto(t *testing.T, rng *rand.Rand, note *Note, edits int) {
	t.Helper()
	for range edits {
		n := note.Len()
		pos := rng.Intn(n + 1)
		del := 0
		if n > pos && rng.Intn(4) == 0 {
			del = 1
		}
		if err := note.Splice(pos, del, string(rune('a'+rng.Intn(26)))); err != nil {
			t.Fatal(err)
		}
		if _, err := note.Flush(); err != nil {
			t.Fatal(err)
		}
	}
}

// A new epoch keeps the title and text, costs what the text costs (one
// change), and History and At still reach every version before it, across
// two epochs and a reopen.
func TestStartEpochKeepsTextAndReachesBack(t *testing.T) {
	dir := t.TempDir()
	book := openNB(t, dir, "ann")
	created, err := book.Create("long note")
	if err != nil {
		t.Fatal(err)
	}
	id := created.ID
	created.Close()
	note := openNote(t, book, id)
	rng := rand.New(rand.NewSource(1))
	typeInto(t, rng, note, 300)
	before := text(t, note)
	histBefore, err := note.History()
	if err != nil {
		t.Fatal(err)
	}
	mid := histBefore[len(histBefore)/2]
	_, midText, err := note.At(mid.Hash)
	if err != nil {
		t.Fatal(err)
	}

	e, err := note.StartEpoch()
	if err != nil {
		t.Fatal(err)
	}
	if e.Number != 1 {
		t.Fatalf("epoch %d", e.Number)
	}
	if got := text(t, note); got != before || note.Title() != "long note" {
		t.Fatalf("after the cut the note reads %q %q", note.Title(), got)
	}
	typeInto(t, rng, note, 50)
	if _, err := note.StartEpoch(); err != nil {
		t.Fatal(err)
	}
	typeInto(t, rng, note, 20)
	final := text(t, note)
	note.Close()

	again := openNote(t, book, id)
	if got := text(t, again); got != final {
		t.Fatalf("reopened: %q, want %q", got, final)
	}
	if e, _ := again.Epoch(); e.Number != 2 {
		t.Fatalf("reopened in epoch %d", e.Number)
	}
	hist, err := again.History()
	if err != nil {
		t.Fatal(err)
	}
	// Every change before, the roots of epochs 1 and 2, and the edits since.
	if want := len(histBefore) + 1 + 50 + 1 + 20; len(hist) != want {
		t.Fatalf("history has %d changes, want %d", len(hist), want)
	}
	roots := 0
	for _, h := range hist {
		if h.BeginsEpoch {
			roots++
		}
	}
	if roots != 2 || hist[0].Epoch != 0 || hist[len(hist)-1].Epoch != 2 {
		t.Fatalf("%d epoch roots; first change in epoch %d, last in %d", roots, hist[0].Epoch, hist[len(hist)-1].Epoch)
	}
	if _, got, err := again.At(mid.Hash); err != nil || got != midText {
		t.Fatalf("a version from epoch 0: %q, %v; want %q", got, err, midText)
	}
	if _, got, err := again.At(e.Root); err != nil || got != before {
		t.Fatalf("epoch 1's root: %q, %v; want %q", got, err, before)
	}
}

// Another process with the note open follows a new epoch: what it had
// committed but not stored when the epoch began (typed meanwhile) is
// translated into the new epoch, at the same place, and nothing is lost
// or doubled.
func TestAnotherProcessFollowsANewEpoch(t *testing.T) {
	dir := t.TempDir()
	a, b := openNB(t, dir, "ann"), openNB(t, dir, "bob")
	created, err := a.Create("n")
	if err != nil {
		t.Fatal(err)
	}
	id := created.ID
	created.Close()
	na, nbob := openNote(t, a, id), openNote(t, b, id)
	rng := rand.New(rand.NewSource(2))
	typeInto(t, rng, na, 100)
	if _, err := nbob.Refresh(); err != nil {
		t.Fatal(err)
	}
	base := text(t, nbob)
	// bob types; his edit is committed in his document, not yet stored.
	pos := len([]rune(base)) / 2
	if err := nbob.Splice(pos, 0, "BOB"); err != nil {
		t.Fatal(err)
	}
	if _, err := na.StartEpoch(); err != nil {
		t.Fatal(err)
	}
	if _, err := nbob.Flush(); err != nil {
		t.Fatal(err)
	}
	r := []rune(base)
	want := string(r[:pos]) + "BOB" + string(r[pos:])
	if got := text(t, nbob); got != want {
		t.Fatalf("bob's copy reads %q, want %q", got, want)
	}
	if e, _ := nbob.Epoch(); e.Number != 1 {
		t.Fatalf("bob is in epoch %d", e.Number)
	}
	if _, err := na.Refresh(); err != nil {
		t.Fatal(err)
	}
	if got := text(t, na); got != want {
		t.Fatalf("ann's copy reads %q, want %q", got, want)
	}
	if strings.Count(text(t, na), "BOB") != 1 {
		t.Fatal("bob's edit is doubled")
	}
}

// A note shared with peers keeps its one document: a peer in the epoch
// before would otherwise send its history back.
func TestStartEpochRefusesASharedNote(t *testing.T) {
	book := openNB(t, t.TempDir(), "ann")
	created, err := book.Create("n")
	if err != nil {
		t.Fatal(err)
	}
	defer created.Close()
	if err := created.RememberPeer(KnownPeer{ID: "12D3KooWPeer", Name: "bob"}); err != nil {
		t.Fatal(err)
	}
	if _, err := created.StartEpoch(); !errors.Is(err, ErrShared) {
		t.Fatalf("StartEpoch on a shared note: %v", err)
	}
}

// Several processes type into one note while one of them cuts its history
// again and again, with edits left unstored across cuts (each process
// stores when it happens to): after everyone has stored and looked,
// every copy reads the same, and every character typed is there once.
func TestEpochsWithSeveralProcessesKeepEveryCharacter(t *testing.T) {
	for seed := int64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			dir := t.TempDir()
			first := openNB(t, dir, "p0")
			created, err := first.Create("n")
			if err != nil {
				t.Fatal(err)
			}
			id := created.ID
			created.Close()
			procs := []*Note{openNote(t, first, id)}
			for i := 1; i < 3; i++ {
				procs = append(procs, openNote(t, openNB(t, dir, fmt.Sprint("p", i)), id))
			}
			next := rune(0x4E00) // each typed character is unique
			cuts := 0
			for range 300 {
				p := procs[rng.Intn(len(procs))]
				switch r := rng.Intn(20); {
				case r < 12:
					if err := p.Splice(rng.Intn(p.Len()+1), 0, string(next)); err != nil {
						t.Fatal(err)
					}
					next++
				case r < 16:
					if _, err := p.Flush(); err != nil {
						t.Fatal(err)
					}
				case r < 19:
					if _, err := p.Refresh(); err != nil {
						t.Fatal(err)
					}
				default:
					if _, err := p.StartEpoch(); err != nil {
						t.Fatal(err)
					}
					cuts++
				}
			}
			for range 2 {
				for _, p := range procs {
					if _, err := p.Flush(); err != nil {
						t.Fatal(err)
					}
					if _, err := p.Refresh(); err != nil {
						t.Fatal(err)
					}
				}
			}
			want := text(t, procs[0])
			for i, p := range procs[1:] {
				if got := text(t, p); got != want {
					t.Fatalf("process %d reads %q, process 0 %q", i+1, got, want)
				}
			}
			for c := rune(0x4E00); c < next; c++ {
				if n := strings.Count(want, string(c)); n != 1 {
					t.Fatalf("character %d of %d appears %d times (%d cuts)", c-0x4E00, next-0x4E00, n, cuts)
				}
			}
			if cuts == 0 {
				t.Fatal("no cut happened")
			}
			t.Logf("%d characters, %d cuts", next-0x4E00, cuts)
		})
	}
}
