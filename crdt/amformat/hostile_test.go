package amformat

import (
	"bytes"
	"compress/flate"
	"errors"
	"strings"
	"testing"

	"github.com/automerge/automerge-go"
)

// baseNote is a real note and the model of it, plus the next change its
// author would make (typing "!" at the end), decoded.
func baseNote(t *testing.T) (*automerge.Doc, *Model, *Change) {
	t.Helper()
	d := coreNote(t, "aa01")
	txt := coreText(t, d)
	txt.Insert(0, "hello")
	d.Commit("")
	m, err := FromDocument(d.Save())
	if err != nil {
		t.Fatal(err)
	}
	txt.Insert(5, "!")
	h, _ := d.Commit("")
	ch, _ := d.Change(h)
	c, err := DecodeChange(ch.Save())
	if err != nil {
		t.Fatal(err)
	}
	return d, m, c
}

func reencode(t *testing.T, c *Change) []byte {
	t.Helper()
	return c.Encode()
}

// Each case is an input the 2023 core aborts on, corrupts documents with,
// or that a note may not contain; each must be refused with the right
// sentinel.
func TestHostileChangesAreRefused(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(c *Change)
		want   error
	}{
		{"actor index past the change's actors (core: index out of bounds)", func(c *Change) { c.Ops[0].Obj.Actor = 5 }, ErrMalformed},
		{"key counter past 32 bits (core: unwrap panic)", func(c *Change) { c.Ops[0].Key.Elem.Counter = 1 << 33 }, ErrMalformed},
		{"start op past 32 bits", func(c *Change) { c.StartOp = 1 << 32; c.Ops[0].ID.Counter = 1 << 32 }, ErrMalformed},
		{"unknown action (core: unreachable UnknownAction)", func(c *Change) { c.Ops[0].Action = 9 }, ErrUnsupported},
		{"increment by a string (core: unreachable NonNumericInc)", func(c *Change) {
			c.Ops[0].Action, c.Ops[0].Insert = ActionIncrement, false
		}, ErrMalformed},
		{"make op with a value (rewritten on save, poisoning the document)", func(c *Change) { c.Ops[0].Action = ActionMakeText }, ErrMalformed},
		{"seq 0", func(c *Change) { c.Seq = 0 }, ErrMalformed},
		{"unsorted deps", func(c *Change) { c.Deps = append(c.Deps, Hash{}) }, ErrMalformed},
		{"mark name on a put", func(c *Change) { c.Ops[0].HasMarkName, c.Ops[0].MarkName = true, "bold" }, ErrMalformed},
		{"own actor among the others", func(c *Change) { c.OtherActors = []ActorID{c.Actor} }, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, c := baseNote(t)
			tc.mutate(c)
			_, err := DecodeChange(reencode(t, c))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestModelRefusesChangesThatDoNotFit(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(c *Change)
		want   error
	}{
		{"unknown deps", func(c *Change) { c.Deps = []Hash{{1}} }, ErrMissingDeps},
		{"forged duplicate seq", func(c *Change) { c.Seq = 1; c.Message = "forged" }, ErrDuplicateSeq},
		{"a gap in the actor's seqs", func(c *Change) { c.Seq = 9 }, ErrConflict},
		{"op IDs overlapping the actor's ops", func(c *Change) { c.StartOp = 2 }, ErrConflict},
		{"insert after an unknown element", func(c *Change) { c.Ops[0].Key.Elem.Counter = 999 }, ErrConflict},
		{"an op on an unknown object", func(c *Change) { c.Ops[0].Obj.Counter = 998 }, ErrConflict},
		{"an element key on the root map (core: can only compare map keys)", func(c *Change) { c.Ops[0].Obj = OpID{} }, ErrUnsupported},
		{"a nested map", func(c *Change) {
			c.Ops[0] = Op{ID: c.Ops[0].ID, Key: Key{Prop: "meta"}, Action: ActionMakeMap}
		}, ErrUnsupported},
		{"a counter", func(c *Change) {
			c.Ops[0] = Op{ID: c.Ops[0].ID, Key: Key{Prop: "votes"}, Action: ActionPut, Value: Counter(1)}
		}, ErrUnsupported},
		{"the body as a plain string", func(c *Change) {
			c.Ops[0] = Op{ID: c.Ops[0].ID, Key: Key{Prop: "text"}, Action: ActionPut, Value: Str("x")}
		}, ErrUnsupported},
		{"a title that is a number", func(c *Change) {
			c.Ops[0] = Op{ID: c.Ops[0].ID, Key: Key{Prop: "title"}, Action: ActionPut, Value: Int(3)}
		}, ErrUnsupported},
		{"two characters in one element", func(c *Change) { c.Ops[0].Value = Str("ab") }, ErrUnsupported},
		{"an object inside the text", func(c *Change) { c.Ops[0].Action, c.Ops[0].Value = ActionMakeMap, Null() }, ErrUnsupported},
		{"a put overwriting a character", func(c *Change) { c.Ops[0].Insert = false }, ErrUnsupported},
		{"a delete whose predecessor is another element", func(c *Change) {
			c.Ops[0].Insert, c.Ops[0].Action, c.Ops[0].Value = false, ActionDelete, Null()
			c.Ops[0].Pred = []OpID{{Counter: 4}}
		}, ErrConflict},
		{"a reference to an op not earlier than itself", func(c *Change) { c.Ops[0].Key.Elem = c.Ops[0].ID }, ErrConflict},
		{"a title put with an unknown predecessor", func(c *Change) {
			c.Ops[0] = Op{ID: c.Ops[0].ID, Key: Key{Prop: "title"}, Action: ActionPut, Value: Str("t"), Pred: []OpID{{Counter: 5}}}
		}, ErrConflict},
		{"unknown op columns (dropped by the core on save)", func(c *Change) {
			c.ExtraColumns = []Column{{Spec: spec(20, colUint), Data: []byte{1, 0}}}
		}, ErrUnsupported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, m, c := baseNote(t)
			tc.mutate(c)
			c, err := DecodeChange(reencode(t, c))
			if err != nil {
				t.Fatalf("the mutated change should decode: %v", err)
			}
			before, heads := m.Text(), m.Heads()
			_, err = m.Apply(c)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if m.Text() != before || len(m.Heads()) != len(heads) || m.Heads()[0] != heads[0] {
				t.Fatal("a refused change altered the model")
			}
		})
	}
	// The real change still applies afterwards.
	d, m, c := baseNote(t)
	if s, err := m.Apply(c); err != nil || len(s) != 1 || s[0] != (Splice{Pos: 5, Insert: "!"}) {
		t.Fatalf("real change: %v %+v", err, s)
	}
	if got, _ := coreText(t, d).Get(); got != m.Text() {
		t.Fatalf("model %q, core %q", m.Text(), got)
	}
	// Applying it again changes nothing.
	if s, err := m.Apply(c); err != nil || s != nil {
		t.Fatalf("re-applied change: %v %+v", err, s)
	}
}

