package notebook

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/paper"
	"github.com/collab-editor/collab/internal/trace"
)

// paperNotebook stores the paper trace's note, replayed with the given
// policy (nil: one change per edit), compacted into a snapshot as a
// long-running collab leaves it.
func paperNotebook(b *testing.B, policy *crdt.CommitPolicy, epoch bool) (*Notebook, crdt.DocumentID, string) {
	tr := trace.Paper(b)
	doc, _ := paper.Replay(b, tr, policy)
	data, err := doc.Save()
	if err != nil {
		b.Fatal(err)
	}
	nb, err := Open(b.TempDir(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	n, err := nb.Import(crdt.DocumentID{}, data)
	if err != nil {
		b.Fatal(err)
	}
	n.mu.Lock()
	err = n.compactLocked()
	n.mu.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	if epoch {
		if _, err := n.StartEpoch(); err != nil {
			b.Fatal(err)
		}
	}
	if err := n.Close(); err != nil {
		b.Fatal(err)
	}
	return nb, n.ID, tr.End
}

// BenchmarkOpenNote measures opening the paper note: first-text-ms is how
// long until its text can be shown (the view cache), full-load-ms until the
// whole document is loaded and editable.
func BenchmarkOpenNote(b *testing.B) {
	for _, c := range []struct {
		name   string
		policy *crdt.CommitPolicy
		epoch  bool
	}{{"history=per-edit", nil, false}, {"history=policy", &crdt.DefaultPolicy, false}, {"history=per-edit,compacted", nil, true}} {
		b.Run(c.name, func(b *testing.B) {
			nb, id, want := paperNotebook(b, c.policy, c.epoch)
			var first, full time.Duration
			for b.Loop() {
				start := time.Now()
				v, current, err := nb.PeekView(id)
				first += time.Since(start)
				if err != nil || !current || v.Text != want {
					b.Fatalf("view: current=%v err=%v", current, err)
				}
				n, warnings, err := nb.OpenNote(id)
				full += time.Since(start)
				if err != nil || len(warnings) > 0 {
					b.Fatalf("open: %v %v", err, warnings)
				}
				b.StopTimer()
				if text, _ := n.Text(); text != want {
					b.Fatal("loaded text differs from endContent")
				}
				n.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(first.Microseconds())/1000/float64(b.N), "first-text-ms")
			b.ReportMetric(float64(full.Microseconds())/1000/float64(b.N), "full-load-ms")
		})
	}
}

// liveHeap is the Go heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkCompactedNoteMemory (issue 10): what a note costs in memory once
// compacted, while open for editing with an edit made (what `collab
// serve` holds for a note a peer edits, and the TUI less its editor's
// own copy of the text): the paper note (105 KB of text) and the note that
// types it four times (419 KB), each cut by `collab compact`. held-MiB is
// the Go heap the open note holds (live after a collection, less what is
// live once it is closed), x-text that over the text's UTF-8
// size; the slope between the two notes is the cost per byte of text,
// the rest a fixed base. core-loaded is 1 if the Automerge core loaded
// the note (its worker's memory would add to this).
func BenchmarkCompactedNoteMemory(b *testing.B) {
	for _, history := range []string{"per-edit", paper.Copies} {
		b.Run("history="+history, func(b *testing.B) {
			nb, err := Open(b.TempDir(), "bench")
			if err != nil {
				b.Fatal(err)
			}
			saved := crdt.NoteLimits
			if history == paper.Copies {
				crdt.NoteLimits.Memory = 8 << 30 // to store it once
			}
			n, err := nb.Import(crdt.DocumentID{}, paper.Saved(b, history))
			crdt.NoteLimits = saved
			if err != nil {
				b.Fatal(err)
			}
			id := n.ID
			if err := n.Close(); err != nil {
				b.Fatal(err)
			}
			// As `collab compact` does: unloaded, cut in Go.
			if n, _, err = nb.OpenNoteUnloaded(id); err != nil {
				b.Fatal(err)
			}
			if _, err := n.StartEpoch(); err != nil {
				b.Fatal(err)
			}
			if err := n.Close(); err != nil {
				b.Fatal(err)
			}
			var held uint64
			textBytes, coreLoads := 0, 0
			for b.Loop() {
				n, _, err := nb.OpenNoteUnloaded(id)
				if err != nil {
					b.Fatal(err)
				}
				if err := n.ReadyForEdit(); err != nil {
					b.Fatal(err)
				}
				_, rev, err := n.ReadText()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := n.Edit(rev, []crdt.Splice{{Pos: 0, Insert: "Z"}}); err != nil {
					b.Fatal(err)
				}
				if _, err := n.Flush(); err != nil {
					b.Fatal(err)
				}
				text, _, err := n.ReadText()
				if err != nil || !strings.HasPrefix(text, "Z") {
					b.Fatalf("the edit does not show (%v)", err)
				}
				textBytes = len(text)
				text = ""
				b.StopTimer()
				if n.Awake() {
					coreLoads++
				}
				open := liveHeap()
				if err := n.Close(); err != nil {
					b.Fatal(err)
				}
				held += open - liveHeap()
				b.StartTimer()
			}
			perRun := float64(held) / float64(b.N)
			b.ReportMetric(perRun/(1<<20), "held-MiB")
			b.ReportMetric(perRun/float64(textBytes), "x-text")
			b.ReportMetric(float64(textBytes)/1000, "text-KB")
			b.ReportMetric(float64(coreLoads)/float64(b.N), "core-loaded")
			b.ReportMetric(0, "ns/op")
		})
	}
}
