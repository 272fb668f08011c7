package amformat

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/automerge/automerge-go"
)

// Seeds: real bytes from the core (a note edited by two actors, merged,
// synced) and from JS Automerge 3.5.
type seedSet struct {
	changes, docs, syncs [][]byte
}

func fuzzSeeds(t testing.TB) seedSet {
	var s seedSet
	a := coreNote(t, "aa01")
	b, _ := a.Fork()
	b.SetActorID("bb0202")
	ta, tb := coreText(t, a), coreText(t, b)
	ta.Insert(0, "hello wörld 😀")
	a.Commit("a1")
	tb.Insert(0, "concurrent ")
	b.RootMap().Set("title", "b")
	b.Commit("b1")
	a.Merge(b)
	ta.Delete(2, 5)
	ta.Insert(3, string(bytes.Repeat([]byte("paste "), 80)))
	a.Commit("a2")
	changes, _ := a.Changes()
	for _, c := range changes {
		s.changes = append(s.changes, c.Save())
	}
	s.docs = append(s.docs, a.Save(), b.Save())
	s.syncs = append(s.syncs, syncRound(t, a, automerge.New())...)
	js := loadJS(t)
	for _, c := range js.Changes {
		s.changes = append(s.changes, unhex(t, c.Change))
	}
	for _, d := range js.Docs {
		s.docs = append(s.docs, unhex(t, d.Doc))
	}
	for _, m := range js.Sync {
		s.syncs = append(s.syncs, unhex(t, m))
	}
	return s
}

func FuzzDecodeChange(f *testing.F) {
	s := fuzzSeeds(f)
	for _, c := range s.changes {
		f.Add(c)
		f.Add(compressChange(f, c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkChange(t, b)
		checkChange(t, fixChecksums(b))
	})
}

func checkChange(t *testing.T, b []byte) {
	{
		c, err := DecodeChange(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to a change that decodes the same.
		again, err := DecodeChange(c.Encode())
		if err != nil {
			t.Fatalf("re-encoded change does not decode: %v", err)
		}
		again.Hash, again.Compressed = c.Hash, c.Compressed
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("re-encoded change decodes differently:\n%+v\n%+v", c, again)
		}
		CheckNoteChange(c)
	}
}

func FuzzDecodeDocument(f *testing.F) {
	s := fuzzSeeds(f)
	for _, d := range s.docs {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDocument(t, b)
		checkDocument(t, fixChecksums(b))
	})
}

func checkDocument(t *testing.T, b []byte) {
	{
		d, err := DecodeDocument(b)
		if err != nil {
			return
		}
		d.History()
		if m, err := FromDocument(b); err == nil {
			if m.Len() != len([]rune(m.Text())) {
				t.Fatal("length and text disagree")
			}
			m.Title()
		}
	}
}

func FuzzDecodeSyncMessage(f *testing.F) {
	s := fuzzSeeds(f)
	for _, m := range s.syncs {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkSync(t, b)
		checkSync(t, fixSyncChecksums(b))
	})
}

func checkSync(t *testing.T, b []byte) {
	{
		m, err := DecodeSyncMessage(b)
		if err != nil {
			return
		}
		if !bytes.Equal(m.Encode(), b) {
			t.Fatal("accepted message re-encodes differently")
		}
		for _, h := range m.Have {
			for _, hd := range m.Heads {
				h.Bloom.Contains(hd)
			}
		}
	}
}

// FuzzModelApply applies fuzzed changes to the model of a real note: it
// must never panic, a refused change must leave the model as it was, and
// an accepted one's splices must turn the old text into the new.
func FuzzModelApply(f *testing.F) {
	base := coreNote(f, "aa01")
	t0 := coreText(f, base)
	t0.Insert(0, "base text ✓")
	base.Commit("base")
	saved := base.Save()
	fork, _ := base.Fork()
	fork.SetActorID("cc03")
	tf := coreText(f, fork)
	heads := fork.Heads()
	tf.Insert(4, "XY")
	tf.Delete(0, 2)
	fork.RootMap().Set("title", "fuzzed")
	fork.Commit("f1")
	tf.Insert(tf.Len(), "end")
	fork.Commit("f2")
	more, _ := fork.Changes(heads...)
	var seeds []byte
	for _, c := range more {
		f.Add(c.Save())
		seeds = append(seeds, c.Save()...)
	}
	f.Add(seeds)
	for _, c := range fuzzSeeds(f).changes {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := FromDocument(saved)
		if err != nil {
			t.Fatal(err)
		}
		changes, err := DecodeChanges(fixChecksums(b))
		if err != nil {
			return
		}
		for _, c := range changes {
			before, title, hs := m.Text(), m.Title(), m.Heads()
			splices, err := m.Apply(c)
			if err != nil {
				if m.Text() != before || m.Title() != title || !reflect.DeepEqual(m.Heads(), hs) {
					t.Fatalf("refused change altered the model: %v", err)
				}
				continue
			}
			if got := applySplices(t, before, splices); got != m.Text() {
				t.Fatalf("splices %+v do not give the new text", splices)
			}
			if m.Len() != len([]rune(m.Text())) {
				t.Fatal("length and text disagree")
			}
		}
	})
}

// fixChecksums rewrites the checksums of the chunks in b to match their
// bodies, so that the fuzzer's mutations reach past the checksum check.
// What does not parse as a chunk is left alone.
func fixChecksums(b []byte) []byte {
	out := append([]byte(nil), b...)
	for off := 0; off+10 <= len(out); {
		if !bytes.Equal(out[off:off+4], Magic[:]) {
			return out
		}
		n, k, err := readUleb(out[off+9:])
		if err != nil || n > uint64(len(out)-off-9-k) {
			return out
		}
		body := out[off+9+k : off+9+k+int(n)]
		var h Hash
		switch ChunkType(out[off+8]) {
		case ChunkDocument, ChunkChange:
			h = hashBody(ChunkType(out[off+8]), body)
		case ChunkCompressed:
			inner, err := inflate(body, 1<<20)
			if err != nil {
				return out
			}
			h = hashBody(ChunkChange, inner)
		default:
			return out
		}
		copy(out[off+4:off+8], h[:4])
		off += 9 + k + int(n)
	}
	return out
}

// fixSyncChecksums does the same for the changes inside a sync message.
func fixSyncChecksums(b []byte) []byte {
	out := append([]byte(nil), b...)
	c := &cursor{b: out, pos: 1}
	if len(out) == 0 {
		return out
	}
	skipHashes := func() {
		n := c.uleb("")
		c.bytes(n*32, "")
	}
	skipHashes()
	skipHashes()
	for n := c.uleb(""); n > 0 && n < 4 && c.err == nil; n-- {
		skipHashes()
		c.bytes(c.uleb(""), "")
	}
	for n := c.uleb(""); n > 0 && n < 1<<16 && c.err == nil; n-- {
		l := c.uleb("")
		start := c.pos
		c.bytes(l, "")
		if c.err == nil {
			copy(out[start:c.pos], fixChecksums(out[start:c.pos]))
		}
	}
	return out
}
