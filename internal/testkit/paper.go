package testkit

import (
	"runtime"
	"testing"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/paper"
	"github.com/collab-editor/collab/notebook"
)

// PaperNote stores the paper trace's note with the given history
// (paper.Saved) in nb and returns its ID; compacted cuts it as `collab
// compact` does (unloaded, in Go).
func PaperNote(tb testing.TB, nb *notebook.Notebook, history string, compacted bool) crdt.DocumentID {
	tb.Helper()
	saved := crdt.NoteLimits
	if history == paper.Copies {
		crdt.NoteLimits.Memory = 8 << 30 // to store it once
	}
	n, err := nb.Import(crdt.DocumentID{}, paper.Saved(tb, history))
	crdt.NoteLimits = saved
	if err != nil {
		tb.Fatal(err)
	}
	id := n.ID
	if err := n.Close(); err != nil {
		tb.Fatal(err)
	}
	if compacted {
		Cut(tb, nb, id)
	}
	return id
}

// Cut starts a new epoch of note id, as `collab compact` does: the note
// goes on from one change that holds its text.
func Cut(tb testing.TB, nb *notebook.Notebook, id crdt.DocumentID) {
	tb.Helper()
	n, _, err := nb.OpenNoteUnloaded(id)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := n.StartEpoch(); err != nil {
		tb.Fatal(err)
	}
	if err := n.Close(); err != nil {
		tb.Fatal(err)
	}
}

// LiveHeap is the Go heap in use after a collection.
func LiveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
