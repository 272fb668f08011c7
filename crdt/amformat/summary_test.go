package amformat

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/automerge/automerge-go"
)

// RootSummary resolves the title and the body's presence as the core does,
// through renames and deletions made concurrently on several copies.
func TestRootSummaryMatchesCore(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			base := coreNote(t, "")
			copies := []*automerge.Doc{base}
			for range 2 {
				f, err := base.Fork()
				if err != nil {
					t.Fatal(err)
				}
				copies = append(copies, f)
			}
			// Renames at once on every copy: equal counters, so the
			// actor decides.
			for i, d := range copies {
				if err := d.RootMap().Set("title", fmt.Sprintf("first %d", i)); err != nil {
					t.Fatal(err)
				}
				if _, err := d.Commit("rename"); err != nil {
					t.Fatal(err)
				}
			}
			for step := range rng.IntN(31) {
				d := copies[rng.IntN(len(copies))]
				var err error
				switch rng.IntN(6) {
				case 0, 1:
					err = d.RootMap().Set("title", fmt.Sprintf("title %d.%d", seed, step))
				case 2:
					err = d.RootMap().Delete("title")
				case 3:
					if rng.IntN(4) == 0 {
						err = d.RootMap().Delete("text")
					} else {
						err = d.RootMap().Set("text", automerge.NewText("again"))
					}
				case 4:
					o := copies[rng.IntN(len(copies))]
					if o != d {
						_, err = d.Merge(o)
					}
				default:
					err = d.RootMap().Set("other", int64(step))
				}
				if err != nil {
					t.Fatal(err)
				}
				// A merge, or deleting what is not there, commits nothing.
				if _, err := d.Commit("step"); err != nil && !strings.Contains(err.Error(), "empty") {
					t.Fatal(err)
				}
			}
			for _, o := range copies[1:] {
				if _, err := base.Merge(o); err != nil {
					t.Fatal(err)
				}
			}
			title, body, ok := RootSummary(decodedChanges(t, base))
			if !ok {
				t.Fatal("a string title was not resolved")
			}
			want := ""
			if v, err := base.RootMap().Get("title"); err == nil && v.Kind() == automerge.KindStr {
				want = v.Str()
			}
			tv, err := base.RootMap().Get("text")
			wantBody := err == nil && tv.Kind() == automerge.KindText
			if title != want || body != wantBody {
				t.Fatalf("summary: title %q body %v; core: %q %v", title, body, want, wantBody)
			}
		})
	}
}

func TestRootSummaryLeavesATextTitleToTheModel(t *testing.T) {
	d := coreNote(t, "")
	if err := d.RootMap().Set("title", automerge.NewText("js title")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Commit("js"); err != nil {
		t.Fatal(err)
	}
	if _, body, ok := RootSummary(decodedChanges(t, d)); ok || !body {
		t.Fatalf("a Text title: ok %v body %v, want ok false, body true", ok, body)
	}
}

// decodedChanges is every change of d, decoded.
func decodedChanges(t *testing.T, d *automerge.Doc) []*Change {
	t.Helper()
	cs, err := d.Changes()
	if err != nil {
		t.Fatal(err)
	}
	var changes []*Change
	for _, c := range cs {
		dc, err := DecodeChange(c.Save())
		if err != nil {
			t.Fatal(err)
		}
		changes = append(changes, dc)
	}
	return changes
}
