package crdt

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The untrusted entry points of crdt, each run through the real worker
// path. Inputs that abort the core live under testdata/aborts/<target>/;
// real seeds (from a few edits on a fixed base document) under
// testdata/seeds/<target>/. The base is fixed (testdata/base.automerge) so
// an input found once aborts the same way on every run.

var targets = []string{"apply", "sync", "load", "merge", "syncstate"}

// fixture is the base note every target runs against.
type fixture struct {
	note  *Note
	text  string
	title string
	heads []ChangeHash
}

func baseDocument(t testing.TB) []byte {
	t.Helper()
	path := filepath.Join("testdata", "base.automerge")
	if b, err := os.ReadFile(path); err == nil {
		return b
	}
	// Made once, then kept: two authors, concurrent edits, a rename.
	a := mustNewTB(t, "Base note", "ann")
	a.Splice(0, 0, "Hello, wörld!\nSecond line.\n")
	b, _, err := Load(mustSave(t, a), nil, "bob")
	if err != nil {
		t.Fatal(err)
	}
	a.Splice(0, 5, "Howdy")
	b.Splice(b.Len(), 0, "Bob was here ☃\n")
	b.SetTitle("Base")
	if _, err := a.Merge(mustSave(t, b)); err != nil {
		t.Fatal(err)
	}
	data := mustSave(t, a)
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return data
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	n, warnings, err := Load(baseDocument(t), nil, "fixture")
	if err != nil || len(warnings) > 0 {
		t.Fatalf("load base: %v %v", err, warnings)
	}
	f := &fixture{note: n, title: n.Title()}
	if f.text, err = n.Text(); err != nil {
		t.Fatal(err)
	}
	if f.heads, err = n.Heads(); err != nil {
		t.Fatal(err)
	}
	return f
}

// run feeds input to target and reports the error. load runs on a note of
// its own; every other target on the fixture's note.
func (f *fixture) run(target string, input []byte) error {
	return f.runAs(target, input, true)
}

// runAs is run through the real path (checked: Go's validation first) or
// straight to the worker (unchecked: what the containment tests need, the
// validation refusing nearly every aborting input first).
func (f *fixture) runAs(target string, input []byte, checked bool) error {
	switch target {
	case "apply":
		if !checked {
			return f.note.applyUnchecked(input)
		}
		return f.note.Apply(input)
	case "sync":
		s := f.note.NewSyncState()
		defer f.note.freeState(s.id)
		var err error
		if checked {
			_, err = f.note.ReceiveSyncMessage(s, input)
		} else {
			_, err = f.note.receiveSyncUnchecked(s, input)
		}
		return err
	case "load":
		n, _, err := Load(input, nil, "x")
		if err == nil {
			n.Close()
		}
		return err
	case "merge":
		var err error
		if checked {
			_, err = f.note.Merge(input)
		} else {
			_, err = f.note.mergeUnchecked(input)
		}
		return err
	case "syncstate":
		s, err := f.note.LoadSyncState(input)
		if s != nil {
			f.note.freeState(s.id)
		}
		return err
	}
	panic("unknown target " + target)
}

// unchanged reports how the fixture's note differs from the base, if it
// does.
func (f *fixture) unchanged() error {
	text, err := f.note.Text()
	if err != nil {
		return fmt.Errorf("text: %w", err)
	}
	heads, err := f.note.Heads()
	if err != nil {
		return fmt.Errorf("heads: %w", err)
	}
	if text != f.text || f.note.Title() != f.title || !SameHeads(heads, f.heads) {
		return fmt.Errorf("note changed: title %q text %q heads %v", f.note.Title(), text, heads)
	}
	return nil
}

// trustedOps is what a note does after accepting changes: read its text,
// history and heads, save, generate a sync message, splice and commit.
func (f *fixture) trustedOps() []error {
	n := f.note
	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	_, err := n.Text()
	keep(err)
	_, err = n.History()
	keep(err)
	_, err = n.Save()
	keep(err)
	_, _, err = n.GenerateSyncMessage(n.NewSyncState())
	keep(err)
	keep(n.Splice(0, 0, "typed after"))
	_, err = n.Commit()
	keep(err)
	return errs
}

// seeds are real inputs for each target, made from edits on the base.
func seeds(t testing.TB) map[string][][]byte {
	t.Helper()
	out := map[string][][]byte{}
	for _, target := range targets {
		dir := filepath.Join("testdata", "seeds", target)
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[target] = append(out[target], b)
		}
	}
	if len(out) == len(targets) {
		return out
	}
	out = makeSeeds(t)
	for target, inputs := range out {
		for _, b := range inputs {
			saveInput(t, filepath.Join("testdata", "seeds", target), b)
		}
	}
	return out
}

