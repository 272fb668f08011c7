package notebook

import (
	"strings"
	"testing"
)

func searchFixture(t *testing.T) *Notebook {
	t.Helper()
	nb, err := Open(t.TempDir(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []struct{ title, text string }{
		{"Trip to Lisbon", "# Trip to Lisbon\n\n- [ ] book the flight\n- [x] pastéis de nata in Belém\nLISBON again\n"},
		{"Groceries", "eggs\nmilk <2 l> & \"bread\"\n"},
		{"İstanbul notes", "Ayasofya\nthe Bosphorus at dusk 🌉 then lisbon\n"},
		{"Empty", ""},
	} {
		note, err := nb.Create(n.title)
		if err != nil {
			t.Fatal(err)
		}
		if n.text != "" {
			if err := note.Splice(0, 0, n.text); err != nil {
				t.Fatal(err)
			}
		}
		if err := note.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return nb
}

func titles(rs []SearchResult) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Title)
	}
	return out
}

// What `collab search` and the TUI rely on: smart case, every matching line
// with its number and the match's rune offset in the note, title matches,
// and characters JSON escapes in the view cache.
func TestSearch(t *testing.T) {
	nb := searchFixture(t)
	res, err := nb.Search("lisbon", SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(titles(res), "|"); !strings.Contains(got, "Trip to Lisbon") || !strings.Contains(got, "İstanbul notes") || len(res) != 2 {
		t.Fatalf("lisbon found %q", got)
	}
	for _, r := range res {
		text := noteTextOf(t, nb, r)
		for _, l := range r.Lines {
			line := strings.Split(text, "\n")[l.Line-1]
			if l.Text != line {
				t.Errorf("%s line %d: %q, the note has %q", r.Title, l.Line, l.Text, line)
			}
			if got := string([]rune(text)[l.Offset : l.Offset+l.Length]); !strings.EqualFold(got, "lisbon") {
				t.Errorf("%s: offset %d holds %q", r.Title, l.Offset, got)
			}
			if got := string([]rune(l.Text)[l.Column : l.Column+l.Length]); !strings.EqualFold(got, "lisbon") {
				t.Errorf("%s: column %d holds %q", r.Title, l.Column, got)
			}
		}
		if r.Title == "Trip to Lisbon" && (!r.TitleMatch || r.Matches != 2 || len(r.Lines) != 2 || r.Lines[0].Line != 1 || r.Lines[1].Line != 5) {
			t.Errorf("trip note: %+v", r)
		}
		if r.Title == "İstanbul notes" && (r.TitleMatch || r.Matches != 1 || r.Lines[0].Line != 2) {
			t.Errorf("istanbul note: %+v", r)
		}
	}
	// Upper case in the query: case matters.
	if res, _ := nb.Search("LISBON", SearchOptions{}); len(res) != 1 || res[0].Lines[0].Line != 5 || res[0].TitleMatch {
		t.Fatalf("LISBON: %+v", res)
	}
	// A title-only match; an ignored-case match on a letter whose lower
	// case is shorter (İ → i); characters the view's JSON escapes.
	for q, want := range map[string]string{
		"groceries": "Groceries", "istanbul": "İstanbul notes", "<2 l> & \"bread\"": "Groceries",
		"belém": "Trip to Lisbon", "🌉 then": "İstanbul notes",
	} {
		res, err := nb.Search(q, SearchOptions{})
		if err != nil || len(res) != 1 || res[0].Title != want {
			t.Errorf("%q found %q (%v), want %q", q, titles(res), err, want)
		}
	}
	if res, _ := nb.Search("nowhere", SearchOptions{}); len(res) != 0 {
		t.Fatalf("nowhere found %q", titles(res))
	}
	if res, _ := nb.Search("", SearchOptions{}); len(res) != 0 {
		t.Fatalf("the empty query found %q", titles(res))
	}
	if res, _ := nb.Search("i", SearchOptions{MaxLines: 1, MaxNotes: 2}); len(res) != 2 || len(res[0].Lines) > 1 {
		t.Fatalf("limits not kept: %+v", res)
	}
}

// A view another process left stale is rebuilt from the note, so a search
// finds what was stored after it was written.
func TestSearchStaleView(t *testing.T) {
	nb := searchFixture(t)
	id, err := nb.Resolve("Groceries")
	if err != nil {
		t.Fatal(err)
	}
	n, _, err := nb.OpenNote(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Splice(0, 0, "saffron\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Flush(); err != nil { // stored, view not rewritten yet
		t.Fatal(err)
	}
	defer n.Close()
	if _, current, _ := nb.PeekView(id); current {
		t.Fatal("fixture: the view should be stale")
	}
	res, err := nb.Search("saffron", SearchOptions{})
	if err != nil || len(res) != 1 || res[0].Lines[0].Line != 1 {
		t.Fatalf("saffron: %+v, %v", res, err)
	}
}

func noteTextOf(t *testing.T, nb *Notebook, r SearchResult) string {
	t.Helper()
	v, _, err := nb.PeekView(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return v.Text
}
