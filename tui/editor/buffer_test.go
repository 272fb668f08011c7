package editor

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
)

// pieces mixes characters of every UTF-8 length with newlines and fence
// markers, so lines are ASCII, multi-byte, empty and fenced by turns.
var pieces = []string{"a", "b", " ", "é", "日本", "😀", "\n", "```", "\n```\n", "e\u0301", "\t", "xyz"}

func randomPiece(rng *rand.Rand) string {
	var sb strings.Builder
	for range 1 + rng.IntN(4) {
		sb.WriteString(pieces[rng.IntN(len(pieces))])
	}
	return sb.String()
}

// checkBuffer compares every view of the buffer with the text as runes.
func checkBuffer(t *testing.T, b *buffer, want []rune, rng *rand.Rand) {
	t.Helper()
	if string(b.text) != string(want) || b.runes != len(want) {
		t.Fatalf("text %q (%d runes), want %q (%d)", b.text, b.runes, string(want), len(want))
	}
	again := buffer{tabWidth: b.tabWidth, method: b.method}
	again.setText(string(want))
	if again.lineCount() != b.lineCount() {
		t.Fatalf("%d lines, want %d", b.lineCount(), again.lineCount())
	}
	for li := range b.lineCount() {
		if got, w := b.line(li), again.line(li); got != w {
			t.Fatalf("line %d: %+v, want %+v", li, got, w)
		}
	}
	// The layouts kept are those of the lines as they are now.
	glyphs := 0
	for li, lay := range b.lays {
		if li >= b.lineCount() {
			t.Fatalf("a layout kept for line %d of %d", li, b.lineCount())
		}
		if fmt.Sprint(lay.gs) != fmt.Sprint(again.glyphs(li)) {
			t.Fatalf("line %d: a stale layout", li)
		}
		glyphs += len(lay.gs)
	}
	if glyphs != b.laidOut {
		t.Fatalf("laidOut %d, the layouts hold %d glyphs", b.laidOut, glyphs)
	}
	// Fence states as a buffer made afresh works them out.
	for li := range b.lineCount() {
		if got, w := b.fenceIn(li), again.fenceIn(li); got != w {
			t.Fatalf("line %d: fence %+v, want %+v", li, got, w)
		}
	}
	if len(want) == 0 {
		return
	}
	// Scans both ways (the hint's short steps) and random jumps.
	for i := range want {
		if got := b.at(i); got != want[i] {
			t.Fatalf("at(%d) = %q, want %q", i, got, want[i])
		}
	}
	for i := len(want) - 1; i >= 0; i-- {
		if got := b.at(i); got != want[i] {
			t.Fatalf("at(%d) backwards = %q, want %q", i, got, want[i])
		}
	}
	for range 50 {
		from := rng.IntN(len(want) + 1)
		to := from + rng.IntN(len(want)+1-from)
		if got := b.str(from, to); got != string(want[from:to]) {
			t.Fatalf("str(%d, %d) = %q, want %q", from, to, got, string(want[from:to]))
		}
	}
}

// The UTF-8 buffer and its line index stay exactly what the text as runes
// says, through random splices of mixed-width text (seeded).
func TestBufferMatchesTheRunes(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			var b buffer
			b.tabWidth = 4
			start := randomPiece(rng)
			b.setText(start)
			want := []rune(start)
			for step := range 300 {
				pos := rng.IntN(len(want) + 1)
				del := 0
				if rng.IntN(3) == 0 {
					del = rng.IntN(len(want) - pos + 1)
				}
				ins := ""
				if rng.IntN(4) != 0 {
					ins = randomPiece(rng)
				}
				if rng.IntN(40) == 0 {
					ins += "\xff" // invalid UTF-8 counts as one U+FFFD
				}
				b.splice(pos, del, ins)
				want = append(want[:pos:pos], append([]rune(ins), want[pos+del:]...)...)
				// Lay out some lines, as drawing would.
				for range 3 {
					b.layout(rng.IntN(b.lineCount()), 10)
				}
				if rng.IntN(5) == 0 {
					b.fenceIn(rng.IntN(b.lineCount()))
				}
				if step%10 == 0 || step == 299 {
					checkBuffer(t, &b, want, rng)
				}
			}
		})
	}
}

// findRunes is Find's contract on runes, the way the editor found matches
// before it kept UTF-8.
func findRunes(t []rune, q []rune, fold bool) [][2]int {
	var out [][2]int
	for i := 0; i+len(q) <= len(t); {
		ok := true
		for j, r := range q {
			c := t[i+j]
			if c != r && (!fold || strings.ToLower(string(c)) != string(r)) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, [2]int{i, i + len(q)})
			i += len(q)
			continue
		}
		i++
	}
	return out
}

