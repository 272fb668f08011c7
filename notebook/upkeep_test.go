package notebook

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collab-editor/collab/crdt"
)

// Close on a note whose edit is durably in the log but whose view cache
// cannot be written reports ErrHousekeeping (a warning for the caller), and
// the edit is there after reopening. The cache write fails for real, also as
// root: a non-empty directory sits where the cache file is renamed to.
func TestCloseReportsViewCacheFailureAsHousekeeping(t *testing.T) {
	dir := t.TempDir()
	nb := openNB(t, dir, "a")
	n, err := nb.Create("Upkeep")
	if err != nil {
		t.Fatal(err)
	}
	id := n.ID
	view := filepath.Join(dir, "notes", id.String(), "view")
	if err := os.Remove(view); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(view, "blocker"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := n.Append("kept\n"); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); !errors.Is(err, ErrHousekeeping) {
		t.Fatalf("Close = %v, want an error wrapping ErrHousekeeping", err)
	}
	if err := os.RemoveAll(view); err != nil {
		t.Fatal(err)
	}
	if got := text(t, openNote(t, openNB(t, dir, "a"), id)); got != "kept\n" {
		t.Fatalf("after reopening: %q", got)
	}
}

// Run rewrites a view that is behind, without holding the note while the
// cache is written: a note edited and stored under Run has a current view
// soon after, showing what is stored.
func TestRunBringsTheViewUpToDate(t *testing.T) {
	dir := t.TempDir()
	nb := openNB(t, dir, "a")
	n, err := nb.Create("Live")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx, func() crdt.CommitPolicy { return crdt.LivePolicy }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		n.Close()
	}()
	if err := n.Append("typed live\n"); err != nil {
		t.Fatal(err)
	}
	n.Kick()
	deadline := time.Now().Add(viewEvery + 10*PollInterval + 5*time.Second)
	for {
		v, current, err := nb.PeekView(n.ID)
		if err == nil && current && v.Text == "typed live\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the view never caught up: %q current=%v err=%v", v.Text, current, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A note whose log passed CompactAt compacts once nobody has stored
// anything for compactQuiet, not in the middle of typing (compaction holds
// the note for most of a second on a long history); a log that keeps
// growing compacts at compactCap times CompactAt all the same; Close
// compacts what is due. Nothing typed is lost on the way.
func TestCompactionWaitsForAQuietMoment(t *testing.T) {
	const compactAt = 2048
	dir := t.TempDir()
	nb, err := OpenWith(dir, Options{Author: "a", CompactAt: compactAt})
	if err != nil {
		t.Fatal(err)
	}
	n, err := nb.Create("Busy")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx, func() crdt.CommitPolicy { return crdt.LivePolicy }) }()
	stopRun := func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	defer func() {
		if ctx.Err() == nil {
			stopRun()
		}
	}()

	// Typing: a word every 20 ms, well inside compactQuiet, until the log
	// is twice CompactAt.
	want := ""
	last := time.Now()
	for i := 0; n.log.LogSize() < 2*compactAt; i++ {
		if i > 2000 {
			t.Fatal("the log never grew")
		}
		before := n.log.LogSize()
		word := "w" + string(rune('a'+i%26)) + " "
		if err := n.Splice(n.Len(), 0, word); err != nil {
			t.Fatal(err)
		}
		want += word
		if _, err := n.Flush(); err != nil {
			t.Fatal(err)
		}
		// A pause the machine made (a loaded CI runner) is a quiet moment
		// too: only a compaction after a short gap is wrong.
		if gap := time.Since(last); gap < compactQuiet/2 && n.log.LogSize() < before {
			t.Fatalf("compacted in the middle of typing (%v after the last word), at %d bytes", gap, before)
		}
		last = time.Now()
		time.Sleep(20 * time.Millisecond)
	}
	// A pause: Run compacts.
	deadline := time.Now().Add(compactQuiet + 5*time.Second)
	for n.log.LogSize() > compactAt {
		if time.Now().After(deadline) {
			t.Fatalf("no compaction after a pause: log is %d bytes", n.log.LogSize())
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopRun()

	// Without pauses (no Run here), the log compacts at the cap.
	peak := int64(0)
	for i := 0; ; i++ {
		if i > 5000 {
			t.Fatal("the log never compacted")
		}
		before := n.log.LogSize()
		word := "x" + string(rune('a'+i%26)) + " "
		if err := n.Splice(n.Len(), 0, word); err != nil {
			t.Fatal(err)
		}
		want += word
		if _, err := n.Flush(); err != nil {
			t.Fatal(err)
		}
		peak = max(peak, n.log.LogSize())
		if n.log.LogSize() < before {
			break
		}
	}
	// peak is the size before the append that passed the cap.
	if peak <= (compactCap-1)*compactAt || peak > compactCap*compactAt {
		t.Errorf("compacted after %d bytes, want just under the cap of %d", peak, compactCap*compactAt)
	}

	// Past CompactAt but under the cap: Close compacts.
	for n.log.LogSize() <= compactAt {
		if err := n.Splice(n.Len(), 0, "y "); err != nil {
			t.Fatal(err)
		}
		want += "y "
		if _, err := n.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	reopened := openNote(t, nb, n.ID)
	if size := reopened.log.LogSize(); size > compactAt {
		t.Errorf("after Close the log is %d bytes, want it compacted", size)
	}
	if got := text(t, reopened); got != want {
		t.Errorf("text after compactions differs: %d bytes, want %d", len(got), len(want))
	}
}

// Compaction does not hold the note while its snapshot is verified: edits
// flushed meanwhile, here and by another process on the same notebook, are
// all kept, each once, in this process, in the other one and after a
// reopen. Seeded runs interleave them differently.
func TestEditsDuringCompactionAreKept(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 11))
			dir := t.TempDir()
			nbA, err := OpenWith(dir, Options{Author: "a", CompactAt: 2048})
			if err != nil {
				t.Fatal(err)
			}
			nbB, err := OpenWith(dir, Options{Author: "b", CompactAt: 1 << 30})
			if err != nil {
				t.Fatal(err)
			}
			created, err := nbA.Create("shared")
			if err != nil {
				t.Fatal(err)
			}
			id := created.ID
			created.Close()
			a, b := openNote(t, nbA, id), openNote(t, nbB, id)
			for i := range 300 {
				if err := a.Splice(a.Len(), 0, fmt.Sprintf("h%03d ", i)); err != nil {
					t.Fatal(err)
				}
				if _, err := a.Flush(); err != nil {
					t.Fatal(err)
				}
			}
			if !a.compactDue.Load() {
				t.Fatal("no compaction due")
			}
			genBefore := a.log.Position().Gen
			done := make(chan error, 1)
			go func() { done <- a.Tidy() }()
			var words []string
			for i := range 40 {
				n, w := a, fmt.Sprintf("a%02d ", i)
				if rng.IntN(2) == 0 {
					n, w = b, fmt.Sprintf("b%02d ", i)
				}
				words = append(words, w)
				if err := n.Splice(0, 0, w); err != nil {
					t.Fatal(err)
				}
				if _, err := n.Flush(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			for _, n := range []*Note{a, b} {
				if _, err := n.Refresh(); err != nil {
					t.Fatal(err)
				}
			}
			// After the refresh: records carried into the new generation
			// count in Position only once handed out.
			if a.log.Position().Gen == genBefore {
				t.Fatal("no compaction happened")
			}
			check := func(who, got string) {
				t.Helper()
				for _, w := range words {
					if strings.Count(got, w) != 1 {
						t.Errorf("%s: %q appears %d times", who, w, strings.Count(got, w))
					}
				}
				if want := text(t, a); got != want {
					t.Errorf("%s differs from a: %d bytes, want %d", who, len(got), len(want))
				}
			}
			check("a", text(t, a))
			check("b", text(t, b))
			nbC := openNB(t, dir, "c")
			check("a reopened copy", text(t, openNote(t, nbC, id)))
		})
	}
}

// A note joined from a peer's whole document is not compacted because of
// it (that would load it in the core only to save it again): it stays
// asleep, showing the text, until something needs the core.
func TestAJoinedDocumentIsNotCompactedAtOnce(t *testing.T) {
	src, err := crdt.New("big", "ann")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	words := []byte("some words ")
	for range 20000 { // not repetitive: the saved document stays over 4 KB deflated
		words = append(words, byte('a'+rng.IntN(26)))
	}
	if err := src.Splice(0, 0, string(words)); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Commit(); err != nil {
		t.Fatal(err)
	}
	doc, err := src.Save()
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	nb, err := OpenWith(t.TempDir(), Options{Author: "bob", CompactAt: 1024}) // the document is over 4× this
	if err != nil {
		t.Fatal(err)
	}
	id := crdt.NewDocumentID()
	n, err := nb.Join(id)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.ApplyRemoteIn(AnyEpoch, "ann", doc); err != nil {
		t.Fatal(err)
	}
	if n.Awake() {
		t.Fatal("storing the joined document loaded it in the core")
	}
	if text, _ := n.Text(); !strings.HasPrefix(text, "some words") {
		t.Fatalf("joined text %q", text[:min(len(text), 20)])
	}
}
