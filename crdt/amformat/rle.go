package amformat

import (
	"fmt"
	"math"
	"unicode/utf8"
)

// Column decoders. Each reads one column's bytes row by row; a column that
// is absent reads as all nulls (or all false). The callers check that every
// column has exactly as many rows as the table it belongs to.

// rle decodes a run-length encoded column of T: pairs (count, value) where
// a positive count repeats one value, a negative count starts a literal
// run of -count values, and a zero count is a run of nulls whose length
// follows.
type rle[T comparable] struct {
	name string
	b    []byte
	pos  int
	read func([]byte) (T, int, error)

	left    uint64 // rows left in the current run
	literal bool
	null    bool
	val     T
	err     error
}

const (
	runNull = iota
	runRepeat
	runLiteral
)

func (c *rle[T]) fail(format string, args ...any) error {
	if c.err == nil {
		c.err = fmt.Errorf("%w: column %s at byte %d: %s", ErrMalformed, c.name, c.pos, fmt.Sprintf(format, args...))
	}
	return c.err
}

// done reports whether every row has been read.
func (c *rle[T]) done() bool { return c.left == 0 && c.pos >= len(c.b) }

// next returns the next row: its value, whether it is non-null, or an error.
func (c *rle[T]) next() (T, bool, error) {
	var zero T
	if c.err != nil {
		return zero, false, c.err
	}
	for c.left == 0 {
		if c.pos >= len(c.b) {
			return zero, false, c.fail("no more rows")
		}
		n, k, err := readSleb(c.b[c.pos:])
		if err != nil {
			return zero, false, c.fail("run length: %v", err)
		}
		c.pos += k
		switch {
		case n > 0:
			v, k, err := c.read(c.b[c.pos:])
			if err != nil {
				return zero, false, c.fail("run value: %v", err)
			}
			c.pos += k
			c.left, c.literal, c.null, c.val = uint64(n), false, false, v
		case n < 0:
			if n == math.MinInt64 {
				return zero, false, c.fail("literal run too long")
			}
			c.left, c.literal, c.null = uint64(-n), true, false
		default:
			nulls, k, err := readUleb(c.b[c.pos:])
			if err != nil {
				return zero, false, c.fail("null run length: %v", err)
			}
			if nulls == 0 {
				return zero, false, c.fail("empty null run")
			}
			c.pos += k
			c.left, c.literal, c.null = nulls, false, true
		}
	}
	c.left--
	switch {
	case c.null:
		return zero, false, nil
	case c.literal:
		v, k, err := c.read(c.b[c.pos:])
		if err != nil {
			return zero, false, c.fail("literal value: %v", err)
		}
		c.pos += k
		return v, true, nil
	}
	return c.val, true, nil
}

// rows counts the rows of the whole column without decoding values it need
// not, stopping with ErrTooLarge once there are more than max.
func (c rle[T]) rows(max int) (int, error) {
	total := uint64(0)
	for c.pos < len(c.b) {
		n, k, err := readSleb(c.b[c.pos:])
		if err != nil {
			return 0, c.fail("run length: %v", err)
		}
		c.pos += k
		var run uint64
		switch {
		case n > 0:
			_, k, err := c.read(c.b[c.pos:])
			if err != nil {
				return 0, c.fail("run value: %v", err)
			}
			c.pos += k
			run = uint64(n)
		case n < 0:
			if n == math.MinInt64 {
				return 0, c.fail("literal run too long")
			}
			run = uint64(-n)
			if run > uint64(max) {
				return 0, tooLarge("column %s: more than %d rows", c.name, max)
			}
			for i := uint64(0); i < run; i++ {
				_, k, err := c.read(c.b[c.pos:])
				if err != nil {
					return 0, c.fail("literal value: %v", err)
				}
				c.pos += k
			}
		default:
			nulls, k, err := readUleb(c.b[c.pos:])
			if err != nil {
				return 0, c.fail("null run length: %v", err)
			}
			if nulls == 0 {
				return 0, c.fail("empty null run")
			}
			c.pos += k
			run = nulls
		}
		total += run
		if total > uint64(max) {
			return 0, tooLarge("column %s: more than %d rows", c.name, max)
		}
	}
	return int(total), nil
}

func readUintValue(b []byte) (uint64, int, error) { return readUleb(b) }
func readIntValue(b []byte) (int64, int, error)   { return readSleb(b) }

// stringBytes reads a length-prefixed UTF-8 string.
func stringBytes(b []byte) ([]byte, int, error) {
	n, k, err := readUleb(b)
	if err != nil {
		return nil, 0, err
	}
	if n > uint64(len(b)-k) {
		return nil, 0, fmt.Errorf("string of %d bytes, %d present", n, len(b)-k)
	}
	s := b[k : k+int(n)]
	if !utf8.Valid(s) {
		return nil, 0, fmt.Errorf("string is not valid UTF-8")
	}
	return s, k + int(n), nil
}

