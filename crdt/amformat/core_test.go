package amformat

import (
	"bytes"
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
	if compressed == 0 {
		t.Fatal("no compressed change among the core's: the long insert should be one")
	}
}
