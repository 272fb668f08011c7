package amformat

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand"
	"testing"
	"unicode/utf8"

	"github.com/automerge/automerge-go"
)

// randomSplices makes one to three edits of a text of n runes, as an
// editor's commit holds them: typing, deleting, replacing, pasting.
func randomSplices(rng *rand.Rand, n int) []Splice {
	var out []Splice
	for range 1 + rng.Intn(3) {
		sp := Splice{Pos: rng.Intn(n + 1)}
		switch r := rng.Intn(10); {
		case r == 0 && n > sp.Pos: // a selection deleted
			sp.Delete = 1 + rng.Intn(min(300, n-sp.Pos))
		case r == 1: // a paste, across blocks of the model
			ins := make([]rune, 150+rng.Intn(200))
			for i := range ins {
				ins[i] = alphabet[rng.Intn(len(alphabet))]
			}
			sp.Insert = string(ins)
		default:
			if n > sp.Pos && rng.Intn(3) == 0 {
				sp.Delete = 1 + rng.Intn(min(4, n-sp.Pos))
			}
			ins := make([]rune, rng.Intn(4))
			for i := range ins {
				ins[i] = alphabet[rng.Intn(len(alphabet))]
			}
			sp.Insert = string(ins)
			if sp.Delete == 0 && sp.Insert == "" {
				sp.Insert = "x"
			}
		}
		n += utf8.RuneCountInString(sp.Insert) - sp.Delete
		out = append(out, sp)
	}
	return out
}

// TestCommitMakesChangesTheCoreTakes runs sessions in which some peers edit
// through Model.Commit alone (and sometimes through the core, under the same
// actor, as a note does once its document loads) and others through the
// core. Every change Commit makes must pass the strict decoder and
// re-encode to its own bytes, be taken by the core with the text the model
// shows, and merge everywhere to one text.
func TestCommitMakesChangesTheCoreTakes(t *testing.T) {
	for seed := int64(1); seed <= int64(*seeds); seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			smallBlocks(t, seed)
			runCommitSession(t, seed, *rounds)
		})
	}
}

func runCommitSession(t *testing.T, seed int64, rounds int) {
	rng := rand.New(rand.NewSource(seed))
	origin := coreNote(t, "0a")
	first, err := origin.Changes()
	if err != nil {
		t.Fatal(err)
	}
	n := 3 + rng.Intn(2)
	peers := make([]*peer, n)
	actors := make([]string, n)
	for i := range peers {
		actors[i] = fmt.Sprintf("%02x%02x", i*17%5, rng.Intn(256))
		d := automerge.New()
		if err := d.SetActorID(actors[i]); err != nil {
			t.Fatal(err)
		}
		peers[i] = &peer{doc: d, model: NewModel()}
		if !peers[i].deliver(t, first[0].Save()) {
			t.Fatal("first change refused")
		}
	}
	// Peers 0 and 1 edit in Go; the rest through the core.
	inGo := func(i int) bool { return i < 2 }
	made := 0
	for round := range rounds {
		i := rng.Intn(n)
		p := peers[i]
		switch rng.Intn(3) {
		case 0, 1:
			before := p.model.Text()
			var raw []byte
			if inGo(i) && rng.Intn(5) > 0 {
				splices := randomSplices(rng, p.model.Len())
				actor, _ := hex.DecodeString(actors[i])
				c, enc, err := p.model.Commit(ActorID(actor), splices, int64(round), "go")
				if err != nil {
					t.Fatalf("round %d: commit %+v: %v", round, splices, err)
				}
				raw = enc
				if !bytes.Equal(c.Encode(), raw) {
					t.Fatalf("round %d: the bytes Commit returns are not the change's encoding", round)
				}
				d, err := DecodeChange(raw)
				if err != nil {
					t.Fatalf("round %d: the strict decoder refuses a committed change: %v", round, err)
				}
				if !bytes.Equal(d.Encode(), raw) || d.Hash != c.Hash {
					t.Fatalf("round %d: a committed change does not re-encode to itself", round)
				}
				if err := p.doc.LoadIncremental(raw); err != nil {
					t.Fatalf("round %d: the core refuses a committed change: %v", round, err)
				}
				if got := applySplices(t, before, splices); got != p.model.Text() {
					t.Fatalf("round %d: commit of %+v shows %q, not %q", round, splices, p.model.Text(), got)
				}
				p.check(t, before, splices)
				made++
			} else {
				randomEdit(t, rng, p.doc)
				raw = p.commitCore(t, round)
			}
			broadcast(peers, p, raw)
		default:
			p.deliverSome(t, rng)
		}
	}
	quiesce(t, peers)
	for _, p := range peers[1:] {
		if p.model.Text() != peers[0].model.Text() {
			t.Fatal("peers differ after quiescence")
		}
	}
	if made == 0 {
		t.Fatal("no change was committed in Go")
	}
	// The core saves and loads a history with Go's changes in it, and a
	// model from that document agrees.
	saved := peers[0].doc.Save()
	if _, err := automerge.Load(saved); err != nil {
		t.Fatal(err)
	}
	m, err := FromDocument(saved)
	if err != nil || m.Text() != peers[0].model.Text() {
		t.Fatalf("model from the saved document: %v", err)
	}
}

func TestCommitRefusesSplicesOutOfRange(t *testing.T) {
	d := coreNote(t, "0a")
	if err := coreText(t, d).Insert(0, "hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Commit("x"); err != nil {
		t.Fatal(err)
	}
	m, err := FromDocument(d.Save())
	if err != nil {
		t.Fatal(err)
	}
	heads := m.Heads()
	for _, bad := range [][]Splice{
		{{Pos: 6, Insert: "x"}},
		{{Pos: 2, Delete: 4}},
		{{Pos: 0, Insert: "ab"}, {Pos: 0, Delete: 8}},
		{{Pos: -1}},
		{{Pos: 0, Insert: "\xff"}},
	} {
		if _, _, err := m.Commit(ActorID("\x01"), bad, 0, ""); err == nil {
			t.Fatalf("%+v: no error", bad)
		}
	}
	if m.Text() != "hello" || fmt.Sprint(m.Heads()) != fmt.Sprint(heads) {
		t.Fatal("a refused commit changed the model")
	}
	if c, _, err := m.Commit(ActorID("\x01"), []Splice{{Pos: 1}}, 0, ""); c != nil || err != nil {
		t.Fatalf("an empty commit: %v, %v", c, err)
	}
}
