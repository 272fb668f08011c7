package amformat

import (
	"fmt"
	"unicode/utf8"
)

// LEB128 as Automerge writes it: at most 64 bits, and always the shortest
// encoding (the spec asks readers to refuse longer ones).

var (
	errLEBTruncated = fmt.Errorf("%w: LEB128 runs past the end", ErrMalformed)
	errLEBOverlong  = fmt.Errorf("%w: LEB128 not minimally encoded", ErrMalformed)
	errLEBOverflow  = fmt.Errorf("%w: LEB128 exceeds 64 bits", ErrMalformed)
)

// readUleb decodes an unsigned LEB128 from b, returning the value and the
// number of bytes it took.
func readUleb(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < len(b); i++ {
		c := b[i]
		if i == 9 {
			// The tenth byte holds bit 63 only.
			if c > 1 {
				return 0, 0, errLEBOverflow
			}
		}
		v |= uint64(c&0x7f) << (7 * uint(i))
		if c&0x80 == 0 {
			if c == 0 && i > 0 {
				return 0, 0, errLEBOverlong
			}
			return v, i + 1, nil
		}
	}
	return 0, 0, errLEBTruncated
}

// readSleb decodes a signed LEB128 from b.
func readSleb(b []byte) (int64, int, error) {
	var v int64
	for i := 0; i < len(b); i++ {
		c := b[i]
		if i == 9 {
			// The tenth byte is only the sign extension of bit 63.
			if c != 0 && c != 0x7f {
				return 0, 0, errLEBOverflow
			}
		}
		v |= int64(c&0x7f) << (7 * uint(i))
		if c&0x80 == 0 {
			if i > 0 {
				prev := b[i-1]
				// Overlong: this byte only repeats the previous byte's sign.
				if (c == 0 && prev&0x40 == 0) || (c == 0x7f && prev&0x40 != 0) {
					return 0, 0, errLEBOverlong
				}
			}
			if i < 9 && c&0x40 != 0 {
				v |= -1 << (7 * uint(i+1))
			}
			return v, i + 1, nil
		}
	}
	return 0, 0, errLEBTruncated
}

func appendUleb(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendSleb(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func ulebLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func slebLen(v int64) int {
	n := 1
	for {
		c := v & 0x7f
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return n
		}
		n++
	}
}

// cursor reads the row-oriented parts of chunks (headers, hash lists,
// actor lists). The first error sticks; later reads return zero values, so
// a parse can run to its end and check err once.
type cursor struct {
	b    []byte
	pos  int
	err  error
	what string // the structure being read, for messages
}

func (c *cursor) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: %s at byte %d: %s", ErrMalformed, c.what, c.pos, fmt.Sprintf(format, args...))
	}
}

func (c *cursor) remaining() int { return len(c.b) - c.pos }

// uleb and sleb differ only in the decoder they call and the type they
// return; a generic version would not be shorter.
func (c *cursor) uleb(field string) uint64 {
	if c.err != nil {
		return 0
	}
	v, n, err := readUleb(c.b[c.pos:])
	if err != nil {
		c.fail("%s: %v", field, err)
		return 0
	}
	c.pos += n
	return v
}

func (c *cursor) sleb(field string) int64 {
	if c.err != nil {
		return 0
	}
	v, n, err := readSleb(c.b[c.pos:])
	if err != nil {
		c.fail("%s: %v", field, err)
		return 0
	}
	c.pos += n
	return v
}

func (c *cursor) bytes(n uint64, field string) []byte {
	if c.err != nil {
		return nil
	}
	if n > uint64(c.remaining()) {
		c.fail("%s: %d bytes claimed, %d present", field, n, c.remaining())
		return nil
	}
	b := c.b[c.pos : c.pos+int(n)]
	c.pos += int(n)
	return b
}

func (c *cursor) byte1(field string) byte {
	b := c.bytes(1, field)
	if b == nil {
		return 0
	}
	return b[0]
}

// count reads a length prefix for items of at least minSize bytes each,
// refusing counts the remaining bytes cannot hold or that exceed max.
func (c *cursor) count(field string, minSize int, max int) int {
	n := c.uleb(field)
	if c.err != nil {
		return 0
	}
	if max >= 0 && n > uint64(max) {
		if c.err == nil {
			c.err = tooLarge("%s: %s: %d exceeds the limit of %d", c.what, field, n, max)
		}
		return 0
	}
	if minSize > 0 && n > uint64(c.remaining()/minSize) {
		c.fail("%s: %d items claimed, the %d bytes left hold at most %d", field, n, c.remaining(), c.remaining()/minSize)
		return 0
	}
	return int(n)
}

func (c *cursor) hashes(field string, max int) []Hash {
	n := c.count(field, len(Hash{}), max)
	if c.err != nil || n == 0 {
		return nil
	}
	hs := make([]Hash, n)
	for i := range hs {
		copy(hs[i][:], c.bytes(uint64(len(Hash{})), field))
	}
	return hs
}

func (c *cursor) str(field string) string {
	n := c.uleb(field + " length")
	b := c.bytes(n, field)
	if c.err != nil {
		return ""
	}
	if !utf8.Valid(b) {
		c.fail("%s is not valid UTF-8", field)
		return ""
	}
	return string(b)
}

// actors reads a list of actor IDs, which must be non-empty, sorted and
// unique, and not be self.
func (c *cursor) actors(field string, l Limits, self ActorID) []ActorID {
	n := c.count(field, 2, l.MaxActors)
	if n == 0 {
		return nil
	}
	out := make([]ActorID, n)
	for i := range out {
		a := c.actor(field, l.MaxActorIDBytes)
		switch {
		case c.err != nil:
			return nil
		case a == "":
			c.fail("%s: empty actor ID", field)
		case a == self:
			c.fail("%s: the change's own actor among its other actors", field)
		case i > 0 && a <= out[i-1]:
			c.fail("%s not sorted and unique", field)
		}
		out[i] = a
	}
	return out
}

func (c *cursor) actor(field string, max int) ActorID {
	n := c.uleb(field + " length")
	if c.err == nil && n > uint64(max) {
		c.err = tooLarge("%s: %s is %d bytes, the limit is %d", c.what, field, n, max)
		return ""
	}
	return ActorID(c.bytes(n, field))
}
