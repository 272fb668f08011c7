package amformat

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Change is one decoded change: its metadata and every op. Op IDs' actor
// indexes refer to Actors(): 0 is the change's actor, then OtherActors.
type Change struct {
	Hash        Hash
	Deps        []Hash // sorted
	Actor       ActorID
	Seq         uint64
	StartOp     uint64
	Time        int64 // as the writer recorded it: ms since 1970 (the core) or s (JS)
	Message     string
	OtherActors []ActorID // sorted, without Actor
	Ops         []Op
	// ExtraColumns are op columns this decoder does not know, and
	// ExtraBytes whatever follows the columns; both are kept, as the spec
	// requires, and written back by Encode.
	ExtraColumns []Column
	ExtraBytes   []byte
	// Compressed is whether the change came as a compressed chunk.
	Compressed bool
}

// Actors is the change's actor table: its own actor, then the others.
func (c *Change) Actors() []ActorID {
	return append([]ActorID{c.Actor}, c.OtherActors...)
}

// MaxOp is the counter of the change's last op (StartOp-1 if it has none).
func (c *Change) MaxOp() uint64 { return c.StartOp + uint64(len(c.Ops)) - 1 }

// SetActor makes actor the change's own actor: the op IDs the change's own
// ops carry, and every reference to them, move to it, and the other actors
// are renumbered in sorted order as the format requires. The hash is stale
// until Rehash. A change re-attributed this way is what a forger sends, so
// tests of collisions use it.
func (c *Change) SetActor(actor ActorID) {
	old := c.Actors()
	var others []ActorID
	for _, a := range old[1:] {
		if a != actor && !slices.Contains(others, a) {
			others = append(others, a)
		}
	}
	slices.SortFunc(others, func(a, b ActorID) int { return strings.Compare(string(a), string(b)) })
	index := map[ActorID]uint32{old[0]: 0}
	for i, a := range others {
		index[a] = uint32(i + 1)
	}
	remap := func(id *OpID) {
		if id.Counter != 0 {
			id.Actor = index[old[id.Actor]]
		}
	}
	for i := range c.Ops {
		op := &c.Ops[i]
		remap(&op.ID)
		remap(&op.Obj)
		remap(&op.Key.Elem)
		for j := range op.Pred {
			remap(&op.Pred[j])
		}
		for j := range op.Succ {
			remap(&op.Succ[j])
		}
	}
	c.Actor, c.OtherActors = actor, others
}

// The op columns of a change chunk.
var (
	colObjActor   = spec(0, colActor)
	colObjCtr     = spec(0, colUint)
	colKeyActor   = spec(1, colActor)
	colKeyCtr     = spec(1, colDelta)
	colKeyStr     = spec(1, colString)
	colIDActor    = spec(2, colActor)
	colIDCtr      = spec(2, colDelta)
	colInsert     = spec(3, colBoolean)
	colAction     = spec(4, colUint)
	colValMeta    = spec(5, colValueMet)
	colValRaw     = spec(5, colValueRaw)
	colPredGroup  = spec(7, colGroup)
	colPredActor  = spec(7, colActor)
	colPredCtr    = spec(7, colDelta)
	colSuccGroup  = spec(8, colGroup)
	colSuccActor  = spec(8, colActor)
	colSuccCtr    = spec(8, colDelta)
	colExpand     = spec(9, colBoolean)
	colMarkName   = spec(10, colString)
	changeOpCols  = specSet(colObjActor, colObjCtr, colKeyActor, colKeyCtr, colKeyStr, colInsert, colAction, colValMeta, colValRaw, colPredGroup, colPredActor, colPredCtr, colExpand, colMarkName)
	docOpCols     = specSet(colObjActor, colObjCtr, colKeyActor, colKeyCtr, colKeyStr, colIDActor, colIDCtr, colInsert, colAction, colValMeta, colValRaw, colSuccGroup, colSuccActor, colSuccCtr, colExpand, colMarkName)
	maxCounter    = uint64(math.MaxUint32) // the core keeps counters in 32 bits and panics past them
	maxActorIndex = uint64(math.MaxUint32)
)