func readStringValue(b []byte) (string, int, error) {
	s, n, err := stringBytes(b)
	return string(s), n, err
}

// skipStringValue checks a string value without keeping it.
func skipStringValue(b []byte) (string, int, error) {
	_, n, err := stringBytes(b)
	return "", n, err
}

func uintColumn(name string, b []byte) *rle[uint64] {
	return &rle[uint64]{name: name, b: b, read: readUintValue}
}

func intColumn(name string, b []byte) *rle[int64] {
	return &rle[int64]{name: name, b: b, read: readIntValue}
}

func stringColumn(name string, b []byte) *rle[string] {
	return &rle[string]{name: name, b: b, read: readStringValue}
}

// delta decodes a delta column: run-length encoded signed differences from
// the previous non-null value, starting at 0.
type delta struct {
	rle[int64]
	abs int64
}

func deltaColumn(name string, b []byte) *delta {
	return &delta{rle: rle[int64]{name: name, b: b, read: readIntValue}}
}

func (c *delta) next() (int64, bool, error) {
	d, ok, err := c.rle.next()
	if err != nil || !ok {
		return 0, ok, err
	}
	v := c.abs + d
	if (d > 0 && v < c.abs) || (d < 0 && v > c.abs) {
		return 0, false, c.fail("delta overflows 64 bits")
	}
	c.abs = v
	return v, true, nil
}

// boolean decodes a boolean column: lengths of alternating runs of false
// and true, starting with false. Only the first length may be zero.
type boolean struct {
	name  string
	b     []byte
	pos   int
	left  uint64
	val   bool
	first bool
	err   error
}

func booleanColumn(name string, b []byte) *boolean {
	return &boolean{name: name, b: b, val: true, first: true}
}

func (c *boolean) done() bool { return c.left == 0 && c.pos >= len(c.b) }

func (c *boolean) next() (bool, error) {
	if c.err != nil {
		return false, c.err
	}
	for c.left == 0 {
		if c.pos >= len(c.b) {
			c.err = fmt.Errorf("%w: column %s at byte %d: no more rows", ErrMalformed, c.name, c.pos)
			return false, c.err
		}
		n, k, err := readUleb(c.b[c.pos:])
		if err != nil {
			c.err = fmt.Errorf("%w: column %s at byte %d: %v", ErrMalformed, c.name, c.pos, err)
			return false, c.err
		}
		if n == 0 && !c.first {
			c.err = fmt.Errorf("%w: column %s at byte %d: empty run", ErrMalformed, c.name, c.pos)
			return false, c.err
		}
		c.pos += k
		c.first = false
		c.left = n
		c.val = !c.val
	}
	c.left--
	return c.val, nil
}

// values decodes a value metadata column and its raw value column.
type values struct {
	meta *rle[uint64]
	raw  []byte
	pos  int
	name string
}

func valueColumns(name string, meta, raw []byte) *values {
	return &values{meta: uintColumn(name+" metadata", meta), raw: raw, name: name}
}

func (c *values) done() bool { return c.meta.done() && c.pos >= len(c.raw) }

func (c *values) fail(format string, args ...any) error {
	return fmt.Errorf("%w: column %s at byte %d: %s", ErrMalformed, c.name, c.pos, fmt.Sprintf(format, args...))
}

func (c *values) next() (Value, error) {
	m, ok, err := c.meta.next()
	if err != nil {
		return Value{}, err
	}
	if !ok {
		return Value{}, c.fail("null value metadata")
	}
	typ := ValueType(m & 0x0f)
	n := m >> 4
	if n > uint64(len(c.raw)-c.pos) {
		return Value{}, c.fail("value of %d bytes, %d present", n, len(c.raw)-c.pos)
	}
	raw := c.raw[c.pos : c.pos+int(n)]
	c.pos += int(n)
	v := Value{Type: typ}
	switch typ {
	case TypeNull, TypeFalse, TypeTrue:
		if n != 0 {
			return Value{}, c.fail("%v value with %d bytes", typ, n)
		}
	case TypeUint:
		u, k, err := readUleb(raw)
		if err != nil || k != len(raw) {
			return Value{}, c.fail("bad uint value")
		}
		v.num = u
	case TypeInt, TypeCounter, TypeTimestamp:
		i, k, err := readSleb(raw)
		if err != nil || k != len(raw) {
			return Value{}, c.fail("bad %v value", typ)
		}
		v.num = uint64(i)
	case TypeFloat:
		if n != 8 {
			return Value{}, c.fail("float of %d bytes", n)
		}
		for i := 7; i >= 0; i-- {
			v.num = v.num<<8 | uint64(raw[i])
		}
	case TypeString:
		if !utf8.Valid(raw) {
			return Value{}, c.fail("string value is not valid UTF-8")
		}
		v.raw = string(raw)
	default:
		v.raw = string(raw)
	}
	return v, nil
}

