package notebook

import (
	"flag"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/collab-editor/collab/crdt"
)

var snapshotSeeds = flag.Int("notebook.snapshot-seeds", 3, "seeded runs of TestSnapshotWhileTyping")

// TestSnapshotWhileTyping: a copy for a peer taken while the user types
// never fails, holds exactly the heads it reports, and everything in it is
// on disk before it is handed out. (The copy used to be retried up to
// three times and given up while typing went on.)
func TestSnapshotWhileTyping(t *testing.T) {
	for seed := range uint64(*snapshotSeeds) {
		t.Logf("seed %d", seed)
		rng := rand.New(rand.NewPCG(seed, 99))
		dir := t.TempDir()
		nb := openNB(t, dir, "ann")
		created, err := nb.Create("typing")
		if err != nil {
			t.Fatal(err)
		}
		created.Close()
		n := openNote(t, nb, created.ID)

		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 7))
			_, rev, _ := n.ReadText()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if r.IntN(2) == 0 {
					if err := n.Splice(r.IntN(n.Len()+1), 0, "s"); err != nil {
						t.Error(err)
						return
					}
				} else {
					res, err := n.Edit(rev, []crdt.Splice{{Pos: 0, Insert: "e"}})
					if err != nil {
						t.Error(err)
						return
					}
					rev = res.Rev
				}
				if r.IntN(8) == 0 {
					time.Sleep(time.Duration(r.IntN(300)) * time.Microsecond)
				}
			}
		}()

		for k := range 15 {
			time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
			doc, heads, err := n.Snapshot()
			if err != nil {
				t.Fatalf("seed %d, snapshot %d: %v", seed, k, err)
			}
			copied, _, err := crdt.Load(doc, nil, "peer")
			if err != nil {
				t.Fatal(err)
			}
			got, err := copied.Heads()
			if err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(got, func(a, b crdt.ChangeHash) int { return slices.Compare(a[:], b[:]) })
			slices.SortFunc(heads, func(a, b crdt.ChangeHash) int { return slices.Compare(a[:], b[:]) })
			if !slices.Equal(got, heads) {
				t.Fatalf("seed %d, snapshot %d: the copy's heads %v, reported %v", seed, k, got, heads)
			}
			// Another process sees every change of the copy on disk.
			other := openNote(t, openNB(t, dir, "bob"), created.ID)
			for _, h := range heads {
				if !other.HasChange(h) {
					t.Fatalf("seed %d, snapshot %d: head %s not stored when the copy was handed out", seed, k, h)
				}
			}
			other.Close()
		}
		close(stop)
		wg.Wait()
	}
}
