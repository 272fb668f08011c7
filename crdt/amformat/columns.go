package amformat

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
)

// ColumnSpec is a column specification: the column's ID, whether its data
// is DEFLATE-compressed, and its encoding type, as id<<4 | deflate<<3 | type.
type ColumnSpec uint32

// Column encoding types.
const (
	colGroup    = 0
	colActor    = 1
	colUint     = 2
	colDelta    = 3
	colBoolean  = 4
	colString   = 5
	colValueMet = 6
	colValueRaw = 7
)

func spec(id, typ uint32) ColumnSpec { return ColumnSpec(id<<4 | typ) }

// ID is the column's ID.
func (s ColumnSpec) ID() uint32 { return uint32(s) >> 4 }

// Type is the column's encoding type (0 group … 7 value).
func (s ColumnSpec) Type() uint32 { return uint32(s) & 7 }

// Deflate reports whether the column's data is compressed.
func (s ColumnSpec) Deflate() bool { return s&8 != 0 }

func (s ColumnSpec) normalized() ColumnSpec { return s &^ 8 }

func (s ColumnSpec) String() string {
	return fmt.Sprintf("%d (id %d, type %d, deflate %v)", uint32(s), s.ID(), s.Type(), s.Deflate())
}

// Column is one column's specification and its (inflated) data. Columns a
// decoder does not know are kept as Columns, as the spec requires.
type Column struct {
	Spec ColumnSpec
	Data []byte
}

// colMeta is one entry of a column metadata block.
type colMeta struct {
	spec   ColumnSpec
	length uint64
}

// readColumns reads a column metadata block: a count, then specification
// and length pairs, the specifications ascending and unique (ignoring the
// deflate bit).
func readColumns(c *cursor, what string) []colMeta {
	// Each column takes at least two bytes of metadata.
	n := c.count(what+" column count", 2, -1)
	if c.err != nil || n == 0 {
		return nil
	}
	cols := make([]colMeta, n)
	for i := range cols {
		raw := c.uleb(what + " column specification")
		if c.err == nil && raw > 0xffffffff {
			c.fail("%s column specification %d exceeds 32 bits", what, raw)
		}
		length := c.uleb(what + " column length")
		if c.err != nil {
			return nil
		}
		s := ColumnSpec(raw)
		if i > 0 && s.normalized() <= cols[i-1].spec.normalized() {
			c.fail("%s columns not in ascending order (%v after %v)", what, s, cols[i-1].spec)
			return nil
		}
		cols[i] = colMeta{spec: s, length: length}
	}
	return cols
}

// columnData takes the data of the columns in meta, in order, from the
// cursor's position.
func columnData(c *cursor, meta []colMeta, what string) []Column {
	if c.err != nil {
		return nil
	}
	var total uint64
	for _, m := range meta {
		total += m.length
		if m.length > uint64(c.remaining()) || total > uint64(c.remaining()) {
			c.fail("%s columns claim more bytes than the %d left", what, c.remaining())
			return nil
		}
	}
	cols := make([]Column, len(meta))
	for i, m := range meta {
		cols[i] = Column{Spec: m.spec, Data: c.bytes(m.length, what+" column data")}
	}
	return cols
}

// inflateColumns inflates the deflated columns of a document, with budget
// bounding the inflated bytes of all columns together.
func inflateColumns(cols []Column, budget *int, what string) error {
	for i := range cols {
		if !cols[i].Spec.Deflate() {
			*budget -= len(cols[i].Data)
			if *budget < 0 {
				return tooLarge("%s columns exceed the inflated size limit", what)
			}
			continue
		}
		out, err := inflate(cols[i].Data, *budget)
		if err != nil {
			return fmt.Errorf("%s column %v: %w", what, cols[i].Spec, err)
		}
		*budget -= len(out)
		cols[i] = Column{Spec: cols[i].Spec.normalized(), Data: out}
	}
	return nil
}

// inflate decompresses raw DEFLATE data of at most max bytes, refusing
// trailing bytes after the final block.
func inflate(b []byte, max int) ([]byte, error) {
	if max < 0 {
		max = 0
	}
	r := bytes.NewReader(b)
	fr := flate.NewReader(r)
	defer fr.Close()
	out, err := io.ReadAll(io.LimitReader(fr, int64(max)+1))
	if err != nil {
		return nil, malformed("bad DEFLATE data: %v", err)
	}
	if len(out) > max {
		return nil, tooLarge("DEFLATE data inflates past the limit of %d bytes", max)
	}
	if r.Len() != 0 {
		return nil, malformed("%d bytes after the end of DEFLATE data", r.Len())
	}
	return out, nil
}

// columnSet sorts a table's columns into the ones a decoder knows, by
// specification, and the rest.
type columnSet struct {
	known   map[ColumnSpec][]byte
	unknown []Column
}

// sortColumns checks a table's column layout as the core does (a raw value
// column only after its metadata column, grouped columns only after their
// group column, no compressed columns where deflate is not allowed) and
// splits known from unknown columns. known lists the columns the table
// defines; any other column under one of their IDs is malformed.
func sortColumns(cols []Column, known map[ColumnSpec]bool, what string, allowDeflate bool) (columnSet, error) {
	set := columnSet{known: make(map[ColumnSpec][]byte, len(cols))}
	knownID := make(map[uint32]bool, len(known))
	for s := range known {
		knownID[s.ID()] = true
	}
	for i, col := range cols {
		s := col.Spec
		if s.Deflate() && !allowDeflate {
			return set, malformed("%s column %v is compressed, which only documents allow", what, s)
		}
		n := s.normalized()
		if n.Type() == colValueRaw && (i == 0 || cols[i-1].Spec.normalized() != spec(n.ID(), colValueMet)) {
			return set, malformed("%s value column %v without its metadata column", what, s)
		}
		if known[n] {
			set.known[n] = col.Data
			continue
		}
		if knownID[n.ID()] {
			return set, malformed("%s column %v is not one the format defines for id %d", what, s, n.ID())
		}
		set.unknown = append(set.unknown, col)
	}
	// Grouped columns need their group.
	for s := range set.known {
		if s.Type() != colGroup && known[spec(s.ID(), colGroup)] {
			if _, ok := set.known[spec(s.ID(), colGroup)]; !ok {
				return set, malformed("%s grouped column %v without its group column", what, s)
			}
		}
	}
	return set, nil
}