// Column encoders, producing exactly the bytes the 2023 core writes (its
// run-length state machine: runs of two or more, literal runs otherwise,
// nulls only at the start of a column dropped when nothing follows them).

type rleEncoder[T comparable] struct {
	out   []byte
	write func([]byte, T) []byte
	state int // rleEmpty, ...
	n     int // null or run length
	val   T   // lone value, run value, or the last of a literal run
	lit   []T // a literal run without its last value
}

const (
	rleEmpty = iota
	rleInitialNulls
	rleNulls
	rleLone
	rleRun
	rleLiteral
)

func (e *rleEncoder[T]) flushRun(v T, n int) {
	e.out = appendSleb(e.out, int64(n))
	e.out = e.write(e.out, v)
}

func (e *rleEncoder[T]) flushNulls(n int) {
	e.out = appendSleb(e.out, 0)
	e.out = appendUleb(e.out, uint64(n))
}

func (e *rleEncoder[T]) flushLiteral(last T, withLast bool) {
	n := len(e.lit)
	if withLast {
		n++
	}
	e.out = appendSleb(e.out, -int64(n))
	for _, v := range e.lit {
		e.out = e.write(e.out, v)
	}
	if withLast {
		e.out = e.write(e.out, last)
	}
	e.lit = e.lit[:0]
}

func (e *rleEncoder[T]) appendNull() {
	switch e.state {
	case rleEmpty:
		e.state, e.n = rleInitialNulls, 1
		return
	case rleInitialNulls, rleNulls:
		e.n++
		return
	default:
		e.flushValues()
	}
	e.state, e.n = rleNulls, 1
}

// flushValues writes the pending lone value, run or literal run.
func (e *rleEncoder[T]) flushValues() {
	switch e.state {
	case rleLone:
		e.lit = e.lit[:0]
		e.flushLiteral(e.val, true)
	case rleRun:
		e.flushRun(e.val, e.n)
	case rleLiteral:
		e.flushLiteral(e.val, true)
	}
}

func (e *rleEncoder[T]) appendValue(v T) {
	switch e.state {
	case rleEmpty:
		e.state, e.val = rleLone, v
	case rleLone:
		if e.val == v {
			e.state, e.n = rleRun, 2
		} else {
			e.lit = append(e.lit[:0], e.val)
			e.state, e.val = rleLiteral, v
		}
	case rleRun:
		if e.val == v {
			e.n++
		} else {
			e.flushRun(e.val, e.n)
			e.state, e.val = rleLone, v
		}
	case rleLiteral:
		if e.val == v {
			e.flushLiteral(e.val, false)
			e.state, e.n = rleRun, 2
		} else {
			e.lit = append(e.lit, e.val)
			e.val = v
		}
	case rleInitialNulls, rleNulls:
		e.flushNulls(e.n)
		e.state, e.val = rleLone, v
	}
}

func (e *rleEncoder[T]) appendOpt(v T, ok bool) {
	if ok {
		e.appendValue(v)
	} else {
		e.appendNull()
	}
}

func (e *rleEncoder[T]) finish() []byte {
	if e.state == rleNulls {
		e.flushNulls(e.n)
	} else {
		e.flushValues()
	}
	e.state = rleEmpty
	return e.out
}

func (e *rleEncoder[T]) reset(write func([]byte, T) []byte) {
	e.out, e.write, e.state, e.n, e.lit = e.out[:0], write, rleEmpty, 0, e.lit[:0]
}

func appendString(b []byte, s string) []byte {
	return append(appendUleb(b, uint64(len(s))), s...)
}

type deltaEncoder struct {
	rle rleEncoder[int64]
	abs int64
}

func (e *deltaEncoder) reset() {
	e.rle.reset(appendSleb)
	e.abs = 0
}

func (e *deltaEncoder) appendValue(v int64) {
	e.rle.appendValue(v - e.abs)
	e.abs = v
}

func (e *deltaEncoder) appendOpt(v int64, ok bool) {
	if ok {
		e.appendValue(v)
	} else {
		e.rle.appendNull()
	}
}

func (e *deltaEncoder) finish() []byte { return e.rle.finish() }

type booleanEncoder struct {
	out     []byte
	last    bool
	n       uint64
	anyTrue bool
}

func (e *booleanEncoder) reset() { *e = booleanEncoder{out: e.out[:0]} }

func (e *booleanEncoder) append(v bool) {
	if v {
		e.anyTrue = true
	}
	if v == e.last {
		e.n++
		return
	}
	e.out = appendUleb(e.out, e.n)
	e.last, e.n = v, 1
}

func (e *booleanEncoder) finish() []byte {
	if e.n > 0 {
		e.out = appendUleb(e.out, e.n)
	}
	return e.out
}

// finishMaybe drops a column of only false values, as the core does for
// optional boolean columns (expand).
func (e *booleanEncoder) finishMaybe() []byte {
	if !e.anyTrue {
		return nil
	}
	return e.finish()
}
