package amformat

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
)

// Hash is a change hash: the SHA-256 of the change's uncompressed chunk
// (type, length and body).
type Hash [32]byte

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ActorID holds an actor's ID bytes (in a string, so that it compares and
// can key a map). String shows it in hex, as Automerge does.
type ActorID string

func (a ActorID) String() string { return hex.EncodeToString([]byte(a)) }

// OpID is an operation's ID: a counter and an index into the actor table of
// the change (0 is the change's own actor, then its other actors) or of the
// document it was read from. The zero OpID names the root object, and, as a
// list key, the head of the list.
type OpID struct {
	Counter uint64
	Actor   uint32
}

// IsZero reports whether id is the root object or the head of a list.
func (id OpID) IsZero() bool { return id.Counter == 0 }

func (id OpID) String() string {
	if id.Counter == 0 {
		return "_root"
	}
	return strconv.FormatUint(id.Counter, 10) + "@" + strconv.FormatUint(uint64(id.Actor), 10)
}

// Key is where an op acts: a map key, or a list element (the element an
// insert goes after; the zero Elem is the head).
type Key struct {
	Prop   string
	Elem   OpID
	IsElem bool
}

// Action is an op's action code.
type Action uint8

// The actions of the 2023 core (0.5) and JS Automerge 3.
const (
	ActionMakeMap   Action = 0
	ActionPut       Action = 1
	ActionMakeList  Action = 2
	ActionDelete    Action = 3
	ActionMakeText  Action = 4
	ActionIncrement Action = 5
	ActionMakeTable Action = 6
	ActionMark      Action = 7
)

// Like every enum's String here: one case per constant, nothing to share.
func (a Action) String() string {
	switch a {
	case ActionMakeMap:
		return "makeMap"
	case ActionPut:
		return "put"
	case ActionMakeList:
		return "makeList"
	case ActionDelete:
		return "delete"
	case ActionMakeText:
		return "makeText"
	case ActionIncrement:
		return "increment"
	case ActionMakeTable:
		return "makeTable"
	case ActionMark:
		return "mark"
	}
	return "action " + strconv.Itoa(int(a))
}

// ValueType is the type of a scalar value, as the value metadata column
// codes it.
type ValueType uint8

// Value types. Codes 10–15 are unknown types a future Automerge may write;
// they are kept as bytes.
const (
	TypeNull      ValueType = 0
	TypeFalse     ValueType = 1
	TypeTrue      ValueType = 2
	TypeUint      ValueType = 3
	TypeInt       ValueType = 4
	TypeFloat     ValueType = 5
	TypeString    ValueType = 6
	TypeBytes     ValueType = 7
	TypeCounter   ValueType = 8
	TypeTimestamp ValueType = 9
)

// Like every enum's String here: one case per constant, nothing to share.
func (t ValueType) String() string {
	switch t {
	case TypeNull:
		return "null"
	case TypeFalse, TypeTrue:
		return "boolean"
	case TypeUint:
		return "uint"
	case TypeInt:
		return "int"
	case TypeFloat:
		return "float"
	case TypeString:
		return "string"
	case TypeBytes:
		return "bytes"
	case TypeCounter:
		return "counter"
	case TypeTimestamp:
		return "timestamp"
	}
	return "unknown type " + strconv.Itoa(int(t))
}

// Value is a scalar: its type, a number (ints, uints, counters and
// timestamps as their bits, floats as IEEE 754 bits) and the bytes of a
// string, byte array or unknown type.
type Value struct {
	Type ValueType
	num  uint64
	raw  string
}

// Constructors for values.
func Null() Value { return Value{Type: TypeNull} }
func Bool(b bool) Value {
	if b {
		return Value{Type: TypeTrue}
	}
	return Value{Type: TypeFalse}
}
func Str(s string) Value        { return Value{Type: TypeString, raw: s} }
func Int(v int64) Value         { return Value{Type: TypeInt, num: uint64(v)} }
func Uint(v uint64) Value       { return Value{Type: TypeUint, num: v} }
func Float(v float64) Value     { return Value{Type: TypeFloat, num: math.Float64bits(v)} }
func Counter(v int64) Value     { return Value{Type: TypeCounter, num: uint64(v)} }
func Timestamp(ms int64) Value  { return Value{Type: TypeTimestamp, num: uint64(ms)} }
func BytesValue(b []byte) Value { return Value{Type: TypeBytes, raw: string(b)} }
func (v Value) Str() string     { return v.raw }
func (v Value) Bytes() []byte   { return []byte(v.raw) }
func (v Value) Int() int64      { return int64(v.num) }
func (v Value) Uint() uint64    { return v.num }
func (v Value) Float() float64  { return math.Float64frombits(v.num) }
func (v Value) Bool() bool      { return v.Type == TypeTrue }
func (v Value) IsNumeric() bool { return v.Type == TypeInt || v.Type == TypeUint }

func (v Value) String() string {
	switch v.Type {
	case TypeNull:
		return "null"
	case TypeFalse:
		return "false"
	case TypeTrue:
		return "true"
	case TypeUint:
		return strconv.FormatUint(v.num, 10)
	case TypeInt, TypeCounter, TypeTimestamp:
		return strconv.FormatInt(int64(v.num), 10)
	case TypeFloat:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case TypeString:
		return strconv.Quote(v.raw)
	}
	return fmt.Sprintf("%v(%x)", v.Type, v.raw)
}

// meta is the value's metadata column entry: length << 4 | type.
func (v Value) meta() uint64 {
	switch v.Type {
	case TypeNull, TypeFalse, TypeTrue:
		return uint64(v.Type)
	case TypeUint:
		return uint64(ulebLen(v.num))<<4 | uint64(v.Type)
	case TypeInt, TypeCounter, TypeTimestamp:
		return uint64(slebLen(int64(v.num)))<<4 | uint64(v.Type)
	case TypeFloat:
		return 8<<4 | uint64(v.Type)
	}
	return uint64(len(v.raw))<<4 | uint64(v.Type)
}

func (v Value) appendRaw(b []byte) []byte {
	switch v.Type {
	case TypeNull, TypeFalse, TypeTrue:
		return b
	case TypeUint:
		return appendUleb(b, v.num)
	case TypeInt, TypeCounter, TypeTimestamp:
		return appendSleb(b, int64(v.num))
	case TypeFloat:
		var f [8]byte
		for i := range f {
			f[i] = byte(v.num >> (8 * i))
		}
		return append(b, f[:]...)
	}
	return append(b, v.raw...)
}

// Op is one operation. In a change, ops carry their predecessors (Pred);
// in a document, their successors (Succ) instead, and deletes appear only
// as successors.
type Op struct {
	ID     OpID
	Obj    OpID // zero: the root map
	Key    Key
	Insert bool
	Action Action
	Value  Value
	Pred   []OpID
	Succ   []OpID
	// Marks (ActionMark): a mark begins when it has a name, else it ends.
	// Expand says whether text typed at the mark's edge joins it.
	Expand      bool
	MarkName    string
	HasMarkName bool
}

// lamportLess orders op IDs as Automerge does: by counter, then by the
// actor's ID bytes.
func lamportLess(a, b OpID, actors []ActorID) bool {
	if a.Counter != b.Counter {
		return a.Counter < b.Counter
	}
	return actors[a.Actor] < actors[b.Actor]
}
