package amformat

import (
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"testing"

	"github.com/automerge/automerge-go"
)

var rounds = flag.Int("amformat.rounds", 200, "rounds per seed of the randomised model tests")
var seeds = flag.Int("amformat.seeds", 4, "seeds of the randomised model tests")

// peer is one collaborator in a differential session: the core's document
// and the model that follows it.
type peer struct {
	doc     *automerge.Doc
	model   *Model
	inbox   [][]byte
	applied map[string]bool
}

func coreTitle(t testing.TB, d *automerge.Doc) string {
	v, err := d.RootMap().Get("title")
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind() == automerge.KindStr {
		return v.Str()
	}
	return ""
}

func applySplices(t testing.TB, text string, splices []Splice) string {
	t.Helper()
	r := []rune(text)
	for _, s := range splices {
		if s.Pos < 0 || s.Delete < 0 || s.Pos+s.Delete > len(r) {
			t.Fatalf("splice %+v out of range of %d runes", s, len(r))
		}
		r = append(r[:s.Pos], append([]rune(s.Insert), r[s.Pos+s.Delete:]...)...)
	}
	return string(r)
}

// deliver applies change bytes to p's model and core, checking that they
// agree; it reports false if the model says the change's deps are missing.
func (p *peer) deliver(t testing.TB, raw []byte) bool {
	t.Helper()
	c, err := DecodeChange(raw)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	before := p.model.Text()
	splices, err := p.model.Apply(c)
	if errors.Is(err, ErrMissingDeps) {
		return false
	}
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if err := p.doc.LoadIncremental(raw); err != nil {
		t.Fatalf("core rejects: %v", err)
	}
	p.check(t, before, splices)
	return true
}

func (p *peer) check(t testing.TB, before string, splices []Splice) {
	t.Helper()
	if err := p.model.checkLayout(); err != nil {
		t.Fatal(err)
	}
	want, err := coreText(t, p.doc).Get()
	if err != nil {
		t.Fatal(err)
	}
	if got := p.model.Text(); got != want {
		t.Fatalf("model text %q\ncore text  %q", got, want)
	}
	if got := applySplices(t, before, splices); got != want {
		t.Fatalf("splices %+v turn %q into %q, not %q", splices, before, got, want)
	}
	if got, want := p.model.Title(), coreTitle(t, p.doc); got != want {
		t.Fatalf("model title %q, core %q", got, want)
	}
	if p.model.Len() != len([]rune(want)) {
		t.Fatalf("model length %d, text has %d runes", p.model.Len(), len([]rune(want)))
	}
	heads := p.doc.Heads()
	mh := p.model.Heads()
	if len(heads) != len(mh) {
		t.Fatalf("model heads %v, core %v", mh, heads)
	}
	for i := range heads {
		if Hash(heads[i]) != mh[i] {
			t.Fatalf("model heads %v, core %v", mh, heads)
		}
	}
}

var alphabet = []rune("abcdefghij \nééü😀字\x7f")

func randomEdit(t testing.TB, rng *rand.Rand, d *automerge.Doc) {
	t.Helper()
	txt := coreText(t, d)
	n := txt.Len()
	switch r := rng.Intn(40); {
	case r < 2:
		if err := d.RootMap().Set("title", fmt.Sprintf("title %d", rng.Intn(1000))); err != nil {
			t.Fatal(err)
		}
	case r == 2:
		// A paste, in one change, across several blocks of the model.
		paste := make([]rune, 200+rng.Intn(300))
		for i := range paste {
			paste[i] = alphabet[rng.Intn(len(alphabet))]
		}
		if err := txt.Insert(rng.Intn(n+1), string(paste)); err != nil {
			t.Fatal(err)
		}
	case r == 3 && n > 0:
		// Deleting a selection.
		pos := rng.Intn(n)
		if err := txt.Delete(pos, 1+rng.Intn(min(300, n-pos))); err != nil {
			t.Fatal(err)
		}
	default:
		pos := rng.Intn(n + 1)
		del := 0
		if n > pos && rng.Intn(3) == 0 {
			del = rng.Intn(min(4, n-pos)) + 1
		}
		ins := make([]rune, rng.Intn(4))
		for i := range ins {
			ins[i] = alphabet[rng.Intn(len(alphabet))]
		}
		if del == 0 && len(ins) == 0 {
			ins = []rune{'x'}
		}
		if err := txt.Splice(pos, del, string(ins)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestModelMatchesCoreInRandomSessions(t *testing.T) {
	for seed := int64(1); seed <= int64(*seeds); seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			smallBlocks(t, seed)
			runSession(t, seed, *rounds)
		})
	}
}

// smallBlocks makes the model's blocks and index chunks tiny for odd
// seeds, so that sessions split blocks, the runs of op IDs within them and
// the index's spans, all the time.
func smallBlocks(t *testing.T, seed int64) {
	if seed%2 == 0 {
		return
	}
	savedBlock, savedChunk := blockSize, indexChunkBits
	blockSize, indexChunkBits = 4+int(seed%5), 1+int(seed%3)
	t.Cleanup(func() { blockSize, indexChunkBits = savedBlock, savedChunk })
}

