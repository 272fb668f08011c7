package amformat

import (
	"testing"

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
