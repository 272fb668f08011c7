package crdt_test

import (
	"testing"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/paper"
)

func BenchmarkReplayPaper(b *testing.B) {
	tr := paper.Load(b)
	for _, c := range []struct {
		name   string
		policy *crdt.CommitPolicy
	}{{"commits=per-edit", nil}, {"commits=policy", &crdt.DefaultPolicy}} {
		b.Run(c.name, func(b *testing.B) {
			var changes int
			start := time.Now()
			for b.Loop() {
				_, changes = paper.Replay(b, tr, c.policy)
			}
			b.ReportMetric(float64(len(tr.Edits)*b.N)/time.Since(start).Seconds(), "edits/s")
			b.ReportMetric(float64(changes), "changes")
		})
	}
}
