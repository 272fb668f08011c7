package crdt_test

import (
	"slices"
	"testing"
	"time"

	"github.com/automerge/automerge-go"
	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/paper"
	"github.com/collab-editor/collab/internal/trace"
)

func BenchmarkReplayPaper(b *testing.B) {
	tr := trace.Paper(b)
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

// BenchmarkWorkerSpawn measures starting a worker and building an empty
// document in it: what every note open and every restart pays on top of
// loading its history.
func BenchmarkWorkerSpawn(b *testing.B) {
	for b.Loop() {
		n, err := crdt.New("t", "bench")
		if err != nil {
			b.Fatal(err)
		}
		n.Close()
	}
}

// BenchmarkSpliceRoundTrip measures one keystroke that the worker confirms
// (the splice travels with a heads read): the cost of any request.
// A keystroke alone costs no round trip (it is journalled); see
// BenchmarkSplice.
func BenchmarkSpliceRoundTrip(b *testing.B) {
	n := mustNoteWithText(b, 2000)
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		if err := n.Splice(n.Len()/2, 0, "x"); err != nil {
			b.Fatal(err)
		}
		if _, err := n.Commit(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	reportLatency(b, lat)
}

// BenchmarkSplice is the keystroke path: checked and journalled, no round
// trip until the next request.
func BenchmarkSplice(b *testing.B) {
	n := mustNoteWithText(b, 2000)
	i := 0
	for b.Loop() {
		if err := n.Splice(n.Len()/2, 0, "x"); err != nil {
			b.Fatal(err)
		}
		if i++; i%1000 == 0 {
			b.StopTimer()
			n.Commit()
			b.StartTimer()
		}
	}
}

// BenchmarkApplyOneChange measures applying a peer's one-keystroke change
// (the worker applies it and reads back title, length and heads).
func BenchmarkApplyOneChange(b *testing.B) {
	src := mustNoteWithText(b, 2000)
	data, err := src.Save()
	if err != nil {
		b.Fatal(err)
	}
	dst, _, err := crdt.Load(data, nil, "dst")
	if err != nil {
		b.Fatal(err)
	}
	defer dst.Close()
	var lat []time.Duration
	for b.Loop() {
		b.StopTimer()
		src.Splice(0, 0, "y")
		cs, err := src.Commit()
		if err != nil || len(cs) != 1 {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if err := dst.Apply(cs[0].Bytes); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	reportLatency(b, lat)
}

func mustNoteWithText(b *testing.B, runes int) *crdt.Note {
	b.Helper()
	n, err := crdt.New("bench", "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Close() })
	for i := 0; i < runes; i += 50 {
		n.Splice(n.Len(), 0, "the quick brown fox jumps over the lazy dog 12345\n")
	}
	if _, err := n.Commit(); err != nil {
		b.Fatal(err)
	}
	return n
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkLoadPaper loads the paper note (both histories) through a
// worker, as crdt.Load does (spawn, load, read back text and heads), and
// in this process with automerge-go as crdt did before the worker: the
// difference is what containment costs at load.
func BenchmarkLoadPaper(b *testing.B) {
	tr := trace.Paper(b)
	for _, c := range []struct {
		name   string
		policy *crdt.CommitPolicy
	}{{"history=per-edit", nil}, {"history=policy", &crdt.DefaultPolicy}} {
		n, _ := paper.Replay(b, tr, c.policy)
		data, err := n.Save()
		n.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name+"/worker", func(b *testing.B) {
			for b.Loop() {
				n, _, err := crdt.Load(data, nil, "bench")
				if err != nil {
					b.Fatal(err)
				}
				n.Close()
			}
		})
		b.Run(c.name+"/in-process", func(b *testing.B) {
			for b.Loop() {
				doc, err := automerge.Load(data)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := doc.RootMap().Get(crdt.KeyText); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