func makeSeeds(t testing.TB) map[string][][]byte {
	base := baseDocument(t)
	peer, _, err := Load(base, nil, "peer")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	out := map[string][][]byte{}
	// Changes: an insert, a delete, a rename, a paste.
	for _, edit := range []func(){
		func() { peer.Splice(3, 0, "inserted") },
		func() { peer.Splice(0, 4, "") },
		func() { peer.SetTitle("Renamed by peer") },
		func() { peer.Splice(peer.Len(), 0, strings.Repeat("paste ", 40)) },
	} {
		edit()
		cs, err := peer.Commit()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			out["apply"] = append(out["apply"], c.Bytes)
		}
	}
	// Sync messages from the peer to a copy of the base, every round.
	ours, _, err := Load(base, nil, "ours")
	if err != nil {
		t.Fatal(err)
	}
	defer ours.Close()
	syncPair(t, peer, ours, func(_ int, m []byte) {
		if m != nil {
			out["sync"] = append(out["sync"], m)
		}
	})
	st := peer.NewSyncState()
	if _, _, err := peer.GenerateSyncMessage(st); err != nil {
		t.Fatal(err)
	}
	out["syncstate"] = [][]byte{peer.SaveSyncState(st)}
	doc := mustSave(t, peer)
	out["merge"] = [][]byte{doc}
	out["load"] = [][]byte{doc, base}
	return out
}

// saveInput writes b under dir, named by its hash.
func saveInput(t testing.TB, dir string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if err := os.WriteFile(filepath.Join(dir, hex.EncodeToString(sum[:8])), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readInputs(t testing.TB, dir string) (names []string, inputs [][]byte) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		names, inputs = append(names, e.Name()), append(inputs, b)
	}
	return names, inputs
}

// mutations are every single-bit flip and every truncation of seed.
func mutations(seed []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for i := range len(seed) * 8 {
			m := slices.Clone(seed)
			m[i/8] ^= 1 << (i % 8)
			if !yield(m) {
				return
			}
		}
		for n := range len(seed) {
			if !yield(seed[:n]) {
				return
			}
		}
		// A hostile peer fixes the chunk checksum after changing a byte, so
		// the core parses the damage instead of refusing it at once.
		if _, ok := rechecksum(seed); !ok {
			return
		}
		for i := range len(seed) * 8 {
			m := slices.Clone(seed)
			m[i/8] ^= 1 << (i % 8)
			if m, ok := rechecksum(m); ok && !yield(m) {
				return
			}
		}
	}
}

// rechecksum recomputes the checksum of an uncompressed document or change
// chunk (ok=false for anything else).
func rechecksum(b []byte) ([]byte, bool) {
	if len(b) < 10 || !IsAutomerge(b) || (b[8] != chunkDocument && b[8] != chunkChange) {
		return nil, false
	}
	n, k := binary.Uvarint(b[9:])
	if k <= 0 || uint64(len(b)-9-k) != n {
		return nil, false
	}
	sum := sha256.Sum256(b[8:])
	copy(b[4:8], sum[:4])
	return b, true
}

// TestSweepForAborts flips every bit of every seed and truncates it at every
// length, and keeps the inputs that abort the core as regression inputs
// under testdata/aborts. It takes minutes, so it runs only when asked:
// COLLAB_SWEEP=apply,sync,... (or "all").
func TestSweepForAborts(t *testing.T) {
	want := os.Getenv("COLLAB_SWEEP")
	if want == "" {
		t.Skip("set COLLAB_SWEEP=all (or a list of targets) to sweep for aborting inputs")
	}
	f := newFixture(t)
	defer f.note.Close()
	all := seeds(t)
	for _, target := range targets {
		if want != "all" && !slices.Contains(strings.Split(want, ","), target) {
			continue
		}
		runs, deaths, poisoned, sites, saved := 0, 0, 0, map[string]int{}, map[string]int{}
		for _, seed := range all[target] {
			for m := range mutations(seed) {
				runs++
				err := f.run(target, m)
				var d *DeathError
				if errors.As(err, &d) {
					deaths++
					if !errors.Is(err, ErrRejected) {
						t.Errorf("%s: a death that is not a rejection: %v", target, err)
					}
					site := panicSite(d.Panic)
					if saved[site] < 3 && abortsOnBase(t, target, m) {
						saveInput(t, filepath.Join("testdata", "aborts", target), m)
						saved[site]++
					}
					sites[site]++
				}
				if target == "load" || err != nil && f.unchanged() == nil {
					continue
				}
				// Accepted (wholly or in part): do what a note does next,
				// and keep the input if that makes the core abort (the note
				// then sets it aside). Then start again from the base:
				// changes waiting for dependencies leave no visible trace.
				if err == nil {
					f.trustedOps()
					if rs := f.note.SetAside(); len(rs) > 0 {
						poisoned++
						saveInput(t, filepath.Join("testdata", "poison", target), m)
					}
				}
				f.note.Close()
				f = newFixture(t)
			}
		}
		t.Logf("%s: %d inputs, %d aborted the core at %d sites %v, %d accepted then aborted a later operation",
			target, runs, deaths, len(sites), sites, poisoned)
	}
}

