package amformat

import (
	"fmt"
)

// Document is a decoded document chunk: its actors, heads, change metadata
// and (streamed by EachOp) its ops, every part checked.
type Document struct {
	Actors []ActorID // sorted
	Heads  []Hash    // sorted
	// HeadIndexes gives, per head, the index of its change (absent in
	// documents from very old writers).
	HeadIndexes []uint64
	Changes     []ChangeMeta
	// ExtraChangeColumns and ExtraOpColumns are columns this decoder does
	// not know, kept as the spec requires.
	ExtraChangeColumns []Column
	ExtraOpColumns     []Column

	ops        map[ColumnSpec][]byte
	numOps     int
	numChanges int
	maxOpOf    []uint64 // per actor, the largest max op of its changes
	lastSeq    []uint64 // per actor, its last seq
	limits     Limits
	verified   bool // EachOp ran to its end without error
}

// ChangeMeta is one change as a document records it (the ops are the
// document's; Document.History rebuilds whole changes).
type ChangeMeta struct {
	Actor   uint32 // index into Document.Actors
	Seq     uint64
	MaxOp   uint64
	Time    int64
	Message string
	Deps    []uint32 // indexes of earlier changes
	Extra   []byte
}

// The change metadata columns of a document chunk.
var (
	colChActor    = spec(0, colActor)
	colChSeq      = spec(0, colDelta)
	colChMaxOp    = spec(1, colDelta)
	colChTime     = spec(2, colDelta)
	colChMessage  = spec(3, colString)
	colChDepGroup = spec(4, colGroup)
	colChDepIndex = spec(4, colDelta)
	colChExtraMet = spec(5, colValueMet)
	colChExtraRaw = spec(5, colValueRaw)
	docChangeCols = specSet(colChActor, colChSeq, colChMaxOp, colChTime, colChMessage, colChDepGroup, colChDepIndex, colChExtraMet, colChExtraRaw)
)

// DecodeDocument decodes one document chunk within DefaultLimits, checking
// every op (see EachOp to read them).
func DecodeDocument(b []byte) (*Document, error) { return DefaultLimits.DecodeDocument(b) }

// DecodeDocument decodes one document chunk within l.
func (l Limits) DecodeDocument(b []byte) (*Document, error) {
	d, err := l.decodeDocumentHeader(b, true)
	if err != nil {
		return nil, err
	}
	if err := d.EachOp(nil); err != nil {
		return nil, err
	}
	return d, nil
}

// DocumentHeads returns the heads a document chunk states (decoding no
// ops): what its sender had when it saved it, as the sender says.
func (l Limits) DocumentHeads(b []byte) ([]Hash, error) {
	d, err := l.decodeDocumentHeader(b, false)
	if err != nil {
		return nil, err
	}
	return d.Heads, nil
}

