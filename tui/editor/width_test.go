package editor

import (
	"strings"
	"testing"

	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
	"github.com/rivo/uniseg"
)

// drawn puts a view through the cell buffer Bubble Tea's renderer draws
// frames with, measuring clusters with method, and returns what each screen
// row ends up showing (cells joined, trailing blanks cut).
func drawn(view string, w, h int, method ansi.Method) []string {
	buf := uv.NewScreenBuffer(w, h)
	buf.Method = method
	uv.NewStyledString(view).Draw(buf, buf.Bounds())
	rows := make([]string, h)
	for y := 0; y < h; y++ {
		var sb strings.Builder
		for x := 0; x < w; x++ {
			if c := buf.CellAt(x, y); c != nil {
				sb.WriteString(c.Content)
			}
		}
		rows[y] = strings.TrimRight(sb.String(), " ")
	}
	return rows
}

// Issue 7: a ZWJ emoji near the right edge was not drawn, nor anything after
// it on that row. The editor counted the family as 2 cells (uniseg), Bubble
// Tea's renderer as 6 (wcwidth sums code points, its default) or 2 (grapheme
// widths, once the terminal reports mode 2027): the row overflowed and was
// cut. Wrap, drawing and the cursor now measure with the renderer's method,
// so every cluster of the text reaches the screen, in order, with either.
func TestWideClustersAtTheEdgeAreDrawn(t *testing.T) {
	family, thumbs, heart := "👨\u200d👩\u200d👧", "👍🏽", "❤️"
	text := "abcdefgh" + family + "xy\n" + "abcdefghij" + thumbs + "z\n" + "abcdefghijk" + heart + "w"
	for _, method := range []ansi.Method{ansi.WcWidth, ansi.GraphemeWidth} {
		e := newEd(t, 12, 8, text, WithWidthMethod(method))
		screen := drawn(e.m.View(), 12, 8, method)
		got := strings.Join(screen, "")
		want := strings.ReplaceAll(text, "\n", "")
		if got != want {
			t.Errorf("method %v: the screen shows %q, want every cluster %q; rows:\n%s", method, got, want, strings.Join(screen, "\n"))
		}
		// The cursor after the family sits right after it on screen.
		e.m.SetCursorPos(len([]rune("abcdefgh" + family)))
		x, y, ok := e.m.CursorXY()
		if !ok {
			t.Fatalf("method %v: cursor not visible", method)
		}
		row := screen[y]
		i := strings.Index(row, "x")
		if i < 0 {
			t.Errorf("method %v: x is not drawn on the cursor's row %q", method, row)
		} else if before := method.StringWidth(row[:i]); x != before {
			t.Errorf("method %v: cursor at column %d, but x is drawn at column %d of %q", method, x, before, row)
		}
	}
}

// The width the editor gives a cluster is the renderer's, not uniseg's
// (which differ for ZWJ sequences, skin tones and emoji presentation).
func TestClusterWidthIsTheRenderers(t *testing.T) {
	for _, c := range []string{"👨\u200d👩\u200d👧", "👍🏽", "❤️", "🇩🇪", "漢", "e\u0301"} {
		for _, method := range []ansi.Method{ansi.WcWidth, ansi.GraphemeWidth} {
			e := newEd(t, 40, 1, c, WithWidthMethod(method))
			e.keys("end")
			x, _, _ := e.m.CursorXY()
			if want := method.StringWidth(c); x != want {
				t.Errorf("%q with method %v: %d cells, the renderer counts %d (uniseg %d)", c, method, x, want, uniseg.StringWidth(c))
			}
		}
	}
}

// SetWidthMethod re-lays out the text: a row that fitted with grapheme
// widths wraps once wcwidth counts more cells.
func TestSetWidthMethodRewraps(t *testing.T) {
	e := newEd(t, 10, 3, "abcdefgh👨\u200d👩\u200d👧", WithWidthMethod(ansi.GraphemeWidth))
	if rows := e.trimmed(); rows[1] != "" {
		t.Fatalf("grapheme widths: %q", rows)
	}
	e.m.SetWidthMethod(ansi.WcWidth)
	if rows := e.trimmed(); rows[0] != "abcdefgh" || rows[1] != "👨\u200d👩\u200d👧" {
		t.Fatalf("wcwidth: %q", rows)
	}
}
