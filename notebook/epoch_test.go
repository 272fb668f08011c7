package notebook

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/collab-editor/collab/crdt"
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

// A note shared with a peer not known to follow epochs (automerge-repo,
// an older collab) keeps its one document; one whose peers all follow
// them may be cut.
func TestStartEpochRefusesANoteSharedWithAPeerThatCannotFollow(t *testing.T) {
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
		t.Fatalf("StartEpoch on a note shared with a peer that cannot follow: %v", err)
	}
	if err := created.RememberPeer(KnownPeer{ID: "12D3KooWPeer", Epochs: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := created.StartEpoch(); err != nil {
		t.Fatalf("StartEpoch on a note shared with a peer that follows: %v", err)
	}
}

// Bob typed while offline; ann cut the note meanwhile. Bob follows her
// epoch (the same root), his offline line is translated into it, and once
// ann has his translations both copies read the same, with every line once;
// both still list the history before the cut. A joiner adopts the epoch.
func TestFollowEpochKeepsOfflineEdits(t *testing.T) {
	ann := openNB(t, t.TempDir(), "ann")
	bob := openNB(t, t.TempDir(), "bob")
	a, err := ann.Create("plan")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.Append("shared line\n"))
	_, err = a.Flush()
	must(err)
	saved, err := a.Save()
	must(err)
	b, err := bob.Import(a.ID, saved)
	must(err)
	defer b.Close()
	must(b.Append("bob offline\n"))
	_, err = b.Flush()
	must(err)
	must(a.Append("ann before the cut\n"))
	_, err = a.Flush()
	must(err)
	e, err := a.StartEpoch()
	must(err)

	// Bob lacks ann's last change: he cannot cut where she did.
	if err := b.FollowEpoch(e); !errors.Is(err, crdt.ErrNotCovered) {
		t.Fatalf("following without the heads: %v", err)
	}
	archive, err := a.log.Archive(0)
	must(err)
	_, err = b.Merge(archive)
	must(err)
	forged := e
	forged.Root[1] ^= 1
	if err := b.FollowEpoch(forged); !errors.Is(err, crdt.ErrEpochMismatch) {
		t.Fatalf("following a forged root: %v", err)
	}
	must(b.FollowEpoch(e))
	if got, _ := b.Epoch(); got.Root != e.Root {
		t.Fatalf("bob is in %+v, ann began %+v", got, e)
	}
	// Bob's translated line goes to ann as any change does.
	bobDoc, err := b.Save()
	must(err)
	_, err = a.Merge(bobDoc)
	must(err)
	want, _ := a.Text()
	for _, line := range []string{"shared line\n", "ann before the cut\n", "bob offline\n"} {
		if strings.Count(want, line) != 1 {
			t.Errorf("ann reads %q: %q is not there once", want, line)
		}
	}
	if text, _ := b.Text(); text != want {
		t.Errorf("bob reads %q, ann %q", text, want)
	}
	for who, n := range map[string]*Note{"ann": a, "bob": b} {
		hist, err := n.History()
		must(err)
		var before, after int
		for _, h := range hist {
			if h.Epoch == 0 {
				before++
			} else {
				after++
			}
		}
		// ann: her history before the cut; both: the root and bob's line.
		if before < 2 || after < 2 {
			t.Errorf("%s's history lists %d changes before the cut and %d after", who, before, after)
		}
	}

	// A joiner of epoch 1 starts empty, adopts it, then takes the epoch's
	// document; its history begins with the epoch.
	cy := openNB(t, t.TempDir(), "cy")
	c, err := cy.Join(a.ID)
	must(err)
	defer c.Close()
	must(c.AdoptEpoch(e))
	annDoc, err := a.Save()
	must(err)
	must(c.ApplyRemote("ann", annDoc))
	if got, _ := c.Epoch(); got.Number != 1 {
		t.Fatalf("the joiner is in epoch %d", got.Number)
	}
	if text, _ := c.Text(); text != want {
		t.Errorf("the joiner reads %q", text)
	}
	if _, err := c.History(); err != nil {
		t.Errorf("the joiner's history: %v", err)
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

// Bytes of an epoch the note has left are refused whole: a peer's change
// or sync message made before a cut never reaches the new epoch's
// document (that would merge two documents), and nothing is applied.
func TestBytesOfAnotherEpochAreRefused(t *testing.T) {
	ann := openNB(t, t.TempDir(), "ann")
	bob := openNB(t, t.TempDir(), "bob")
	a, err := ann.Create("plan")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Append("one\n"); err != nil {
		t.Fatal(err)
	}
	saved, err := a.Save()
	if err != nil {
		t.Fatal(err)
	}
	b, err := bob.Import(a.ID, saved)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Append("bob in epoch 0\n"); err != nil {
		t.Fatal(err)
	}
	changes, err := b.Flush()
	if err != nil || len(changes) == 0 {
		t.Fatalf("bob's change: %v, %v", changes, err)
	}
	if _, err := a.StartEpoch(); err != nil {
		t.Fatal(err)
	}
	if err := a.ApplyRemoteIn(0, "bob", changes[0].Bytes); !errors.Is(err, ErrOtherEpoch) {
		t.Errorf("a change of epoch 0 after the cut: %v, want ErrOtherEpoch", err)
	}
	msg, _, ok, err := b.GenerateSyncIn(b.NewSyncState())
	if err != nil || !ok {
		t.Fatalf("bob's sync message: %v %v", ok, err)
	}
	if err := a.ReceiveSyncIn(0, "bob", a.NewSyncState(), msg); !errors.Is(err, ErrOtherEpoch) {
		t.Errorf("a sync message of epoch 0 after the cut: %v, want ErrOtherEpoch", err)
	}
	if text, _ := a.Text(); text != "one\n" {
		t.Errorf("ann reads %q after refusing bob's bytes", text)
	}
}

// A note not loaded for editing is cut from its stored history in Go,
// without loading it in the core (which a history of a million keystrokes
// does not fit in): the text, the history reaching back through the
// archive (a snapshot and the records after it) and later edits are as
// for a loaded note.
func TestStartEpochOfAnUnloadedNote(t *testing.T) {
	dir := t.TempDir()
	book := openNB(t, dir, "ann")
	created, err := book.Create("long note")
	if err != nil {
		t.Fatal(err)
	}
	id := created.ID
	created.Close()
	note := openNote(t, book, id)
	rng := rand.New(rand.NewSource(2))
	typeInto(t, rng, note, 150)
	note.mu.Lock()
	if err := note.compactLocked(); err != nil { // a snapshot, then records
		t.Fatal(err)
	}
	note.mu.Unlock()
	typeInto(t, rng, note, 150)
	before := text(t, note)
	histBefore, err := note.History()
	if err != nil {
		t.Fatal(err)
	}
	mid := histBefore[len(histBefore)*3/4]
	_, midText, err := note.At(mid.Hash)
	if err != nil {
		t.Fatal(err)
	}
	note.Close()

	unloaded, warnings, err := book.OpenNoteUnloaded(id)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("open unloaded: %v %v", err, warnings)
	}
	e, err := unloaded.StartEpoch()
	if err != nil {
		t.Fatal(err)
	}
	if unloaded.doc.Awake() {
		t.Fatal("the cut loaded the note in the core")
	}
	if got := text(t, unloaded); got != before || e.Number != 1 {
		t.Fatalf("after the cut: epoch %d, text %q, want %q", e.Number, got, before)
	}
	unloaded.Close()

	again := openNote(t, book, id)
	if ep, _ := again.Epoch(); ep.Root != e.Root {
		t.Fatalf("reopened in %v, want %v", ep, e)
	}
	hist, err := again.History()
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != len(histBefore)+1 || !hist[len(hist)-1].BeginsEpoch {
		t.Fatalf("history has %d changes, want %d and the root last", len(hist), len(histBefore)+1)
	}
	if _, got, err := again.At(mid.Hash); err != nil || got != midText {
		t.Fatalf("a version from before the cut: %q, %v; want %q", got, err, midText)
	}
	typeInto(t, rng, again, 20)
	final := text(t, again)
	again.Close()
	if got := text(t, openNote(t, book, id)); got != final {
		t.Fatalf("edits after the cut: %q, want %q", got, final)
	}
}

// A peer's sync state is kept per epoch: after a cut the note starts a
// fresh state with that peer (the saved one describes the document the
// epoch before, and reused it made a peer back from an older epoch loop),
// while the epoch before's state stays where it was.
func TestSyncStatesAreKeptPerEpoch(t *testing.T) {
	a := openNB(t, t.TempDir(), "ann")
	b := openNB(t, t.TempDir(), "bob")
	created, _ := a.Create("shared")
	created.Splice(0, 0, "hello")
	created.Close()
	na := openNote(t, a, created.ID)
	nb, err := b.Join(created.ID)
	if err != nil {
		t.Fatal(err)
	}
	sa, sb := na.SyncState("bob-peer"), nb.SyncState("ann-peer")
	for range 10 {
		m1, ok1, err := na.GenerateSync(sa)
		if err != nil {
			t.Fatal(err)
		}
		if ok1 {
			if err := nb.ReceiveSync("ann-peer", sb, m1); err != nil {
				t.Fatal(err)
			}
		}
		m2, ok2, _ := nb.GenerateSync(sb)
		if ok2 {
			if err := na.ReceiveSync("bob-peer", sa, m2); err != nil {
				t.Fatal(err)
			}
		}
		if !ok1 && !ok2 {
			break
		}
	}
	if err := na.SaveSyncState("bob-peer", sa); err != nil {
		t.Fatal(err)
	}
	fresh := na.doc.SaveSyncState(na.NewSyncState())
	inSync := na.doc.SaveSyncState(na.SyncState("bob-peer"))
	if bytes.Equal(inSync, fresh) {
		t.Fatal("the state after a sync is the fresh one: the test shows nothing")
	}
	if _, err := na.StartEpoch(); err != nil {
		t.Fatal(err)
	}
	if got := na.doc.SaveSyncState(na.SyncState("bob-peer")); !bytes.Equal(got, fresh) {
		t.Fatalf("after the cut the state with bob is %x, want a fresh one %x", got, fresh)
	}
	if kept, err := na.log.ReadAux("sync.bob-peer"); err != nil || len(kept) == 0 {
		t.Fatalf("epoch 0's state with bob: %d bytes, %v", len(kept), err)
	}
	if err := na.SaveSyncState("bob-peer", na.NewSyncState()); err != nil {
		t.Fatal(err)
	}
	if _, err := na.log.ReadAux("sync.1.bob-peer"); err != nil {
		t.Fatalf("epoch 1's state with bob is not under its own name: %v", err)
	}
}
