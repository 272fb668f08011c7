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
// An input that makes the core abort must come back as ErrRejected with
// the note unchanged; the test process must never die. Set
// COLLAB_FUZZ_KEEP=dir to keep every aborting input found (dir/<target>/),
// the count of aborts found; the ones worth keeping go to testdata/aborts.

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
		changed := fx.unchanged()
		if rejected && changed != nil {
			t.Fatalf("a rejected input changed the note: %v", changed)
		}
		if changed != nil {
			// Accepted (wholly or in part): the next input starts from the base.
			fx.note.Close()
			fx = newFixture(t)
		}
	})
}
