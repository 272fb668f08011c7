package crdt

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Fuzzing every untrusted entry point through the real worker path:
//
//	go test -run '^$' -fuzz '^FuzzApply$' -fuzztime 3m ./crdt
//
// Each input meets the fixed base note (reset in its worker before every
// input). An input that makes the core abort must come back as ErrRejected
// with the note unchanged; after any input the note's trusted operations
// (text, save, a sync message) must work; the test process must never die.
// Set COLLAB_FUZZ_KEEP=dir to keep every aborting input found in
// dir/<target>/ (and inputs that were accepted but aborted a later
// operation in dir/poison-<target>/): their count is the aborts found.

func FuzzApply(f *testing.F)         { fuzzTarget(f, "apply") }
func FuzzReceiveSync(f *testing.F)   { fuzzTarget(f, "sync") }
func FuzzLoad(f *testing.F)          { fuzzTarget(f, "load") }
func FuzzMerge(f *testing.F)         { fuzzTarget(f, "merge") }
func FuzzLoadSyncState(f *testing.F) { fuzzTarget(f, "syncstate") }

func fuzzTarget(f *testing.F, target string) {
	for _, b := range seeds(f)[target] {
		f.Add(b)
	}
	_, aborts := readInputs(f, filepath.Join("testdata", "aborts", target))
	for _, b := range aborts {
		f.Add(b)
	}
	base := baseDocument(f)
	var fx *fixture
	f.Cleanup(func() {
		if fx != nil {
			fx.note.Close()
		}
	})
	keep := os.Getenv("COLLAB_FUZZ_KEEP")
	f.Fuzz(func(t *testing.T, input []byte) {
		if fx == nil {
			fx = newFixture(t)
		} else if err := fx.note.resetTo(base); err != nil {
			t.Fatalf("reset to the base: %v", err)
		}
		err := fx.run(target, input)
		var d *DeathError
		rejected := errors.As(err, &d)
		if rejected {
			if !errors.Is(err, ErrRejected) {
				t.Fatalf("a death that is not a rejection: %v", err)
			}
			if keep != "" {
				saveInput(t, filepath.Join(keep, target), input)
			}
		}
		if target == "load" {
			return
		}
		if rejected {
			if err := fx.unchanged(); err != nil {
				t.Fatalf("a rejected input changed the note: %v", err)
			}
		}
		if errs := fx.trustedOps(); len(errs) > 0 {
			t.Fatalf("after %v the note fails: %v", err, errs)
		}
		if set := fx.note.SetAside(); len(set) > 0 && keep != "" {
			saveInput(t, filepath.Join(keep, "poison-"+target), input)
		}
	})
}

// resetTo makes the note the document snapshot again, in its current
// worker when it has one (one request, no spawn): the fuzzers' reset.
func (n *Note) resetTo(snapshot []byte) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.snapshot, n.changes, n.journal, n.sent = snapshot, nil, nil, 0
	n.pending, n.pendingAdded, n.pendingRemoved = 0, 0, 0
	n.committed, n.setAside = nil, nil
	n.model = buildModel(snapshot, nil)
	n.takeFreed()
	if w := n.proc.w; w != nil && !w.gone() {
		init := &request{Op: opInit, Actor: n.actor, Snapshot: snapshot, Probe: true}
		resp, err := w.call(init, n.limits.Load)
		if err == nil {
			n.states = map[uint64][]byte{}
			n.absorb(init, resp, sentAt{end: len(init.Edits), rev: n.text.rev})
			return resp.err()
		}
		n.proc.swap(nil)
	}
	n.states = map[uint64][]byte{}
	return n.rebuildLocked()
}
