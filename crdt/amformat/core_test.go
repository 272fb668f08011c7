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