func matchRunes(t []rune, i int, q []rune, fold bool) bool {
	if i < 0 || i+len(q) > len(t) {
		return false
	}
	for j, r := range q {
		if c := t[i+j]; c != r && (!fold || strings.ToLower(string(c)) != string(r)) {
			return false
		}
	}
	return true
}

// findFromRunes is the first match at or after from, wrapping to the start.
func findFromRunes(t, q []rune, fold bool, from int) (int, bool) {
	for i := from; i < len(t); i++ {
		if matchRunes(t, i, q, fold) {
			return i, true
		}
	}
	for i := 0; i < from; i++ {
		if matchRunes(t, i, q, fold) {
			return i, true
		}
	}
	return 0, false
}

// findBackRunes is the last match starting before before, wrapping to the end.
func findBackRunes(t, q []rune, fold bool, before int) (int, bool) {
	for i := before - 1; i >= 0; i-- {
		if matchRunes(t, i, q, fold) {
			return i, true
		}
	}
	for i := len(t) - 1; i >= before; i-- {
		if matchRunes(t, i, q, fold) {
			return i, true
		}
	}
	return 0, false
}

// Find, FindBackward and FindAll give rune ranges in text of every UTF-8
// length, wrap around, and agree with a search over runes (seeded).
func TestFindInMultiByteText(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	for range 40 {
		var sb strings.Builder
		for range 30 {
			sb.WriteString(randomPiece(rng))
		}
		text := sb.String()
		m := New()
		m.SetSize(40, 10)
		m.SetText(text)
		runes := []rune(text)
		for _, q := range []string{"日本", "é", "😀a", "ab", "a", "É", "```"} {
			qr := []rune(q)
			fold := !hasUpper(qr)
			want := findRunes(runes, qr, fold)
			got := m.FindAll(q)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("FindAll(%q) = %v, want %v in %q", q, got, want, text)
			}
			for range 10 {
				from := rng.IntN(len(runes) + 1)
				ws, wok := findFromRunes(runes, qr, fold, from)
				if s, e, ok := m.Find(q, from); ok != wok || ok && (s != ws || e != ws+len(qr)) {
					t.Fatalf("Find(%q, %d) = %d, %d, %v; want %d, %v", q, from, s, e, ok, ws, wok)
				}
				ws, wok = findBackRunes(runes, qr, fold, from)
				if s, e, ok := m.FindBackward(q, from); ok != wok || ok && (s != ws || e != ws+len(qr)) {
					t.Fatalf("FindBackward(%q, %d) = %d, %d, %v; want %d, %v", q, from, s, e, ok, ws, wok)
				}
			}
		}
	}
}

// Scrolling a long note end to end keeps a bounded number of layouts, and
// every screen still draws its text.
func TestLayoutsStayBounded(t *testing.T) {
	var sb strings.Builder
	for i := range 6000 {
		fmt.Fprintf(&sb, "line %05d %s\n", i, strings.Repeat("wörds and 日本 ", 5))
	}
	e := newEd(t, 60, 30, sb.String(), WithMarkdown(true), WithNoColor(true))
	if e.m.Len() < 4*maxLaidOut {
		t.Fatalf("the note (%d characters) is too short to test the bound", e.m.Len())
	}
	for range 2000 {
		e.m.View()
		if e.m.buf.laidOut > maxLaidOut+60*30 || len(e.m.buf.lays) > maxLays {
			t.Fatalf("%d glyphs laid out, bound %d", e.m.buf.laidOut, maxLaidOut)
		}
		if e.m.CursorPos() >= e.m.Len()-200 {
			break
		}
		e.keys("pgdown")
	}
	if !strings.Contains(e.m.View(), "line 05999") {
		t.Fatal("the end of the note does not show after scrolling down")
	}
	// And back to the top: still drawn right.
	e.send(tea.KeyPressMsg{Code: tea.KeyHome, Mod: tea.ModCtrl})
	if !strings.Contains(e.m.View(), "line 00000 wörds") {
		t.Fatal("the start of the note does not show after ctrl+home")
	}
	checkBuffer(t, &e.m.buf, []rune(e.m.Text()), rand.New(rand.NewPCG(1, 1)))
	if utf8.RuneCountInString(e.m.Text()) != e.m.Len() {
		t.Fatal("Len is not the rune count")
	}
}