func TestHostileSyncMessagesAreRefused(t *testing.T) {
	a := coreNote(t, "aa01")
	msgs := syncRound(t, a, automerge.New())
	first, err := DecodeSyncMessage(msgs[0])
	if err != nil || len(first.Have) != 1 {
		t.Fatalf("first message: %v", err)
	}
	cases := []struct {
		name   string
		mutate func(m *SyncMessage)
		want   error
	}{
		{"bloom filter with no bits per entry (core: division by zero)", func(m *SyncMessage) { m.Have[0].Bloom.BitsPerEntry = 0 }, ErrMalformed},
		{"bloom filter shorter than its parameters say (core: range error)", func(m *SyncMessage) { m.Have[0].Bloom.Bits = m.Have[0].Bloom.Bits[:1] }, ErrMalformed},
		{"a million probes (core: allocation)", func(m *SyncMessage) { m.Have[0].Bloom.Probes = 1 << 20 }, ErrMalformed},
		{"two haves (core: unchecked last-sync hashes)", func(m *SyncMessage) { m.Have = append(m.Have, m.Have[0]) }, ErrTooLarge},
		{"unsorted heads", func(m *SyncMessage) { m.Heads = append(m.Heads, Hash{}) }, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := DecodeSyncMessage(msgs[0])
			tc.mutate(m)
			if _, err := DecodeSyncMessage(m.Encode()); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("trailing garbage", func(t *testing.T) {
		if _, err := DecodeSyncMessage(append(append([]byte{}, msgs[0]...), 9, 9, 9)); !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
	})
	t.Run("a document chunk as a change", func(t *testing.T) {
		m, _ := DecodeSyncMessage(msgs[0])
		m.RawChanges = [][]byte{a.Save()}
		if _, err := DecodeSyncMessage(m.Encode()); !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
	})
}

func TestLimitsBoundWhatInputCanCost(t *testing.T) {
	// One op claimed a billion times by a run-length encoded action column.
	huge := &Change{Actor: "aa", Seq: 1, StartOp: 1}
	huge.Ops = make([]Op, 3)
	for i := range huge.Ops {
		huge.Ops[i] = Op{Key: Key{Prop: "k"}, Action: ActionPut, Value: Null()}
	}
	enc := huge.Encode()
	if _, err := DecodeChange(enc); err != nil {
		t.Fatal(err)
	}
	small := DefaultLimits
	small.MaxChangeOps = 2
	if _, err := small.DecodeChange(enc); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
	// A deflate bomb in a compressed change.
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestCompression)
	w.Write(bytes.Repeat([]byte{0}, 8<<20))
	w.Close()
	bomb := append([]byte{}, Magic[:]...)
	bomb = append(bomb, 0, 0, 0, 0, byte(ChunkCompressed))
	bomb = appendUleb(bomb, uint64(z.Len()))
	bomb = append(bomb, z.Bytes()...)
	small = DefaultLimits
	small.MaxInflated = 1 << 20
	if _, err := small.DecodeChange(bomb); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
	// Counts that the bytes cannot hold are refused before allocating.
	claim := []byte{syncMessageV1, 0xff, 0xff, 0xff, 0xff, 0x0f}
	if _, err := DecodeSyncMessage(claim); !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
}

func TestLEB128IsStrict(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want uint64
		ok   bool
	}{
		{[]byte{0}, 0, true},
		{[]byte{0x80, 0x01}, 128, true},
		{[]byte{0x80, 0x00}, 0, false}, // overlong
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 1<<64 - 1, true},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, 0, false}, // past 64 bits
		{[]byte{0x80}, 0, false}, // truncated
	} {
		v, _, err := readUleb(tc.in)
		if (err == nil) != tc.ok || (tc.ok && v != tc.want) {
			t.Errorf("uleb %x: %d, %v", tc.in, v, err)
		}
	}
	for _, v := range []int64{0, 1, -1, 63, 64, -64, -65, 1 << 40, -(1 << 40), 1<<63 - 1, -1 << 63} {
		b := appendSleb(nil, v)
		got, n, err := readSleb(b)
		if err != nil || got != v || n != len(b) || n != slebLen(v) {
			t.Errorf("sleb %d: %x → %d, %v", v, b, got, err)
		}
	}
	if _, _, err := readSleb([]byte{0xff, 0x7f}); err == nil { // -1, overlong
		t.Error("overlong sleb accepted")
	}
}

func TestErrorsReadWell(t *testing.T) {
	_, m, c := baseNote(t)
	c.Ops[0] = Op{ID: c.Ops[0].ID, Key: Key{Prop: "votes"}, Action: ActionPut, Value: Counter(1)}
	c, _ = DecodeChange(c.Encode())
	_, err := m.Apply(c)
	if err == nil || !strings.Contains(err.Error(), `a counter at key "votes"`) || !strings.Contains(err.Error(), "collab note holds only a title and a text") {
		t.Fatalf("message: %v", err)
	}
}
