package amformat

import (
	"bytes"
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/automerge/automerge-go"
)

// epochSession runs a seeded session of peers editing one note in the
// core, with partial syncs, and returns every change (in the core's
// order) and H: peer 0's heads partway through. With oneLate only peer 0
// edits after H, so nothing late is concurrent with anything else late.
func epochSession(t *testing.T, seed int64, oneLate bool) (history []*Change, heads []Hash) {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	origin := coreNote(t, "00")
	first, err := origin.Changes()
	if err != nil {
		t.Fatal(err)
	}
	n := 3 + rng.Intn(2)
	docs := make([]*automerge.Doc, n)
	for i := range docs {
		docs[i] = automerge.New()
		if err := docs[i].SetActorID(fmt.Sprintf("%02x%02x", i+1, rng.Intn(256))); err != nil {
			t.Fatal(err)
		}
		if err := docs[i].LoadIncremental(first[0].Save()); err != nil {
			t.Fatal(err)
		}
	}
	merge := func(a, b *automerge.Doc) {
		if _, err := a.Merge(b); err != nil {
			t.Fatal(err)
		}
	}
	rounds := 60 + rng.Intn(60)
	for round := range 2 * rounds {
		if round == rounds {
			if oneLate {
				// Everything so far reaches peer 0 before H: only what
				// peer 0 types from here on is late.
				for _, d := range docs[1:] {
					merge(docs[0], d)
				}
			}
			for _, h := range docs[0].Heads() {
				heads = append(heads, Hash(h))
			}
		}
		i := rng.Intn(n)
		if round >= rounds && oneLate {
			i = 0
		}
		if j := rng.Intn(n); j != i && rng.Intn(4) == 0 && !(round >= rounds && oneLate) {
			merge(docs[i], docs[j])
			continue
		}
		randomEdit(t, rng, docs[i])
		if _, err := docs[i].Commit("edit"); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range docs[1:] {
		merge(docs[0], d)
	}
	all, err := docs[0].Changes()
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range all {
		c, err := DecodeChange(ch.Save())
		if err != nil {
			t.Fatal(err)
		}
		history = append(history, c)
	}
	return history, heads
}

// textOfHistory is the note's text once every change is in.
func textOfHistory(t *testing.T, history []*Change) (title, text string) {
	t.Helper()
	m := NewModel()
	for _, c := range history {
		if _, err := m.Apply(c); err != nil {
			t.Fatal(err)
		}
	}
	return m.Title(), m.Text()
}

// shuffledOrder is a random order of changes in which each comes after
// its deps.
func shuffledOrder(rng *rand.Rand, changes []*Change) []*Change {
	byHash := map[Hash]bool{}
	for _, c := range changes {
		byHash[c.Hash] = true
	}
	placed := map[Hash]bool{}
	left := slices.Clone(changes)
	var out []*Change
	for len(left) > 0 {
		var ready []int
		for i, c := range left {
			ok := true
			for _, d := range c.Deps {
				if byHash[d] && !placed[d] {
					ok = false
					break
				}
			}
			if ok {
				ready = append(ready, i)
			}
		}
		i := ready[rng.Intn(len(ready))]
		out = append(out, left[i])
		placed[left[i].Hash] = true
		left = slices.Delete(left, i, i+1)
	}
	return out
}

func sortedRunes(s string) string {
	r := []rune(s)
	slices.Sort(r)
	return string(r)
}

// A new epoch holds the text at H in one deterministic root; every late
// change translates to the same bytes whatever order a peer meets the late
// changes in; the core takes root and translations, agrees with the model,
// and saves a document that loads back with the same heads; and the text
// holds exactly the characters of the old epoch with every change in
// (in the same order when the late changes were not concurrent).
func TestEpochTranslatesLateChangesAlikeEverywhere(t *testing.T) {
	for seed := int64(1); seed <= int64(2**seeds); seed++ {
		oneLate := seed%2 == 0
		t.Run(fmt.Sprintf("seed%d/oneLate=%v", seed, oneLate), func(t *testing.T) {
			smallBlocks(t, seed/2)
			history, heads := epochSession(t, seed, oneLate)
			wantTitle, wantText := textOfHistory(t, history)
			actor := EpochActor([]byte("note"), 1, heads)
			e, late, err := StartEpoch(actor, history, heads)
			if err != nil {
				t.Fatal(err)
			}
			if len(late) == 0 {
				t.Fatal("the session made no late changes")
			}

			// Another peer: holds H when it switches, then meets the late
			// changes one by one in another order.
			rng := rand.New(rand.NewSource(seed))
			var covered, lateOrig []*Change
			for _, c := range history {
				if e.Covers(c.Hash) {
					covered = append(covered, c)
				} else {
					lateOrig = append(lateOrig, c)
				}
			}
			e2, none, err := StartEpoch(actor, covered, heads)
			if err != nil {
				t.Fatal(err)
			}
			if len(none) != 0 || !bytes.Equal(e2.Root.Encode(), e.Root.Encode()) {
				t.Fatal("two peers build different roots")
			}
			for _, c := range shuffledOrder(rng, lateOrig) {
				got, err := e2.Translate(c)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := e.Translated(c.Hash)
				if !bytes.Equal(got.Encode(), want.Encode()) {
					t.Fatalf("late change %v translates differently in another order", short(c.Hash))
				}
			}

			// The core takes them.
			doc := automerge.New()
			m := NewModel()
			for _, c := range append([]*Change{e.Root}, late...) {
				if _, err := m.Apply(c); err != nil {
					t.Fatalf("model refuses %v: %v", short(c.Hash), err)
				}
				if err := doc.LoadIncremental(c.Encode()); err != nil {
					t.Fatalf("core refuses %v: %v", short(c.Hash), err)
				}
			}
			p := &peer{doc: doc, model: m}
			p.check(t, m.Text(), nil)
			reloaded, err := automerge.Load(doc.Save())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(reloaded.Heads(), doc.Heads()) {
				t.Fatal("the saved epoch loads back with other heads")
			}

			gotText := m.Text()
			if sortedRunes(gotText) != sortedRunes(wantText) {
				t.Fatalf("characters differ:\nnew epoch %q\nold epoch %q", gotText, wantText)
			}
			if oneLate && gotText != wantText {
				t.Fatalf("text differs:\nnew epoch %q\nold epoch %q", gotText, wantText)
			}
			// Concurrent renames are a register's conflict: its winner goes
			// by op IDs, which translation changes, so with concurrent
			// late changes either rename may win (alike on every peer).
			if oneLate && m.Title() != wantTitle {
				t.Fatalf("title %q, want %q", m.Title(), wantTitle)
			}
		})
	}
}

// downwardClosed splits changes (each after its deps) into a random
// prefix closed under deps and the rest.
func downwardClosed(rng *rand.Rand, changes []*Change) (early, rest []*Change) {
	in := map[Hash]bool{}
	byHash := map[Hash]bool{}
	for _, c := range changes {
		byHash[c.Hash] = true
	}
	for _, c := range changes {
		ok := rng.Intn(2) == 0
		for _, d := range c.Deps {
			if byHash[d] && !in[d] {
				ok = false
			}
		}
		if ok {
			in[c.Hash] = true
			early = append(early, c)
		} else {
			rest = append(rest, c)
		}
	}
	return early, rest
}

// Late changes of epoch 0 that arrive only after a second switch go
// through epoch 1 into epoch 2, alike on two peers that meet them in
// different orders; the core takes the result, and it holds exactly the
// characters of epoch 1 with every change in.
func TestEpochLateChangesCrossTwoSwitches(t *testing.T) {
	for seed := int64(1); seed <= int64(*seeds); seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			smallBlocks(t, seed)
			rng := rand.New(rand.NewSource(seed))
			history0, h1 := epochSession(t, seed, false)
			actor1 := EpochActor([]byte("note"), 1, h1)
			probe, _, err := StartEpoch(actor1, history0, h1)
			if err != nil {
				t.Fatal(err)
			}
			var covered0, late0 []*Change
			for _, c := range history0 {
				if probe.Covers(c.Hash) {
					covered0 = append(covered0, c)
				} else {
					late0 = append(late0, c)
				}
			}
			early, veryLate := downwardClosed(rng, late0)
			if len(veryLate) == 0 {
				t.Skip("nothing arrives very late with this seed")
			}

			// Epoch 1: H1, the early late changes, then edits made in it.
			e1, t1, err := StartEpoch(actor1, append(slices.Clone(covered0), early...), h1)
			if err != nil {
				t.Fatal(err)
			}
			doc1 := automerge.New()
			doc1.SetActorID("e1e1")
			for _, c := range append([]*Change{e1.Root}, t1...) {
				if err := doc1.LoadIncremental(c.Encode()); err != nil {
					t.Fatal(err)
				}
			}
			for range 40 {
				randomEdit(t, rng, doc1)
				if _, err := doc1.Commit("epoch 1 edit"); err != nil {
					t.Fatal(err)
				}
			}
			var history1 []*Change
			all1, err := doc1.Changes()
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range all1 {
				c, err := DecodeChange(ch.Save())
				if err != nil {
					t.Fatal(err)
				}
				history1 = append(history1, c)
			}
			var h2 []Hash
			for _, h := range doc1.Heads() {
				h2 = append(h2, Hash(h))
			}
			actor2 := EpochActor([]byte("note"), 2, h2)

			// Two peers at epoch 2 meet the very late changes in two orders.
			var results [2]map[Hash][]byte
			var epoch2 *Epoch
			for p := range results {
				e1p, _, err := StartEpoch(actor1, append(slices.Clone(covered0), early...), h1)
				if err != nil {
					t.Fatal(err)
				}
				e2p, none, err := StartEpoch(actor2, history1, h2)
				if err != nil || len(none) != 0 {
					t.Fatalf("%v, %d late", err, len(none))
				}
				results[p] = map[Hash][]byte{}
				for _, c := range shuffledOrder(rng, veryLate) {
					c1, err := e1p.Translate(c)
					if err != nil {
						t.Fatal(err)
					}
					c2, err := e2p.Translate(c1)
					if err != nil {
						t.Fatal(err)
					}
					results[p][c.Hash] = c2.Encode()
				}
				epoch2 = e2p
			}
			for h, b := range results[0] {
				if !bytes.Equal(results[1][h], b) {
					t.Fatalf("late change %v reaches epoch 2 differently in another order", short(h))
				}
			}

			// What epoch 1 would hold with every change in.
			want := NewModel()
			for _, c := range history1 {
				if _, err := want.Apply(c); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range veryLate {
				c1, _ := e1.Translate(c)
				if _, err := want.Apply(c1); err != nil {
					t.Fatal(err)
				}
			}
			doc2 := automerge.New()
			m := NewModel()
			final := []*Change{epoch2.Root}
			for _, c := range shuffledOrder(rng, veryLate) {
				c2, _ := DecodeChange(results[0][c.Hash])
				final = append(final, c2)
			}
			for _, c := range shuffledOrder(rng, final) {
				if _, err := m.Apply(c); err != nil {
					t.Fatalf("model refuses %v: %v", short(c.Hash), err)
				}
				if err := doc2.LoadIncremental(c.Encode()); err != nil {
					t.Fatal(err)
				}
			}
			(&peer{doc: doc2, model: m}).check(t, m.Text(), nil)
			if sortedRunes(m.Text()) != sortedRunes(want.Text()) {
				t.Fatalf("characters differ:\nepoch 2 %q\nepoch 1 %q", m.Text(), want.Text())
			}
		})
	}
}

// A late change the epoch before refuses (here: a sequence number that
// skips ahead) is an error and leaves the epoch as it was: the real late
// changes still translate to the same bytes.
func TestEpochRefusedLateChangeChangesNothing(t *testing.T) {
	history, heads := epochSession(t, 3, false)
	actor := EpochActor([]byte("note"), 1, heads)
	want, _, err := StartEpoch(actor, history, heads)
	if err != nil {
		t.Fatal(err)
	}
	var covered, late []*Change
	for _, c := range history {
		if want.Covers(c.Hash) {
			covered = append(covered, c)
		} else {
			late = append(late, c)
		}
	}
	e, _, err := StartEpoch(actor, covered, heads)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range late {
		bad, err := DecodeChange(c.Encode())
		if err != nil {
			t.Fatal(err)
		}
		bad.Seq += 100
		bad.Rehash()
		if _, err := e.Translate(bad); err == nil {
			t.Fatalf("a change with seq %d was translated", bad.Seq)
		}
		got, err := e.Translate(c)
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := want.Translated(c.Hash)
		if !bytes.Equal(got.Encode(), ref.Encode()) {
			t.Fatalf("after a refused change, late change %v translates differently", short(c.Hash))
		}
	}
}