// decodeDocumentHeader decodes everything but the ops, which it leaves to
// EachOp.
func (l Limits) decodeDocumentHeader(b []byte, keepChanges bool) (*Document, error) {
	if len(b) > l.MaxBytes {
		return nil, tooLarge("%d bytes exceed the limit of %d", len(b), l.MaxBytes)
	}
	ch, n, err := l.readChunk(b, l.MaxInflated)
	if err != nil {
		return nil, err
	}
	if ch.Type != ChunkDocument {
		return nil, malformed("a %v chunk where a document was expected", ch.Type)
	}
	if n != len(b) {
		return nil, malformed("%d bytes after the document chunk", len(b)-n)
	}
	cur := &cursor{b: ch.Body, what: "document"}
	d := &Document{limits: l}
	d.Actors = cur.actors("actors", l, "")
	d.Heads = cur.hashes("heads", l.MaxHashes)
	for i := 1; i < len(d.Heads) && cur.err == nil; i++ {
		if compareHashes(d.Heads[i-1], d.Heads[i]) >= 0 {
			cur.fail("heads not sorted and unique")
		}
	}
	changeMeta := readColumns(cur, "document change")
	opMeta := readColumns(cur, "document op")
	changeCols := columnData(cur, changeMeta, "document change")
	opCols := columnData(cur, opMeta, "document op")
	if cur.err == nil && cur.remaining() > 0 {
		d.HeadIndexes = make([]uint64, len(d.Heads))
		for i := range d.HeadIndexes {
			d.HeadIndexes[i] = cur.uleb("head index")
		}
		if cur.err == nil && cur.remaining() > 0 {
			cur.fail("%d bytes after the head indexes", cur.remaining())
		}
	}
	if cur.err != nil {
		return nil, cur.err
	}
	budget := l.MaxInflated
	if err := inflateColumns(changeCols, &budget, "document change"); err != nil {
		return nil, err
	}
	if err := inflateColumns(opCols, &budget, "document op"); err != nil {
		return nil, err
	}
	cset, err := sortColumns(changeCols, docChangeCols, "document change", true)
	if err != nil {
		return nil, err
	}
	oset, err := sortColumns(opCols, docOpCols, "document op", true)
	if err != nil {
		return nil, err
	}
	d.ExtraChangeColumns, d.ExtraOpColumns = cset.unknown, oset.unknown
	d.ops = oset.known
	if err := d.decodeChanges(cset.known, keepChanges); err != nil {
		return nil, err
	}
	for i, h := range d.HeadIndexes {
		if h >= uint64(d.numChanges) {
			return nil, malformed("head index %d names change %d of %d", i, h, d.numChanges)
		}
	}
	oc := newOpColumns(d.ops, "document op", len(d.Actors), true)
	if d.numOps, err = oc.idActor.rows(l.MaxDocumentOps); err != nil {
		return nil, err
	}
	if err := oc.checkRows(d.numOps); err != nil {
		return nil, err
	}
	return d, nil
}

// decodeChanges checks the change metadata columns and, if keep, keeps
// them in d.Changes (else only the actors' clocks, in d.maxOpOf and
// d.lastSeq).
func (d *Document) decodeChanges(known map[ColumnSpec][]byte, keep bool) error {
	actor := uintColumn("change actor", known[colChActor])
	seq := deltaColumn("change seq", known[colChSeq])
	maxOp := deltaColumn("change max op", known[colChMaxOp])
	tm := deltaColumn("change time", known[colChTime])
	msg := stringColumn("change message", known[colChMessage])
	if !keep {
		msg.read = skipStringValue
	}
	depN := uintColumn("change deps count", known[colChDepGroup])
	depI := deltaColumn("change deps", known[colChDepIndex])
	extra := valueColumns("change extra", known[colChExtraMet], known[colChExtraRaw])
	n, err := actor.rows(d.limits.MaxChanges)
	if err != nil {
		return err
	}
	if err := checkRowCounts([]rower{&seq.rle, &maxOp.rle, &tm.rle, msg, depN, extra.meta}, n); err != nil {
		return err
	}
	d.numChanges = n
	d.lastSeq = make([]uint64, len(d.Actors))
	lastSeq := d.lastSeq
	d.maxOpOf = make([]uint64, len(d.Actors))
	if n == 0 {
		return nil
	}
	if keep {
		d.Changes = make([]ChangeMeta, n)
	}
	var scratch ChangeMeta
	for i := 0; i < n; i++ {
		cm := &scratch
		if keep {
			cm = &d.Changes[i]
		}
		a, ok, err := actor.next()
		if err != nil {
			return err
		}
		if !ok || a >= uint64(len(d.Actors)) {
			return malformed("change %d: actor index missing or out of range", i)
		}
		cm.Actor = uint32(a)
		s, sok, err := seq.next()
		if err != nil {
			return err
		}
		m, mok, err := maxOp.next()
		if err != nil {
			return err
		}
		t, tok, err := tm.next()
		if err != nil {
			return err
		}
		if !sok || !mok || !tok {
			return malformed("change %d: null seq, max op or time", i)
		}
		if s != int64(lastSeq[a]+1) {
			return malformed("change %d: actor %v's seq %d follows %d", i, d.Actors[a], s, lastSeq[a])
		}
		lastSeq[a] = uint64(s)
		if m < 0 || uint64(m) > maxCounter || uint64(m) < d.maxOpOf[a] {
			return malformed("change %d: max op %d out of order or range", i, m)
		}
		d.maxOpOf[a] = uint64(m)
		cm.Seq, cm.MaxOp, cm.Time = uint64(s), uint64(m), t
		cm.Message, _, err = msg.nextOrNull()
		if err != nil {
			return err
		}
		k, ok, err := depN.next()
		if err != nil {
			return err
		}
		if !ok {
			return malformed("change %d: null deps count", i)
		}
		if k > uint64(i) || k > uint64(d.limits.MaxHashes) {
			return malformed("change %d: %d deps", i, k)
		}
		if k > 0 {
			if keep {
				cm.Deps = make([]uint32, k)
			} else {
				cm.Deps = cm.Deps[:0]
				for j := uint64(0); j < k; j++ {
					cm.Deps = append(cm.Deps, 0)
				}
			}
			for j := range cm.Deps {
				dep, ok, err := depI.next()
				if err != nil {
					return err
				}
				if !ok || dep < 0 || dep >= int64(i) {
					return malformed("change %d: dep %d does not name an earlier change", i, dep)
				}
				cm.Deps[j] = uint32(dep)
			}
		}
		if extra.meta.present() {
			v, err := extra.next()
			if err != nil {
				return err
			}
			if v.Type != TypeBytes {
				return malformed("change %d: extra data is a %v", i, v.Type)
			}
			if len(v.raw) > 0 && keep {
				cm.Extra = []byte(v.raw)
			}
		}
	}
	if !depI.done() || !extra.done() {
		return malformed("change columns have rows left over")
	}
	return nil
}

