package store

import "testing"

// BenchmarkPollIdle measures Poll when nothing changed (the common case of a
// UI polling for other processes' edits).
func BenchmarkPollIdle(b *testing.B) {
	nb, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	l, err := nb.Create("p")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Append([]byte("x")); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := l.Poll(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppend measures one durable append of a keystroke-sized record
// (lock, catch-up check, write, fdatasync, unlock).
func BenchmarkAppend(b *testing.B) {
	nb, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	l, err := nb.Create("a")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	rec := make([]byte, 120)
	for b.Loop() {
		if _, err := l.Append(rec); err != nil {
			b.Fatal(err)
		}
	}
}
