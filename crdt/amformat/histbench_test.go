package amformat

import "testing"

// BenchmarkHistoryHashesPaper rebuilds and hashes the paper document's
// 259,779 changes: the cost a model built from that document pays once,
// the first time a change names a dep that is not a head.
func BenchmarkHistoryHashesPaper(b *testing.B) {
	doc, _ := paperDoc(b, "b1")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, err := DecodeDocument(doc)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.HistoryHashes(); err != nil {
			b.Fatal(err)
		}
	}
}