// clockOf gives an actor's last seq and max op, as the change metadata says.
func (d *Document) clockOf(a uint32) (seq, maxOp uint64) { return d.lastSeq[a], d.maxOpOf[a] }

// NumOps is the number of ops the document holds (deletes are not ops in a
// document; they are successors of what they deleted).
func (d *Document) NumOps() int { return d.numOps }

// EachOp decodes the document's ops in order (by object, then by key or
// list position), checking each, and calls fn (if not nil) with each. The
// *Op and its slices are reused between calls.
func (d *Document) EachOp(fn func(*Op) error) error {
	oc := newOpColumns(d.ops, "document op", len(d.Actors), true)
	var op Op
	objects := map[OpID]Action{} // made objects: their make action
	var curObj OpID
	for i := 0; i < d.numOps; i++ {
		ida, aok, err := oc.idActor.nextOrNull()
		if err != nil {
			return err
		}
		idc, cok, err := oc.idCtr.nextOrNull()
		if err != nil {
			return err
		}
		if op.ID, err = oc.opID(i, ida, aok, idc, cok, "id"); err != nil {
			return err
		}
		if err := oc.next(i, &op, d.Actors); err != nil {
			return err
		}
		if op.ID.Counter > d.maxOpOf[op.ID.Actor] {
			return oc.failf(i, "op %v belongs to no change", op.ID)
		}
		if op.Action == ActionDelete {
			return oc.failf(i, "a delete op (documents record deletes as successors)")
		}
		for _, s := range op.Succ {
			if s.Counter <= op.ID.Counter {
				return oc.failf(i, "successor %v is not later than the op", s)
			}
			if s.Counter > d.maxOpOf[s.Actor] {
				return oc.failf(i, "successor %v belongs to no change", s)
			}
		}
		if op.Obj != curObj {
			if i > 0 && lamportLess(op.Obj, curObj, d.Actors) {
				return oc.failf(i, "objects out of order")
			}
			if _, ok := objects[op.Obj]; !ok {
				return oc.failf(i, "op on object %v, which no earlier op made", op.Obj)
			}
			curObj = op.Obj
		}
		switch op.Action {
		case ActionMakeMap, ActionMakeList, ActionMakeText, ActionMakeTable:
			if len(objects) >= d.limits.MaxDocumentOps {
				return tooLarge("too many objects")
			}
			objects[op.ID] = op.Action
		}
		if fn != nil {
			if err := fn(&op); err != nil {
				return err
			}
		}
	}
	if err := oc.allDone(); err != nil {
		return err
	}
	d.verified = true
	return nil
}

// String summarises the document.
func (d *Document) String() string {
	return fmt.Sprintf("document: %d actors, %d changes, %d ops, %d heads", len(d.Actors), len(d.Changes), d.numOps, len(d.Heads))
}
