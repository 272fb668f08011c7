package notebook

import (
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
