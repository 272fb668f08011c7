package splice

// op is a text operation in the form operational-transformation libraries
// use (ot.js's TextOperation): a walk over the text made of retains,
// inserts and deletes. Past its last component everything is retained, so
// an op needs no base length. Transform and compose are the textbook
// algorithms on this form; splices convert to and from it.
type op []comp

type compKind uint8

const (
	retain compKind = iota
	insert
	del
)

type comp struct {
	kind compKind
	n    int    // runes retained or deleted; len(s) for inserts
	s    []rune // inserted text
}

func (o *op) push(c comp) {
	if c.n == 0 {
		return
	}
	k := len(*o) - 1
	if k >= 0 {
		last := &(*o)[k]
		if last.kind == c.kind {
			last.n += c.n
			if c.kind == insert {
				last.s = append(last.s[:len(last.s):len(last.s)], c.s...)
			}
			return
		}
		// Canonical order at one place: insert before delete.
		if c.kind == insert && last.kind == del {
			if k > 0 && (*o)[k-1].kind == insert {
				(*o)[k-1].n += c.n
				prev := (*o)[k-1].s
				(*o)[k-1].s = append(prev[:len(prev):len(prev)], c.s...)
				return
			}
			*o = append(*o, comp{})
			copy((*o)[k+1:], (*o)[k:])
			(*o)[k] = c
			return
		}
	}
	*o = append(*o, c)
}

func fromSplice(s Splice) op {
	var o op
	o.push(comp{kind: retain, n: s.Pos})
	if s.Insert != "" {
		r := []rune(s.Insert)
		o.push(comp{kind: insert, n: len(r), s: r})
	}
	o.push(comp{kind: del, n: s.Delete})
	return o
}

func fromSplices(seq []Splice) op {
	var acc op
	for i, s := range seq {
		if i == 0 {
			acc = fromSplice(s)
			continue
		}
		acc = compose(acc, fromSplice(s))
	}
	return acc
}

// splices turns o into ascending splices, each in the coordinates the
// previous one left; an insert and a delete at one place become one splice.
func (o op) splices() []Splice {
	var out []Splice
	pos := 0
	for i := 0; i < len(o); i++ {
		c := o[i]
		switch c.kind {
		case retain:
			pos += c.n
		case insert:
			s := Splice{Pos: pos, Insert: string(c.s)}
			if i+1 < len(o) && o[i+1].kind == del {
				s.Delete = o[i+1].n
				i++
			}
			out = append(out, s)
			pos += c.n
		case del:
			out = append(out, Splice{Pos: pos, Delete: c.n})
		}
	}
	return out
}

// cursor walks an op component by component, splitting components as the
// other side demands; past the end it yields an endless retain.
type cursor struct {
	o    op
	i    int
	used int // runes of o[i] already consumed
}

func (c *cursor) done() bool { return c.i >= len(c.o) }

func (c *cursor) peek() (compKind, int) {
	if c.done() {
		return retain, -1 // endless
	}
	k := c.o[c.i]
	return k.kind, k.n - c.used
}

// take consumes n runes of the current component (all of it when n < 0 or
// larger) and returns them as a component.
func (c *cursor) take(n int) comp {
	if c.done() {
		return comp{kind: retain, n: n}
	}
	k := c.o[c.i]
	rest := k.n - c.used
	if n < 0 || n >= rest {
		n = rest
	}
	out := comp{kind: k.kind, n: n}
	if k.kind == insert {
		out.s = append([]rune(nil), k.s[c.used:c.used+n]...)
	}
	c.used += n
	if c.used == k.n {
		c.i++
		c.used = 0
	}
	return out
}

func minLen(a, b int) int {
	switch {
	case a < 0:
		return b
	case b < 0:
		return a
	}
	return min(a, b)
}

// transform is ot.js's transform: given a and b made on the same text, it
// returns a2 and b2 with apply(apply(T, a), b2) == apply(apply(T, b), a2).
// At a shared insertion point a's text goes first.
// Its cases, like compose's, are alike in shape on purpose: one per pair of
// component kinds, so the table can be checked against ot.js's.
func transform(a, b op) (a2, b2 op) {
	ca, cb := &cursor{o: a}, &cursor{o: b}
	for !ca.done() || !cb.done() {
		ka, na := ca.peek()
		kb, nb := cb.peek()
		switch {
		case ka == insert:
			c := ca.take(-1)
			a2.push(c)
			b2.push(comp{kind: retain, n: c.n})
		case kb == insert:
			c := cb.take(-1)
			b2.push(c)
			a2.push(comp{kind: retain, n: c.n})
		case ka == retain && kb == retain:
			n := minLen(na, nb)
			ca.take(n)
			cb.take(n)
			a2.push(comp{kind: retain, n: n})
			b2.push(comp{kind: retain, n: n})
		case ka == del && kb == del:
			n := minLen(na, nb)
			ca.take(n)
			cb.take(n)
		case ka == del && kb == retain:
			n := minLen(na, nb)
			ca.take(n)
			cb.take(n)
			a2.push(comp{kind: del, n: n})
		case ka == retain && kb == del:
			n := minLen(na, nb)
			ca.take(n)
			cb.take(n)
			b2.push(comp{kind: del, n: n})
		}
	}
	return a2, b2
}

// compose is ot.js's compose: the op with the effect of a then b.
func compose(a, b op) op {
	var out op
	ca, cb := &cursor{o: a}, &cursor{o: b}
	for !ca.done() || !cb.done() {
		ka, na := ca.peek()
		kb, nb := cb.peek()
		switch {
		case ka == del:
			out.push(ca.take(-1))
		case kb == insert:
			out.push(cb.take(-1))
		case ka == retain && kb == retain:
			n := minLen(na, nb)
			ca.take(n)
			cb.take(n)
			out.push(comp{kind: retain, n: n})
		case ka == insert && kb == del:
			n := minLen(na, nb)
			ca.take(n)
			cb.take(n)
		case ka == insert && kb == retain:
			n := minLen(na, nb)
			c := ca.take(n)
			cb.take(n)
			out.push(c)
		case ka == retain && kb == del:
			n := minLen(na, nb)
			ca.take(n)
			cb.take(n)
			out.push(comp{kind: del, n: n})
		}
	}
	// A trailing retain carries no information.
	if k := len(out) - 1; k >= 0 && out[k].kind == retain {
		out = out[:k]
	}
	return out
}
