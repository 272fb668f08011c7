package editor

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/collab-editor/collab/internal/testkit"
)

// ed wraps a Model with the splices it emitted applied to a shadow text, the
// way the app would apply them to the CRDT.
type ed struct {
	t      *testing.T
	m      *Model
	shadow []rune
	last   []Splice
	cmd    tea.Cmd
}

func newEd(t *testing.T, w, h int, text string, opts ...Option) *ed {
	t.Helper()
	m := New(opts...)
	m.SetSize(w, h)
	m.SetText(text)
	return &ed{t: t, m: m, shadow: []rune(text)}
}

func (e *ed) send(msg tea.Msg) *ed {
	e.t.Helper()
	e.last, e.cmd = e.m.Update(msg)
	for _, s := range e.last {
		e.shadow = applySplice(e.t, e.shadow, s)
	}
	if got := e.m.Text(); got != string(e.shadow) {
		e.t.Fatalf("editor text %q != text rebuilt from splices %q", got, string(e.shadow))
	}
	return e
}

func (e *ed) keys(ks ...string) *ed {
	e.t.Helper()
	for _, k := range ks {
		e.send(kp(k))
	}
	return e
}

func (e *ed) typ(s string) *ed {
	e.t.Helper()
	for _, r := range s {
		e.send(kp(string(r)))
	}
	return e
}

func (e *ed) remote(ss ...Splice) *ed {
	e.t.Helper()
	if err := e.m.ApplyRemote(ss); err != nil {
		e.t.Fatal(err)
	}
	for _, s := range ss {
		e.shadow = applySplice(e.t, e.shadow, s)
	}
	return e
}

func applySplice(t *testing.T, text []rune, s Splice) []rune {
	t.Helper()
	if s.Pos < 0 || s.Delete < 0 || s.Pos+s.Delete > len(text) {
		t.Fatalf("splice %+v out of range for %d runes", s, len(text))
	}
	out := append([]rune{}, text[:s.Pos]...)
	out = append(out, []rune(s.Insert)...)
	return append(out, text[s.Pos+s.Delete:]...)
}

func (e *ed) wantText(want string) {
	e.t.Helper()
	if got := e.m.Text(); got != want {
		e.t.Fatalf("text = %q, want %q", got, want)
	}
}

func (e *ed) wantCursor(pos int) {
	e.t.Helper()
	if got := e.m.CursorPos(); got != pos {
		e.t.Fatalf("cursor = %d, want %d", got, pos)
	}
}

func (e *ed) wantXY(x, y int) {
	e.t.Helper()
	gx, gy, ok := e.m.CursorXY()
	if !ok || gx != x || gy != y {
		e.t.Fatalf("cursor xy = %d,%d (visible %v), want %d,%d", gx, gy, ok, x, y)
	}
}

// plain returns the view without ANSI, checking every row is exactly Width
// cells (counted the way the renderer will, with the editor's width method)
// and there are exactly Height rows.
func (e *ed) plain() string {
	e.t.Helper()
	v := ansi.Strip(e.m.View())
	rows := strings.Split(v, "\n")
	if len(rows) != e.m.Height() {
		e.t.Fatalf("view has %d rows, want %d:\n%s", len(rows), e.m.Height(), v)
	}
	for i, r := range rows {
		if w := e.m.WidthMethod().StringWidth(r); w != e.m.Width() {
			e.t.Fatalf("row %d %q is %d cells, want %d", i, r, w, e.m.Width())
		}
	}
	return v
}

// trimmed is plain with trailing spaces cut, for readable assertions.
func (e *ed) trimmed() []string {
	e.t.Helper()
	rows := strings.Split(e.plain(), "\n")
	for i := range rows {
		rows[i] = strings.TrimRight(rows[i], " ")
	}
	return rows
}

// kp builds a key press from a keystroke like "ctrl+shift+left" or "a".
func kp(s string) tea.KeyPressMsg { return testkit.Key(s) }
