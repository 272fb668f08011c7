package editor

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/collab-editor/collab/internal/trace"
)

// reportPercentiles reports p50/p99 of per-iteration times in microseconds.
func reportPercentiles(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	pct := func(p float64) float64 {
		return float64(d[min(int(float64(len(d))*p), len(d)-1)].Nanoseconds()) / 1e3
	}
	b.ReportMetric(pct(0.50), "p50-us")
	b.ReportMetric(pct(0.99), "p99-us")
}

// longestLineMiddle returns an offset in the middle of the text's longest
// line: the worst case for re-laying out the edited line.
func longestLineMiddle(text string) int {
	best, bestLen, start := 0, -1, 0
	rs := []rune(text)
	for i := 0; i <= len(rs); i++ {
		if i == len(rs) || rs[i] == '\n' {
			if i-start > bestLen {
				best, bestLen = start+(i-start)/2, i-start
			}
			start = i + 1
		}
	}
	return best
}

// BenchmarkEditorKeystroke measures a local keystroke's Update + View +
// Cursor on the paper text, typing and deleting in the middle of its longest
// line (80×40 viewport), with Markdown styling off and on (the app's
// editor has it on).
func BenchmarkEditorKeystroke(b *testing.B) {
	text := trace.Paper(b).End
	for _, styled := range []bool{false, true} {
		b.Run(fmt.Sprintf("markdown=%v", styled), func(b *testing.B) {
			m := New(WithMarkdown(styled))
			m.SetSize(80, 40)
			m.SetText(text)
			m.SetCursorPos(longestLineMiddle(text))
			m.SetPeers([]PeerCursor{{ID: "p", Name: "peer", Cursor: m.CursorPos() + 40, Anchor: m.CursorPos() + 60}})
			_ = m.View()
			typeKey, bsKey := kp("a"), kp("backspace")
			times := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := typeKey
				if i%2 == 1 {
					k = bsKey
				}
				t0 := time.Now()
				splices, _ := m.Update(k)
				v := m.View()
				c := m.Cursor()
				times = append(times, time.Since(t0))
				if len(splices) != 1 || len(v) == 0 || c == nil {
					b.Fatalf("keystroke %d: %d splices, view %d bytes, cursor %v", i, len(splices), len(v), c)
				}
			}
			b.StopTimer()
			reportPercentiles(b, times)
		})
	}
}

// BenchmarkEditorRemoteChange measures a remote one-character change
// (insert or delete at a pseudo-random place) applied, then View + Cursor,
// on the paper text: via SetTextFromRemote (the app re-read the text after a
// merge; includes the prefix/suffix diff) and via ApplyRemote (the app knows
// the splice).
func BenchmarkEditorRemoteChange(b *testing.B) {
	text := trace.Paper(b).End
	setup := func() *Model {
		m := New()
		m.SetSize(80, 40)
		m.SetText(text)
		m.SetCursorPos(len(text) / 2)
		// Some own history to transform, and a peer to shift.
		for _, r := range "local words here" {
			m.Update(kp(string(r)))
		}
		m.SetPeers([]PeerCursor{{ID: "p", Name: "peer", Cursor: 1000, Anchor: 1200}})
		_ = m.View()
		return m
	}
	seed := uint64(7)
	rnd := func(n int) int {
		seed = seed*6364136223846793005 + 1442695040888963407
		return int((seed >> 33) % uint64(n))
	}
	edit := func(n, i int) Splice {
		if i%2 == 0 {
			return Splice{Pos: rnd(n + 1), Insert: "x"}
		}
		return Splice{Pos: rnd(n), Delete: 1}
	}

	b.Run("SetTextFromRemote", func(b *testing.B) {
		m := setup()
		cur := []rune(m.Text())
		times := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			cur = applyRunes(cur, edit(len(cur), i))
			next := string(cur)
			b.StartTimer()
			t0 := time.Now()
			ss := m.SetTextFromRemote(next)
			v := m.View()
			_ = m.Cursor()
			times = append(times, time.Since(t0))
			if len(ss) != 1 || len(v) == 0 {
				b.Fatalf("remote change %d: %d splices", i, len(ss))
			}
		}
		b.StopTimer()
		if m.Text() != string(cur) {
			b.Fatal("editor text diverged from the remote text")
		}
		reportPercentiles(b, times)
	})

	b.Run("ApplyRemote", func(b *testing.B) {
		m := setup()
		times := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			s := edit(m.Len(), i)
			t0 := time.Now()
			err := m.ApplyRemote([]Splice{s})
			v := m.View()
			_ = m.Cursor()
			times = append(times, time.Since(t0))
			if err != nil || len(v) == 0 {
				b.Fatalf("remote change %d: %v", i, err)
			}
		}
		b.StopTimer()
		reportPercentiles(b, times)
	})
}

func applyRunes(text []rune, s Splice) []rune {
	return slices.Insert(slices.Delete(text, s.Pos, s.Pos+s.Delete), s.Pos, []rune(s.Insert)...)
}