// abortsOnBase reports whether input aborts the core on a fresh fixture,
// so it is kept only if it reproduces from the committed base alone.
func abortsOnBase(t testing.TB, target string, input []byte) bool {
	f := newFixture(t)
	defer f.note.Close()
	return errors.Is(f.run(target, input), ErrRejected)
}

// panicSite is where the core panicked, e.g. "automerge.rs:762", from its
// panic text.
func panicSite(text string) string {
	if i := strings.Index(text, ".rs:"); i >= 0 {
		start := strings.LastIndexAny(text[:i], "/ '") + 1
		end := i + 4
		for end < len(text) && text[end] >= '0' && text[end] <= '9' {
			end++
		}
		return text[start:end]
	}
	if len(text) > 40 {
		return text[:40]
	}
	return text
}

func mustNewTB(t testing.TB, title, author string) *Note {
	t.Helper()
	n, err := New(title, author)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The inputs under testdata/poison made the core abort not on the input
// but on what a note does next with a document that took it (TestFuzzCore
// saves and answers the peer on the same sync state). Through the real
// path the Go gate refuses each it can tell (ErrSeqGap) or the note takes
// it; either way what comes next works. Straight to the worker (the gate
// bypassed), the note takes each, and a worker that dies on it is rebuilt
// and whatever it cannot be rebuilt with is set aside.
func TestPoisonInputsAreSetAside(t *testing.T) {
	total, refused, setAside := 0, 0, 0
	for _, target := range targets {
		names, inputs := readInputs(t, filepath.Join("testdata", "poison", target))
		for i, in := range inputs {
			total++
			for _, gated := range []bool{true, false} {
				n, wasRefused, err := afterPoison(t, target, in, gated)
				if err != nil {
					t.Errorf("%s/%s (gated %v): %v", target, names[i], gated, err)
				}
				if gated && wasRefused {
					refused++
				}
				if !gated {
					setAside += n
				}
			}
		}
	}
	if total == 0 {
		t.Skip("no poison inputs kept under testdata/poison")
	}
	t.Logf("%d poison inputs: %d refused by the gate; past the gate, every note working after, %d changes set aside", total, refused, setAside)
}

// afterPoison takes in through target's path (the real one, or straight
// to the worker) on a copy of the base, then saves, answers on the sync
// state the input used (a fresh one for apply, merge and load) and types:
// it reports the first failure, whether the gate refused the input, and
// how many changes the note set aside.
func afterPoison(t *testing.T, target string, in []byte, gated bool) (int, bool, error) {
	f := newFixture(t)
	defer f.note.Close()
	n := f.note
	s := n.NewSyncState()
	var err error
	switch target {
	case "sync":
		if gated {
			_, err = n.ReceiveSyncMessage(s, in)
		} else {
			_, err = n.receiveSyncUnchecked(s, in)
		}
	case "syncstate":
		s, err = n.LoadSyncState(in)
	case "load":
		var loaded *Note
		if loaded, _, err = Load(in, nil, "poison"); err == nil {
			defer loaded.Close()
			n, s = loaded, loaded.NewSyncState()
		}
	default:
		err = f.runAs(target, in, gated)
	}
	refused := false
	if gated && errors.Is(err, ErrSeqGap) && errors.Is(err, ErrRejected) {
		refused, err = true, nil
	}
	if err != nil {
		return 0, refused, fmt.Errorf("taking the input: %w", err)
	}
	if _, err := n.Save(); err != nil {
		return 0, refused, fmt.Errorf("save: %w", err)
	}
	if _, _, err := n.GenerateSyncMessage(s); err != nil {
		return 0, refused, fmt.Errorf("answer the peer: %w", err)
	}
	if err := n.Splice(0, 0, "typed after"); err != nil {
		return 0, refused, fmt.Errorf("type: %w", err)
	}
	if _, err := n.Commit(); err != nil {
		return 0, refused, fmt.Errorf("commit: %w", err)
	}
	return len(n.SetAside()), refused, nil
}