func runSession(t *testing.T, seed int64, rounds int) {
	rng := rand.New(rand.NewSource(seed))
	n := 3 + rng.Intn(3)
	peers := make([]*peer, n)
	origin := coreNote(t, fmt.Sprintf("%02x", rng.Intn(256)))
	first, err := origin.Changes()
	if err != nil {
		t.Fatal(err)
	}
	for i := range peers {
		d := automerge.New()
		// Actor IDs with shared prefixes and varied lengths, to exercise
		// the byte order of concurrent inserts.
		if err := d.SetActorID(fmt.Sprintf("%02x%02x", i*17%5, rng.Intn(256))); err != nil {
			t.Fatal(err)
		}
		peers[i] = &peer{doc: d, model: NewModel()}
		if !peers[i].deliver(t, first[0].Save()) {
			t.Fatal("first change refused")
		}
	}
	all := peers
	for round := 0; round < rounds; round++ {
		if round == rounds/2 {
			// A peer that joins from peer 0's saved document: its model is
			// built from the document, and the changes it has not seen
			// (some concurrent with old history) follow.
			saved := peers[0].doc.Save()
			d, err := automerge.Load(saved)
			if err != nil {
				t.Fatal(err)
			}
			d.SetActorID("ff")
			m, err := FromDocument(saved)
			if err != nil {
				t.Fatal(err)
			}
			obs := &peer{doc: d, model: m, inbox: append([][]byte(nil), peers[0].inbox...)}
			obs.check(t, m.Text(), nil)
			all = append(append([]*peer(nil), peers...), obs)
		}
		p := all[rng.Intn(len(all))]
		switch rng.Intn(3) {
		case 0, 1:
			// A local edit: the change goes to the model, then to everyone.
			randomEdit(t, rng, p.doc)
			broadcast(all, p, p.commitCore(t, round))
		default:
			p.deliverSome(t, rng)
		}
	}
	peers = all
	quiesce(t, peers)
	for _, p := range peers[1:] {
		if p.model.Text() != peers[0].model.Text() {
			t.Fatal("peers differ after quiescence")
		}
	}
	// A model built from the saved document agrees, and applies further
	// changes.
	saved := peers[0].doc.Save()
	m, err := FromDocument(saved)
	if err != nil {
		t.Fatal(err)
	}
	if m.Text() != peers[0].model.Text() || m.Title() != peers[0].model.Title() {
		t.Fatalf("model from the document: %q / %q", m.Text(), m.Title())
	}
	mh, ph := m.Heads(), peers[0].model.Heads()
	if fmt.Sprint(mh) != fmt.Sprint(ph) {
		t.Fatalf("heads from the document %v, model %v", mh, ph)
	}
}

// commitCore commits p's core document, applies the change to p's model
// (checking the two agree) and returns its bytes.
func (p *peer) commitCore(t testing.TB, round int) []byte {
	t.Helper()
	before := p.model.Text()
	h, err := p.doc.Commit("edit")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := p.doc.Change(h)
	if err != nil {
		t.Fatal(err)
	}
	raw := ch.Save()
	c, err := DecodeChange(raw)
	if err != nil {
		t.Fatal(err)
	}
	splices, err := p.model.Apply(c)
	if err != nil {
		t.Fatalf("round %d: own change: %v", round, err)
	}
	p.check(t, before, splices)
	return raw
}

// broadcast puts a change from p in every other peer's inbox.
func broadcast(peers []*peer, from *peer, raw []byte) {
	for _, q := range peers {
		if q != from {
			q.inbox = append(q.inbox, raw)
		}
	}
}

// deliverSome delivers part of p's inbox in a random order; changes whose
// deps have not arrived wait.
func (p *peer) deliverSome(t testing.TB, rng *rand.Rand) {
	t.Helper()
	rng.Shuffle(len(p.inbox), func(i, j int) { p.inbox[i], p.inbox[j] = p.inbox[j], p.inbox[i] })
	k := rng.Intn(len(p.inbox) + 1)
	var left [][]byte
	for i, raw := range p.inbox {
		if i >= k || !p.deliver(t, raw) {
			left = append(left, raw)
		}
	}
	p.inbox = left
}

// quiesce delivers everything: every peer gets every change.
func quiesce(t testing.TB, peers []*peer) {
	t.Helper()
	for _, p := range peers {
		for len(p.inbox) > 0 {
			var left [][]byte
			for _, raw := range p.inbox {
				if !p.deliver(t, raw) {
					left = append(left, raw)
				}
			}
			if len(left) == len(p.inbox) {
				t.Fatalf("%d changes never became ready", len(left))
			}
			p.inbox = left
		}
	}
}
