package amformat

import (
	"bytes"
	"compress/flate"
	"testing"

	"github.com/automerge/automerge-go"
)

// coreNote makes a note the way crdt does (a Text at "text", a string at
// "title") and edits it, committing after each step.
func coreNote(t testing.TB, actor string) *automerge.Doc {
	t.Helper()
	d := automerge.New()
	if actor != "" {
		if err := d.SetActorID(actor); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.RootMap().Set("text", automerge.NewText("")); err != nil {
		t.Fatal(err)
	}
	if err := d.RootMap().Set("title", "notes"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Commit("create"); err != nil {
		t.Fatal(err)
	}
	return d
}

func coreText(t testing.TB, d *automerge.Doc) *automerge.Text {
	t.Helper()
	v, err := d.RootMap().Get("text")
	if err != nil {
		t.Fatal(err)
	}
	return v.Text()
}

func TestDecodeChangeRoundTripsCoreChanges(t *testing.T) {
	d := coreNote(t, "aabbccdd")
	txt := coreText(t, d)
	steps := []func() error{
		func() error { return txt.Insert(0, "hello world") },
		func() error { return txt.Delete(2, 3) },
		func() error { return txt.Insert(5, "ünï😀") },
		func() error { return d.RootMap().Set("title", "renamed") },
		func() error { return txt.Splice(1, 4, "xyz") },
		func() error { return txt.Insert(txt.Len(), string(bytes.Repeat([]byte("long text "), 50))) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Commit("step"); err != nil {
			t.Fatal(err)
		}
	}
	changes, err := d.Changes()
	if err != nil {
		t.Fatal(err)
	}
	compressed := 0
	for i, ch := range changes {
		raw := ch.Save()
		c, err := DecodeChange(raw)
		if err != nil {
			t.Fatalf("change %d: %v\n%x", i, err, raw)
		}
		if c.Hash != Hash(ch.Hash()) {
			t.Fatalf("change %d: hash %v, core %v", i, c.Hash, ch.Hash())
		}
		if c.Seq != ch.ActorSeq() || c.Actor.String() != ch.ActorID() || c.Message != ch.Message() {
			t.Fatalf("change %d: metadata %d %v %q", i, c.Seq, c.Actor, c.Message)
		}
		enc := c.Encode()
		if c.Compressed {
			compressed++
			// Compare with the uncompressed form: its hash is the change hash.
			if hashBody(ChunkChange, enc[len(enc)-len(c.appendBody(nil)):]) != c.Hash {
				t.Fatalf("change %d: re-encoded compressed change hashes differently", i)
			}
			continue
		}
		if !bytes.Equal(enc, raw) {
			t.Fatalf("change %d: re-encoded\n%x\ncore\n%x", i, enc, raw)
		}
	}
	if compressed != 0 {
		t.Fatalf("%d compressed changes from the core, which writes raw bytes", compressed)
	}
	// The core never sends compressed change chunks, but reads them (and
	// JS may write them): the checksum is the uncompressed change's.
	raw := changes[len(changes)-1].Save()
	zc := compressChange(t, raw)
	c, err := DecodeChange(zc)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Compressed || c.Hash != Hash(changes[len(changes)-1].Hash()) || !bytes.Equal(c.Encode(), raw) {
		t.Fatalf("compressed change decoded as %+v", c)
	}
}

// compressChange turns an uncompressed change chunk into a compressed one.
func compressChange(t testing.TB, raw []byte) []byte {
	t.Helper()
	chunks, err := SplitChunks(raw)
	if err != nil || len(chunks) != 1 {
		t.Fatal(err)
	}
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.DefaultCompression)
	w.Write(chunks[0].Body)
	w.Close()
	out := append([]byte{}, raw[:8]...)
	out = append(out, byte(ChunkCompressed))
	out = appendUleb(out, uint64(z.Len()))
	return append(out, z.Bytes()...)
}

func TestDecodeDocumentMatchesCore(t *testing.T) {
	a := coreNote(t, "aa01")
	b, err := a.Fork()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetActorID("bb02"); err != nil {
		t.Fatal(err)
	}
	ta, tb := coreText(t, a), coreText(t, b)
	for i := 0; i < 20; i++ {
		if err := ta.Insert(ta.Len()/2, "abc"); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if err := ta.Delete(1, 2); err != nil {
				t.Fatal(err)
			}
		}
		a.Commit("a")
		if err := tb.Insert(0, "xy"); err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			b.RootMap().Set("title", "b's title")
		}
		b.Commit("b")
		if i%5 == 4 {
			if _, err := a.Merge(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := ta.Insert(0, string(bytes.Repeat([]byte("0123456789"), 60))); err != nil {
		t.Fatal(err)
	}
	a.Commit("long")
	saved := a.Save()
	d, err := DecodeDocument(saved)
	if err != nil {
		t.Fatalf("%v\n%x", err, saved)
	}
	heads := a.Heads()
	if len(d.Heads) != len(heads) {
		t.Fatalf("heads %v, core %v", d.Heads, heads)
	}
	for i := range heads {
		if d.Heads[i] != Hash(heads[i]) {
			t.Fatalf("heads %v, core %v", d.Heads, heads)
		}
	}
	hist, err := d.History()
	if err != nil {
		t.Fatal(err)
	}
	coreChanges, err := a.Changes()
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != len(coreChanges) {
		t.Fatalf("%d changes, core %d", len(hist), len(coreChanges))
	}
	byHash := map[Hash][]byte{}
	for _, c := range coreChanges {
		byHash[Hash(c.Hash())] = c.Save()
	}
	for i, c := range hist {
		raw, ok := byHash[c.Hash]
		if !ok {
			t.Fatalf("rebuilt change %d (seq %d of %v) has a hash the core does not know", i, c.Seq, c.Actor)
		}
		if !bytes.Equal(c.Encode(), raw) {
			t.Fatalf("rebuilt change %d differs from the core's", i)
		}
	}
}

// syncRound runs a sync between two core docs until quiet, returning every
// message sent.
func syncRound(t testing.TB, a, b *automerge.Doc) [][]byte {
	t.Helper()
	sa, sb := automerge.NewSyncState(a), automerge.NewSyncState(b)
	var msgs [][]byte
	for i := 0; i < 20; i++ {
		quiet := true
		if m, ok := sa.GenerateMessage(); ok {
			quiet = false
			msgs = append(msgs, m.Bytes())
			if _, err := sb.ReceiveMessage(m.Bytes()); err != nil {
				t.Fatal(err)
			}
		}
		if m, ok := sb.GenerateMessage(); ok {
			quiet = false
			msgs = append(msgs, m.Bytes())
			if _, err := sa.ReceiveMessage(m.Bytes()); err != nil {
				t.Fatal(err)
			}
		}
		if quiet {
			return msgs
		}
	}
	t.Fatal("sync did not settle")
	return nil
}

func TestDecodeSyncMessageRoundTripsCore(t *testing.T) {
	a := coreNote(t, "aa01")
	b := automerge.New()
	ta := coreText(t, a)
	for i := 0; i < 30; i++ {
		ta.Insert(ta.Len(), "word ")
		a.Commit("")
	}
	msgs := syncRound(t, a, b)
	if len(msgs) < 3 {
		t.Fatalf("only %d messages", len(msgs))
	}
	withChanges := 0
	for i, raw := range msgs {
		m, err := DecodeSyncMessage(raw)
		if err != nil {
			t.Fatalf("message %d: %v\n%x", i, err, raw)
		}
		withChanges += len(m.Changes)
		if enc := m.Encode(); !bytes.Equal(enc, raw) {
			t.Fatalf("message %d re-encodes differently", i)
		}
		m.RawChanges = nil
		if enc := m.Encode(); !bytes.Equal(enc, raw) {
			t.Fatalf("message %d re-encodes differently from decoded changes", i)
		}
		if i == 0 {
			// a's first message carries a filter of all its changes.
			changes, _ := a.Changes()
			var hs []Hash
			for _, c := range changes {
				hs = append(hs, Hash(c.Hash()))
			}
			if len(m.Have) != 1 || !bytes.Equal(m.Have[0].Bloom.appendTo(nil), NewBloom(hs).appendTo(nil)) {
				t.Fatalf("first message's bloom filter differs from NewBloom's: %+v", m.Have)
			}
			for _, h := range hs {
				if !m.Have[0].Bloom.Contains(h) {
					t.Fatalf("bloom filter lacks %v", h)
				}
			}
		}
	}
	if withChanges != 31 {
		t.Fatalf("%d changes carried, want 31", withChanges)
	}
}

func TestHeadsOfChangesMatchCore(t *testing.T) {
	a := coreNote(t, "aa01")
	b, _ := a.Fork()
	b.SetActorID("bb02")
	coreText(t, a).Insert(0, "a")
	a.Commit("")
	coreText(t, b).Insert(0, "b")
	b.Commit("")
	a.Merge(b)
	all, _ := a.Changes()
	var cs []*Change
	for _, c := range all {
		d, err := DecodeChange(c.Save())
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, d)
	}
	heads := HeadsOf(cs)
	core := a.Heads()
	if len(heads) != 2 || len(core) != 2 || heads[0] != Hash(core[0]) || heads[1] != Hash(core[1]) {
		t.Fatalf("heads %v, core %v", heads, core)
	}
}

// A change re-attributed to another actor is one the core takes as that
// actor's, with its references to other actors' ops intact, and moving it
// back gives the original bytes.
func TestSetActorKeepsReferencesToOthers(t *testing.T) {
	a := coreNote(t, "aa")
	if err := coreText(t, a).Insert(0, "base"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Commit("base"); err != nil {
		t.Fatal(err)
	}
	b, err := a.Fork()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetActorID("ff"); err != nil {
		t.Fatal(err)
	}
	// Ops on aa's text object and after aa's elements: references to
	// another actor.
	if err := coreText(t, b).Splice(2, 1, "XY"); err != nil {
		t.Fatal(err)
	}
	h, err := b.Commit("edit")
	if err != nil {
		t.Fatal(err)
	}
	made, err := b.Change(h)
	if err != nil {
		t.Fatal(err)
	}
	raw := made.Save()
	c, err := DecodeChange(raw)
	if err != nil {
		t.Fatal(err)
	}
	orig := c.Actor
	c.SetActor(ActorID("\x11"))
	c.Rehash()
	moved := c.Encode()
	// The core takes it on a copy that holds its dependencies, as 11's.
	target, err := a.Fork()
	if err != nil {
		t.Fatal(err)
	}
	if err := target.LoadIncremental(moved); err != nil {
		t.Fatalf("core refused the re-attributed change: %v", err)
	}
	if got, err := coreText(t, target).Get(); err != nil || got != "baXYe" {
		t.Errorf("text %q (%v), want %q", got, err, "baXYe")
	}
	back, err := DecodeChange(moved)
	if err != nil {
		t.Fatal(err)
	}
	if back.Actor.String() != "11" {
		t.Errorf("actor %s, want 11", back.Actor)
	}
	back.SetActor(orig)
	if !bytes.Equal(back.Encode(), raw) {
		t.Error("moving the change back did not give its original bytes")
	}

	// Moved onto the very actor it refers to (a forgery of aa's next
	// change): references to aa's ops become references to its own actor.
	forged, err := DecodeChange(raw)
	if err != nil {
		t.Fatal(err)
	}
	forged.SetActor(ActorID("\xaa"))
	forged.Seq = 3 // aa made "create" and "base"
	if len(forged.OtherActors) != 0 {
		t.Errorf("other actors %v, want none", forged.OtherActors)
	}
	forged.Rehash()
	asAA, err := a.Fork()
	if err != nil {
		t.Fatal(err)
	}
	if err := asAA.LoadIncremental(forged.Encode()); err != nil {
		t.Fatalf("core refused the change moved onto aa: %v", err)
	}
	if got, err := coreText(t, asAA).Get(); err != nil || got != "baXYe" {
		t.Errorf("as aa's: text %q (%v), want %q", got, err, "baXYe")
	}
}
