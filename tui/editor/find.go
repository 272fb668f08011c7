package editor

import "unicode"

// Find returns the first match of query at or after rune offset from,
// wrapping around to the start. Matching is smart-case: a query without
// upper-case letters ignores case.
func (m *Model) Find(query string, from int) (start, end int, ok bool) {
	q := []rune(query)
	if len(q) == 0 {
		return 0, 0, false
	}
	fold := !hasUpper(q)
	t := m.buf.text
	from = clamp(from, 0, len(t))
	for _, rng := range [2][2]int{{from, len(t)}, {0, from}} {
		for i := rng[0]; i < rng[1] && i+len(q) <= len(t); i++ {
			if matchAt(t, i, q, fold) {
				return i, i + len(q), true
			}
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
	t := m.buf.text
	before = clamp(before, 0, len(t))
	for _, rng := range [2][2]int{{before - 1, 0}, {len(t) - len(q), before}} {
		for i := min(rng[0], len(t)-len(q)); i >= rng[1]; i-- {
			if matchAt(t, i, q, fold) {
				return i, i + len(q), true
			}
		}
	}
	return 0, 0, false
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

func matchAt(t []rune, i int, q []rune, fold bool) bool {
	for j, r := range q {
		c := t[i+j]
		if c != r && (!fold || unicode.ToLower(c) != r) {
			return false
		}
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
	for i := 0; i+len(q) <= len(t); {
		if matchAt(t, i, q, fold) {
			out = append(out, [2]int{i, i + len(q)})
			i += len(q)
			continue
		}
		i++
	}
	return out
}
