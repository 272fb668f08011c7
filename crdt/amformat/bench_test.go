package amformat

import (
	"slices"
	"testing"
	"time"

	"github.com/automerge/automerge-go"
)

// BenchmarkDecodeSyncMessage100 decodes and checks a sync message carrying
// 100 one-word changes, as a peer catching up on a note receives it.
func BenchmarkDecodeSyncMessage100(b *testing.B) {
	a := coreNote(b, "aa01")
	txt := coreText(b, a)
	for i := 0; i < 99; i++ {
		txt.Insert(txt.Len(), "word ")
		a.Commit("")
	}
	var msg []byte
	for _, m := range syncRound(b, a, automerge.New()) {
		if d, err := DecodeSyncMessage(m); err == nil && len(d.Changes) == 100 {
			msg = m
		}
	}
	if msg == nil {
		b.Fatal("no message with 100 changes")
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := DecodeSyncMessage(msg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100, "ns/change")
}

// BenchmarkDecodeChangeOneChar decodes a one-keystroke change.
func BenchmarkDecodeChangeOneChar(b *testing.B) {
	a := coreNote(b, "aa01")
	txt := coreText(b, a)
	txt.Insert(0, "x")
	h, _ := a.Commit("")
	ch, _ := a.Change(h)
	raw := ch.Save()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := DecodeChange(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScatteredTyping: one actor types 100,000 characters alternately
// at the start and the end of a note, each commit made by Model.Commit.
// Every character is a run of its own, and its counter's neighbours sit in
// another block: what a peer that scatters its edits costs the index when
// blocks split. commit-p99-us is the slowest percentile of one commit.
func BenchmarkScatteredTyping(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		b.StopTimer()
		m, err := FromDocument(coreNote(b, "0a").Save())
		if err != nil {
			b.Fatal(err)
		}
		lat := make([]time.Duration, 0, n)
		b.StartTimer()
		for i := range n {
			pos := 0
			if i%2 == 1 {
				pos = m.Len()
			}
			start := time.Now()
			if _, _, err := m.Commit(ActorID("\x0b"), []Splice{{Pos: pos, Insert: "x"}}, 1, ""); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		b.StopTimer()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "commit-p99-us")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "commit-max-us")
		b.StartTimer()
	}
}
