package editor

import (
	"unicode"
	"unicode/utf8"
)

// Find returns the first match of query at or after rune offset from,
// wrapping around to the start. Matching is smart-case: a query without
// upper-case letters ignores case.
func (m *Model) Find(query string, from int) (start, end int, ok bool) {
	q := []rune(query)
	if len(q) == 0 {
		return 0, 0, false
	}
	fold := !hasUpper(q)
	from = clamp(from, 0, m.buf.runes)
	for _, rng := range [2][2]int{{from, m.buf.runes}, {0, from}} {
		if i, ok := m.scanForward(rng[0], rng[1], q, fold); ok {
			return i, i + len(q), true
		}
	}
	return 0, 0, false
}

// FindBackward returns the last match starting before rune offset before,
// wrapping around to the end.
// Its prologue is Find's; the scans are kept apart so each reads in one
// direction.
func (m *Model) FindBackward(query string, before int) (start, end int, ok bool) {
	q := []rune(query)
	if len(q) == 0 {
		return 0, 0, false
	}
	fold := !hasUpper(q)
	n := m.buf.runes
	before = clamp(before, 0, n)
	for _, rng := range [2][2]int{{before - 1, 0}, {n - len(q), before}} {
		if i, ok := m.scanBackward(min(rng[0], n-len(q)), rng[1], q, fold); ok {
			return i, i + len(q), true
		}
	}
	return 0, 0, false
}

// scanForward returns the first match starting in runes [from, to).
func (m *Model) scanForward(from, to int, q []rune, fold bool) (int, bool) {
	t := m.buf.text
	for i, j := from, m.buf.byteOff(from); i < to && j < len(t); i++ {
		if matchAt(t[j:], q, fold) {
			return i, true
		}
		j += utf8size(t[j])
	}
	return 0, false
}

// scanBackward returns the last match starting in runes [to, from].
func (m *Model) scanBackward(from, to int, q []rune, fold bool) (int, bool) {
	if from < to || from < 0 {
		return 0, false
	}
	t := m.buf.text
	for i, j := from, m.buf.byteOff(from); i >= to; i-- {
		if matchAt(t[j:], q, fold) {
			return i, true
		}
		if j > 0 {
			_, size := utf8.DecodeLastRune(t[:j])
			j -= size
		}
	}
	return 0, false
}

// FindNext selects the next match after the cursor and scrolls to it.
func (m *Model) FindNext(query string) bool {
	from := m.cursor
	if s, _, ok := m.Selection(); ok {
		from = s + 1 // step past the current match
	}
	s, e, ok := m.Find(query, from)
	if ok {
		m.Select(s, e)
	}
	return ok
}

// FindPrev selects the previous match before the cursor and scrolls to it.
func (m *Model) FindPrev(query string) bool {
	before := m.cursor
	if s, _, ok := m.Selection(); ok {
		before = s
	}
	s, e, ok := m.FindBackward(query, before)
	if ok {
		m.Select(s, e)
	}
	return ok
}

func hasUpper(q []rune) bool {
	for _, r := range q {
		if unicode.IsUpper(r) {
			return true
		}
	}
	return false
}

// matchAt reports whether the UTF-8 text t starts with q (folding the
// text's case into q's lower case when fold).
func matchAt(t []byte, q []rune, fold bool) bool {
	for _, r := range q {
		if len(t) == 0 {
			return false
		}
		c, size := rune(t[0]), 1
		if c >= utf8.RuneSelf {
			c, size = utf8.DecodeRune(t)
		}
		if c != r && (!fold || unicode.ToLower(c) != r) {
			return false
		}
		t = t[size:]
	}
	return true
}

// FindAll returns every match of query (smart case, as Find), in order and
// not overlapping, as [start, end) rune ranges.
func (m *Model) FindAll(query string) [][2]int {
	q := []rune(query)
	if len(q) == 0 {
		return nil
	}
	fold := !hasUpper(q)
	t := m.buf.text
	var out [][2]int
	for i, j := 0, 0; j < len(t); {
		if matchAt(t[j:], q, fold) {
			out = append(out, [2]int{i, i + len(q)})
			for range q {
				j += utf8size(t[j])
			}
			i += len(q)
			continue
		}
		j += utf8size(t[j])
		i++
	}
	return out
}
