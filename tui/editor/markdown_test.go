package editor

import (
	"strconv"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
)

const mdNote = "# Trip to **Lisbon**\n" +
	"## Flights\n" +
	"- [ ] book `TP 1351`, lands 10:40\n" +
	"- [x] pack the *good* shoes\n" +
	"  1. nested _item_ with ~~old~~ text\n" +
	"     - deeper\n" +
	"> a quote with [a link](https://example.com/x)\n" +
	"```sh\n" +
	"collab search \"# not a heading\"\n" +
	"```\n" +
	"A long line that wraps: pastéis de nata in Belém, 漢字 and 👍🏽, then **bold across the wrap** ends.\n" +
	"---"

// Golden views of the Markdown styling (ANSI kept): headings, nested lists,
// checkboxes, code spans and a fenced block, links, quotes, a long wrapped
// line with wide characters; in colour and with NO_COLOR.
func TestGoldenMarkdown(t *testing.T) {
	e := newEd(t, 36, 18, mdNote, WithMarkdown(true))
	e.plain()
	golden.RequireEqual(t, e.m.View())
}

func TestGoldenMarkdownNoColor(t *testing.T) {
	e := newEd(t, 36, 18, mdNote, WithMarkdown(true), WithNoColor(true))
	if v := e.m.View(); containsColor(v) {
		t.Fatalf("NO_COLOR view uses colours: %q", v)
	}
	e.plain()
	golden.RequireEqual(t, e.m.View())
}

// containsColor reports an SGR foreground or background colour.
func containsColor(v string) bool {
	for _, seq := range strings.Split(v, "\x1b[")[1:] {
		end := strings.IndexByte(seq, 'm')
		if end < 0 {
			continue
		}
		for _, p := range strings.Split(seq[:end], ";") {
			n, err := strconv.Atoi(p)
			if err == nil && (n >= 30 && n <= 38 || n >= 40 && n <= 48 || n >= 90 && n <= 97 || n >= 100 && n <= 107) {
				return true
			}
		}
	}
	return false
}

// Styling never changes the text: the view without escapes shows exactly
// the note's characters, markers included.
func TestMarkdownKeepsTheText(t *testing.T) {
	e := newEd(t, 200, 20, mdNote, WithMarkdown(true))
	rows := e.trimmed()
	for i, line := range strings.Split(mdNote, "\n") {
		if rows[i] != line {
			t.Errorf("row %d shows %q, the text is %q", i, rows[i], line)
		}
	}
}

// styleAt is the SGR sequence in force before the first cell showing s on
// row y of the view.
func styleAt(t *testing.T, e *ed, y int, s string) string {
	t.Helper()
	row := strings.Split(e.m.View(), "\n")[y]
	i := strings.Index(row, s)
	if i < 0 {
		t.Fatalf("row %d %q lacks %q", y, ansi.Strip(row), s)
	}
	j := strings.LastIndex(row[:i], "\x1b[")
	if j < 0 {
		return ""
	}
	return row[j:i]
}

// A code fence typed above text makes the lines below code until it is
// closed, and removing it makes them plain again: the fence state is kept
// per line and recomputed from the edit on, not for the whole note.
func TestCodeFenceStateFollowsEdits(t *testing.T) {
	e := newEd(t, 30, 6, "intro\n# Heading\ntext", WithMarkdown(true), WithNoColor(true))
	heading := styleAt(t, e, 1, "Heading")
	if !strings.Contains(heading, "1") {
		t.Fatalf("heading not bold: %q", heading)
	}
	e.keys("ctrl+home", "end", "enter")
	e.typ("```")
	if got := styleAt(t, e, 2, "Heading"); !strings.Contains(got, "2") || strings.Contains(got, "1;") {
		t.Fatalf("inside the fence the heading should be code (faint), not bold: %q", got)
	}
	e.keys("backspace")
	if got := styleAt(t, e, 2, "Heading"); got != heading {
		t.Fatalf("fence removed: heading style %q, want %q", got, heading)
	}
	// Many lines below: only what is on screen is classified, and states
	// are right after a jump to the end.
	big := "```\n" + strings.Repeat("code line\n", 3000) + "```\n# After"
	e = newEd(t, 30, 4, big, WithMarkdown(true), WithNoColor(true))
	e.keys("ctrl+end")
	if got := styleAt(t, e, 3, "After"); !strings.Contains(got, "1") {
		t.Fatalf("heading after a closed fence: %q", got)
	}
	e.keys("ctrl+home", "delete") // the opening fence is gone: the closing one opens
	e.keys("ctrl+end")
	if got := styleAt(t, e, 3, "After"); strings.Contains(got, "1;") || got == "" {
		t.Fatalf("heading after an open fence should be code: %q", got)
	}
}

// Inline elements and their precedence, classified per rune.
func TestMarkdownInline(t *testing.T) {
	for _, tc := range []struct {
		line, at string
		want     mdMask
	}{
		{"**bold** text", "bold", mdStrong},
		{"*em* text", "em", mdEm},
		{"***both***", "both", mdStrong | mdEm},
		{"snake_case_word", "case", 0},
		{"a `*not em*` b", "not", mdCode},
		{"[label](http://x)", "label", mdLink},
		{"[label](http://x)", "http", mdURL},
		{"see https://example.com.", "example", mdLink},
		{"~~gone~~", "gone", mdStrike},
		{"- [x] done", "done", mdDone},
		{"- [ ] todo", "todo", 0},
		{"### h3", "h3", mdHeading},
		{"#notaheading", "nota", 0},
		{"> quoted *em*", "em", mdQuote | mdEm},
	} {
		runes := []rune(tc.line)
		masks := markdownRunes(runes, fence{})
		i := len([]rune(tc.line[:strings.Index(tc.line, tc.at)]))
		var got mdMask
		if masks != nil {
			got = masks[i]
		}
		if got != tc.want {
			t.Errorf("%q at %q: mask %b, want %b", tc.line, tc.at, got, tc.want)
		}
	}
}
