package crdt

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/automerge/automerge-go"
)

func mustNew(t *testing.T, title, author string) *Note {
	t.Helper()
	n, err := New(title, author)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mustText(t *testing.T, n *Note) string {
	t.Helper()
	s, err := n.Text()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func commitBytes(t *testing.T, n *Note) []byte {
	t.Helper()
	changes, err := n.Commit()
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, c := range changes {
		out = append(out, c.Bytes...)
	}
	return out
}

func TestDocumentIDRoundTrip(t *testing.T) {
	id := NewDocumentID()
	if id[6]>>4 != 4 {
		t.Fatalf("not a v4 uuid: %x", id)
	}
	for _, s := range []string{id.String(), id.URL(), " " + id.URL() + "\n"} {
		got, err := ParseDocumentID(s)
		if err != nil || got != id {
			t.Fatalf("ParseDocumentID(%q) = %v, %v; want %v", s, got, err, id)
		}
	}
}

// base58Alphabet is bitcoin's, which bs58check uses.
const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// Every single-character typo and every swap of two neighbouring characters,
// at every position of a few fixed IDs, is refused: the checksum (or the
// length) catches it. Fixed IDs keep the test the same on every run.
func TestDocumentIDRejectsTypos(t *testing.T) {
	ids := []DocumentID{{}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	var seq DocumentID
	for i := range seq {
		seq[i] = byte(i)
	}
	ids = append(ids, seq, DocumentID{0x3a, 0x9c, 0x01, 0x77, 0xe2, 0x5b, 0x46, 0x0d, 0x8f, 0x13, 0xc4, 0x66, 0x2e, 0x90, 0xb1, 0x58})
	for _, id := range ids {
		s := id.String()
		var typos []string
		for i := 0; i < len(s); i++ {
			for _, c := range []byte(base58Alphabet) {
				if c != s[i] {
					typos = append(typos, s[:i]+string(c)+s[i+1:])
				}
			}
			if i+1 < len(s) && s[i] != s[i+1] {
				typos = append(typos, s[:i]+s[i+1:i+2]+s[i:i+1]+s[i+2:])
			}
		}
		typos = append(typos, "", "automerge:", "hello", s+"1", s[1:], s[:len(s)-1], "0"+s[1:])
		for _, bad := range typos {
			if _, err := ParseDocumentID(bad); !errors.Is(err, ErrBadDocumentID) {
				t.Errorf("ParseDocumentID(%q) (a typo of %s) = %v, want ErrBadDocumentID", bad, s, err)
			}
		}
	}
}

// A known automerge-repo document ID: bs58check of its 16 bytes.
func TestDocumentIDMatchesAutomergeRepo(t *testing.T) {
	// The 16 bytes 00..0f with the first 4 bytes of their double SHA-256
	// appended, in base58: computed independently (Python's hashlib and a
	// hand-written base58 loop), not by this package.
	const want = "1Bhh3pU9gLXZiNDL6PEa1Gs9fh"
	var id DocumentID
	for i := range id {
		id[i] = byte(i)
	}
	if got := id.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	got, err := ParseDocumentID(URLPrefix + want)
	if err != nil || got != id {
		t.Fatalf("ParseDocumentID(%q) = %x, %v; want %x", URLPrefix+want, got, err, id)
	}
}

func TestSpliceAndReadRunes(t *testing.T) {
	n := mustNew(t, "Groceries", "ann")
	steps := []Splice{{Pos: 0, Insert: "héllo wörld"}, {Pos: 5, Insert: ","}, {Pos: 7, Delete: 5, Insert: "日本"}, {Pos: 0, Delete: 1, Insert: "H"}}
	for _, s := range steps {
		if err := n.Splice(s.Pos, s.Delete, s.Insert); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := mustText(t, n), "Héllo, 日本"; got != want {
		t.Fatalf("text = %q, want %q", got, want)
	}
	if n.Len() != 9 {
		t.Fatalf("Len = %d, want 9 runes", n.Len())
	}
	if err := n.Splice(10, 0, "x"); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("splice past end: %v", err)
	}
	if err := n.Splice(8, 2, ""); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("delete past end: %v", err)
	}
}

func TestCommitCarriesAuthorAndStats(t *testing.T) {
	n := mustNew(t, "t", "ann")
	n.Commit()
	n.Splice(0, 0, "abc")
	n.Splice(3, 0, "de")
	n.Splice(0, 1, "")
	if edits, _, _ := n.Pending(); edits != 3 {
		t.Fatalf("pending = %d", edits)
	}
	changes, err := n.Commit()
	if err != nil || len(changes) != 1 {
		t.Fatalf("commit: %v %v", changes, err)
	}
	if edits, _, _ := n.Pending(); edits != 0 {
		t.Fatalf("pending after commit = %d", edits)
	}
	if again, _ := n.Commit(); len(again) != 0 {
		t.Fatalf("second commit returned %d changes", len(again))
	}
	hist, err := n.History()
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 {
		t.Fatalf("history has %d changes, want 2", len(hist))
	}
	last := hist[1]
	if last.Hash != changes[0].Hash || last.Author != "ann" || last.Added != 5 || last.Removed != 1 || !last.Known {
		t.Fatalf("last change = %+v", last)
	}
	if time.Since(last.Time) > time.Minute {
		t.Fatalf("change time %v", last.Time)
	}
}

func TestApplyConvergesAndKeepsLocalEdits(t *testing.T) {
	a := mustNew(t, "shared", "ann")
	b, _, err := Load(nil, [][]byte{commitBytes(t, a)}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	a.Splice(0, 0, "hello")
	b.Splice(0, 0, "world")
	// b has uncommitted edits when a's change arrives: they must be committed,
	// not dropped, and handed out by the next Commit.
	if err := b.Apply(commitBytes(t, a)); err != nil {
		t.Fatal(err)
	}
	if err := a.Apply(commitBytes(t, b)); err != nil {
		t.Fatal(err)
	}
	ta, tb := mustText(t, a), mustText(t, b)
	if ta != tb || len(ta) != 10 || !strings.Contains(ta, "hello") || !strings.Contains(ta, "world") {
		t.Fatalf("diverged or lost text: %q vs %q", ta, tb)
	}
}

func TestLoadSkipsBadRecordButKeepsOthers(t *testing.T) {
	a := mustNew(t, "t", "ann")
	first := commitBytes(t, a)
	a.Splice(0, 0, "kept")
	second := commitBytes(t, a)
	// automerge reports garbage loudly only on an empty document; either
	// way the records around it must load.
	n, warnings, err := Load(nil, [][]byte{[]byte("garbage"), first, []byte("more garbage"), second}, "x")
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) < 1 {
		t.Fatalf("no warning for a garbage record")
	}
	if got := mustText(t, n); got != "kept" {
		t.Fatalf("text = %q", got)
	}
	if _, _, err := Load([]byte("not automerge"), nil, "x"); err == nil {
		t.Fatal("loading a garbage snapshot succeeded")
	}
}

func TestTitle(t *testing.T) {
	n := mustNew(t, "Old", "ann")
	if err := n.SetTitle("New"); err != nil {
		t.Fatal(err)
	}
	data, _ := n.Save()
	m, _, err := Load(data, nil, "x")
	if err != nil || m.Title() != "New" {
		t.Fatalf("title after reload = %q, %v", m.Title(), err)
	}
}

func TestAtShowsThePast(t *testing.T) {
	n := mustNew(t, "v1", "ann")
	n.Splice(0, 0, "first")
	c1, _ := n.Commit()
	n.Splice(0, 5, "second")
	n.SetTitle("v2")
	n.Commit()
	title, text, err := n.At(c1[len(c1)-1].Hash)
	if err != nil || title != "v1" || text != "first" {
		t.Fatalf("At = %q %q %v", title, text, err)
	}
	if got := mustText(t, n); got != "second" {
		t.Fatalf("At changed the present: %q", got)
	}
	var bogus ChangeHash
	bogus[0] = 1
	if _, _, err := n.At(bogus); !errors.Is(err, ErrUnknownHash) {
		t.Fatalf("At(unknown) = %v", err)
	}
}

func TestMergeSameNote(t *testing.T) {
	a := mustNew(t, "t", "ann")
	a.Splice(0, 0, "base ")
	data, _ := a.Save()
	b, _, err := Load(data, nil, "bob")
	if err != nil {
		t.Fatal(err)
	}
	a.Splice(5, 0, "from a")
	b.Splice(0, 0, "from b ")
	bData, _ := b.Save()
	a.Commit()
	added, err := a.Merge(bData)
	if err != nil || added != 1 {
		t.Fatalf("merge: added %d, %v", added, err)
	}
	if got := mustText(t, a); got != "from b base from a" {
		t.Fatalf("merged text = %q", got)
	}
	// The merged-in change is handed out to be stored like a local one.
	if out, _ := a.Commit(); len(out) != 1 {
		t.Fatalf("merge produced %d changes to store", len(out))
	}
	if added, err := a.Merge(bData); err != nil || added != 0 {
		t.Fatalf("merging again: %d %v", added, err)
	}
}

func TestMergeRefusesDifferentDocument(t *testing.T) {
	a := mustNew(t, "mine", "ann")
	a.Splice(0, 0, "my text")
	b := mustNew(t, "theirs", "bob")
	b.Splice(0, 0, "their text")
	bData, _ := b.Save()
	if _, err := a.Merge(bData); !errors.Is(err, ErrDifferentDoc) {
		t.Fatalf("merge of unrelated note: %v", err)
	}
	if got := mustText(t, a); got != "my text" {
		t.Fatalf("refused merge changed the note: %q", got)
	}
}

func TestForeignDocuments(t *testing.T) {
	// A document with no "text" gets one; one whose text is a plain string
	// is refused instead of being replaced. (The fixtures are made with
	// automerge-go in the test process: they are documents another app
	// wrote.)
	other := automerge.New()
	other.RootMap().Set("other", 1)
	other.RootMap().Set(KeyTitle, "x")
	if _, err := other.Commit("other app"); err != nil {
		t.Fatal(err)
	}
	m, _, err := Load(other.Save(), nil, "a")
	if err != nil || mustText(t, m) != "" || m.HasBody() {
		t.Fatalf("doc without text: %v", err)
	}
	if err := m.Splice(0, 0, "x"); !errors.Is(err, ErrNoBody) {
		t.Fatalf("splice into a note without body: %v", err)
	}
	if err := m.EnsureBody(); err != nil {
		t.Fatal(err)
	}
	if err := m.Splice(0, 0, "x"); err != nil || mustText(t, m) != "x" {
		t.Fatalf("after EnsureBody: %v", err)
	}
	other.RootMap().Set(KeyText, "immutable")
	if _, err := other.Commit("other app"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(other.Save(), nil, "a"); !errors.Is(err, ErrNotANote) {
		t.Fatalf("string body: %v", err)
	}
}

func TestCommitPolicy(t *testing.T) {
	p := CommitPolicy{Idle: time.Second, MaxAge: 4 * time.Second, MaxEdits: 200}
	t0 := time.Unix(1000, 0)
	cases := []struct {
		name        string
		now         time.Time
		edits       int
		first, last time.Time
		due         bool
	}{
		{"nothing pending", t0.Add(time.Hour), 0, t0, t0, false},
		{"typing", t0.Add(2 * time.Second), 10, t0, t0.Add(1900 * time.Millisecond), false},
		{"pause", t0.Add(3 * time.Second), 10, t0, t0.Add(1900 * time.Millisecond), true},
		{"long burst", t0.Add(4 * time.Second), 30, t0, t0.Add(3900 * time.Millisecond), true},
		{"many edits", t0.Add(time.Millisecond), 200, t0, t0, true},
	}
	for _, c := range cases {
		if got := p.Due(c.now, c.edits, c.first, c.last); got != c.due {
			t.Errorf("%s: Due = %v, want %v", c.name, got, c.due)
		}
	}
	if w := p.Wait(t0.Add(500*time.Millisecond), 1, t0, t0.Add(200*time.Millisecond)); w != 700*time.Millisecond {
		t.Errorf("Wait = %v", w)
	}
	if !LivePolicy.Due(t0, 1, t0, t0) {
		t.Error("live policy must commit every edit")
	}
}

func TestSyncStatesConverge(t *testing.T) {
	a := mustNew(t, "t", "ann")
	a.Splice(0, 0, "from a")
	b, _, err := Load(nil, nil, "bob")
	if err != nil {
		t.Fatal(err)
	}
	b.Commit()
	sa, sb := a.NewSyncState(), b.NewSyncState()
	var got []Change
	for round := 0; round < 10; round++ {
		m1, ok1, err := a.GenerateSyncMessage(sa)
		if err != nil {
			t.Fatal(err)
		}
		if ok1 {
			c, err := b.ReceiveSyncMessage(sb, m1)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, c...)
		}
		m2, ok2, _ := b.GenerateSyncMessage(sb)
		if ok2 {
			if _, err := a.ReceiveSyncMessage(sa, m2); err != nil {
				t.Fatal(err)
			}
		}
		if !ok1 && !ok2 {
			break
		}
	}
	if mustText(t, b) != "from a" || b.Title() != "t" {
		t.Fatalf("b = %q", mustText(t, b))
	}
	if len(got) != 2 {
		t.Fatalf("b received %d changes, want 2 (create and edit)", len(got))
	}
	// A saved state survives a reload of both sides.
	saved := a.SaveSyncState(sa)
	if _, err := a.LoadSyncState(saved); err != nil {
		t.Fatal(err)
	}
	if !b.HasChange(got[0].Hash) {
		t.Fatal("HasChange false for a received change")
	}
}

// A change's counts in the history are what its ops did, whatever its
// writer put in its message.
func TestHistoryCountsWhatAChangeDid(t *testing.T) {
	n := mustNew(t, "t", "ann")
	defer n.Close()
	saved, err := n.Save()
	if err != nil {
		t.Fatal(err)
	}
	forger, err := automerge.Load(saved)
	if err != nil {
		t.Fatal(err)
	}
	v, err := forger.RootMap().Get("text")
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Text().Insert(0, "abc"); err != nil {
		t.Fatal(err)
	}
	if _, err := forger.Commit("bob: +1000 -40"); err != nil {
		t.Fatal(err)
	}
	changes, err := forger.Changes(n.LastHeads()...)
	if err != nil || len(changes) != 1 {
		t.Fatalf("forged changes: %d, %v", len(changes), err)
	}
	if err := n.Apply(changes[0].Save()); err != nil {
		t.Fatal(err)
	}
	hist, err := n.History()
	if err != nil {
		t.Fatal(err)
	}
	last := hist[len(hist)-1]
	if last.Author != "bob" || last.Added != 3 || last.Removed != 0 || !last.Known {
		t.Fatalf("forged change in the history: %+v, want author bob (as claimed), +3 -0 (as done)", last)
	}
}

// A checkpoint taken while someone types is the document it says it is:
// Verify (a fresh worker loading it) finds its heads and its text. The
// worker is answered without the note's lock, so edits land between the
// save and the digest; seeded typing moves where.
func TestCheckpointWhileTypingVerifies(t *testing.T) {
	for seed := range uint64(3) {
		n := mustNew(t, "typed into", "a")
		rng := rand.New(rand.NewPCG(seed, 7))
		stop, typed := make(chan struct{}), make(chan error, 1)
		go func() {
			defer close(typed)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := n.Splice(rng.IntN(n.Len()+1), 0, "x"); err != nil {
					typed <- err
					return
				}
				if rng.IntN(4) == 0 {
					if _, err := n.Commit(); err != nil {
						typed <- err
						return
					}
				}
				if i%8 == 0 {
					time.Sleep(time.Duration(rng.IntN(300)) * time.Microsecond)
				}
			}
		}()
		for range 12 {
			cp, err := n.Checkpoint()
			if err != nil {
				t.Fatal(err)
			}
			if err := cp.Verify(); err != nil {
				t.Fatalf("seed %d: a checkpoint taken while typing: %v", seed, err)
			}
		}
		close(stop)
		if err := <-typed; err != nil {
			t.Fatal(err)
		}
		n.Close()
	}
}

// A note made to join one (holding nothing) takes the whole document a
// peer sends without loading it in the core: it shows the text, title and
// heads at once, and the core, loading it with the first request that
// needs it, agrees; a note that holds something takes a document through
// the core as before.
func TestAnEmptyNoteAdoptsADocumentAsleep(t *testing.T) {
	doc, wantHeads := savedText(t, "shared", "hello, wörld\nsecond line")
	joiner, _, err := Load(nil, nil, "bob")
	if err != nil {
		t.Fatal(err)
	}
	defer joiner.Close()
	if _, err := joiner.Save(); err != nil { // as notebook.Join stores it: the worker is up
		t.Fatal(err)
	}
	if err := joiner.Apply(doc); err != nil {
		t.Fatal(err)
	}
	if joiner.Awake() {
		t.Fatal("the joiner loaded the document in the core to show it")
	}
	text, _ := joiner.Text()
	heads, ok := joiner.CommittedHeads()
	if text != "hello, wörld\nsecond line" || joiner.Title() != "shared" || !ok || !SameHeads(heads, wantHeads) {
		t.Fatalf("adopted: %q %q %v %v", text, joiner.Title(), heads, ok)
	}
	// The peer's heads follow the document: the note stays asleep, and
	// the state records that the two share those heads.
	st := joiner.NewSyncState()
	headsOnly := func(hs []ChangeHash) []byte {
		b := append([]byte{0x42}, byte(len(hs)))
		for _, h := range hs {
			b = append(b, h[:]...)
		}
		return append(b, 0, 0, 0)
	}
	if got, err := joiner.ReceiveSyncMessage(st, headsOnly(wantHeads)); err != nil || len(got) != 0 {
		t.Fatalf("heads-only message: %v, %d changes", err, len(got))
	}
	if joiner.Awake() || !joiner.HasChange(wantHeads[0]) || joiner.Awake() {
		t.Fatal("the peer's matching heads loaded the document")
	}
	if saved := joiner.SaveSyncState(st); !bytes.Equal(saved, sharingState(wantHeads)) {
		t.Fatalf("state after matching heads: %x", saved)
	}
	// Heads we lack go to the core (which then knows what to ask for).
	other := ChangeHash{7}
	if _, err := joiner.ReceiveSyncMessage(joiner.NewSyncState(), headsOnly([]ChangeHash{other})); err != nil {
		t.Fatal(err)
	}
	if !joiner.Awake() {
		t.Fatal("heads the note lacks were taken without the core")
	}
	if msg, ok, err := joiner.GenerateSyncMessage(st); err != nil || !ok || len(msg) == 0 {
		t.Fatalf("a sync message from the shared state: %v %v", ok, err)
	}

	// The first edit; the core's copy is the one shown.
	if err := joiner.Splice(0, 0, "> "); err != nil {
		t.Fatal(err)
	}
	if _, err := joiner.Commit(); err != nil {
		t.Fatal(err)
	}
	hist, err := joiner.History()
	if err != nil || len(hist) != 3 {
		t.Fatalf("history after the edit: %d changes, %v", len(hist), err)
	}
	if text, _ := joiner.Text(); text != "> hello, wörld\nsecond line" {
		t.Fatalf("after the edit: %q", text)
	}

	// A note that holds something merges a document in the core.
	mine := mustNew(t, "mine", "cy")
	defer mine.Close()
	if err := mine.Apply(doc); err != nil {
		t.Fatal(err)
	}
	if !mine.Awake() {
		t.Fatal("a note with history adopted a document without the core")
	}
}

// While a worker loads a note's document (seconds for a long one), the
// note still answers from Go and takes edits: they wait for no load, and
// the loaded document gets them.
func TestANoteAnswersAndTakesEditsWhileItLoads(t *testing.T) {
	big, _ := savedText(t, "big", "line one\nline two\n")
	n := LoadKnown(big, nil, "bob", Known{Title: "big", Text: "line one\nline two\n"})
	defer n.Close()
	woke, release := heldWake(t, n)
	// The load is on its way and held there: everything below would
	// deadlock if it waited for it.
	if text, _ := n.Text(); text != "line one\nline two\n" || n.Title() != "big" || !n.HasBody() {
		t.Fatalf("while loading: %q %q", text, n.Title())
	}
	if err := n.Splice(0, 0, "> "); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-woke; err != nil {
		t.Fatal(err)
	}
	if _, err := n.Commit(); err != nil {
		t.Fatal(err)
	}
	if text, _ := n.Text(); text != "> line one\nline two\n" {
		t.Fatalf("after the load: %q", text)
	}
	// The worker's copy has the edit made while it loaded, once.
	saved, err := n.Save()
	if err != nil {
		t.Fatal(err)
	}
	back, _, err := Load(saved, nil, "cy")
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if text, _ := back.Text(); text != "> line one\nline two\n" {
		t.Fatalf("the document saved after the load holds %q", text)
	}
}

// A sleeping note whose history is one saved document (a note just cut)
// is saved as stored, without loading it; once it holds more, saving
// goes through the core.
func TestASleepingNoteSavesItsStoredDocumentAsIs(t *testing.T) {
	doc, heads := savedText(t, "cut", "text at the cut")
	more, _, err := Load(doc, nil, "ann")
	if err != nil {
		t.Fatal(err)
	}
	if err := more.Splice(0, 0, "more "); err != nil {
		t.Fatal(err)
	}
	later, err := more.Commit()
	more.Close()
	if err != nil {
		t.Fatal(err)
	}

	n := LoadKnown(doc, nil, "bob", Known{Title: "cut", Text: "text at the cut", Heads: heads})
	defer n.Close()
	if err := n.ReadStored(); err != nil { // as notebook's SnapshotIn does
		t.Fatal(err)
	}
	got, gotHeads, ok := n.SaveIfCommitted()
	if !ok || !bytes.Equal(got, doc) || !SameHeads(gotHeads, heads) {
		t.Fatalf("saved %d bytes (ok=%v), heads %v", len(got), ok, gotHeads)
	}
	if n.Awake() {
		t.Fatal("saving a sleeping note's one document loaded it")
	}
	// Stated heads that are not the document's: the core saves it.
	wrong := LoadKnown(doc, nil, "bob", Known{Title: "cut", Text: "text at the cut", Heads: []ChangeHash{{1}}})
	defer wrong.Close()
	if err := wrong.ReadStored(); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := wrong.SaveIfCommitted(); !ok || !wrong.Awake() {
		t.Fatal("a note whose known heads are not its document's was saved as stored")
	}
	// More than the one document: through the core, with the change in.
	if err := n.Apply(later[0].Bytes); err != nil {
		t.Fatal(err)
	}
	got, _, ok = n.SaveIfCommitted()
	if !ok || bytes.Equal(got, doc) || !n.Awake() {
		t.Fatal("a note with a change after its document was saved as stored")
	}
}

// Closing a note while its document loads ends the load: Close does not
// wait for it, and the load's end is not taken for the document's fault
// (nothing is set aside).
func TestClosingANoteEndsItsLoad(t *testing.T) {
	doc, _ := savedText(t, "n", "some text")
	n := LoadKnown(doc, nil, "bob", Known{Title: "n", Text: "some text"})
	woke, release := heldWake(t, n)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-woke; !errors.Is(err, ErrClosed) {
		t.Fatalf("the load of a closed note ended with %v, want ErrClosed", err)
	}
	if aside := n.SetAside(); len(aside) != 0 {
		t.Fatalf("closing set aside %d records", len(aside))
	}
}

// savedText is a saved document of a note with that title and text, and
// its heads.
func savedText(t *testing.T, title, text string) ([]byte, []ChangeHash) {
	t.Helper()
	src := mustNew(t, title, "ann")
	defer src.Close()
	if err := src.Splice(0, 0, text); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Commit(); err != nil {
		t.Fatal(err)
	}
	doc, err := src.Save()
	if err != nil {
		t.Fatal(err)
	}
	heads, err := src.Heads()
	if err != nil {
		t.Fatal(err)
	}
	return doc, heads
}

// heldWake starts loading n's document and holds the load before the
// worker gets it, until release is closed; woke gets Wake's result.
func heldWake(t *testing.T, n *Note) (woke <-chan error, release chan struct{}) {
	t.Helper()
	loading, release := make(chan struct{}), make(chan struct{})
	whileLoading = func() {
		close(loading)
		<-release
	}
	t.Cleanup(func() { whileLoading = nil })
	done := make(chan error, 1)
	go func() { done <- n.Wake() }()
	<-loading
	whileLoading = nil // only the first load is held
	return done, release
}