func specSet(specs ...ColumnSpec) map[ColumnSpec]bool {
	m := make(map[ColumnSpec]bool, len(specs))
	for _, s := range specs {
		m[s] = true
	}
	return m
}

// DecodeChange decodes exactly one change chunk (compressed or not) within
// DefaultLimits.
func DecodeChange(b []byte) (*Change, error) { return DefaultLimits.DecodeChange(b) }

// DecodeChanges decodes concatenated change chunks (change records, an
// incremental save) within DefaultLimits.
func DecodeChanges(b []byte) ([]*Change, error) { return DefaultLimits.DecodeChanges(b) }

// DecodeChange decodes exactly one change chunk within l.
func (l Limits) DecodeChange(b []byte) (*Change, error) {
	if len(b) > l.MaxBytes {
		return nil, tooLarge("%d bytes exceed the limit of %d", len(b), l.MaxBytes)
	}
	ch, n, err := l.readChunk(b, l.MaxInflated)
	if err != nil {
		return nil, err
	}
	if n != len(b) {
		return nil, malformed("%d bytes after the change chunk", len(b)-n)
	}
	budget := l.MaxChangeOps
	return l.changeFromChunk(ch, &budget)
}

// DecodeChanges decodes concatenated change chunks within l; the ops of all
// of them together are bounded by MaxChangeOps.
func (l Limits) DecodeChanges(b []byte) ([]*Change, error) {
	chunks, err := l.SplitChunks(b)
	if err != nil {
		return nil, err
	}
	budget := l.MaxChangeOps
	out := make([]*Change, 0, len(chunks))
	for i, ch := range chunks {
		c, err := l.changeFromChunk(ch, &budget)
		if err != nil {
			return nil, fmt.Errorf("chunk %d: %w", i, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func (l Limits) changeFromChunk(ch Chunk, opBudget *int) (*Change, error) {
	if ch.Type == ChunkDocument {
		return nil, malformed("a document chunk where a change was expected")
	}
	c, err := l.parseChange(ch.Body, opBudget)
	if err != nil {
		return nil, err
	}
	c.Hash = ch.Hash
	c.Compressed = ch.Type == ChunkCompressed
	return c, nil
}

// parseChange decodes a change chunk's body.
func (l Limits) parseChange(body []byte, opBudget *int) (*Change, error) {
	cur := &cursor{b: body, what: "change"}
	c := &Change{}
	c.Deps = cur.hashes("deps", l.MaxHashes)
	for i := 1; i < len(c.Deps) && cur.err == nil; i++ {
		if compareHashes(c.Deps[i-1], c.Deps[i]) >= 0 {
			cur.fail("deps not sorted and unique")
		}
	}
	c.Actor = cur.actor("actor", l.MaxActorIDBytes)
	if cur.err == nil && c.Actor == "" {
		cur.fail("empty actor ID")
	}
	c.Seq = cur.uleb("seq")
	if cur.err == nil && c.Seq == 0 {
		cur.fail("seq 0 (sequence numbers start at 1)")
	}
	c.StartOp = cur.uleb("start op")
	if cur.err == nil && (c.StartOp == 0 || c.StartOp > maxCounter) {
		cur.fail("start op %d outside 1..2^32-1", c.StartOp)
	}
	c.Time = cur.sleb("time")
	c.Message = cur.str("message")
	c.OtherActors = cur.actors("other actors", l, c.Actor)
	meta := readColumns(cur, "change op")
	cols := columnData(cur, meta, "change op")
	if cur.err != nil {
		return nil, cur.err
	}
	if rest := cur.remaining(); rest > 0 {
		c.ExtraBytes = body[cur.pos:]
	}
	set, err := sortColumns(cols, changeOpCols, "change op", false)
	if err != nil {
		return nil, err
	}
	c.ExtraColumns = set.unknown
	if err := c.decodeOps(set.known, opBudget); err != nil {
		return nil, err
	}
	if len(c.Ops) > 0 && c.MaxOp() > maxCounter {
		return nil, malformed("change's op counters pass 2^32-1")
	}
	return c, nil
}

func compareHashes(a, b Hash) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// opColumns decodes the op columns shared by changes and documents.
type opColumns struct {
	what             string
	nActors          uint64
	objActor, objCtr *rle[uint64]
	keyActor, keyStr any
	keyA             *rle[uint64]
	keyC             *delta
	keyS             *rle[string]
	insert           *boolean
	hasInsert        bool
	action           *rle[uint64]
	vals             *values
	group, listActor *rle[uint64]
	listCtr          *delta
	expand           *boolean
	hasExpand        bool
	markName         *rle[string]
	idActor          *rle[uint64]
	idCtr            *delta
	listName         string
}

func newOpColumns(known map[ColumnSpec][]byte, what string, nActors int, document bool) *opColumns {
	oc := &opColumns{
		what:     what,
		nActors:  uint64(nActors),
		objActor: uintColumn(what+" object actor", known[colObjActor]),
		objCtr:   uintColumn(what+" object counter", known[colObjCtr]),
		keyA:     uintColumn(what+" key actor", known[colKeyActor]),
		keyC:     deltaColumn(what+" key counter", known[colKeyCtr]),
		keyS:     stringColumn(what+" key string", known[colKeyStr]),
		insert:   booleanColumn(what+" insert", known[colInsert]),
		action:   uintColumn(what+" action", known[colAction]),
		vals:     valueColumns(what+" value", known[colValMeta], known[colValRaw]),
		expand:   booleanColumn(what+" expand", known[colExpand]),
		markName: stringColumn(what+" mark name", known[colMarkName]),
	}
	_, oc.hasInsert = known[colInsert]
	_, oc.hasExpand = known[colExpand]
	if document {
		oc.listName = "successor"
		oc.group = uintColumn(what+" successor count", known[colSuccGroup])
		oc.listActor = uintColumn(what+" successor actor", known[colSuccActor])
		oc.listCtr = deltaColumn(what+" successor counter", known[colSuccCtr])
		oc.idActor = uintColumn(what+" id actor", known[colIDActor])
		oc.idCtr = deltaColumn(what+" id counter", known[colIDCtr])
	} else {
		oc.listName = "predecessor"
		oc.group = uintColumn(what+" predecessor count", known[colPredGroup])
		oc.listActor = uintColumn(what+" predecessor actor", known[colPredActor])
		oc.listCtr = deltaColumn(what+" predecessor counter", known[colPredCtr])
	}
	return oc
}

// rower is a column that can count its rows without decoding them all.
type rower interface {
	rows(max int) (int, error)
	present() bool
	colName() string
}

func (c *rle[T]) present() bool    { return len(c.b) > 0 }
func (c *rle[T]) colName() string  { return c.name }
func (c *boolean) present() bool   { return len(c.b) > 0 }
func (c *boolean) colName() string { return c.name }
func (c *boolean) rows(max int) (int, error) {
	return boolRows(c, max)
}

// checkRows verifies that every present column has exactly n rows, and
// the grouped list columns as many as the group's counts add up to, before
// anything is allocated for them.
func (oc *opColumns) checkRows(n int) error {
	cols := []rower{oc.objActor, oc.objCtr, oc.keyA, &oc.keyC.rle, oc.keyS, oc.insert,
		oc.vals.meta, oc.group, oc.expand, oc.markName}
	if oc.idActor != nil {
		cols = append(cols, oc.idActor, &oc.idCtr.rle)
	}
	if err := checkRowCounts(cols, n); err != nil {
		return err
	}
	// Lists hold at most a few entries per op; bound them generously.
	maxList := 4*n + 1024
	listRows := 0
	for _, c := range []rower{oc.listActor, &oc.listCtr.rle} {
		if !c.present() {
			continue
		}
		got, err := c.rows(maxList)
		if err != nil {
			return err
		}
		if c == rower(oc.listActor) {
			listRows = got
		} else if got != listRows {
			return malformed("%s columns disagree: %d actors, %d counters", oc.listName, listRows, got)
		}
	}
	if oc.listActor.present() != oc.listCtr.present() {
		return malformed("%s actor and counter columns must come together", oc.listName)
	}
	total := uint64(0)
	g := *oc.group
	for !g.done() {
		k, ok, err := g.next()
		if err != nil {
			return err
		}
		if !ok {
			return malformed("column %s: null count", g.name)
		}
		total += k
		if k > uint64(maxList) || total > uint64(listRows) {
			return malformed("column %s: counts exceed the %d entries present", g.name, listRows)
		}
	}
	if total != uint64(listRows) {
		return malformed("column %s: counts add up to %d, %d entries present", g.name, total, listRows)
	}
	return nil
}

// checkRowCounts checks that each present column has n rows.
func checkRowCounts(cols []rower, n int) error {
	for _, c := range cols {
		if !c.present() {
			continue
		}
		got, err := c.rows(n)
		if err != nil {
			return err
		}
		if got != n {
			return malformed("column %s has %d rows, %d expected", c.colName(), got, n)
		}
	}
	return nil
}

func rowsErr(name string, got, want int, err error) error {
	if err != nil {
		return err
	}
	return malformed("column %s has %d rows, %d expected", name, got, want)
}

func boolRows(b *boolean, max int) (int, error) {
	c := *b
	total := uint64(0)
	for c.pos < len(c.b) {
		n, k, err := readUleb(c.b[c.pos:])
		if err != nil {
			return 0, malformed("column %s: %v", c.name, err)
		}
		if n == 0 && c.pos > 0 {
			return 0, malformed("column %s: empty run", c.name)
		}
		c.pos += k
		total += n
		if total > uint64(max) {
			return 0, tooLarge("column %s: more than %d rows", c.name, max)
		}
	}
	return int(total), nil
}

func (oc *opColumns) failf(row int, format string, args ...any) error {
	return fmt.Errorf("%w: %s %d: %s", ErrMalformed, oc.what, row, fmt.Sprintf(format, args...))
}

func (oc *opColumns) opID(row int, a uint64, aok bool, ctr int64, cok bool, field string) (OpID, error) {
	if !aok || !cok {
		return OpID{}, oc.failf(row, "%s: null actor or counter", field)
	}
	if a >= oc.nActors {
		return OpID{}, oc.failf(row, "%s: actor index %d out of range (%d actors)", field, a, oc.nActors)
	}
	if ctr <= 0 || uint64(ctr) > maxCounter {
		return OpID{}, oc.failf(row, "%s: counter %d outside 1..2^32-1", field, ctr)
	}
	return OpID{Counter: uint64(ctr), Actor: uint32(a)}, nil
}

// next decodes row i into op, reusing op's slices.
func (oc *opColumns) next(row int, op *Op, actors []ActorID) error {
	// Each column is read with the same three lines, here and in
	// document.go: explicit, so a failing column is plain to see.
	// Object.
	oa, oaok, err := oc.objActor.nextOrNull()
	if err != nil {
		return err
	}
	ocn, ocok, err := oc.objCtr.nextOrNull()
	if err != nil {
		return err
	}
	switch {
	case !oaok && !ocok:
		op.Obj = OpID{}
	case oaok && ocok:
		if ocn > uint64(math.MaxInt64) {
			return oc.failf(row, "object counter %d too large", ocn)
		}
		if op.Obj, err = oc.opID(row, oa, true, int64(ocn), true, "object"); err != nil {
			return err
		}
	default:
		return oc.failf(row, "object has a null actor or counter")
	}
	// Key.
	ka, kaok, err := oc.keyA.nextOrNull()
	if err != nil {
		return err
	}
	kc, kcok, err := oc.keyC.nextOrNull()
	if err != nil {
		return err
	}
	ks, ksok, err := oc.keyS.nextOrNull()
	if err != nil {
		return err
	}
	switch {
	case ksok && !kaok && !kcok:
		op.Key = Key{Prop: ks}
	case !ksok && !kaok && kcok && kc == 0:
		op.Key = Key{IsElem: true}
	case !ksok && kaok && kcok:
		id, err := oc.opID(row, ka, true, kc, true, "key")
		if err != nil {
			return err
		}
		op.Key = Key{Elem: id, IsElem: true}
	default:
		return oc.failf(row, "key is neither a map key nor a list element")
	}
	// Insert.
	op.Insert = false
	if oc.hasInsert {
		if op.Insert, err = oc.insert.next(); err != nil {
			return err
		}
	} else {
		return oc.failf(row, "no insert column")
	}
	if op.Insert && !op.Key.IsElem {
		return oc.failf(row, "an insert into a map")
	}
	// Action and value.
	act, ok, err := oc.action.next()
	if err != nil {
		return err
	}
	if !ok {
		return oc.failf(row, "null action")
	}
	if act > uint64(ActionMark) {
		return fmt.Errorf("%w: %s %d: unknown action %d", ErrUnsupported, oc.what, row, act)
	}
	op.Action = Action(act)
	if op.Value, err = oc.vals.next(); err != nil {
		return err
	}
	// The core rewrites these values when it saves and reloads a
	// document, so any other value would change the change's hash and make
	// the saved document unloadable.
	switch op.Action {
	case ActionIncrement:
		if op.Value.Type != TypeInt {
			return oc.failf(row, "increment by a %v", op.Value.Type)
		}
	case ActionMakeMap, ActionMakeList, ActionMakeText, ActionMakeTable, ActionDelete:
		if op.Value.Type != TypeNull {
			return oc.failf(row, "%v op with a %v value", op.Action, op.Value.Type)
		}
	}
	if op.Insert && (op.Action == ActionDelete || op.Action == ActionIncrement) {
		return oc.failf(row, "an insert that is a %v", op.Action)
	}
	// Predecessors or successors.
	k, ok, err := oc.group.next()
	if err != nil {
		return err
	}
	if !ok {
		return oc.failf(row, "null %s count", oc.listName)
	}
	list := op.Pred[:0]
	if oc.idActor != nil {
		list = op.Succ[:0]
	}
	for j := uint64(0); j < k; j++ {
		a, aok, err := oc.listActor.nextOrNull()
		if err != nil {
			return err
		}
		c, cok, err := oc.listCtr.nextOrNull()
		if err != nil {
			return err
		}
		id, err := oc.opID(row, a, aok, c, cok, oc.listName)
		if err != nil {
			return err
		}
		if len(list) > 0 && !lamportLess(list[len(list)-1], id, actors) {
			return oc.failf(row, "%ss not in ascending order", oc.listName)
		}
		list = append(list, id)
	}
	if oc.idActor != nil {
		op.Succ, op.Pred = list, op.Pred[:0]
	} else {
		op.Pred, op.Succ = list, op.Succ[:0]
	}
	// Marks.
	op.Expand = false
	if oc.hasExpand {
		if op.Expand, err = oc.expand.next(); err != nil {
			return err
		}
	}
	op.MarkName, op.HasMarkName, err = oc.markName.nextOrNull()
	if err != nil {
		return err
	}
	if op.Action != ActionMark && (op.Expand || op.HasMarkName) {
		return oc.failf(row, "mark fields on a %v op", op.Action)
	}
	if op.Action == ActionMark && !op.HasMarkName && op.Value.Type != TypeNull {
		return oc.failf(row, "a mark's end with a %v value", op.Value.Type)
	}
	return nil
}

// nextOrNull reads the next row, or a null from an absent column.
func (c *rle[T]) nextOrNull() (T, bool, error) {
	if len(c.b) == 0 {
		var zero T
		return zero, false, nil
	}
	return c.next()
}

func (c *delta) nextOrNull() (int64, bool, error) {
	if len(c.b) == 0 {
		return 0, false, nil
	}
	return c.next()
}

func (oc *opColumns) allDone() error {
	for _, c := range []*rle[uint64]{oc.objActor, oc.objCtr, oc.keyA, oc.action, oc.group, oc.listActor} {
		if !c.done() {
			return malformed("column %s has rows left over", c.name)
		}
	}
	for _, c := range []*delta{oc.keyC, oc.listCtr} {
		if !c.done() {
			return malformed("column %s has rows left over", c.name)
		}
	}
	if !oc.keyS.done() || !oc.markName.done() {
		return malformed("%s string columns have rows left over", oc.what)
	}
	if !oc.insert.done() || !oc.expand.done() || !oc.vals.done() {
		return malformed("%s insert, expand or value columns have rows left over", oc.what)
	}
	if oc.idActor != nil && (!oc.idActor.done() || !oc.idCtr.done()) {
		return malformed("%s id columns have rows left over", oc.what)
	}
	return nil
}

func (c *Change) decodeOps(known map[ColumnSpec][]byte, opBudget *int) error {
	actors := c.Actors()
	oc := newOpColumns(known, "change op", len(actors), false)
	n, err := oc.action.rows(*opBudget)
	if err != nil {
		return err
	}
	if err := oc.checkRows(n); err != nil {
		return err
	}
	*opBudget -= n
	if n == 0 {
		return nil
	}
	c.Ops = make([]Op, n)
	for i := range c.Ops {
		op := &c.Ops[i]
		if err := oc.next(i, op, actors); err != nil {
			return err
		}
		if len(op.Pred) == 0 {
			op.Pred = nil
		}
		op.Succ = nil
		op.ID = OpID{Counter: c.StartOp + uint64(i), Actor: 0}
	}
	return oc.allDone()
}

// Encode writes the change as an uncompressed change chunk, exactly as the
// 2023 core writes it (so a change the core made re-encodes to its own
// bytes and hash). It does not set c.Hash; see (*Change).Rehash.
func (c *Change) Encode() []byte {
	var e changeEncoder
	body := e.body(c)
	return appendChunk(make([]byte, 0, len(body)+16), ChunkChange, body)
}

// EncodeHashed is Encode that also sets c.Hash, from the one encoding.
func (c *Change) EncodeHashed() []byte {
	var e changeEncoder
	body := e.body(c)
	c.Hash = hashBody(ChunkChange, body)
	return appendHashedChunk(make([]byte, 0, len(body)+16), ChunkChange, body, c.Hash)
}

// Rehash sets c.Hash from the change's encoding and returns it.
func (c *Change) Rehash() Hash {
	var e changeEncoder
	c.Hash = hashBody(ChunkChange, e.body(c))
	return c.Hash
}

func (c *Change) appendBody(b []byte) []byte {
	var e changeEncoder
	return append(b, e.body(c)...)
}

// changeEncoder encodes change chunk bodies, reusing its buffers from one
// change to the next.
type changeEncoder struct {
	objA, objC, keyA, action, valMeta, group, predA rleEncoder[uint64]
	keyS, marks                                     rleEncoder[string]
	keyC, predC                                     deltaEncoder
	insert, expand                                  booleanEncoder
	valRaw                                          []byte
	cols                                            []Column
	buf                                             []byte
}

func (e *changeEncoder) reset() {
	for _, u := range []*rleEncoder[uint64]{&e.objA, &e.objC, &e.keyA, &e.action, &e.valMeta, &e.group, &e.predA} {
		u.reset(appendUleb)
	}
	e.keyS.reset(appendString)
	e.marks.reset(appendString)
	e.keyC.reset()
	e.predC.reset()
	e.insert.reset()
	e.expand.reset()
	e.valRaw = e.valRaw[:0]
	e.cols = e.cols[:0]
	e.buf = e.buf[:0]
}

// body returns c's chunk body, valid until the next call.
func (e *changeEncoder) body(c *Change) []byte {
	e.reset()
	b := e.buf
	b = appendUleb(b, uint64(len(c.Deps)))
	for _, d := range c.Deps {
		b = append(b, d[:]...)
	}
	b = appendUleb(b, uint64(len(c.Actor)))
	b = append(b, c.Actor...)
	b = appendUleb(b, c.Seq)
	b = appendUleb(b, c.StartOp)
	b = appendSleb(b, c.Time)
	b = appendUleb(b, uint64(len(c.Message)))
	b = append(b, c.Message...)
	b = appendUleb(b, uint64(len(c.OtherActors)))
	for _, a := range c.OtherActors {
		b = appendUleb(b, uint64(len(a)))
		b = append(b, a...)
	}
	cols := mergeColumns(e.encodeOps(c.Ops), c.ExtraColumns)
	b = appendUleb(b, uint64(len(cols)))
	for _, col := range cols {
		b = appendUleb(b, uint64(col.Spec))
		b = appendUleb(b, uint64(len(col.Data)))
	}
	for _, col := range cols {
		b = append(b, col.Data...)
	}
	b = append(b, c.ExtraBytes...)
	e.buf = b
	return b
}

// mergeColumns merges extra columns into known ones by specification.
func mergeColumns(known, extra []Column) []Column {
	if len(extra) == 0 {
		return known
	}
	out := append(slices.Clone(known), extra...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Spec.normalized() < out[j].Spec.normalized() })
	return out
}

// encodeOps encodes ops into the columns of a change chunk, leaving out
// empty columns as the core does.
func (e *changeEncoder) encodeOps(ops []Op) []Column {
	for i := range ops {
		op := &ops[i]
		root := op.Obj.IsZero()
		e.objA.appendOpt(uint64(op.Obj.Actor), !root)
		e.objC.appendOpt(op.Obj.Counter, !root)
		switch {
		case !op.Key.IsElem:
			e.keyA.appendNull()
			e.keyC.appendOpt(0, false)
			e.keyS.appendValue(op.Key.Prop)
		case op.Key.Elem.IsZero():
			e.keyA.appendNull()
			e.keyC.appendValue(0)
			e.keyS.appendNull()
		default:
			e.keyA.appendValue(uint64(op.Key.Elem.Actor))
			e.keyC.appendValue(int64(op.Key.Elem.Counter))
			e.keyS.appendNull()
		}
		e.insert.append(op.Insert)
		e.action.appendValue(uint64(op.Action))
		e.valMeta.appendValue(op.Value.meta())
		e.valRaw = op.Value.appendRaw(e.valRaw)
		e.group.appendValue(uint64(len(op.Pred)))
		for _, p := range op.Pred {
			e.predA.appendValue(uint64(p.Actor))
			e.predC.appendValue(int64(p.Counter))
		}
		e.expand.append(op.Expand)
		e.marks.appendOpt(op.MarkName, op.HasMarkName)
	}
	all := [...]Column{
		{colObjActor, e.objA.finish()},
		{colObjCtr, e.objC.finish()},
		{colKeyActor, e.keyA.finish()},
		{colKeyCtr, e.keyC.finish()},
		{colKeyStr, e.keyS.finish()},
		{colInsert, e.insert.finish()},
		{colAction, e.action.finish()},
		{colValMeta, e.valMeta.finish()},
		{colValRaw, e.valRaw},
		{colPredGroup, e.group.finish()},
		{colPredActor, e.predA.finish()},
		{colPredCtr, e.predC.finish()},
		{colExpand, e.expand.finishMaybe()},
		{colMarkName, e.marks.finish()},
	}
	for _, col := range all {
		if len(col.Data) > 0 {
			e.cols = append(e.cols, col)
		}
	}
	return e.cols
}

// HeadsOf gives the heads of a set of changes: the hashes no change in the
// set depends on, sorted (with no document or core needed).
func HeadsOf(changes []*Change) []Hash {
	named := make(map[Hash]bool, len(changes))
	for _, c := range changes {
		for _, d := range c.Deps {
			named[d] = true
		}
	}
	var heads []Hash
	seen := make(map[Hash]bool, len(changes))
	for _, c := range changes {
		if !named[c.Hash] && !seen[c.Hash] {
			seen[c.Hash] = true
			heads = append(heads, c.Hash)
		}
	}
	slices.SortFunc(heads, compareHashes)
	return heads
}
