package notebook_test

import (
	"strings"
	"testing"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/paper"
	"github.com/collab-editor/collab/internal/testkit"
	"github.com/collab-editor/collab/notebook"
)

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
			nb, err := notebook.Open(b.TempDir(), "bench")
			if err != nil {
				b.Fatal(err)
			}
			id := testkit.PaperNote(b, nb, history, true)
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
				open := testkit.LiveHeap()
				if err := n.Close(); err != nil {
					b.Fatal(err)
				}
				held += open - testkit.LiveHeap()
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
